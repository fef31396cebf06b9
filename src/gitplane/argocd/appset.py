"""ApplicationSets expanded offline: generators produce params, the template makes Applications.

This module implements the list and git-directory generators in both template modes, the
generator-level template merge and ``templatePatch``-free expansion; generators that need a
live service, or are not implemented yet, are reported as findings, never guessed.
"""
from __future__ import annotations

import copy
import os
import fnmatch

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from gitplane.argocd.gotemplate import TemplateError, normalize
from gitplane.argocd.template import render

LIVE_GENERATORS = ("scmProvider", "pullRequest", "plugin", "clusterDecisionResource")


class GeneratorError(Exception):
    """A generator that cannot produce params; the message follows Argo CD's where known."""


@dataclass
class Generated:
    """One Application produced by an ApplicationSet, with the generator that made it."""

    doc: dict[str, Any]
    generator: str
    index: int


@dataclass
class Expansion:
    apps: list[Generated] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (generator label, message)


#: Lists the folders of a repository (repo URL, revision) -> sorted repo-relative folders,
#: or raises GeneratorError when the repository cannot be read offline.
DirLister = Callable[[str, str], list[str]]


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flatten(f"{prefix}.{i}" if prefix else str(i), v, out)
    else:
        out[prefix] = _go_str(value)


def _go_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def list_params(gen: dict[str, Any], go: bool) -> list[dict[str, Any]]:
    elements = gen.get("elements")
    if elements is None:
        elements = []
    if not isinstance(elements, list):
        raise GeneratorError("list generator: elements must be a list")
    out: list[dict[str, Any]] = []
    for el in elements:
        if not isinstance(el, dict):
            raise GeneratorError("error unmarshling element: element is not an object")
        if go:
            out.append(copy.deepcopy(el))
            continue
        params: dict[str, Any] = {}
        for key, value in el.items():
            if key == "values" and isinstance(value, dict):
                for vk, vv in value.items():
                    params[f"values.{vk}"] = _go_str(vv)
            else:
                params[str(key)] = value if isinstance(value, str) else _go_str(value)
        out.append(params)
    return out


def _match(pattern: str, path: str) -> bool:
    """Go's ``path.Match``: ``*`` stays within one folder."""
    pp, sp = pattern.strip("/").split("/"), path.split("/")
    return len(pp) == len(sp) and all(fnmatch.fnmatchcase(s, p) for p, s in zip(pp, sp))


def git_directory_params(gen: dict[str, Any], go: bool, folders: list[str]) -> list[dict]:
    dirs = gen.get("directories") or []
    includes = [d.get("path", "") for d in dirs if isinstance(d, dict) and not d.get("exclude")]
    excludes = [d.get("path", "") for d in dirs if isinstance(d, dict) and d.get("exclude")]
    prefix = str(gen.get("pathParamPrefix") or "")
    values = gen.get("values") if isinstance(gen.get("values"), dict) else {}
    out: list[dict[str, Any]] = []
    for folder in folders:
        if not any(_match(p, folder) for p in includes):
            continue
        if any(_match(p, folder) for p in excludes):
            continue
        segments = folder.split("/")
        base = segments[-1]
        if go:
            pinfo = {"path": folder, "basename": base,
                     "basenameNormalized": normalize(base), "segments": segments}
            params: dict[str, Any] = {}
            if prefix:
                params[prefix] = {"path": pinfo}
            else:
                params["path"] = pinfo
        else:
            key = f"{prefix}.path" if prefix else "path"
            params = {key: folder, f"{key}.basename": base,
                      f"{key}.basenameNormalized": normalize(base)}
            for i, seg in enumerate(segments):
                params[f"{key}[{i}]"] = seg
        if values:
            rendered_values = {}
            for k, v in values.items():
                try:
                    rendered_values[k] = render(v, params, go, [])
                except TemplateError as exc:
                    raise GeneratorError(f"failed to render values: {exc}") from None
            if go:
                params["values"] = rendered_values
            else:
                for k, v in rendered_values.items():
                    params[f"values.{k}"] = v
        out.append(params)
    return out


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base.get(k), v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


def generator_label(index: int, gen: dict[str, Any]) -> str:
    kinds = [k for k in gen if k not in ("selector", "template", "values")]
    return f"generators[{index}].{kinds[0] if kinds else '?'}"


def expand(appset: dict[str, Any], list_dirs: DirLister) -> Expansion:
    """Every Application ``appset`` generates; each generator's failure is kept, not raised."""
    spec = appset.get("spec") if isinstance(appset.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    result = Expansion()
    go = bool(spec.get("goTemplate"))
    options = [str(o) for o in spec.get("goTemplateOptions") or []]
    template = spec.get("template")
    gens = spec.get("generators")
    if not isinstance(gens, list) or not gens:
        result.errors.append(("spec.generators", "ApplicationSet has no generators"))
        return result
    for gi, gen in enumerate(gens):
        label = generator_label(gi, gen if isinstance(gen, dict) else {})
        if not isinstance(gen, dict):
            result.errors.append((label, "generator must be an object"))
            continue
        try:
            params_list = _params(gen, go, list_dirs)
        except GeneratorError as exc:
            result.errors.append((label, str(exc)))
            continue
        tmpl = template if isinstance(template, dict) else {}
        if isinstance(gen.get("template"), dict):
            tmpl = _merge(tmpl, gen["template"])
        if not tmpl or not (tmpl.get("metadata") or {}).get("name") and not tmpl.get("spec"):
            result.errors.append((label, "application template is empty: the ApplicationSet "
                                         "needs spec.template"))
            continue
        for pi, params in enumerate(params_list):
            try:
                doc = render(copy.deepcopy(tmpl), params, go, options)
            except TemplateError as exc:
                result.errors.append((label, f"failed to execute go template: {exc}"
                                      if go else str(exc)))
                continue
            meta: dict[str, Any] = dict(doc.get("metadata") or {})
            app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                   "metadata": meta, "spec": doc.get("spec") or {}}
            ns = (appset.get("metadata") or {}).get("namespace")
            if ns and not meta.get("namespace"):
                meta["namespace"] = ns
            result.apps.append(Generated(app, label, pi))
    return result


def _params(gen: dict[str, Any], go: bool, list_dirs: DirLister) -> list[dict[str, Any]]:
    if "list" in gen:
        return list_params(gen["list"] or {}, go)
    if "git" in gen:
        git = gen["git"] or {}
        if git.get("directories"):
            try:
                folders = list_dirs(str(git.get("repoURL") or ""),
                                    str(git.get("revision") or ""))
            except GeneratorError as exc:
                raise GeneratorError("error generating params from git: error getting "
                                     f"directories from repo: {exc}") from None
            return git_directory_params(git, go, folders)
        if git.get("files"):
            raise GeneratorError("the git files generator is not supported by this version "
                                 "of gitplane")
        raise GeneratorError("git generator needs directories or files")
    for live in LIVE_GENERATORS:
        if live in gen:
            raise GeneratorError(f"the {live} generator needs a live service and cannot be "
                                 "expanded offline")
    kinds = [k for k in gen if k not in ("selector", "template", "values")]
    raise GeneratorError(f"the {kinds[0] if kinds else 'empty'} generator is not supported "
                         "by this version of gitplane")


def list_folders(root: Path) -> list[str]:
    """Every folder under ``root`` (no ``.git``, symlinks not followed), relative, sorted."""
    out: list[str] = []
    for current, dirs, _ in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs
                   if d != ".git" and not os.path.islink(os.path.join(current, d))]
        base = Path(current).relative_to(root)
        out.extend((base / d).as_posix() for d in dirs)
    return sorted(out)


