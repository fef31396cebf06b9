"""A kustomization the engine cannot build, or that gitplane refuses to build.

Refused before kustomize runs, naming the kustomization file and the line of the entry:
remote bases and files (gitplane renders offline), paths and symlinks leaving the repository,
Helm charts inside kustomize, plugins and KRM functions, missing resources and patches, and
cycles. Otherwise kustomize's own message, shortened, with the kustomization named.

Failing::

    resources:
      - nope.yaml          # no such file

Passing::

    resources:
      - deployment.yaml
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.checks.context import Context

ID = "kustomize-build"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
