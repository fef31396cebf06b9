"""An Application document that misses what Argo CD requires (name, spec, source).

Failing::

    kind: Application
    metadata: {name: web}
    spec: {project: default}

Passing: the same with spec.source (repoURL, path) and spec.destination.
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.checks.context import Context

ID = "argocd-invalid"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
