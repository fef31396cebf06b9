"""The ten example ApplicationSets of the conformance data, through `gitplane appset generate`
on a real git repository holding each example's fixture files and folders."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import SHARED, json_key, num, RunFn, git, write
from gitplane.argocd import clusters as inventory
from gitplane.argocd.world import LocalWorld
from gitplane.argocd.generators import Generators
from gitplane.repo import Repository

EXAMPLES = SHARED / "conformance" / "applicationset" / "examples"
FILES = sorted(EXAMPLES.glob("*.yaml")) if EXAMPLES.is_dir() else []


def _repo(tmp: Path, example: Path, fixtures: dict[str, Any]) -> Path:
    repo = tmp / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    for d in fixtures.get("gitDirectories") or []:
        (repo / d).mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = dict(fixtures.get("gitFiles") or {})
    for by_pattern in (fixtures.get("gitFilesByPattern") or {}).values():
        files.update(by_pattern)
    for path, content in files.items():
        write(repo / path, content)
    urls = sorted(set(re.findall(r"repoURL:\s*(\S+)", example.read_text())))
    write(repo / "gitplane.yaml", "repoURLs:\n" + "".join(f"  - {u}\n" for u in urls))
    return repo


def _clusters(tmp: Path, fixtures: dict[str, Any]) -> Path | None:
    secrets = fixtures.get("clusterSecrets")
    if not secrets:
        return None
    docs = [{"apiVersion": "v1", "kind": "Secret", "metadata": s["metadata"],
             "stringData": {k: v for k, v in s["data"].items() if k != "config"}}
            for s in secrets]
    return write(tmp / "clusters.yaml", yaml.safe_dump_all(docs))


@pytest.mark.skipif(not FILES, reason=f"conformance examples not found at {EXAMPLES}")
@pytest.mark.parametrize("example", FILES, ids=lambda p: p.stem)
def test_example(example: Path, tmp_path: Path, run: RunFn) -> None:
    expected = json.loads((example.parent / (example.stem + ".expected.json")).read_text())
    fixtures = expected.get("fixtures") or {}
    repo = _repo(tmp_path, example, fixtures)
    clusters = _clusters(tmp_path, fixtures)
    args = ["-C", str(repo), "appset", "generate", str(example), "-o", "json"]
    if clusters:
        args += ["--clusters", str(clusters)]
    code, out, err = run(*args)
    apps = json.loads(out)
    if "expectedApplications" in expected:
        assert code == 0, err
        assert sorted(map(json_key, apps)) == sorted(map(json_key, expected["expectedApplications"]))
    if "expectedApplicationNames" in expected:
        assert sorted(a["metadata"]["name"] for a in apps) == \
            sorted(expected["expectedApplicationNames"])
    # Params, through the library on the same repository.
    spec = yaml.safe_load(example.read_text())["spec"]
    secrets = inventory.load(clusters, "clusters.yaml") if clusters else []
    engine = Generators(LocalWorld(Repository.find(repo, layout=False), clusters=secrets),
                        bool(spec.get("goTemplate")), spec.get("goTemplateOptions") or [])
    params = [p for gen in spec["generators"] for p in engine.params(gen)]
    if "expectedParams" in expected:
        assert sorted(map(json_key, params)) == sorted(map(json_key, expected["expectedParams"]))
    if "expectedParamsCount" in expected:
        assert len(params) == expected["expectedParamsCount"]
    for subset in expected.get("expectedParamsSubset") or []:
        assert any(all(num(p.get(k)) == num(v) for k, v in subset.items()) for p in params)
    if "expectedApplications" not in expected and "expectedApplicationNames" not in expected:
        assert code in (0, 1)  # e.g. duplicate names: reported, exit 1, no crash
