"""gitplane's caches: renders keyed by the content of every file they read, parsed YAML
keyed by the file's content.

A render's key is a SHA-256 over the engine (binary and version), the render's settings and,
for every repository file the kustomization graph reads, its repository path and content
hash. Any change to any of those is a different key, so a stale entry is never served; an
unchanged render is reused across runs, across environments and across the two sides of a
``diff``. Entries are written to a temporary file and renamed into place (safe under
concurrent runs; a crash leaves no half entry), and an unreadable entry is a miss. The folder
is ``$GITPLANE_CACHE_DIR/renders`` (default ``$XDG_CACHE_HOME/gitplane``, else
``~/.cache/gitplane``); ``GITPLANE_NO_CACHE=1`` or ``--no-cache`` bypasses it.

Parsed YAML (each document's value, first line and the YAML 1.1 hazards found in it) is kept
in ``parsed/`` under the SHA-256 of the file's bytes, so an unchanged file is not parsed
again; the node tree that gives line numbers is rebuilt from the text only when a line is
asked for (a finding). Entries are JSON, never code: a tampered cache can give a wrong
answer about the file it names at worst, which its key (the content's hash) rules out.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

VERSION = "1"


def folder(kind: str = "renders") -> Path:
    root = os.environ.get("GITPLANE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gitplane")
    return Path(root) / kind


def enabled() -> bool:
    return os.environ.get("GITPLANE_NO_CACHE", "") in ("", "0")


def key(parts: list[str], digests: dict[str, bytes]) -> str:
    """The key of a render: gitplane's version, ``parts`` and each file's path and SHA-256."""
    from gitplane import __version__

    h = hashlib.sha256()
    h.update(f"{VERSION}\0{__version__}".encode())
    for p in parts:
        h.update(b"\0" + p.encode())
    for rel in sorted(digests):
        h.update(b"\0" + rel.encode() + b"\0" + digests[rel])
    return h.hexdigest()


def get(k: str, kind: str = "renders") -> dict[str, Any] | None:
    path = folder(kind) / k[:2] / f"{k}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("key") == k else None


def put(k: str, value: dict[str, Any], kind: str = "renders") -> None:
    path = folder(kind) / k[:2] / f"{k}.json"
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
