"""Real public GitOps repositories (shared/conformance/repos): every kustomization gitplane
renders equals kustomize's own output; every failing one is a clear problem naming its file;
the CLI lists, renders and checks each repository without crashing."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import yaml

from conftest import SHARED, RunFn
from gitplane.model import resource_id
from gitplane.proc import Engine
from gitplane.render import batch, kustomize
from gitplane.repo import Repository
from gitplane.yamlio import ParsedFiles

REPOS = SHARED / "conformance" / "repos"
INDEX: list[dict[str, Any]] = json.loads((REPOS / "index.json").read_text()) \
    if (REPOS / "index.json").is_file() else []


def _name(entry: dict[str, Any]) -> str:
    return str(entry["repo"]).replace("/", "__")


@pytest.mark.skipif(not INDEX, reason=f"conformance repositories not found at {REPOS}")
@pytest.mark.parametrize("entry", INDEX, ids=_name)
def test_every_kustomization_renders_as_kustomize(entry: dict[str, Any]) -> None:
    root = REPOS / _name(entry)
    expected = REPOS / (_name(entry) + ".expected")
    repo = Repository(root=root, top=root)
    engine = Engine()
    try:
        with ThreadPoolExecutor(2) as pool:
            results = dict(zip(entry["kustomize_dirs"], pool.map(
                lambda d: kustomize.build(repo, engine, root / d), entry["kustomize_dirs"]), strict=False))
    finally:
        engine.close()
    for d, got in results.items():
        if d in entry["ok"]:
            want = [o for o in yaml.safe_load_all(
                (expected / (d.replace("/", "__") + ".yaml")).read_text()) if o]
            assert got.ok, (d, got.problems)
            assert sorted((r.obj for r in got.resources), key=resource_id) == \
                sorted(want, key=resource_id), d
        else:
            # A failure kustomize has is an error; a remote base (Argo CD fetches it, offline
            # it cannot be) is a source-not-rendered warning: the render is still refused.
            errors = [p for p in got.problems if p.severity == "error" or
                      p.rule == "source-not-rendered"]
            assert not got.ok and errors, d
            for p in errors:
                assert p.file.endswith(("kustomization.yaml", "kustomization.yml",
                                        "Kustomization")) and p.line >= 1, p
                assert "/work/" not in p.message and "REPOS" not in p.message
                assert len(p.message) < 600


@pytest.mark.skipif(not INDEX, reason=f"conformance repositories not found at {REPOS}")
@pytest.mark.parametrize("entry", INDEX, ids=_name)
def test_batched_renders_equal_single_renders(entry: dict[str, Any]) -> None:
    """Many kustomizations in one engine run give, for each, what it renders alone: the same
    objects in the same order, traced to the same file and line, the same problems."""
    root = REPOS / _name(entry)
    repo = Repository(root=root, top=root)
    engine = Engine()
    parsed = ParsedFiles()
    limits = (60.0, 2 * 1024 ** 3)
    try:
        pending = [p for d in entry["kustomize_dirs"]
                   if isinstance(p := kustomize.prepare(repo, engine, root / d, parsed),
                                 kustomize.Pending)]
        groups = batch.batches(pending, 64)
        batched = [(p, got) for g in groups
                   for p, got in zip(g, batch.render_batch(engine, g, *limits), strict=False)]
        for p, got in batched:
            alone = kustomize.render_one(engine, p, *limits)
            assert (got.ok, got.problems) == (alone.ok, alone.problems), p.directory
            assert [(r.obj, r.file, r.line) for r in got.resources] == \
                [(r.obj, r.file, r.line) for r in alone.resources], p.directory
    finally:
        engine.close()
    assert len(batched) == len(pending)
    if len(pending) > 3:
        assert any(len(g) > 1 for g in groups)  # batching was exercised


@pytest.mark.skipif(not INDEX, reason=f"conformance repositories not found at {REPOS}")
@pytest.mark.parametrize("entry", INDEX, ids=_name)
def test_cli_on_foreign_repository(entry: dict[str, Any], run: RunFn) -> None:
    root = str(REPOS / _name(entry))
    code, out, err = run("-C", root, "apps", "-o", "json")
    assert code in (0, 1), err
    for app in json.loads(out):
        assert app["environment"] == "default"
        assert app["origin"]["file"] and "generator" in app["origin"]
    code, out, err = run("-C", root, "check", "--format", "json")
    assert code in (0, 1), err
    assert json.loads(out)["summary"]["environments"] == 1
