"""An Application whose source path does not exist in this repository.

Also reported for paths that are absolute or leave the repository, and for an environment
with no bootstrap overlay.

Failing::

    source:
      repoURL: https://github.com/acme/deployments.git
      path: deployments/domains/applications/apps/gone/environments/staging

Passing: the path names an existing folder.
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.checks.context import Context

ID = "argocd-path-missing"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
