"""A container image without a fixed version: no tag, ``latest``, or another moving tag.

The same manifest then deploys different software on each pull, and a rollback does not roll
back. Pin a version tag, or better a digest. Container images are checked: Pods, every pod
template (core workloads, Argo Rollouts, TFJob replicas, ...) and the known image fields of
custom resources (SparkApplication). Other ``image`` keys of custom resources (split
repository/tag fields, pipeline steps) and expressions (``$(params.image)``, ``${{ }}``,
``{{ }}``) are not judged.

Failing::

    containers:
      - name: web
        image: nginx:latest

Passing::

    containers:
      - name: web
        image: nginx:1.27.3
"""
from __future__ import annotations

import re
from typing import Any
from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.checks.context import Context, resource_finding

ID = "image-tag-mutable"
SEVERITY = "error"
MOVING = {"latest", "main", "master", "stable", "edge", "dev", "nightly", "head"}


def mutable(image: str) -> str | None:
    """Why ``image`` is mutable, or None when it is pinned."""
    if "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag (means :latest)"
    tag = last.rsplit(":", 1)[1]
    if tag.lower() in MOVING:
        return f"uses the moving tag ':{tag}'"
    return None


#: Expressions another tool fills in at run time (Tekton, GitHub Actions, Kargo, Helm).
EXPRESSION = re.compile(r"\$\(|\$\{|\{\{")
#: Image fields of custom resources that are whole image references: (group, kind) → paths.
KNOWN_IMAGE_FIELDS: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("sparkoperator.k8s.io", "SparkApplication"): (("spec", "image"),
                                                   ("spec", "driver", "image"),
                                                   ("spec", "executor", "image")),
    ("sparkoperator.k8s.io", "ScheduledSparkApplication"): (("spec", "template", "image"),),
}
CONTAINER_FIELDS = ("containers", "initContainers", "ephemeralContainers")


def _containers(spec: dict[str, Any], path: tuple[str | int, ...]
                ) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for fld in CONTAINER_FIELDS:
        items = spec.get(fld)
        for i, c in enumerate(items if isinstance(items, list) else []):
            if isinstance(c, dict) and isinstance(c.get("image"), str):
                yield (*path, fld, i, "image"), c["image"]


def _templates(value: Any, path: tuple[str | int, ...], depth: int = 0
               ) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Containers of every pod template (``template: {spec: {containers: [...]}}``) inside
    ``value``: Deployments, Jobs in CronJobs, Argo Rollouts, training-operator replicas..."""
    if depth > 12:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "metadata":
                continue
            if k == "template" and isinstance(v, dict) and isinstance(v.get("spec"), dict) \
                    and isinstance(v["spec"].get("containers"), list):
                yield from _containers(v["spec"], (*path, k, "spec"))
            else:
                yield from _templates(v, (*path, k), depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _templates(v, (*path, i), depth + 1)


def images(obj: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, image) of the container images of ``obj``: a Pod's containers, the containers
    of every pod template, and the known image fields of custom resources. Other ``image``
    keys (split into repository and tag, or filled in by a pipeline: ``$(params.image)``,
    ``${{ ... }}``) are not container images here."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    spec = obj.get("spec")
    if obj.get("kind") == "Pod" and str(obj.get("apiVersion")) == "v1" and \
            isinstance(spec, dict):
        found.extend(_containers(spec, ("spec",)))
    found.extend(_templates(obj, ()))
    api = str(obj.get("apiVersion") or "")
    for field in KNOWN_IMAGE_FIELDS.get((api.rpartition("/")[0], str(obj.get("kind"))), ()):
        cur: Any = obj
        for step in field:
            cur = cur.get(step) if isinstance(cur, dict) else None
        if isinstance(cur, str):
            found.append((field, cur))
    for where, image in found:
        if not EXPRESSION.search(image):
            yield where, image


def check(ctx: Context) -> Iterator[Finding]:
    for unit in ctx.units():
        for res in unit.resources:
            for path, image in images(res.obj):
                why = mutable(image)
                if why:
                    yield resource_finding(ID, SEVERITY, unit, res,
                                           f"image '{image}' {why}; pin a version tag or "
                                           "digest", *path)
