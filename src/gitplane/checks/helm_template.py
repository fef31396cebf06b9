"""A Helm chart that does not render: a template error, a ``required`` or ``fail`` that
fires, a chart Helm cannot load, or output that is not YAML.

Argo CD shows this as a ComparisonError and applies nothing of the Application. Reported on
the chart with Helm's message, the repository's path shortened.

Failing: a template with ``{{ required "image.tag is required" .Values.image.tag }}`` and no
``image.tag`` in any values.

Passing: the value given in ``valuesObject``, a value file or a parameter.
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.checks.context import Context
from gitplane.model import Finding

ID = "helm-template"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
