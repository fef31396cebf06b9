"""ApplicationSet generators as Argo CD v3 runs them, with the outside world behind `World`.

Generators: list (``elements``, ``elementsYaml``), clusters (selector, ``values``,
``flatList``), git directories and files (include/exclude patterns, ``pathParamPrefix``,
``values``; files as JSON or YAML objects or arrays), matrix (two children, the second
interpolated with the first's params, nesting) and merge (``mergeKeys``); post-selectors;
both template modes. Generators that need a live service fail with a clear message. Error
texts follow Argo CD's where its tests give them.
"""
from __future__ import annotations

import copy
import json
import posixpath
from typing import Any, Protocol
from collections.abc import Callable

import yaml

from gitplane.argocd.gotemplate import TemplateError, normalize, to_text
from gitplane.argocd.template import render
from gitplane import limits
from gitplane.errors import GitplaneError
from gitplane.argocd.clusters import IN_CLUSTER_NAME, IN_CLUSTER_SERVER
from gitplane.patterns import PatternError, glob_match
from gitplane.yamlio import json_value, yaml_value

LIVE = ("scmProvider", "pullRequest", "plugin", "clusterDecisionResource")
KINDS = ("list", "clusters", "git", "matrix", "merge", *LIVE)
IN_CLUSTER = {"name": IN_CLUSTER_NAME, "server": IN_CLUSTER_SERVER}

Params = dict[str, Any]


class GeneratorError(GitplaneError):
    """A generator that cannot produce params."""


class OfflineError(GeneratorError):
    """A generator whose input only a live service or another repository has: its
    Applications are unknown offline (a correct repository cannot avoid it)."""


class World(Protocol):
    """What generators read outside the ApplicationSet (repositories, clusters)."""

    def directories(self, repo_url: str, revision: str) -> list[str]: ...

    def files(self, repo_url: str, revision: str, pattern: str) -> dict[str, str]: ...

    def clusters(self) -> list[dict[str, Any]]: ...


# -- helpers ---------------------------------------------------------------------------------
def go_str(value: Any) -> str:
    """Go's ``fmt.Sprintf("%v")`` of a JSON value."""
    if value is None:
        return "<nil>"
    return to_text(value)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix] = value
    return out


def path_match(pattern: str, path: str) -> bool:
    """Go's ``path.Match``: ``*`` and ``?`` stay within one folder."""
    try:
        return glob_match(pattern, path, "path")
    except PatternError as exc:
        raise GeneratorError(f"git generator path: {exc}") from None


def doublestar_match(pattern: str, path: str) -> bool:
    """doublestar's Match: ``**`` spans any number of folders, ``*`` stays within one."""
    try:
        return glob_match(pattern, path, "doublestar")
    except PatternError as exc:
        raise GeneratorError(f"git generator files: {exc}") from None


def deep_merge(dst: dict[str, Any], src: dict[str, Any]) -> dict[str, Any]:
    """mergo.Merge(dst, src, WithOverride): src wins, nested maps merged."""
    out = dict(dst)
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == {} or v == [] or v is False or v == 0


def merge_template(spec_template: dict[str, Any], gen_template: dict[str, Any]) -> dict[str, Any]:
    """mergo.Merge(dst=generator template, src=spec.template): non-empty generator fields
    win, empty ones come from spec.template, maps are unioned."""
    out = copy.deepcopy(gen_template)
    for k, v in spec_template.items():
        if k not in out or _empty(out[k]):
            out[k] = copy.deepcopy(v)
        elif isinstance(out[k], dict) and isinstance(v, dict):
            out[k] = merge_template(v, out[k])
    return out


def combine_string_maps(a: Params, b: Params) -> Params:
    out = dict(a)
    for k, v in b.items():
        if k in out and out[k] != v:
            raise GeneratorError(f"found duplicate key {k} with different value, a: {out[k]} "
                                 f",b: {v}")
        out[k] = v
    return out


