"""A local source this version cannot render exactly as Argo CD would.

Reported for: a local Helm chart (listed, not rendered); an Application with its own
``kustomize`` settings (namePrefix, images, ...; not applied yet); a ``targetRevision`` other
than ``HEAD`` or the checked-out branch (rendered from the working tree, not from that
revision). The finding says which, so nothing is silently approximated.

Failing: an Application whose path holds a Chart.yaml, or ``targetRevision: v1.2.0``.

Passing: a kustomize or plain manifest folder at ``HEAD``; external charts are listed, not
reported.
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.checks.context import Context

ID = "source-not-rendered"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
