"""ApplicationSets expanded offline: generators make params, the template makes Applications.

Follows Argo CD v3: the generator-level template merged over ``spec.template``, the template
rendered per params set, ``templatePatch`` applied, the resources finalizer added unless
``syncPolicy.preserveResourcesOnDeletion``, the namespace defaulted to the ApplicationSet's,
and the generated Applications validated (a name, no duplicates, a valid destination, a
known project when projects are known). Each failure is kept with the generator it came
from; nothing is guessed.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitplane.argocd.generators import (GeneratorError, Generators,
                                        OfflineError, World, merge_template)
from gitplane import limits
from gitplane.boundary import walk
from gitplane.argocd.template import TemplateError, render
from gitplane.yamlio import json_value, yaml_value

RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
#: Where Argo CD creates an ApplicationSet's Applications when its manifest names no namespace.
DEFAULT_NAMESPACE = "argocd"


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
    notes: list[tuple[str, str]] = field(default_factory=list)  # worth a warning, not an error


def generator_path(label: str) -> tuple[str | int, ...]:
    """The document path of the generator a label names (``generators[2].git``)."""
    import re

    m = re.match(r"generators\[(\d+)\]", label)
    return ("spec", "generators", int(m.group(1))) if m else ("spec", "generators")


def generator_label(index: int, gen: Any) -> str:
    kinds = [k for k in gen if k not in ("selector", "template", "values")] if isinstance(
        gen, dict) else []
    return f"generators[{index}].{kinds[0] if kinds else '?'}"


def strategic_merge(target: Any, patch: Any) -> Any:
    """The merge Argo CD applies for templatePatch on an Application: maps merged, lists and
    scalars replaced, null deletes."""
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return copy.deepcopy(patch)
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = strategic_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def apply_template_patch(app: dict[str, Any], patch: str, params: dict[str, Any],
                         options: list[str]) -> dict[str, Any]:
    try:
        text = render(patch, params, True, options, keep_without_params=False)
    except TemplateError as exc:
        raise GeneratorError(str(exc)) from None
    try:
        data = json_value(text)
    except json.JSONDecodeError:
        try:
            data = yaml_value(text)
        except yaml.YAMLError as exc:
            raise GeneratorError(f"error converting YAML to JSON: {exc}") from None
    if data is None:
        return app
    if not isinstance(data, dict):
        raise GeneratorError("templatePatch must render to an object")
    patched: dict[str, Any] = strategic_merge(app, data)
    project = (app.get("spec") or {}).get("project")
    if isinstance(patched.get("spec"), dict) and project is not None:
        patched["spec"]["project"] = project  # Argo CD never lets a patch change the project
    return patched


def render_application(template: dict[str, Any], params: dict[str, Any], go: bool,
                       options: list[str], sync_policy: dict[str, Any] | None = None,
                       template_patch: str | None = None,
                       namespace: str | None = None) -> dict[str, Any]:
    """One Application from the (merged) template and one params set."""
    try:
        doc = render(template, params, go, options)  # new containers, unless no params
        if doc is template:
            doc = copy.deepcopy(template)
    except TemplateError as exc:
        raise GeneratorError(str(exc)) from None
    meta = dict(doc.get("metadata") or {})
    app: dict[str, Any] = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                           "metadata": meta, "spec": doc.get("spec") or {}}
    finalizers = list(meta.get("finalizers") or [])
    if not finalizers and not (sync_policy or {}).get("preserveResourcesOnDeletion"):
        finalizers.append(RESOURCES_FINALIZER)
    if finalizers:
        meta["finalizers"] = finalizers
    else:
        meta.pop("finalizers", None)
    if template_patch:
        app = apply_template_patch(app, template_patch, params, options)
        meta = app["metadata"]
    if namespace and not meta.get("namespace"):
        meta["namespace"] = namespace
    return app


def validate(appset_name: str, apps: list[dict[str, Any]], projects: set[str] | None = None,
             clusters: dict[str, str] | None = None) -> dict[str, str]:
    """Argo CD's validateGeneratedApplications: errors keyed by namespace/name."""
    errors: dict[str, str] = {}
    seen: set[str] = set()
    for app in apps:
        name = str((app.get("metadata") or {}).get("name") or "")
        key = qualified_name(app)
        if not name:
            errors[key] = (f"ApplicationSet {appset_name} contains an application with no name; "
                           "a name must be set in the template's metadata.name or via a "
                           "templatePatch (generateName is not supported)")
            continue
        if name in seen:
            errors[key] = (f"ApplicationSet {appset_name} contains applications with duplicate "
                           f"name: {name}")
            continue
        seen.add(name)
        spec = app.get("spec") or {}
        project = str(spec.get("project") or "")
        if projects is not None and project not in projects:
            errors[key] = f"application references project {project} which does not exist"
            continue
        dest = spec.get("destination") or {}
        if dest.get("name") and dest.get("server"):
            errors[key] = ("application destination spec is invalid: application destination "
                           f"can't have both name and server defined: {dest['name']} "
                           f"{dest['server']}")
        elif clusters is not None and dest.get("name") and dest["name"] not in clusters:
            errors[key] = ("application destination spec is invalid: there are no clusters "
                           f"with this name: {dest['name']}")
    return errors