def append_values(values: dict[str, Any] | None, params: Params, go: bool,
                  options: list[str]) -> Params:
    """Argo CD's appendTemplatedValues: each value rendered with the params so far."""
    if not values:
        return params
    rendered: dict[str, Any] = {}
    for key in values:
        value = values[key]
        try:
            rendered[key] = render(value, params, go, options, keep_without_params=False)
        except TemplateError as exc:
            raise GeneratorError(f"failed to render templated values: {exc}") from None
    if go:
        params["values"] = rendered
    else:
        for key, value in rendered.items():
            params[f"values.{key}"] = value
    return params


# -- selectors -------------------------------------------------------------------------------
def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions) against string labels."""
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != str(v):
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key"), expr.get("operator")
        vals = [str(v) for v in expr.get("values") or []]
        present = key in labels
        if op == "In" and not (present and labels[key] in vals):
            return False
        if op == "NotIn" and present and labels[key] in vals:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise GeneratorError(f"{op!r} is not a valid label selector operator")
    return True


def _flat_labels(params: Params) -> dict[str, str]:
    return {k: go_str(v) for k, v in flatten(params).items()}


# -- generators ------------------------------------------------------------------------------
Generator = Callable[[dict[str, Any], "Generators"], list[Params]]


class Generators:
    """Runs generators of one ApplicationSet: its template mode and options, and a World."""

    def __init__(self, world: World, go: bool = False, options: list[str] | None = None,
                 overrides: dict[str, Generator] | None = None) -> None:
        self.world = world
        self.go = go
        self.options = options or []
        self.table: dict[str, Generator] = {
            "list": _list, "clusters": _clusters, "git": _git, "matrix": _matrix,
            "merge": _merge, **{k: _live(k) for k in LIVE}}
        self.table.update(overrides or {})

    def kinds(self, generator: dict[str, Any]) -> list[str]:
        return [k for k in KINDS if generator.get(k) is not None]

    def transform(self, generator: dict[str, Any] | None,
                  params: Params | None = None) -> list[tuple[list[Params], dict[str, Any]]]:
        """Argo CD's Transform: (params, generator template) per generator kind present."""
        if generator is None:
            raise GeneratorError("generator is empty")
        if params:
            generator = self.interpolate(generator, params)
        out = []
        for kind in self.kinds(generator):
            try:
                found = self.table[kind](generator[kind] or {}, self)
                selector = generator.get("selector")
                if selector:
                    found = [p for p in found if selector_matches(selector, _flat_labels(p))]
            except (GeneratorError, TemplateError):
                raise
            except (AttributeError, TypeError, KeyError, ValueError, IndexError,
                    RecursionError) as exc:
                # A malformed generator (a list where a map belongs, ...) is one finding on
                # its ApplicationSet, never the end of the run.
                raise GeneratorError(f"{kind} generator is malformed "
                                     f"({type(exc).__name__}: {exc})") from None
            most = limits.current().applications
            if len(found) > most:
                raise GeneratorError(f"{kind} generator makes {len(found)} parameter sets, "
                                     f"over gitplane's limit of {most} "
                                     "(GITPLANE_MAX_APPLICATIONS); refused")
            template = (generator[kind] or {}).get("template") if isinstance(
                generator[kind], dict) else None
            out.append((found, template or {}))
        return out

    def params(self, generator: dict[str, Any] | None,
               params: Params | None = None) -> list[Params]:
        return [p for found, _ in self.transform(generator, params) for p in found]

    def interpolate(self, generator: dict[str, Any] | None, params: Params | None) -> dict[str, Any]:
        """Argo CD's InterpolateGenerator: the generator templated with another's params;
        ``values`` that need the generator's own params are kept for later."""
        if generator is None:
            raise GeneratorError("generator is empty")
        if not params:
            return generator
        out: dict[str, Any] = {}
        for kind, spec in generator.items():
            if not isinstance(spec, dict):
                out[kind] = render(spec, params, self.go, self.options)
                continue
            body: dict[str, Any] = {}
            for key, value in spec.items():
                if key == "values" and isinstance(value, dict):
                    body[key] = {k: self._value(k, v, params) for k, v in value.items()}
                elif key == "template":
                    body[key] = value
                else:
                    try:
                        body[key] = render(value, params, self.go, self.options)
                    except TemplateError as exc:
                        raise GeneratorError("failed to replace parameters in generator: "
                                             f"{exc}") from None
            if kind == "git":
                body.setdefault("directories", [])
            out[kind] = body
        return out

    def _value(self, key: str, value: Any, params: Params) -> Any:
        if not isinstance(value, str) or "{{" not in value:
            return value
        try:
            return render(value, params, self.go, ["missingkey=error"] if self.go else [])
        except TemplateError as exc:
            if "map has no entry for key" in str(exc):
                return value  # refers to the generator's own params: rendered later
            raise GeneratorError(f'failed to pre-resolve Values key "{key}": {exc}') from None


