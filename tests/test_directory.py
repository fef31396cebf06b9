from __future__ import annotations

from pathlib import Path

from conftest import write
from gitplane.render import directory
from gitplane.repo import Repository

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n"


def _names(root: Path, options: dict) -> list[str]:
    (root / "deployments").mkdir(exist_ok=True)
    out = directory.build(Repository.find(root), root / "d", options)
    return sorted(r.name for r in out.resources)


def test_directory_rules(tmp_path: Path) -> None:
    write(tmp_path / "d/a.yaml", CM.format("a"))
    write(tmp_path / "d/b.yml", CM.format("b") + "---\n" + CM.format("b2"))
    write(tmp_path / "d/c.json", '{"apiVersion": "v1", "kind": "ConfigMap", '
                                 '"metadata": {"name": "c"}}')
    write(tmp_path / "d/sub/s.yaml", CM.format("s"))
    write(tmp_path / "d/.hidden/h.yaml", CM.format("h"))
    write(tmp_path / "d/notes.txt", "ignored")
    assert _names(tmp_path, {}) == ["a", "b", "b2", "c"]
    assert _names(tmp_path, {"recurse": True}) == ["a", "b", "b2", "c", "s"]
    assert _names(tmp_path, {"recurse": True, "include": "{a.yaml,sub/*}"}) == ["a", "s"]
    assert _names(tmp_path, {"recurse": True, "exclude": "*.yml"}) == ["a", "c", "s"]


def test_directory_problems(tmp_path: Path) -> None:
    write(tmp_path / "d/bad.yaml", "a: [\n")
    write(tmp_path / "d/nokind.yaml", "metadata: {name: x}\nkind: \napiVersion: v1\n")
    # Argo CD skips a file that does not decode and does not look like a manifest (a
    # kustomization.yaml in a plain folder, a values file): no problem, no object.
    write(tmp_path / "d/kustomization.yaml", "resources:\n  - a.yaml\n")
    write(tmp_path / "d/values.yaml", "replicas: 2\n---\napiVersion: v1\nkind: ConfigMap\n")
    # ...but a document without a kind after objects of the same file is an error.
    write(tmp_path / "d/tail.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
          "---\nfoo: bar\n")
    (tmp_path / "deployments").mkdir()
    out = directory.build(Repository.find(tmp_path), tmp_path / "d", {})
    assert sorted((p.file, p.rule) for p in out.problems) == [
        ("d/bad.yaml", "yaml-syntax"), ("d/nokind.yaml", "yaml-syntax"),
        ("d/tail.yaml", "yaml-syntax")]
    assert any("not a Kubernetes object" in p.message for p in out.problems)
    assert [r.name for r in out.resources] == ["c"]
