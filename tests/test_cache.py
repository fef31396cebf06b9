"""The render cache: a warm run gives the same bytes, a change is never served stale, a broken
entry is a miss, --no-cache bypasses it."""
from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import RunFn

WEB = "deployments/domains/applications/apps/web-app/base/manifests/deployment.yaml"


def _entries() -> list[Path]:
    return sorted((Path(os.environ["GITPLANE_CACHE_DIR"]) / "renders").glob("*/*.json"))


def test_warm_run_is_identical_and_changes_are_seen(run: RunFn, platform: Path) -> None:
    code, cold, _ = run("-C", str(platform), "check", "--format", "json")
    assert code == 0 and _entries()
    before = {p: p.stat().st_mtime_ns for p in _entries()}
    code, warm, _ = run("-C", str(platform), "check", "--format", "json")
    assert warm == cold
    assert {p: p.stat().st_mtime_ns for p in _entries()} == before  # nothing re-rendered
    f = platform / WEB
    f.write_text(f.read_text().replace("nginxinc/nginx-unprivileged:1.27.3", "nginx:latest"))
    code, out, _ = run("-C", str(platform), "check", "--format", "json")
    assert code == 1
    found = [x for x in json.loads(out)["findings"] if x["rule"] == "image-tag-mutable"]
    assert len(found) == 2 and all(x["line"] == 23 for x in found)  # lines survive the cache
    code, out, _ = run("-C", str(platform), "render", "--env", "staging", "--app", "web-app")
    assert "nginx:latest" in out


def test_broken_entries_are_misses(run: RunFn, platform: Path) -> None:
    code, cold, _ = run("-C", str(platform), "check", "--format", "json")
    for p in _entries():
        p.write_text("{ not json")
    code, again, _ = run("-C", str(platform), "check", "--format", "json")
    assert again == cold


def test_no_cache(run: RunFn, platform: Path) -> None:
    code, _, _ = run("--no-cache", "-C", str(platform), "check")
    assert code == 0 and _entries() == []