def _live(kind: str) -> Generator:
    def fail(spec: dict[str, Any], gens: Generators) -> list[Params]:
        raise OfflineError(f"the {kind} generator needs a live service: its Applications "
                           "are unknown offline")
    return fail


def _list(spec: dict[str, Any], gens: Generators) -> list[Params]:
    elements = spec.get("elements") or []
    if spec.get("elementsYaml"):
        try:
            parsed = yaml_value(str(spec["elementsYaml"]))
        except yaml.YAMLError as exc:
            raise GeneratorError(f"error unmarshling decoded ElementsYaml {exc}") from None
        if not isinstance(parsed, list):
            raise GeneratorError("error unmarshling decoded ElementsYaml: not a list")
        elements = [*elements, *parsed]
    if not isinstance(elements, list):
        raise GeneratorError("list generator: elements must be a list")
    out: list[Params] = []
    for el in elements:
        if not isinstance(el, dict):
            raise GeneratorError("error unmarshling element")
        if gens.go:
            out.append(copy.deepcopy(el))
            continue
        params: Params = {}
        for key, value in el.items():
            if key == "values" and isinstance(value, dict):
                for vk, vv in value.items():
                    params[f"values.{vk}"] = go_str(vv)
            else:
                params[str(key)] = value if isinstance(value, str) else go_str(value)
        out.append(params)
    return out


def _cluster_params(secret: dict[str, Any], go: bool) -> Params:
    meta = secret.get("metadata") or {}
    data = secret.get("data") or {}
    name = str(data.get("name") or "")
    params: Params = {"name": name, "nameNormalized": normalize(name),
                      "server": str(data.get("server") or ""),
                      "project": str(data.get("project") or "")}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    if go:
        if meta:  # Go's ObjectMeta: empty labels and annotations are omitted
            params["metadata"] = {k: dict(v) for k, v in (("labels", labels),
                                                          ("annotations", annotations)) if v}
    else:
        for k, v in labels.items():
            params[f"metadata.labels.{k}"] = str(v)
        for k, v in annotations.items():
            params[f"metadata.annotations.{k}"] = str(v)
    return params


def _clusters(spec: dict[str, Any], gens: Generators) -> list[Params]:
    try:
        secrets = gens.world.clusters()
    except GeneratorError as exc:
        raise type(exc)(f"error getting cluster secrets: {exc}") from None
    selector = spec.get("selector") or {}
    chosen = [s for s in secrets
              if selector_matches(selector, {str(k): str(v) for k, v in
                                             ((s.get("metadata") or {}).get("labels")
                                              or {}).items()})]
    out = [_cluster_params(s, gens.go) for s in chosen]
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        servers = {str((s.get("data") or {}).get("server") or "") for s in secrets}
        if IN_CLUSTER["server"] not in servers:
            out.append({**IN_CLUSTER, "nameNormalized": IN_CLUSTER["name"], "project": ""})
    for params in out:
        append_values(spec.get("values"), params, gens.go, gens.options)
    if spec.get("flatList"):
        return [{"clusters": out}]
    return out


def _git(spec: dict[str, Any], gens: Generators) -> list[Params]:
    repo = str(spec.get("repoURL") or "")
    revision = str(spec.get("revision") or "")
    prefix = str(spec.get("pathParamPrefix") or "")
    values = spec.get("values") if isinstance(spec.get("values"), dict) else None
    if spec.get("directories"):
        try:
            folders = gens.world.directories(repo, revision)
        except GeneratorError as exc:
            raise type(exc)("error generating params from git: error getting directories "
                                 f"from repo: {exc}") from None
        return _directories(spec["directories"], folders, prefix, values, gens)
    if spec.get("files"):
        return _files(spec["files"], repo, revision, prefix, values, gens)
    raise GeneratorError("error generating params from git: no directories or files given")


