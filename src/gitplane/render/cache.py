"""The render cache: renders keyed by the content of every file they read.

A render's key is a SHA-256 over the engine (binary and version), the render's settings and,
for every repository file the kustomization graph reads, its repository path and content
hash. Any change to any of those is a different key, so a stale entry is never served; an
unchanged render is reused across runs, across environments and across the two sides of a
``diff``. Entries are written to a temporary file and renamed into place (safe under
concurrent runs; a crash leaves no half entry), and an unreadable entry is a miss. The folder
is ``$GITPLANE_CACHE_DIR/renders`` (default ``$XDG_CACHE_HOME/gitplane``, else
``~/.cache/gitplane``); ``GITPLANE_NO_CACHE=1`` or ``--no-cache`` bypasses it.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

VERSION = "1"


def folder() -> Path:
    root = os.environ.get("GITPLANE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gitplane")
    return Path(root) / "renders"


def enabled() -> bool:
    return os.environ.get("GITPLANE_NO_CACHE", "") in ("", "0")


def key(parts: list[str], files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    h.update(VERSION.encode())
    for p in parts:
        h.update(b"\0" + p.encode())
    for rel in sorted(files):
        h.update(b"\0" + rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
    return h.hexdigest()


def get(k: str) -> dict[str, Any] | None:
    path = folder() / k[:2] / f"{k}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("key") == k else None


def put(k: str, value: dict[str, Any]) -> None:
    path = folder() / k[:2] / f"{k}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({**value, "key": k}, fh, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except (OSError, UnboundLocalError):
            pass
