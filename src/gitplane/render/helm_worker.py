"""One Helm render, run in its own process: ``python -m gitplane.render.helm_worker``.

The engine is Helm's Go SDK through ``helm-python-sdk`` (pinned; see ``render/helm``). A
chart is hostile input, so the render runs out of gitplane's process, under the same timeout
and address-space limit as kustomize, with nothing of the user's environment: the request
comes on standard input as JSON, the answer goes to standard output as JSON.

Request::

    {"chart": "/abs/chart", "valueFiles": ["/abs/values.yaml", ...],
     "inline": "yaml text" | {...} | null,
     "set": ["name=value", ...], "setString": [...], "setFile": [["name", "/abs/file"]],
     "release": "web", "namespace": "apps", "kubeVersion": "v1.33.0",
     "apiVersions": ["example.com/v1", ...], "includeCrds": true,
     "skipSchemaValidation": false, "skipTests": false}

Answer: ``{"manifests": [[path, text], ...], "crds": [[path, text], ...]}`` or
``{"error": "values"|"template"|"chart", "message": "..."}``.

Values are merged in Helm's order: the chart's defaults, each value file, the inline values,
then ``--set``, ``--set-string`` and ``--set-file`` expressions.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of user values: maps merge key by key, anything else is replaced."""
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def _copy(chart: Path, scratch: Path, without_schemas: bool) -> Path:
    """A copy of the chart to add dependencies to, without ``values.schema.json`` files
    with ``skipSchemaValidation``."""
    target = scratch / chart.name
    shutil.copytree(chart, target, symlinks=False,
                    ignore=shutil.ignore_patterns("values.schema.json") if without_schemas
                    else None)
    return target


def render(request: dict[str, Any]) -> dict[str, Any]:
    import helm_python as helm

    values: dict[str, Any] = {}
    for path in request.get("valueFiles") or []:
        loaded = helm.values_from_yaml(Path(path).read_text(encoding="utf-8"))
        merge(values, loaded or {})
    inline = request.get("inline")
    if isinstance(inline, str) and inline.strip():
        merge(values, helm.values_from_yaml(inline) or {})
    elif isinstance(inline, dict):
        merge(values, inline)
    for expr in request.get("set") or []:
        merge(values, helm.parse_set_string(expr))
    for expr in request.get("setString") or []:
        merge(values, helm.parse_set_string_values(expr))
    for name, path in request.get("setFile") or []:
        merge(values, helm.parse_set_literal(f"{name}={Path(path).read_text(encoding='utf-8')}"))

    chart_dir = Path(request["chart"])
    scratch = Path(tempfile.mkdtemp(prefix="gitplane-helm-"))
    try:
        if request.get("skipSchemaValidation") or request.get("dependencies"):
            chart_dir = _copy(chart_dir, scratch, bool(request.get("skipSchemaValidation")))
        for name, folder in request.get("dependencies") or []:
            # as helm dependency build leaves it: the dependency under charts/
            if "/" in name or name in ("", ".", ".."):
                return {"error": "chart", "message": f"dependency name '{name}' refused"}
            shutil.copytree(folder, chart_dir / "charts" / name, symlinks=False,
                            ignore=shutil.ignore_patterns("values.schema.json")
                            if request.get("skipSchemaValidation") else None)
        try:
            chart = helm.Chart.load(str(chart_dir))
        except helm.HelmError as exc:
            return {"error": "chart", "message": str(exc)}
        with chart:
            opts: dict[str, Any] = {"name": request["release"],
                                    "namespace": request["namespace"], "is_install": True}
            if request.get("kubeVersion"):
                opts["kube_version"] = request["kubeVersion"]
            if request.get("apiVersions"):
                opts["api_versions"] = request["apiVersions"]
            from helm_python import _native

            try:
                rendered = json.loads(_native.call_string(
                    "helm_render", chart._raw(), json.dumps(values), json.dumps(opts)))
            except helm.HelmValuesError as exc:
                return {"error": "values", "message": str(exc)}
            except helm.HelmError as exc:
                return {"error": "template", "message": str(exc)}
            crds = [[c["filename"], c["data"]] for c in chart.crds] \
                if request.get("includeCrds") else []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    manifests = [[path, text] for path, text in sorted(rendered.items())
                 if not path.endswith("NOTES.txt") and text.strip()]
    return {"manifests": manifests, "crds": crds}


