"""Helm values the chart's ``values.schema.json`` rejects.

Argo CD's repo-server renders the chart with Helm, which validates the merged values (the
chart's defaults, value files, inline values and parameters) against the chart's schema and
its subcharts' schemas before rendering: a rejected value is a ComparisonError and nothing of
the Application is applied. One finding per rejected value, with Helm's reason, on the line
that set it in Argo CD's precedence: a parameter or the Application's own values (on the
Application), else the last value file that holds it (its file and line), else the chart's
defaults. ``helm.skipSchemaValidation: true`` turns Argo CD's (and gitplane's) check off.
A value file that is missing (without ``ignoreMissingValueFiles``), remote, or outside the
repository is a finding of this rule too, on the Application.

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