def expand(appset: dict[str, Any], world: World, projects: set[str] | None = None,
           clusters: dict[str, str] | None = None) -> Expansion:
    """Every Application ``appset`` generates; each generator's failure is kept, not raised."""
    spec = appset.get("spec") if isinstance(appset.get("spec"), dict) else {}
    meta = appset.get("metadata") if isinstance(appset.get("metadata"), dict) else {}
    assert isinstance(spec, dict) and isinstance(meta, dict)
    result = Expansion()
    go = bool(spec.get("goTemplate"))
    options = [str(o) for o in spec.get("goTemplateOptions") or []]
    template: dict[str, Any] = spec["template"] if isinstance(spec.get("template"), dict) else {}
    gens = spec.get("generators")
    if not isinstance(gens, list) or not gens:
        result.errors.append(("spec.generators", "ApplicationSet has no generators"))
        return result
    engine = Generators(world, go, options)
    for gi, gen in enumerate(gens):
        label = generator_label(gi, gen)
        try:
            transformed = engine.transform(gen if isinstance(gen, dict) else None)
        except OfflineError as exc:
            result.notes.append((label, str(exc)))
            continue
        except (GeneratorError, TemplateError) as exc:
            result.errors.append((label, str(exc)))
            continue
        for params_list, gen_template in transformed:
            if not params_list:
                result.notes.append((label, "generated no Applications (nothing matched: "
                                            "check its selector, paths or cluster inventory)"))
            tmpl = merge_template(template, gen_template) if gen_template else template
            if not (tmpl.get("metadata") or {}).get("name") and not spec.get("templatePatch"):
                result.errors.append((label, "the ApplicationSet has no template name "
                                             "(spec.template.metadata.name)"))
                break
            for pi, params in enumerate(params_list):
                if len(result.apps) >= limits.current().applications:
                    result.errors.append((label, f"the ApplicationSet generates over "
                                                 f"{limits.current().applications} "
                                                 "Applications (gitplane's limit, "
                                                 "GITPLANE_MAX_APPLICATIONS); the rest are "
                                                 "not generated"))
                    break
                try:
                    app = render_application(tmpl, params, go, options, spec.get("syncPolicy"),
                                             spec.get("templatePatch"),
                                             meta.get("namespace") or DEFAULT_NAMESPACE)
                except GeneratorError as exc:
                    result.errors.append((label, str(exc)))
                    continue
                except (AttributeError, TypeError, KeyError, ValueError, IndexError,
                        RecursionError) as exc:
                    result.errors.append((label, f"template is malformed "
                                                 f"({type(exc).__name__}: {exc})"))
                    continue
                result.apps.append(Generated(app, label, pi))
    problems = validate(str(meta.get("name") or ""), [g.doc for g in result.apps], projects,
                        clusters)
    if problems:
        keep = []
        for g in result.apps:
            key = qualified_name(g.doc)
            if key not in problems:
                keep.append(g)
            elif problems[key]:
                result.errors.append((g.generator, problems[key]))
                problems[key] = ""  # reported once, every app with that name dropped
        result.apps = keep
    return result


def qualified_name(app: dict[str, Any]) -> str:
    meta = app.get("metadata") or {}
    name, ns = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    return f"{ns}/{name}" if ns else name


def list_folders(root: Path) -> list[str]:
    """Every folder under ``root`` as Argo CD's repo server lists them: hidden folders
    skipped, symlinks not followed, repository-relative, sorted."""
    return walk(root, lambda name: not name.startswith("."))[0]


__all__ = ["expand", "Expansion", "Generated", "GeneratorError", "validate",
           "render_application", "list_folders"]
