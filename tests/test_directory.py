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
    write(tmp_path / "d/nokind.yaml", "foo: bar\n")
    (tmp_path / "deployments").mkdir()
    out = directory.build(Repository.find(tmp_path), tmp_path / "d", {})
    assert sorted(p.rule for p in out.problems) == ["yaml-syntax", "yaml-syntax"]
    assert any("not a Kubernetes object" in p.message for p in out.problems)
