"""The package reads as its pipeline: imports run one way, down the layers below; no module
imports one above it, no package's modules import each other in a circle; every rule id the
code produces is registered; the package builds the same from any checkout."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "gitplane"

#: Each top-level module or package of gitplane and its floor: a module imports only from
#: lower floors (and, inside one package, from its own modules without a circle).
LAYERS = {
    "gitplane": 0, "errors": 0, "model": 0, "cache": 0, "bundled": 0,
    "limits": 1, "boundary": 1, "k8s": 1, "proc": 1, "patterns": 1, "publish": 1,
    "yamlio": 2, "git": 2,
    "config": 3,
    "repo": 4,
    "render": 5,
    "platform": 6,
    "argocd": 7,
    "checks": 8,
    "diff": 9, "compare": 9, "scaffold": 9,
    "report": 10, "day2": 10,
    "operate": 11,  # doctor and bootstrap use the day-2 seal's certificate reading
    "api": 12,
    "cli": 13,
    "__main__": 14,
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """module → the gitplane modules it imports (at any depth of its code)."""
    known = {_module(p) for p in PACKAGE.rglob("*.py")}
    out: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        mod = _module(path)
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.split(".")[0] == "gitplane":
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.split(".")[0] == "gitplane"]
            out[mod].update(n for n in names if n in known)
    return out


def _floor(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else "gitplane"


def test_imports_run_down_the_layers() -> None:
    upward = []
    for mod, targets in sorted(_imports().items()):
        for target in sorted(targets):
            a, b = _floor(mod), _floor(target)
            assert a in LAYERS and b in LAYERS, f"{mod} or {target}: give it a floor in LAYERS"
            if a != b and LAYERS[a] <= LAYERS[b]:
                upward.append(f"{mod} -> {target}")
    assert not upward, "imports that run up or sideways:\n" + "\n".join(upward)


def test_no_circle_inside_a_package() -> None:
    graph = {m: {t for t in ts if _floor(t) == _floor(m) and t != m and
                 t != m.rsplit(".", 1)[0]}  # a module may use its package's face
             for m, ts in _imports().items()}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                raise AssertionError("circle: " + " -> ".join(path[path.index(t):] + [t]))
            if t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_config_stands_alone() -> None:
    """Reading gitplane.yaml loads no rule, renderer or Argo CD code."""
    code = ("import sys, gitplane.config; "
            "print(sorted(m for m in sys.modules if m.startswith(('gitplane.checks', "
            "'gitplane.argocd', 'gitplane.render', 'gitplane.repo'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def _rule_ids_in_code() -> set[tuple[str, str]]:
    """(file, rule id) of every rule id written as a literal where a finding or a render
    problem is made (``Problem(rule, …)``, ``Finding(…, rule, …)``, ``resource_finding``,
    ``.rule = …``)."""
    out = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            value = None
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in ("Problem", "resource_finding") and node.args:
                    value = node.args[0]
                elif name == "Finding" and len(node.args) >= 5:
                    value = node.args[4]
                for kw in node.keywords:
                    if kw.arg == "rule":
                        value = kw.value
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Attribute) and t.attr == "rule" for t in node.targets):
                value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
                out.add((path.relative_to(SRC).as_posix(), value.value))
    return out


def test_every_rule_id_produced_is_registered() -> None:
    from gitplane.checks import RULES

    unknown = sorted(f"{f}: {rid}" for f, rid in _rule_ids_in_code() if rid not in RULES)
    assert not unknown, "rule ids not in the registry:\n" + "\n".join(unknown)
    assert len(_rule_ids_in_code()) > 10  # the scan sees the code


def test_the_wheel_is_the_same_from_any_checkout(tmp_path: Path) -> None:
    """A build left behind (``build/``) never leaks into the next one."""
    pytest.importorskip("hatchling")
    tree = tmp_path / "checkout"
    root = SRC.parent
    shutil.copytree(root, tree, ignore=shutil.ignore_patterns(
        ".venv", ".git", "demo", "__pycache__", "*.egg-info", ".mypy_cache", ".pytest_cache",
        ".ruff_cache", "build", "dist"))
    stale = tree / "build/lib/gitplane"
    stale.mkdir(parents=True)
    (stale / "stale_module.py").write_text("raise SystemExit('stale')\n")
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                          "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"), str(tree)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    wheel = next((tmp_path / "dist").glob("gitplane-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert not any("stale_module" in n for n in names)
    templates = {p.relative_to(SRC).as_posix() for p in (PACKAGE / "templates").rglob("*")
                 if p.is_file()}
    assert templates and templates <= names
    assert {"gitplane/py.typed", "gitplane/schemas/crds.zip",
            "gitplane/data/lifecycle.json", "gitplane/data/versions.json"} <= names


def test_the_public_surface_is_declared() -> None:
    import importlib

    for name in ("api", "model", "platform", "errors"):
        module = importlib.import_module(f"gitplane.{name}")
        assert module.__all__ and all(hasattr(module, n) for n in module.__all__), name
