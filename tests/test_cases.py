"""Small complete repositories of the shapes real ones have, each with its golden ``apps``,
``check``, ``render`` and ``diff`` output (flux-local's style): a change in what gitplane
says about any of them shows as a diff of a golden file.

A case is ``tests/data/<case>/repo/`` (committed, and tagged ``v1.0.0``), ``change/``
(copied over it and committed as a second revision, for ``diff``) and ``golden/``.
Refresh the golden files with ``GITPLANE_UPDATE_GOLDEN=1``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import RunFn

DATA = Path(__file__).parent / "data"
CASES = sorted(p.name for p in DATA.iterdir() if (p / "repo").is_dir())
URL = "https://example.com/acme/cases.git"
#: Fixed identities and dates: the same commits, so the same bytes, on every run.
GIT_ENV = {"GIT_AUTHOR_NAME": "case", "GIT_AUTHOR_EMAIL": "case@example.com",
           "GIT_COMMITTER_NAME": "case", "GIT_COMMITTER_EMAIL": "case@example.com",
           "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}


def _git(root: Path, *args: str) -> str:
    res = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                         env={**os.environ, **GIT_ENV})
    assert res.returncode == 0, f"git {' '.join(args)}: {res.stdout}{res.stderr}"
    return res.stdout.strip()


def _golden(case: str, name: str, text: str) -> None:
    path = DATA / case / "golden" / name
    if os.environ.get("GITPLANE_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.is_file(), f"{path}: no golden file (GITPLANE_UPDATE_GOLDEN=1 writes it)"
    assert text == path.read_text(), f"{case}/{name} differs from its golden file"


@pytest.mark.parametrize("case", CASES)
def test_case(case: str, tmp_path: Path, run: RunFn) -> None:
    root = tmp_path / case
    shutil.copytree(DATA / case / "repo", root)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "remote", "add", "origin", URL)
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    _git(root, "tag", "v1.0.0")
    base = _git(root, "rev-parse", "HEAD")

    code, out, err = run("-C", str(root), "apps")
    _golden(case, "apps.txt", f"exit {code}\n{out}{err}")
    code, out, err = run("-C", str(root), "check", "-o", "json")
    _golden(case, "check.json", f"exit {code}\n{out}")
    code, out, err = run("-C", str(root), "render")
    _golden(case, "render.yaml", f"# exit {code}\n{out}")

    # copied, not with their times: git must see a same-size change as a change
    shutil.copytree(DATA / case / "change", root, dirs_exist_ok=True,
                    copy_function=shutil.copyfile)
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "change")
    code, out, err = run("-C", str(root), "diff", base, "HEAD")
    _golden(case, "diff.txt", f"exit {code}\n{out}{err}")