def _directories(entries: list[dict[str, Any]], folders: list[str], prefix: str,
                 values: dict[str, Any] | None, gens: Generators) -> list[Params]:
    includes = [str(d.get("path", "")) for d in entries if not d.get("exclude")]
    excludes = [str(d.get("path", "")) for d in entries if d.get("exclude")]
    out: list[Params] = []
    for folder in folders:
        if not any(path_match(p, folder) for p in includes):
            continue
        if any(path_match(p, folder) for p in excludes):
            continue
        segments = folder.split("/")
        base = posixpath.basename(folder)
        params: Params
        if gens.go:
            info = {"path": folder, "basename": base, "basenameNormalized": normalize(base),
                    "segments": segments}
            params = {prefix: {"path": info}} if prefix else {"path": info}
        else:
            key = f"{prefix}.path" if prefix else "path"
            params = {key: folder, f"{key}.basename": base,
                      f"{key}.basenameNormalized": normalize(base)}
            for i, seg in enumerate(segments):
                params[f"{key}[{i}]"] = seg
        out.append(append_values(values, params, gens.go, gens.options))
    return out


def _files(entries: list[dict[str, Any]], repo: str, revision: str, prefix: str,
           values: dict[str, Any] | None, gens: Generators) -> list[Params]:
    found: dict[str, str] = {}
    excluded: set[str] = set()
    for entry in entries:
        try:
            files = gens.world.files(repo, revision, str(entry.get("path", "")))
        except GeneratorError as exc:
            raise type(exc)(f"error generating params from git: {exc}") from None
        if entry.get("exclude"):
            excluded.update(files)
        else:
            found.update(files)
    found = {p: c for p, c in found.items() if p not in excluded}
    out: list[Params] = []
    for path in sorted(found):
        try:
            out.extend(file_params(path, found[path], prefix, values, gens.go, gens.options))
        except GeneratorError as exc:
            raise GeneratorError(f"error generating params from git: unable to process file "
                                 f"'{path}' from repository '{repo}': {exc}") from None
    return out


def _go_numbers(value: Any) -> Any:
    """Numbers as Go's JSON decoding gives them: float64."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _go_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_numbers(v) for v in value]
    return value


_NOTHING = object()


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def _unmarshal_error(value: Any, go_type: str) -> str:
    return ("unable to parse file: error unmarshaling JSON: while decoding JSON: json: cannot "
            f"unmarshal {_json_type(value)} into Go value of type {go_type}")


def _parse_file(content: str) -> Any:
    """JSON or YAML content, as sigs.k8s.io/yaml reads it (JSON first: it may hold tabs)."""
    if not content.strip():
        return None
    try:
        return json_value(content)
    except json.JSONDecodeError:
        pass
    try:
        return yaml_value(content)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise GeneratorError(f"unable to parse file: error converting YAML to JSON: yaml: "
                             f"{where}{problem}") from None


def file_params(file_path: str, content: str, prefix: str, values: dict[str, Any] | None,
                go: bool, options: list[str]) -> list[Params]:
    """Argo CD's generateParamsFromGitFile."""
    parsed = _parse_file(content)
    if parsed is None:
        objects: list[Any] = [{}]
    elif isinstance(parsed, list):
        bad = next((o for o in parsed if not isinstance(o, dict)), _NOTHING)
        if bad is not _NOTHING:
            raise GeneratorError(_unmarshal_error(bad, "map[string]interface {}"))
        objects = parsed
    elif isinstance(parsed, dict):
        objects = [parsed]
    else:
        raise GeneratorError(_unmarshal_error(parsed, "[]map[string]interface {}"))
    folder = posixpath.dirname(file_path) or "."
    base = posixpath.basename(folder)
    filename = posixpath.basename(file_path)
    out: list[Params] = []
    for obj in objects:
        if not isinstance(obj, dict):
            raise GeneratorError("unable to parse file: an array item is not an object")
        params: Params
        if go:
            params = {str(k): _go_numbers(v) for k, v in obj.items()}
            info = {"path": folder, "basename": base, "filename": filename,
                    "basenameNormalized": normalize(base),
                    "filenameNormalized": normalize(filename), "segments": folder.split("/")}
            if prefix:
                params[prefix] = {"path": info}
            else:
                params["path"] = info
        else:
            params = {k: go_str(_go_numbers(v)) for k, v in flatten(obj).items()}
            key = f"{prefix}.path" if prefix else "path"
            params.update({key: folder, f"{key}.basename": base, f"{key}.filename": filename,
                           f"{key}.basenameNormalized": normalize(base),
                           f"{key}.filenameNormalized": normalize(filename)})
            for i, seg in enumerate(folder.split("/")):
                if seg:
                    params[f"{key}[{i}]"] = seg
        out.append(append_values(values, params, go, options))
    return out


