"""An environment with no Application: a gate that judges nothing must not pass.

Reported, with the reasons found and the fix named once, when discovery yields no Argo CD
Application in an environment: an error where the repository holds Applications or
ApplicationSets (roots whose ApplicationSets generate nothing, for example clusters
generators with no cluster inventory; Applications only as another tool's templates; a
Helm chart of Applications), a warning where it holds none (nothing of Argo CD's to render;
name the folders Argo CD deploys with ``--root``).

Failing: a repository whose only ApplicationSet uses a clusters generator with a selector
and has no ``clusters:`` inventory in gitplane.yaml.

Passing: the same with ``clusters: clusters.yaml`` listing a matching cluster Secret, or an
ApplicationSet with a list generator.
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.checks.context import Context

ID = "argocd-no-applications"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
