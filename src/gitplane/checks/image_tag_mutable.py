"""A container image without a fixed version: no tag, ``latest``, or another moving tag.

The same manifest then deploys different software on each pull, and a rollback does not roll
back. Pin a version tag, or better a digest. Every ``image`` field is checked, in pod
templates and in custom resources (TFJob, SparkApplication, ...).

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

from typing import TYPE_CHECKING, Any, Iterator

from gitplane.model import Finding

if TYPE_CHECKING:
    from gitplane.checks import Context

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


def images(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "image" and isinstance(v, str):
                yield (*path, k), v
            elif k != "metadata" or path:
                yield from images(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from images(v, (*path, i))


def check(ctx: Context) -> Iterator[Finding]:
    from gitplane.checks import resource_finding

    for unit in ctx.units():
        for res in unit.resources:
            for path, image in images(res.obj):
                why = mutable(image)
                if why:
                    yield resource_finding(ID, SEVERITY, unit, res,
                                           f"image '{image}' {why}; pin a version tag or "
                                           "digest", *path)
