"""A mapping that holds the same key twice.

YAML parsers disagree on which value wins (PyYAML keeps the last, kustomize refuses the file),
so the file is refused with the line of the second key.

Failing::

    metadata:
      name: web
      name: api

Passing::

    metadata:
      name: web
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.checks.context import Context

ID = "yaml-duplicate-key"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
