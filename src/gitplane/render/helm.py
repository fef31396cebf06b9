"""Local Helm charts, rendered as Argo CD's repo-server renders them.

Two engines behind one interface:

* Helm's own Go SDK through ``helm-python-sdk`` (pinned exactly; Helm v4), the default. Each
  render runs in its own process (``render/helm_worker.py``, started with ``python -I``), under
  the same timeout and address-space limit as kustomize: a chart is hostile input too.
* A ``helm`` binary, when the user names one (``GITPLANE_HELM``), or when the SDK is not
  installed and ``helm`` is on PATH: ``helm template`` with Helm's home folders in a scratch
  folder.

Argo CD's semantics: the release name is ``helm.releaseName`` or the Application's name, the
namespace the destination's; values in Argo CD's order (the chart's defaults, ``valueFiles``
in order with ``$ref`` paths and ``ignoreMissingValueFiles``, ``valuesObject`` or else
``values``, then ``parameters`` (``forceString``) and ``fileParameters``); ``skipCrds``,
``skipSchemaValidation`` (``skipTests`` changes nothing: Argo CD ignores Helm test hooks,
as every Helm hook it does not map to its own); the environment's Kubernetes version as
``.Capabilities.KubeVersion``. Hermetic: value and parameter files stay in the repository,
dependencies must be vendored under ``charts/`` (fetching them needs the network).

A value the chart's ``values.schema.json`` rejects is a ``helm-values`` finding, a template
that fails a ``helm-template`` finding, both on the chart.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gitplane.boundary import Boundary, walk
from gitplane.errors import BoundaryError, GitplaneError, YamlError
from gitplane.model import Resource
from gitplane import cache, proc
from gitplane.render import Problem, Rendered, yaml_problem
from gitplane.repo import Repository
from gitplane.yamlio import digest_regular, load_file, load_trusted

_SOURCE = re.compile(r"^# Source: (.+)$", re.M)
WORKER = Path(__file__).with_name("helm_worker.py")
VALUES = "helm-values"
TEMPLATE = "helm-template"


def binary() -> str | None:
    """The ``helm`` program to run, when one is chosen or the SDK is missing."""
    chosen = os.environ.get("GITPLANE_HELM")
    if chosen:
        return shutil.which(chosen) or chosen
    return None if sdk_available() else shutil.which("helm")


def sdk_available() -> bool:
    return importlib.util.find_spec("helm_python") is not None


def engine_name() -> str:
    """What renders Helm charts: ``sdk``, ``binary:<path>``, or ``""`` (nothing)."""
    exe = binary()
    if exe:
        return f"binary:{exe}"
    return "sdk" if sdk_available() else ""


def build(repo: Repository, chart: Path, helm: dict[str, Any], release: str, namespace: str,
          refs: dict[str, Repository], timeout: float = 60.0,
          memory: int = 2 * 1024 ** 3, kube_version: str = "",
          origin: tuple[str, int] = ("", 0), cached: bool = False,
          api_versions: list[str] | None = None) -> Rendered:
    """Render the chart folder ``chart`` with an Application's ``helm`` settings. Problems
    are reported on the chart's ``Chart.yaml``, or for a chart of gitplane's cache (not a
    file of the repository) on the Application (``origin``)."""
    out = Rendered()
    chart_file = chart / "Chart.yaml"
    shown = f"{origin[0]}" if cached and origin[0] else repo.rel(chart_file)
    where = (shown, origin[1] if cached and origin[0] else 1)
    engine = engine_name()
    if not engine:
        return _failed(out, Problem("source-not-rendered", *where,
                                    "local Helm chart not rendered: neither helm-python-sdk "
                                    "nor a 'helm' binary is installed", severity="warning"))
    try:
        meta = load_file(chart_file, shown)
    except YamlError as exc:
        return _failed(out, yaml_problem(exc))
    info = meta[0].obj if meta and isinstance(meta[0].obj, dict) else {}
    dependencies: list[list[str]] = []
    for i, dep in enumerate(info.get("dependencies") or []):
        at = where if cached else (shown, meta[0].line_of("dependencies", i))
        found = _dependency(repo, chart, dep if isinstance(dep, dict) else {})
        if isinstance(found, Path):
            dependencies.append([str((dep or {}).get("name")), str(found)])
        elif found:
            out.problems.append(Problem("source-not-rendered", *at, found, severity="warning"))
    value_files: list[Path] = []
    for i, vf in enumerate(helm.get("valueFiles") or []):
        path = _value_file(repo, chart, str(vf), refs)
        if isinstance(path, str):
            if not helm.get("ignoreMissingValueFiles") or "not found" not in path:
                out.problems.append(Problem(VALUES, *_helm_key(origin, where),
                                            f"helm.valueFiles[{i}] '{vf}': {path}"))
            continue
        value_files.append(path)
    file_params: list[tuple[str, Path]] = []
    for i, p in enumerate(helm.get("fileParameters") or []):
        if not isinstance(p, dict):
            continue
        path = _value_file(repo, chart, str(p.get("path") or ""), refs)
        if isinstance(path, str):
            out.problems.append(Problem(VALUES, *_helm_key(origin, where),
                                        f"helm.fileParameters[{i}] '{p.get('path')}': {path}"))
            continue
        file_params.append((str(p.get("name") or ""), path))
    escape = link_outside(repo, chart)
    if escape:
        out.problems.append(Problem(TEMPLATE, *where,
                                    f"{escape}: a link out of the repository; refused (Helm "
                                    "would read what it points at)"))
    if out.problems:
        out.ok = False
        return out
    # every file the render reads: the chart's, the value files and the parameter files
    read = [chart / f for f in walk(chart, links=True)[1]] + value_files + \
        [p for _, p in file_params]
    out.files.update(repo.rel(p) for p in read)
    release = str(helm.get("releaseName") or release)
    namespace = namespace or "default"
    # valuesObject wins over values (Argo CD's ValuesYAML)
    inline = helm.get("valuesObject") if helm.get("valuesObject") else helm.get("values")
    sets, strings = _parameters(helm.get("parameters") or [])
    if engine == "sdk":
        request = {"chart": str(chart), "valueFiles": [str(p) for p in value_files],
                   "inline": inline if isinstance(inline, (str, dict)) else None,
                   "set": sets, "setString": strings,
                   "setFile": [[n, str(p)] for n, p in file_params],
                   "release": release, "namespace": namespace,
                   "kubeVersion": f"v{kube_version.lstrip('v')}.0" if kube_version else "",
                   "apiVersions": sorted(api_versions or []),
                   "includeCrds": not helm.get("skipCrds"),
                   "dependencies": dependencies,
                   "skipSchemaValidation": bool(helm.get("skipSchemaValidation"))}
        key = _cache_key(repo, request, read, bool(helm.get("skipTests")))
        hit = cache.get(key) if key else None
        if hit is not None:
            try:
                out.resources = [Resource(r["obj"], str(r["file"]), int(r["line"]))
                                 for r in hit["resources"] if isinstance(r["obj"], dict)]
                return out
            except (KeyError, TypeError, ValueError):
                out.resources = []  # an entry of the wrong shape is a miss
        _sdk(repo, chart, where, request, timeout, memory, out,
             cached=cached,
             explain=lambda message: _value_problems(
                 message, repo, chart, value_files, helm, origin, where, refs))
        if key and out.ok and not out.problems:
            cache.put(key, {"resources": [{"obj": r.obj, "file": r.file, "line": r.line}
                                          for r in out.resources]})
        return out
    if dependencies:
        return _failed(out, Problem("source-not-rendered", *where, "chart not rendered: its "
                                    "dependencies are added by gitplane's Helm engine only, "
                                    "not with a 'helm' binary (GITPLANE_HELM)",
                                    severity="warning"))
    args = [engine.split(":", 1)[1], "template", release, str(chart), "--namespace", namespace]
    if not helm.get("skipCrds"):
        args.append("--include-crds")
    if helm.get("skipSchemaValidation"):
        args.append("--skip-schema-validation")
    if helm.get("skipTests"):
        args.append("--skip-tests")
    if kube_version:
        args += ["--kube-version", kube_version]
    for api in sorted(api_versions or []):
        args += ["--api-versions", api]
    for path in value_files:
        args += ["--values", str(path)]
    return _binary(repo, chart, where, args, inline, sets, strings, file_params, timeout,
                   memory, out)


def asks_api_versions(chart: Path) -> bool:
    """Whether a template of the chart (or of a vendored subchart) reads
    ``.Capabilities.APIVersions``: only then does the environment's API list change it."""
    for rel in walk(chart, links=False)[1]:
        if rel.endswith((".yaml", ".yml", ".tpl", ".txt", ".json")) and "templates/" in rel:
            try:
                with open(chart / rel, "rb") as fh:
                    if b"APIVersions" in fh.read(1 << 20):
                        return True
            except OSError:
                continue
    return False


