"""A YAML value or key that the readers on Argo CD's path read differently.

Argo CD reads a plain manifest folder with a YAML 1.1 reader (sigs.k8s.io/yaml), where
unquoted ``yes/no/on/off/y/n`` (any case) are booleans: ``COUNTRY: NO`` in a ConfigMap then
fails with "cannot unmarshal bool into Go struct field". In a kustomize source they are not
reported: kustomize reads them as strings and writes them quoted. Sexagesimal numbers
(``1:20``, 80 in YAML 1.1) and keys that are not strings (``1:``, ``on:``) are reported in
both. A leading-zero octal (``defaultMode: 0440``) is octal for every reader on Argo CD's
path and is not reported (quoting it would make it invalid).

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

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.checks.context import Context

ID = "yaml-ambiguous"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
