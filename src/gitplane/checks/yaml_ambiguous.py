"""A YAML value or key that YAML 1.1 and YAML 1.2 read differently.

kustomize reads YAML 1.2, where ``NO``, ``on`` or ``1:20`` are strings; the API server's
decoder, PyYAML and many tools read YAML 1.1, where they are ``false``, ``true`` and the number
80 — a ConfigMap then fails with "cannot unmarshal bool into Go struct field". Unquoted
``yes/no/on/off/y/n`` (any case), sexagesimal numbers (``1:20``), leading-zero octals
(``0755``) and keys that are not strings (``1:``, ``on:``) are reported with their line.

Failing::

    data:
      COUNTRY: NO
      1: one

Passing::

    data:
      COUNTRY: "NO"
      "1": one
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from gitplane.model import Finding

if TYPE_CHECKING:
    from gitplane.checks import Context

ID = "yaml-ambiguous"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
