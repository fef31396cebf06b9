"""Helm values the chart's ``values.schema.json`` rejects.

Argo CD's repo-server renders the chart with Helm, which validates the merged values (the
chart's defaults, value files, inline values and parameters) against the chart's schema and
its subcharts' schemas before rendering: a rejected value is a ComparisonError and nothing of
the Application is applied. Reported on the chart with Helm's message (each rejected key and
why). ``helm.skipSchemaValidation: true`` turns Argo CD's (and gitplane's) check off.

Failing: ``valuesObject: {replicas: three}`` for a chart whose schema says ``replicas`` is an
integer.

Passing: ``valuesObject: {replicas: 3}``.
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.checks.context import Context
from gitplane.model import Finding

ID = "helm-values"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