def user_values(repo: Repository, chart: Path, helm: dict[str, Any],
                refs: dict[str, Repository]) -> tuple[dict[str, Any], dict[str, str]]:
    """What an Application gives its chart on top of the chart's defaults: its value files
    (in order) and ``values``/``valuesObject`` merged as Helm merges them, and its
    ``parameters``/``fileParameters`` by name (a file parameter as its path). A value file
    that is refused or missing is left out (the render reports it)."""
    from gitplane.render.helm_worker import merge

    merged: dict[str, Any] = {}
    for vf in helm.get("valueFiles") or []:
        path = _value_file(repo, chart, str(vf), refs)
        if isinstance(path, Path):
            docs = load_file(path, repo.rel(path) if repo.top in path.parents else str(vf))
            if docs and isinstance(docs[0].obj, dict):
                merge(merged, docs[0].obj)
    inline = helm.get("valuesObject") if helm.get("valuesObject") else helm.get("values")
    if isinstance(inline, str) and inline.strip():
        try:
            loaded = load_trusted(inline, "values")
        except YamlError:
            loaded = []
        inline = loaded[0] if loaded else None
    if isinstance(inline, dict):
        merge(merged, inline)
    params = {str(p.get("name")): str(p.get("value") if p.get("value") is not None else "")
              for p in helm.get("parameters") or [] if isinstance(p, dict)}
    params.update({str(p.get("name")): f"(file {p.get('path')})"
                   for p in helm.get("fileParameters") or [] if isinstance(p, dict)})
    return merged, params


