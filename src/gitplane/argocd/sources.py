"""How Argo CD reads an Application's source of this repository: the type it renders it as
(an explicit ``kustomize``/``helm``/``directory``/``plugin`` section, else what the folder
holds), the settings beside the folder that decide the render, and what gitplane renders
differently from Argo CD, said plainly."""
from __future__ import annotations

from typing import Any

from gitplane.argocd.application import InvalidApplication
from gitplane.errors import BoundaryError, YamlError
from gitplane.model import Source
from gitplane.render import kustomize
from gitplane.render.overrides import OVERRIDES
from gitplane.repo import Repository
from gitplane.yamlio import load_file


#: Argo CD's explicit source types (``ApplicationSource.ExplicitType``): the section that
#: is present decides how the source is rendered.
EXPLICIT = (("kustomize", "Kustomize"), ("helm", "Helm"), ("directory", "Directory"),
            ("plugin", "Plugin"))


def explicit_type(src: Source) -> str | None:
    """The type an explicit ``kustomize:``/``helm:``/``directory:``/``plugin:`` section gives
    ``src``; InvalidApplication with Argo CD's message when there are several."""
    found = [(key, name) for key, name in EXPLICIT if src.raw.get(key) is not None]
    if len(found) > 1:
        raise InvalidApplication("multiple application sources defined: " +
                                 ",".join(name for _, name in found))
    return found[0][0] if found else None


def classify(repo: Repository, src: Source) -> tuple[str, str]:
    """(kind, message) of one source, in ``repo`` (the tree of its revision)."""
    if src.chart or not repo.is_self(src.repo_url):
        return "external", ""
    if src.path is None:
        if src.raw.get("ref"):
            return "ref", ""  # a multi-source ref: read through $ref by other sources
        return "missing", "source has no path"
    try:
        folder = repo.resolve(src.path or ".")
    except BoundaryError as exc:
        return "refused", str(exc)
    if not folder.is_dir():
        return "missing", f"path '{src.path}' does not exist in the repository"
    explicit = explicit_type(src)
    if explicit == "plugin":
        name = (src.raw.get("plugin") or {}).get("name") if isinstance(
            src.raw.get("plugin"), dict) else None
        return "plugin", (f"config-management plugin{' ' + repr(name) if name else ''}: "
                          "listed, not rendered (a plugin runs a program of the repo server)")
    if explicit == "directory":
        return "directory", ""
    if explicit == "kustomize":
        return "kustomize", ""  # Argo CD runs kustomize here, kustomization file or not
    if explicit == "helm" or (explicit is None and not kustomize.kustomization_file(folder)
                              and (folder / "Chart.yaml").is_file()):
        return "helm", ""
    if kustomize.kustomization_file(folder):
        return "kustomize", ""
    return "directory", ""


def approximations(repo: Repository, src: Source, kind: str) -> list[str]:
    """What this version renders differently from Argo CD for ``src``, said plainly."""
    notes = []
    if not repo.in_git and not repo.is_working_tree(src.target_revision):
        notes.append(f"targetRevision '{src.target_revision}': the folder is not a Git "
                     "repository; rendered from the files as they are")
    overrides = src.raw.get("kustomize") if kind == "kustomize" else None
    unsupported = sorted(set(overrides or {}) - set(OVERRIDES)) \
        if isinstance(overrides, dict) else []
    if unsupported:
        notes.append(f"kustomize settings {', '.join(unsupported)} of the Application are not "
                     "applied by this version of gitplane")
    if isinstance(overrides, dict) and src.path is not None:
        kfile = kustomize.kustomization_file(repo.resolve(src.path))
        try:
            docs = load_file(kfile, repo.rel(kfile)) if kfile else []
            own = docs[0].obj if docs else None
        except YamlError:
            own = None  # the render reports the file
        for key in ("namePrefix", "nameSuffix"):
            if overrides.get(key) and isinstance(own, dict) and own.get(key):
                notes.append(f"the Application's {key} replaces the kustomization's own in "
                             "Argo CD; gitplane applies both")
    return notes


def source_options(kind: str, src: Source) -> dict[str, Any]:
    """What else than the folder decides a render: Argo CD's directory settings for a plain
    folder, the Application's own kustomize settings for a kustomization."""
    if kind == "directory":
        return dict(src.directory)
    if kind == "kustomize" and isinstance(src.raw.get("kustomize"), dict):
        return dict(src.raw["kustomize"])
    return {}
