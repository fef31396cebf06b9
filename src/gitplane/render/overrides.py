"""Argo CD's ``spec.source.kustomize`` settings, applied as Argo CD applies them (``kustomize
edit`` on the Application's folder): through a wrapper kustomization around the folder, so
the repository's files are never changed."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any


#: The Application ``spec.source.kustomize`` settings applied (as Argo CD applies them with
#: ``kustomize edit``), through the wrapper kustomization.
OVERRIDES = ("namePrefix", "nameSuffix", "namespace", "images", "commonLabels",
             "commonAnnotations", "replicas", "patches", "components", "forceCommonLabels",
             "forceCommonAnnotations", "labelWithoutSelector", "labelIncludeTemplates")


def parse_image(spec: str) -> dict[str, str]:
    """``kustomize edit set image`` syntax: ``[name=]newName[:newTag][@digest]``."""
    name, _, new = spec.partition("=") if "=" in spec else (None, "", spec)
    entry: dict[str, str] = {}
    ref = new
    if "@" in ref:
        ref, entry["digest"] = ref.split("@", 1)
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref, entry["newTag"] = ref.rsplit(":", 1)
    if name is None:
        entry["name"] = ref
    else:
        entry["name"] = name
        if ref and ref != name:
            entry["newName"] = ref
    return entry


def wrapper(directory: Path, at: Path, root_kind: str,
             overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The wrapper kustomization written in folder ``at``: the directory, origin annotations,
    the Application's kustomize settings."""
    entry = "components" if root_kind == "Component" else "resources"
    rel = os.path.relpath(directory, at)
    k: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1beta1",
                         "kind": "Kustomization", entry: [rel],
                         "buildMetadata": ["originAnnotations"]}
    o = overrides or {}
    for key in ("namePrefix", "nameSuffix", "namespace", "commonAnnotations", "replicas"):
        if o.get(key):
            k[key] = o[key]
    if o.get("commonLabels"):
        k["labels"] = [{"pairs": o["commonLabels"],
                        "includeSelectors": not o.get("labelWithoutSelector"),
                        "includeTemplates": bool(o.get("labelIncludeTemplates"))
                        or not o.get("labelWithoutSelector")}]
    if o.get("images"):
        k["images"] = [parse_image(str(i)) for i in o["images"]]
    if o.get("components"):
        k.setdefault("components", []).extend(
            os.path.relpath(directory / str(c), at) for c in o["components"])
    if o.get("patches"):
        patches = []
        for p in o["patches"]:
            p = dict(p)
            if p.get("path"):
                p["path"] = os.path.relpath(directory / str(p["path"]), at)
            patches.append(p)
        k["patches"] = patches
    return k