def dependencies_to_fetch(chart: Path) -> list[tuple[str, str, str]]:
    """(repository, chart, version) of the chart's dependencies that are neither vendored
    under ``charts/`` nor local (``file://``): what ``helm dependency build`` fetches."""
    try:
        meta = load_trusted((chart / "Chart.yaml").read_text(encoding="utf-8"), "Chart.yaml")
    except (OSError, UnicodeDecodeError, YamlError):
        return []
    info = meta[0] if meta and isinstance(meta[0], dict) else {}
    out = []
    for dep in info.get("dependencies") or []:
        if not isinstance(dep, dict) or not dep.get("name"):
            continue
        repo_url = str(dep.get("repository") or "")
        if _vendored(chart, str(dep["name"])) or not repo_url or repo_url.startswith(
                ("file://", "@", "alias:")):
            continue
        out.append((repo_url, str(dep["name"]), str(dep.get("version") or "*")))
    return out


def _vendored(chart: Path, name: str) -> bool:
    return bool(list((chart / "charts").glob(f"{name}*")))


def _dependency(repo: Repository, chart: Path, dep: dict[str, Any]) -> Path | str | None:
    """A dependency Argo CD would build (``helm dependency build``) that is not vendored:
    the folder to add under ``charts/`` (a ``file://`` chart of the repository, or one of
    gitplane's cache), or why the chart is not rendered; None when it is vendored."""
    from gitplane.render import charts

    name = str(dep.get("name") or "")
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", name) or ".." in name:
        return f"chart not rendered: dependency name '{name[:80]}' is not a chart name"
    if _vendored(chart, name):
        return None
    repo_url = str(dep.get("repository") or "")
    version = str(dep.get("version") or "*")
    if repo_url.startswith("file://"):
        target = Path(os.path.normpath(chart / repo_url[len("file://"):]))
        try:
            Boundary(repo.top).check(target, repo_url)
        except BoundaryError:
            return f"chart not rendered: dependency '{name}' ({repo_url}) leaves the repository"
        escape = link_outside(repo, target) if target.is_dir() else None
        if escape:
            return (f"chart not rendered: dependency '{name}' ({repo_url}): {escape} is a "
                    "link out of the repository; refused")
        if (target / "Chart.yaml").is_file():
            return target
        return f"chart not rendered: dependency '{name}' ({repo_url}) not found"
    found = charts.cached(repo_url, name, version) if repo_url else None
    if found is not None:
        return found.folder
    return (f"chart not rendered: dependency '{name}' {version} of {repo_url or '?'} is neither "
            "vendored under charts/ nor in gitplane's cache (Argo CD fetches it): run "
            "'gitplane charts pull --allow-network', or 'helm dependency build' to vendor it")