def _child(gens: Generators, child: dict[str, Any], params: Params | None) -> list[Params]:
    nested = dict(child)
    for kind in ("matrix", "merge"):
        if isinstance(nested.get(kind), str):  # nested generators may come as JSON text
            try:
                nested[kind] = json_value(nested[kind])
            except json.JSONDecodeError as exc:
                raise GeneratorError(f"error unmarshalling nested {kind} generator: "
                                     f"{exc.msg}") from None
    try:
        results = gens.transform(nested, params)
    except GeneratorError as exc:
        raise type(exc)("child generator returned an error on parameter generation: "
                             f"{exc}") from None
    if not results:
        raise GeneratorError("child generator generated no parameters")
    if len(results) > 1:
        raise GeneratorError("found more than one generator in matrix.Generators")
    return results[0][0]


def _matrix(spec: dict[str, Any], gens: Generators) -> list[Params]:
    children = spec.get("generators") or []
    if len(children) < 2:
        raise GeneratorError("found less than two generators, Matrix support only two")
    if len(children) > 2:
        raise GeneratorError("found more than two generators, Matrix support only two")
    try:
        first = _child(gens, children[0], None)
    except GeneratorError as exc:
        raise type(exc)("error failed to get params for first generator in matrix "
                             f"generator: {exc}") from None
    out: list[Params] = []
    for a in first:
        try:
            second = _child(gens, children[1], a)
        except GeneratorError as exc:
            raise type(exc)("failed to get params for second generator in the matrix "
                                 f"generator: {exc}") from None
        if len(out) + len(second) > limits.current().applications:
            raise GeneratorError(f"matrix generator makes over {limits.current().applications}"
                                 " parameter sets (gitplane's limit, GITPLANE_MAX_APPLICATIONS)"
                                 "; refused")
        for b in second:
            out.append(deep_merge(deep_merge({}, b), a) if gens.go else
                       combine_string_maps(a, b))
    return out


def param_sets_by_merge_key(keys: list[str], sets: list[Params]) -> dict[str, Params]:
    if not keys:
        raise GeneratorError("no merge keys were specified, Merge requires at least one")
    unique = sorted(set(keys))
    out: dict[str, Params] = {}
    for params in sets:
        key = json.dumps({k: params.get(k) for k in unique}, separators=(",", ":"),
                         sort_keys=True)
        if key in out:
            raise GeneratorError("the parameters from a generator were not unique by the given "
                                 "mergeKeys, Merge requires all param sets to be unique. "
                                 f"Duplicate key was {key}")
        out[key] = params
    return out


def _merge(spec: dict[str, Any], gens: Generators) -> list[Params]:
    children = spec.get("generators") or []
    if len(children) < 2:
        raise GeneratorError("found less than two generators, Merge requires two or more")
    sets = [_child(gens, c, None) for c in children]
    keys = [str(k) for k in spec.get("mergeKeys") or []]
    base = param_sets_by_merge_key(keys, sets[0])
    for other in sets[1:]:
        by_key = param_sets_by_merge_key(keys, other)
        for key, params in base.items():
            if key in by_key:
                base[key] = deep_merge(params, by_key[key]) if gens.go else \
                    {**params, **by_key[key]}
    return list(base.values())


__all__ = ["Generators", "GeneratorError", "World", "file_params", "merge_template",
           "param_sets_by_merge_key", "append_values", "doublestar_match", "TemplateError"]
