"""Two Applications with the same name in one environment; Argo CD keeps only one.

Failing: an Application `web` in two overlays of the same environment.

Passing: distinct names (for example prefixed with the domain).
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.checks.context import Context

ID = "argocd-duplicate-name"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