def fetch(request: dict[str, Any]) -> dict[str, Any]:
    """``{"op": "versions", "repo", "chart"}``: the chart's entries of the repository's index
    (version, digest); ``{"op": "pull", "repo", "chart", "version", "into"}``: the archive,
    downloaded into ``into``. Credentials come in the request (from the user's environment)."""
    import helm_python as helm

    auth = {k: request[k] for k in ("username", "password") if request.get(k)}
    try:
        if request["op"] == "versions":
            index = helm.repo_index(request["repo"], **auth)
            entries = (index.get("entries") or {}).get(request["chart"]) or []
            return {"versions": [{"version": str(e.get("version", "")),
                                  "digest": str(e.get("digest") or "")}
                                 for e in entries if isinstance(e, dict)]}
        if request.get("oci"):
            helm.pull(request["oci"], version=request["version"], destination=request["into"],
                      plain_http=bool(request.get("plainHttp")), **auth)
        else:
            helm.pull(request["chart"], repo_url=request["repo"], version=request["version"],
                      destination=request["into"], **auth)
        return {"pulled": sorted(p.name for p in Path(request["into"]).glob("*.tgz"))}
    except helm.HelmError as exc:
        return {"error": "fetch", "message": str(exc)}


HELM_VERSION = "v4.0.0+gitplane"


def _hook_kinds(text: str) -> set[str]:
    import re

    m = re.search(r"""^\s*['"]?helm\.sh/hook['"]?\s*:\s*['"]?([\w,-]+)""", text, re.M)
    return set(m.group(1).split(",")) if m else set()


def as_helm(argv: list[str], charts: dict[str, str]) -> int:
    """The ``helm`` that kustomize's chart inflator runs (``--helm-command``): ``version``,
    ``template`` (rendered here, with Helm's engine), and ``pull`` of a chart gitplane holds
    in its cache (``charts``: the chart folder kustomize names → the cached chart): nothing
    is fetched or written; any other pull is refused."""
    if argv[:1] == ["version"]:
        sys.stdout.write(HELM_VERSION + "\n")
        return 0
    if argv[:1] == ["pull"]:
        target = argv[argv.index("--untardir") + 1].rstrip("/") if "--untardir" in argv else ""
        if target and any(k.startswith(target + "/") for k in charts):
            return 0
        sys.stderr.write("gitplane-helm: charts are not fetched inside kustomize\n")
        return 1
    if argv[:1] != ["template"]:
        sys.stderr.write(f"gitplane-helm: '{' '.join(argv[:1])}' is not supported\n")
        return 1
    flags = {"--namespace": "namespace", "-n": "namespace", "-f": "values",
             "--values": "values", "--api-versions": "api", "--kube-version": "kube",
             "--name-template": "nameTemplate"}
    seen: dict[str, list[str]] = {}
    positional = []
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg in flags and i + 1 < len(argv):
            seen.setdefault(flags[arg], []).append(argv[i + 1])
            i += 2
            continue
        if arg.startswith("--"):
            seen.setdefault(arg, [])
        else:
            positional.append(arg)
        i += 1
    if "--generate-name" in seen:
        positional.insert(0, "release-name")  # deterministic (Helm would make one up)
    if len(positional) != 2:
        sys.stderr.write("gitplane-helm: template needs a release name and a chart\n")
        return 1
    release, chart = positional
    chart = charts.get(chart, charts.get(chart.rstrip("/"), chart))
    try:
        answer = _render_cli(chart, release, seen)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        answer = {"error": "chart", "message": str(exc)}
    if "error" in answer:
        sys.stderr.write(f"gitplane-helm-{answer['error']}: {answer.get('message', '')}\n")
        return 1
    out = []
    for path, text in [*answer["crds"], *answer["manifests"]]:
        hooks = _hook_kinds(text)
        if hooks and ("--no-hooks" in seen or ("--skip-tests" in seen and "test" in hooks)):
            continue
        out.append(f"---\n# Source: {path}\n{text.strip()}\n")
    sys.stdout.write("".join(out))
    return 0


def _render_cli(chart: str, release: str, seen: dict[str, list[str]]) -> dict[str, Any]:
    kube = (seen.get("kube") or [""])[-1].lstrip("v")
    if kube.count(".") == 1:
        kube += ".0"
    return render({"chart": chart, "valueFiles": seen.get("values", []), "release": release,
                   "namespace": (seen.get("namespace") or ["default"])[-1],
                   "kubeVersion": kube and f"v{kube.lstrip('v')}",
                   "apiVersions": seen.get("api", []),
                   "includeCrds": "--include-crds" in seen})


def main() -> None:
    if len(sys.argv) > 1:  # run as kustomize's helm command
        import os

        try:
            charts = json.loads(os.environ.get("GITPLANE_HELM_CHARTS") or "{}")
        except ValueError:
            charts = {}
        sys.exit(as_helm(sys.argv[1:], charts if isinstance(charts, dict) else {}))
    request = json.loads(sys.stdin.buffer.read())
    try:
        answer = fetch(request) if request.get("op") else render(request)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        answer = {"error": "chart", "message": str(exc)}
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    main()
