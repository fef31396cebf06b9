"""A local source that this version of gitplane lists but does not render (a Helm chart).

Failing: an Application whose path holds a Chart.yaml.

Passing: a kustomize or plain manifest folder; external charts are listed, not reported.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from gitplane.model import Finding

if TYPE_CHECKING:
    from gitplane.checks import Context

ID = "source-not-rendered"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