def _helm_key(origin: tuple[str, int], where: tuple[str, int]) -> tuple[str, int]:
    """Where an Application's own ``helm`` settings are reported: the Application."""
    return origin if origin[0] else where


_POINTER = re.compile(r"at '(/[^']*)': (.+)$")


def _pointer(text: str) -> tuple[str | int, ...]:
    steps: list[str | int] = []
    for raw in text.strip("/").split("/") if text.strip("/") else []:
        step = raw.replace("~1", "/").replace("~0", "~")
        steps.append(int(step) if step.isdigit() else step)
    return tuple(steps)


def _has(value: Any, path: tuple[str | int, ...]) -> bool:
    for step in path:
        mapped = isinstance(value, dict) and isinstance(step, str) and step in value
        listed = isinstance(value, list) and isinstance(step, int) and step < len(value)
        if not (mapped or listed):
            return False
        value = value[step]
    return True


def _rel(trees: list[Repository], path: Path) -> str:
    for tree in trees:
        if tree.top == path or tree.top in path.parents:
            return tree.rel(path)
    return path.name


def _value_problems(message: str, repo: Repository, chart: Path, value_files: list[Path],
                    helm: dict[str, Any], origin: tuple[str, int],
                    where: tuple[str, int], refs: dict[str, Repository]) -> list[Problem]:
    """One ``helm-values`` problem per value the chart's schema rejects, on the file and
    line that set it, in Argo CD's precedence: a parameter or the Application's own values
    (the Application), else the last value file holding it (its line), else the chart's
    defaults (``values.yaml``)."""
    found: dict[tuple[str | int, ...], str] = {}
    for line in message.splitlines():
        m = _POINTER.search(line.strip().lstrip("- "))
        if m:
            path = _pointer(m.group(1))
            if m.group(2).strip() == "validation failed" and any(
                    p[:len(path)] == path and p != path for p in found):
                continue
            found[path] = m.group(2).strip()
    # a parent's "validation failed" said by its children is left out
    found = {p: why for p, why in found.items()
             if not (why == "validation failed" and any(
                 q != p and q[:len(p)] == p for q in found))}
    if not found:
        return []
    inline = helm.get("valuesObject") if helm.get("valuesObject") else helm.get("values")
    if isinstance(inline, str):
        try:
            docs = load_trusted(inline, "values")
            inline = docs[0] if docs else None
        except YamlError:
            inline = None
    params = {str(p.get("name")) for p in [*(helm.get("parameters") or []),
                                           *(helm.get("fileParameters") or [])]
              if isinstance(p, dict)}
    files = [*value_files]
    defaults = chart / "values.yaml"
    if defaults.is_file():
        files.insert(0, defaults)
    out = []
    for path, why in sorted(found.items(), key=lambda kv: [str(s) for s in kv[0]]):
        dotted = ".".join(str(s) for s in path) or "(the values)"
        text = f"value '{dotted}': {why} (the chart's values.schema.json)"
        if any(dotted == p or dotted.startswith(p + ".") or p.startswith(dotted + ".")
               for p in params):
            out.append(Problem(VALUES, *_helm_key(origin, where), f"{text}; set by "
                               "helm.parameters"))
            continue
        if isinstance(inline, dict) and _has(inline, path):
            key = "valuesObject" if helm.get("valuesObject") else "values"
            out.append(Problem(VALUES, *_helm_key(origin, where), f"{text}; set by "
                               f"helm.{key}"))
            continue
        for file in reversed(files):
            shown = _rel([repo, *refs.values()], file)
            try:
                docs = load_file(file, shown)
            except (YamlError, GitplaneError):
                continue
            if docs and _has(docs[0].obj, path):
                if file == defaults and where[0] != repo.rel(chart / "Chart.yaml"):
                    at = where  # a cached chart's own default: on the Application
                else:
                    at = (shown, docs[0].line_of(*path))
                out.append(Problem(VALUES, *at, text))
                break
        else:
            out.append(Problem(VALUES, *where, text))
    return out


