from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import git, write
from gitplane.config import load
from gitplane.errors import BoundaryError, ConfigError, GitplaneError
from gitplane.repo import Repository, normalize_url


@pytest.mark.parametrize("url", [
    "https://github.com/Acme/Platform.git", "https://github.com/acme/platform",
    "git@github.com:acme/platform.git", "ssh://git@github.com/acme/platform.git",
    "https://user@github.com/acme/platform/",
])
def test_normalize_url(url: str) -> None:
    assert normalize_url(url) == "github.com/acme/platform"


def test_find_walks_up_and_uses_git_top(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "infra/deployments/environments/dev").mkdir(parents=True)
    repo = Repository.find(tmp_path / "infra/deployments/environments")
    assert repo.root == (tmp_path / "infra").resolve()
    assert repo.top == tmp_path.resolve()
    assert repo.prefix == "infra/deployments"
    with pytest.raises(GitplaneError, match="no platform here"):
        Repository.find(tmp_path)


def test_resolve_refuses_leaving_paths(tmp_path: Path) -> None:
    (tmp_path / "deployments").mkdir()
    os.symlink("/etc", tmp_path / "etc-link")
    os.symlink("loop-b", tmp_path / "loop-a")
    os.symlink("loop-a", tmp_path / "loop-b")
    # absolute, or out by '..' and back in by the repository's own folder name: Argo CD's
    # checkout lives in another folder, where neither works
    os.symlink(tmp_path / "deployments", tmp_path / "abs-in")
    os.symlink(f"../{tmp_path.name}/deployments", tmp_path / "re-enters")
    repo = Repository.find(tmp_path)
    assert repo.resolve("deployments") == tmp_path.resolve() / "deployments"
    for bad, why in (("..", "outside root"), ("/etc", "absolute"),
                     ("deployments/../../x", "outside root"), ("etc-link", "symlink"),
                     ("loop-a", "symlink loop"), ("abs-in", "symlink points outside"),
                     ("re-enters", "symlink points outside")):
        with pytest.raises(BoundaryError, match=why):
            repo.resolve(bad)


@pytest.mark.parametrize("text, message", [
    ("repoURLs: x\n", "gitplane.yaml:1: 'repoURLs' has the wrong type"),
    ("repoURLs: [1]\n", "must be a list of strings"),
    ("kubernetesVersion: '1.20'\n", "not supported"),
    ("renderTimeoutSeconds: true\n", "wrong type"),
    ("- a\n", "must be a mapping"),
    ("a: [\n", "gitplane.yaml:2"),
    ("kustomize: x\nfoo: 1\n", "gitplane.yaml:2: unknown key 'foo'"),
])
def test_config_errors(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path / "gitplane.yaml", text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load(tmp_path)


def test_config_values(tmp_path: Path) -> None:
    write(tmp_path / "gitplane.yaml", "repoURLs: [https://x/y.git]\nrenderTimeoutSeconds: 5\n")
    cfg = load(tmp_path)
    assert cfg.repo_urls == ["https://x/y.git"] and cfg.render_timeout == 5
    assert load(tmp_path / "missing").kubernetes_version == "1.37"
