"""Local Helm charts, rendered with ``helm template`` when a ``helm`` binary is on PATH.

Hermetic like kustomize renders: value files must stay in the repository (``$ref/...`` paths
resolve only to this repository's ``ref`` sources), dependencies must be vendored under
``charts/`` (fetching them needs the network), Helm's home folders are a scratch folder, and
the render has the same timeout and memory cap. Without a ``helm`` binary the chart is a
``source-not-rendered`` warning, never an error: there is no Helm on PyPI or Debian.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gitplane.boundary import Boundary
from gitplane.errors import BoundaryError, GitplaneError, YamlError
from gitplane.model import Resource
from gitplane import proc
from gitplane.render import Problem, Rendered, yaml_problem
from gitplane.repo import Repository
from gitplane.yamlio import load_file, load_trusted

_SOURCE = re.compile(r"^# Source: (.+)$", re.M)


def binary() -> str | None:
    return os.environ.get("GITPLANE_HELM") or shutil.which("helm")


def build(repo: Repository, chart: Path, helm: dict[str, Any], release: str, namespace: str,
          refs: dict[str, Repository], timeout: float = 60.0,
          memory: int = 2 * 1024 ** 3) -> Rendered:
    """Render the chart folder ``chart`` with an Application's ``helm`` settings."""
    out = Rendered()
    chart_file = chart / "Chart.yaml"
    shown = repo.rel(chart_file)
    exe = binary()
    if not exe:
        out.problems.append(Problem("source-not-rendered", shown, 1,
                                    "local Helm chart not rendered: no 'helm' binary on PATH",
                                    severity="warning"))
        out.ok = False
        return out
    try:
        meta = load_file(chart_file, shown)
    except YamlError as exc:
        out.problems.append(yaml_problem(exc))
        out.ok = False
        return out
    info = meta[0].obj if meta and isinstance(meta[0].obj, dict) else {}
    for i, dep in enumerate(info.get("dependencies") or []):
        name = str((dep or {}).get("name") or "")
        if not list((chart / "charts").glob(f"{name}*")):
            out.problems.append(Problem("kustomize-build", shown, meta[0].line_of(
                "dependencies", i), f"dependency '{name}' is not vendored under charts/ "
                "(fetching it needs the network)"))
    args = [exe, "template", helm.get("releaseName") or release, str(chart),
            "--namespace", namespace or "default"]
    if not helm.get("skipCrds"):
        args.append("--include-crds")
    for i, vf in enumerate(helm.get("valueFiles") or []):
        path = _value_file(repo, chart, str(vf), refs)
        if isinstance(path, str):
            if not helm.get("ignoreMissingValueFiles") or "not found" not in path:
                out.problems.append(Problem("kustomize-build", shown, 1,
                                            f"helm.valueFiles[{i}] '{vf}': {path}"))
            continue
        args += ["--values", str(path)]
    if out.problems:
        out.ok = False
        return out
    scratch = Path(tempfile.mkdtemp(prefix="gitplane-helm-"))
    try:
        inline = helm.get("valuesObject") or helm.get("values")
        if inline:
            values = scratch / "values.yaml"
            values.write_text(inline if isinstance(inline, str) else json.dumps(inline))
            args += ["--values", str(values)]
        for p in helm.get("parameters") or []:
            flag = "--set-string" if p.get("forceString") else "--set"
            args += [flag, f"{p.get('name')}={p.get('value')}"]
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(scratch),
               "HELM_CACHE_HOME": str(scratch / "cache"),
               "HELM_CONFIG_HOME": str(scratch / "config"),
               "HELM_DATA_HOME": str(scratch / "data"), "KUBECONFIG": os.devnull}
        try:
            res = proc.run(args, timeout=timeout, memory=memory, env=env)
        except GitplaneError as exc:
            out.problems.append(Problem("kustomize-build", shown, 1, f"helm template: {exc}"))
            out.ok = False
            return out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if res.returncode != 0:
        message = res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "failed"
        out.problems.append(Problem("kustomize-build", shown, 1,
                                    f"helm template: {message.replace(str(repo.top) + '/', '')}"))
        out.ok = False
        return out
    text = res.stdout.decode("utf-8", "replace")
    for chunk in re.split(r"^---\s*$", text, flags=re.M):
        m = _SOURCE.search(chunk)
        source = m.group(1).strip() if m else ""
        file = repo.rel(chart.parent / source) if source else shown
        try:
            objs = load_trusted(chunk, shown)
        except YamlError as exc:
            out.problems.append(Problem("kustomize-build", shown, 1, exc.reason))
            continue
        for obj in objs:
            if isinstance(obj, dict):
                out.resources.append(Resource(obj, file, 1))
    out.files.add(shown)
    return out


def _value_file(repo: Repository, chart: Path, entry: str,
                refs: dict[str, Repository]) -> Path | str:
    """The value file ``entry`` names, or why it is refused."""
    if re.match(r"^[a-z][a-z0-9+.-]*://", entry):
        return "remote value files are not fetched"
    if entry.startswith("$"):
        ref, _, rest = entry[1:].partition("/")
        tree = refs.get(ref)
        if tree is None:
            return f"'${ref}' is not a ref source of this repository"
        target = Path(os.path.normpath(tree.top / rest))
        base = tree.top
    else:
        if entry.startswith("/"):
            return "absolute paths are refused"
        target = Path(os.path.normpath(chart / entry))
        base = repo.top
    try:
        Boundary(base).check(target, entry)
    except BoundaryError:
        return "leaves the repository; refused"
    if not target.is_file():
        return "not found"
    return target
