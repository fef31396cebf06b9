"""An Application document that misses what Argo CD requires (name, spec, source).

Failing::

    kind: Application
    metadata: {name: web}
    spec: {project: default}

Passing: the same with spec.source (repoURL, path) and spec.destination.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from gitplane.model import Finding

if TYPE_CHECKING:
    from gitplane.checks import Context

ID = "argocd-invalid"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
