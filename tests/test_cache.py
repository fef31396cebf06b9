"""The cache: a warm run gives the same bytes, a change is never served stale, a broken entry
or database is a miss, concurrent runs agree, --no-cache bypasses it."""
from __future__ import annotations

import json
import re
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import RunFn

WEB = "deployments/domains/applications/apps/web-app/base/manifests/deployment.yaml"


def _db() -> Path:
    return Path(os.environ["GITPLANE_CACHE_DIR"]) / "cache.sqlite3"


def _entries(kind: str = "renders") -> list[tuple[str, str]]:
    if not _db().exists():
        return []
    with sqlite3.connect(_db()) as db:
        return sorted(db.execute("SELECT key, value FROM entries WHERE kind = ?", (kind,)))


def test_warm_run_is_identical_and_changes_are_seen(run: RunFn, platform: Path) -> None:
    code, cold, _ = run("-C", str(platform), "check", "--format", "json")
    assert code == 0 and _entries() and _entries("parsed")
    before = _db().stat().st_mtime_ns, _db().stat().st_size
    code, warm, _ = run("-C", str(platform), "check", "--format", "json")
    assert warm == cold
    assert (_db().stat().st_mtime_ns, _db().stat().st_size) == before  # nothing new written
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
    with sqlite3.connect(_db()) as db:
        db.execute("UPDATE entries SET value = '{ not json'")
    code, again, _ = run("-C", str(platform), "check", "--format", "json")
    assert again == cold


def test_damaged_database_is_set_aside(run: RunFn, platform: Path) -> None:
    code, cold, _ = run("-C", str(platform), "check", "--format", "json")
    _db().write_bytes(b"this is not a database" * 200)
    code, again, err = run("-C", str(platform), "check", "--format", "json")
    assert again == cold and "Traceback" not in err
    assert _db().with_name("cache.sqlite3.damaged").exists()
    code, third, _ = run("-C", str(platform), "check", "--format", "json")
    assert third == cold and _entries()  # started afresh


def test_unwritable_cache_folder_runs_without(run: RunFn, platform: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GITPLANE_CACHE_DIR", str(blocker / "cache"))
    code, out, err = run("-C", str(platform), "check", "--format", "json")
    assert code == 0 and json.loads(out)["summary"]["errors"] == 0


def test_concurrent_runs_agree(platform: Path) -> None:
    """Two processes filling one empty cache at once: both finish, both print the same
    bytes, and a third run reads what they wrote."""
    cmd = [sys.executable, "-m", "gitplane", "-C", str(platform), "check", "--format", "json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outs]
    assert outs[0][0] == outs[1][0]
    third = subprocess.run(cmd, capture_output=True, timeout=300)
    assert third.stdout == outs[0][0] and _entries()


def test_no_cache(run: RunFn, platform: Path) -> None:
    code, _, _ = run("--no-cache", "-C", str(platform), "check")
    assert code == 0 and _entries() == []


def test_a_change_renders_again_only_what_reads_it(run: RunFn, platform: Path) -> None:
    """After one app's base changes, the only new renders are the ones whose graph reads the
    changed file; a file nothing reads renders nothing."""
    from gitplane import api

    code, _, _ = run("-C", str(platform), "check", "--format", "json")
    before = set(_entries())
    (platform / "deployments/NOTES.md").write_text("nothing reads me\n")
    run("-C", str(platform), "check", "--format", "json")
    assert set(_entries()) == before
    f = platform / WEB
    f.write_text(f.read_text().replace("nginxinc/nginx-unprivileged:1.27.3",
                                       "nginxinc/nginx-unprivileged:1.27.4"))
    run("-C", str(platform), "check", "--format", "json")
    new = set(_entries()) - before
    readers = {(er.env.name, tuple(sorted(ar.files))) for er in api.load(platform).envs
               for ar in er.apps if WEB in ar.files}
    assert new and len(new) <= len(readers), (len(new), len(readers))
    assert all("1.27.4" in value for _, value in new)


def test_remembered_walks_are_taken_only_while_their_files_are_the_same(
        run: RunFn, platform: Path) -> None:
    """A warm run takes a kustomization's walk from the cache; any change to a file it read,
    a kustomization file appearing where one was looked for, or a file turning into a link
    out of the repository makes it walk afresh: warm output always equals a cold run's."""
    def both() -> tuple[str, str]:
        warm = run("-C", str(platform), "check", "--format", "json")[1]
        cold = run("-C", str(platform), "--no-cache", "check", "--format", "json")[1]
        return warm, cold

    run("-C", str(platform), "check", "--format", "json")  # fills the cache
    warm, cold = both()
    assert warm == cold
    web = platform / "deployments/domains/applications/apps/web-app"
    # a file the walk read changes
    dep = web / "base/manifests/deployment.yaml"
    image = re.search(r"image: (\S+):\S+", dep.read_text())
    assert image is not None
    dep.write_text(dep.read_text().replace(image.group(0), f"image: {image.group(1)}:latest"))
    warm, cold = both()
    assert warm == cold and "image-tag-mutable" in warm
    # a kustomization file name the walk looked for appears: the folder has two now
    (web / "environments/staging/kustomization.yml").write_text("resources: []\n")
    warm, cold = both()
    assert warm == cold and "Found multiple kustomization files" in warm
    (web / "environments/staging/kustomization.yml").unlink()
    # a file the walk read becomes a link out of the repository
    outside = platform.parent / "outside.yaml"
    outside.write_text(dep.read_text())
    dep.unlink()
    dep.symlink_to(outside)
    warm, cold = both()
    assert warm == cold and "symlink points outside repository" in warm
