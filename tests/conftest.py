"""Shared fixtures: real git repositories in temporary folders, the real kustomize engine."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterator

import pytest

from gitplane import limits
from gitplane.cli import main
from gitplane.scaffold.init import init

SHARED = Path(__file__).resolve().parents[2] / "shared"


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture(scope="session")
def _reference_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("reference") / "platform"
    init(base)
    return base


@pytest.fixture
def platform(tmp_path: Path, _reference_template: Path) -> Path:
    """A fresh copy of the reference platform in its own git repository."""
    dest = tmp_path / "platform"
    shutil.copytree(_reference_template, dest, symlinks=True)
    return dest


class Run:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(list(args))
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err, err
        return code, out, err


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test renders with its own, empty render cache."""
    monkeypatch.setenv("GITPLANE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("GITPLANE_NO_CACHE", "0")
    # The branch a detached checkout stands for is read from CI variables: none in tests
    # unless a test sets them.
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    monkeypatch.delenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", raising=False)


@pytest.fixture(autouse=True)
def _default_limits() -> Iterator[None]:
    """A test that raises a limit (GITPLANE_MAX_*) leaves the defaults to the next one."""
    yield
    limits.current.cache_clear()


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.delenv("GITPLANE_KUSTOMIZE", raising=False)
    return Run(capsys)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


RunFn = Callable[..., tuple[int, str, str]]


def num(v: object) -> object:
    """JSON values with every number as float: Go's float64 and int compare equal."""
    if isinstance(v, dict):
        return {k: num(x) for k, x in v.items()}
    if isinstance(v, list):
        return [num(x) for x in v]
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return v


def json_key(v: object) -> str:
    """A sort key for unordered comparison of JSON values."""
    import json

    return json.dumps(num(v), sort_keys=True)


def kubeconfig(path: Path, server: str, context: str) -> Path:
    """A kubeconfig with one context naming ``server`` (a token that is not a real one)."""
    path.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "{server}"}}}}]
users: [{{name: me, user: {{token: not-a-real-token}}}}]
contexts: [{{name: {context}, context: {{cluster: c, user: me}}}}]
""")
    return path


def application(name: str, path: str, namespace: str,
                repo_url: str = "https://example.com/r.git") -> str:
    """An Argo CD Application of a folder of ``repo_url``."""
    return f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}, namespace: argocd}}
spec:
  project: default
  source: {{repoURL: "{repo_url}", path: {path}, targetRevision: HEAD}}
  destination: {{server: "https://kubernetes.default.svc", namespace: {namespace}}}
"""


def read_body(handler: Any) -> bytes:
    """The request body a fake server's handler received, with a length or chunked (as
    kubectl sends it)."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        raw = b""
        while True:
            size = int(handler.rfile.readline().strip(), 16)
            if not size:
                handler.rfile.readline()
                return raw
            raw += handler.rfile.read(size)
            handler.rfile.readline()
    return bytes(handler.rfile.read(int(handler.headers.get("Content-Length") or 0)))


def send(handler: Any, code: int, body: Any, headers: dict[str, str] | None = None,
         content_type: str = "application/json") -> None:
    """A fake server's answer: ``body`` as JSON (or as it is, when bytes or text)."""
    data = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) \
        else json.dumps(body).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(data)
