"""One boundary, one suite: every reader of the repository refuses every kind of link that
would not work in Argo CD's own checkout, and says so."""
from __future__ import annotations

import json
import os
from pathlib import Path
from collections.abc import Callable

import pytest

from conftest import RunFn, git, write
from gitplane.boundary import Boundary

URL = "https://example.com/acme/gitops.git"
APP = (f"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n"
       f"  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: {URL}\n"
       f"    path: m\n  destination:\n    server: https://kubernetes.default.svc\n"
       f"    namespace: web\n")
LEAK = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leaked-cm, namespace: web}\n"
        "data: {a: b}\n")
CLUSTER = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked-cluster\n  labels: "
           "{argocd.argoproj.io/secret-type: cluster}\n"
           "stringData: {name: leaked-cluster, server: 'https://leaked'}\n")


def _link(kind: str, root: Path, link: Path, rel_target: str, content: str) -> None:
    """``link`` → a copy of ``content`` outside the repository, or inside it reached in a way
    only a laptop can follow."""
    if kind.endswith("-out"):
        target = root.parent / "outside" / rel_target
    else:
        target = root / "hidden" / rel_target
    if content.endswith("/"):
        target.mkdir(parents=True, exist_ok=True)
        write(target / "cm.yaml", LEAK)
    else:
        write(target, content)
    link.parent.mkdir(parents=True, exist_ok=True)
    if kind.startswith("absolute"):
        link.symlink_to(target)
    elif kind == "relative-out":
        link.symlink_to(os.path.relpath(target, link.parent))
    else:  # out by '..' above the top, back in by the repository's own folder name
        ups = "../" * len(link.relative_to(root).parts)
        link.symlink_to(f"{ups}{root.name}/hidden/{rel_target}")


KINDS = ["absolute-out", "relative-out", "re-enters", "absolute-in"]


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "r"
    for rel, text in {"boot/web.yaml": APP,
                      "m/own.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: "
                                    "{name: own, namespace: web}\n", **files}.items():
        write(root / rel, text)
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", URL)
    return root


Setup = Callable[[Path, str], Path]


def _gitplane_yaml(tmp_path: Path, kind: str) -> Path:
    root = _repo(tmp_path, {})
    _link(kind, root, root / "gitplane.yaml", "gitplane.yaml", "clusters: leaked.yaml\n")
    return root


def _clusters(tmp_path: Path, kind: str) -> Path:
    root = _repo(tmp_path, {"gitplane.yaml": "clusters: clusters.yaml\n"})
    _link(kind, root, root / "clusters.yaml", "clusters.yaml", CLUSTER)
    return root


def _roots(tmp_path: Path, kind: str) -> Path:
    root = _repo(tmp_path, {"gitplane.yaml": "roots: [boot/root.yaml]\n"})
    _link(kind, root, root / "boot/root.yaml", "root.yaml", APP.replace("name: web", "name: lk"))
    return root


def _app_folder(tmp_path: Path, kind: str) -> Path:
    root = _repo(tmp_path, {"boot/web.yaml": APP.replace("path: m", "path: linked")})
    _link(kind, root, root / "linked", "folder/", "folder/")
    return root


def _plain_file(tmp_path: Path, kind: str) -> Path:
    root = _repo(tmp_path, {})
    _link(kind, root, root / "m/cm.yaml", "cm.yaml", LEAK)
    return root


def _kustomize_entry(tmp_path: Path, kind: str) -> Path:
    root = _repo(tmp_path, {"m/kustomization.yaml": "resources: [own.yaml, cm.yaml]\n"})
    _link(kind, root, root / "m/cm.yaml", "cm.yaml", LEAK)
    return root


def _deployments(tmp_path: Path, kind: str) -> Path:
    root = _repo(tmp_path, {})
    _link(kind, root, root / "deployments", "deployments/", "deployments/")
    return root


READERS: dict[str, Setup] = {
    "gitplane.yaml": _gitplane_yaml, "clusters:": _clusters, "roots:": _roots,
    "an Application's path": _app_folder, "a plain folder's file": _plain_file,
    "a kustomize entry": _kustomize_entry, "deployments/": _deployments,
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reader", READERS)
def test_every_reader_refuses_every_link_out(tmp_path: Path, run: RunFn, reader: str,
                                             kind: str) -> None:
    root = READERS[reader](tmp_path, kind)
    code, out, err = run("-C", str(root), "render")
    told = err + out
    if code != 2:
        code, out, err = run("-C", str(root), "check", "-o", "json")
        told = err + " ".join(f["message"] for f in json.loads(out)["findings"]) if out else err
    assert "leaked" not in out, (reader, kind)
    assert "symlink points outside" in told or "outside repository" in told, (reader, kind, told)


def test_links_inside_the_repository_are_followed(tmp_path: Path, run: RunFn) -> None:
    root = _repo(tmp_path, {"shared/cm.yaml": LEAK.replace("leaked-cm", "shared-cm")})
    (root / "m/cm.yaml").symlink_to("../shared/cm.yaml")
    code, out, err = run("-C", str(root), "render")
    assert code == 0 and "name: shared-cm" in out, err


def test_the_boundary_resolves_links_as_argo_cd_would(tmp_path: Path) -> None:
    top = tmp_path / "r"
    (top / "a/b").mkdir(parents=True)
    (top / "a/up").symlink_to("..")                       # inside: r/a/up → r
    (top / "a/b/out").symlink_to("../../..")              # above the top
    (top / "a/b/back").symlink_to("../../../r/a")         # out and back in by name
    (top / "abs").symlink_to(top / "a")                   # absolute, even into the top
    (top / "x").symlink_to("y")
    (top / "y").symlink_to("x")
    b = Boundary(top)
    real = os.path.realpath(top)
    assert b.real(top / "a/up/a/b") == os.path.join(real, "a/b")
    for path in ("a/b/out", "a/b/back", "abs", "a/b/back/b"):
        assert not b.contains(b.real(top / path), real=True), path
    with pytest.raises(RuntimeError):
        b.real(top / "x")
