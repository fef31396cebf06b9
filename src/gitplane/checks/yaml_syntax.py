"""A YAML file that does not parse, or holds something that is not a Kubernetes object.

The finding names the file and line where the parser stopped. Files are read with a safe
loader that also refuses alias bombs (a document expanding to over 500,000 nodes), anchors
that contain themselves and nesting deeper than 200 levels.

Failing::

    data:
      key: [1, 2

Passing::

    data:
      key: [1, 2]
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.checks.context import Context

ID = "yaml-syntax"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