def _failed(out: Rendered, problem: Problem) -> Rendered:
    out.problems.append(problem)
    out.ok = False
    return out


def link_outside(repo: Repository, chart: Path) -> str | None:
    """The first symlink under the chart that resolves outside the repository: Helm's
    loader follows links, so a chart could read any file of the machine."""
    bound = Boundary(repo.top)
    stack = [chart]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for e in entries:
            if e.is_symlink():
                try:
                    bound.check(e.path, repo.rel(Path(e.path)))
                except BoundaryError:
                    return repo.rel(Path(e.path))
            elif e.is_dir(follow_symlinks=False):
                stack.append(Path(e.path))
    return None


def _cache_key(repo: Repository, request: dict[str, Any], read: list[Path],
               skip_tests: bool) -> str | None:
    """The render's cache key: the request with repository-relative paths, the SDK's
    version, and the digest of every file the render reads; None when one cannot be read."""
    if not cache.enabled():
        return None
    try:
        digests = {repo.rel(p): digest_regular(Path(os.path.realpath(p))) for p in read}
        from importlib.metadata import version

        sdk = version("helm-python-sdk")
    except (OSError, GitplaneError, ImportError, ValueError):
        return None
    top = str(repo.top) + os.sep
    portable = json.dumps({**request, "skipTests": skip_tests}, sort_keys=True).replace(top, "")
    return cache.key(["helm", sdk, portable], digests)


def _parameters(params: list[Any]) -> tuple[list[str], list[str]]:
    """``--set`` and ``--set-string`` expressions of ``helm.parameters``, with commas escaped
    unless the value is a ``{a,b}`` list (as Argo CD escapes them)."""
    sets: list[str] = []
    strings: list[str] = []
    for p in params:
        if not isinstance(p, dict):
            continue
        value = str(p.get("value") if p.get("value") is not None else "")
        if not (value.startswith("{") and value.endswith("}")):
            value = re.sub(r"(?<!\\),", r"\\,", value)
        (strings if p.get("forceString") else sets).append(f"{p.get('name')}={value}")
    return sets, strings


def _sdk(repo: Repository, chart: Path, where: tuple[str, int], request: dict[str, Any],
         timeout: float, memory: int, out: Rendered, cached: bool,
         explain: Callable[[str], list[Problem]]) -> Rendered:
    scratch = Path(tempfile.mkdtemp(prefix="gitplane-helm-"))
    try:
        res = proc.run([sys.executable, "-I", str(WORKER)], cwd=scratch, timeout=timeout,
                       memory=memory, env={"HOME": str(scratch), "TMPDIR": str(scratch)},
                       stdin=json.dumps(request).encode())
    except GitplaneError as exc:
        return _failed(out, Problem(TEMPLATE, *where, f"helm render: {exc}"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    try:
        answer = json.loads(res.stdout or b"{}")
    except json.JSONDecodeError:
        answer = {}
    if res.returncode != 0 or not isinstance(answer, dict) or \
            ("manifests" not in answer and "error" not in answer):
        last = res.stderr.strip().splitlines()[-1:] or ["no answer"]
        return _failed(out, Problem(TEMPLATE, *where, f"helm render failed: {last[0]}"))
    if "error" in answer:
        message = str(answer.get("message") or "failed").replace(str(repo.top) + "/", "")
        if answer["error"] == "values":
            out.problems.extend(explain(message) or [Problem(VALUES, *where,
                                                             _one_line(message))])
            out.ok = False
            return out
        return _failed(out, Problem(TEMPLATE, *where, _one_line(message)))
    name = str(_chart_name(chart))
    for path, text in [*answer.get("crds", []), *answer.get("manifests", [])]:
        file = where if cached else (_source_file(repo, chart, name, str(path)), 1)
        _add(out, text, file, where)
    if not cached:
        out.files.add(where[0])
    return out


def _chart_name(chart: Path) -> str:
    try:
        meta = load_trusted((chart / "Chart.yaml").read_text(encoding="utf-8"), "Chart.yaml")
    except (OSError, UnicodeDecodeError, YamlError):
        return chart.name
    info = meta[0] if meta and isinstance(meta[0], dict) else {}
    return str(info.get("name") or chart.name)


def _source_file(repo: Repository, chart: Path, name: str, path: str) -> str:
    """The repository path of a rendered template (``<chart name>/templates/x.yaml``)."""
    head, _, rest = path.partition("/")
    return repo.rel(chart / rest) if head == name and rest else repo.rel(chart / "Chart.yaml")


#: Helm's manifest separator (releaseutil.SplitManifests): ``---`` need not end its line
_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")
#: Helm hooks Argo CD maps to its own (gitops-engine's helm hook types); an object whose
#: Helm hooks are all others (test, pre-delete, rollback...) is ignored by Argo CD's sync
ARGO_HELM_HOOKS = {"pre-install", "pre-upgrade", "post-install", "post-upgrade"}


def applied_by_argo_cd(obj: dict[str, Any]) -> bool:
    """Whether Argo CD applies a rendered object (from any source): not a Helm hook of
    types it does not support only (gitops-engine ignores it), unless it carries an
    Argo CD hook annotation, which replaces Helm's."""
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict) or "helm.sh/hook" not in annotations or \
            "argocd.argoproj.io/hook" in annotations:
        return True
    hooks = {h.strip() for h in str(annotations["helm.sh/hook"]).split(",") if h.strip()}
    return bool(hooks & ARGO_HELM_HOOKS)


def _add(out: Rendered, text: str, at: tuple[str, int], where: tuple[str, int]) -> None:
    file = at[0]
    objs: list[Any] = []
    for piece in _SEPARATOR.split(text):
        if not piece.strip():
            continue
        try:
            objs.extend(load_trusted(piece, file))
        except YamlError as exc:
            out.problems.append(Problem(TEMPLATE, *where, f"{file}: {exc.reason}"))
            return
    for obj in objs:
        if isinstance(obj, dict):
            out.resources.append(Resource(obj, file, at[1]))


def _one_line(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return "; ".join(lines[:6]) + (" …" if len(lines) > 6 else "")


def _binary(repo: Repository, chart: Path, where: tuple[str, int], args: list[str], inline: Any,
            sets: list[str], strings: list[str], file_params: list[tuple[str, Path]],
            timeout: float, memory: int, out: Rendered) -> Rendered:
    scratch = Path(tempfile.mkdtemp(prefix="gitplane-helm-"))
    try:
        if inline:
            values = scratch / "values.yaml"
            values.write_text(inline if isinstance(inline, str) else json.dumps(inline))
            args += ["--values", str(values)]
        for expr in sets:
            args += ["--set", expr]
        for expr in strings:
            args += ["--set-string", expr]
        for name, path in file_params:
            args += ["--set-file", f"{name}={path}"]
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(scratch),
               "HELM_CACHE_HOME": str(scratch / "cache"),
               "HELM_CONFIG_HOME": str(scratch / "config"),
               "HELM_DATA_HOME": str(scratch / "data"), "KUBECONFIG": os.devnull}
        try:
            res = proc.run(args, timeout=timeout, memory=memory, env=env)
        except GitplaneError as exc:
            return _failed(out, Problem(TEMPLATE, *where, f"helm template: {exc}"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if res.returncode != 0:
        message = res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "failed"
        rule = VALUES if "schema" in message else TEMPLATE
        return _failed(out, Problem(rule, *where, "helm template: "
                                    f"{message.replace(str(repo.top) + '/', '')}"))
    text = res.stdout.decode("utf-8", "replace")
    for chunk in re.split(r"^---\s*$", text, flags=re.M):
        m = _SOURCE.search(chunk)
        source = m.group(1).strip() if m else ""
        _add(out, chunk, (repo.rel(chart.parent / source), 1) if source else where, where)
    out.files.add(where[0])
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
        if entry.startswith("/") or not entry:
            return "absolute paths are refused" if entry else "no path"
        target = Path(os.path.normpath(chart / entry))
        base = repo.top
    try:
        Boundary(base).check(target, entry)
    except BoundaryError:
        return "leaves the repository; refused"
    if not target.is_file():
        return "not found"
    return target
