"""An ApplicationSet generator that cannot produce Applications offline, or fails.

Errors: a template that does not execute (`missingkey=error` and an absent key), an
ApplicationSet without generators or a template name, generated Applications Argo CD would
refuse. Warnings (a correct repository cannot avoid them; their Applications are unknown
offline): a generator that needs a live service (scmProvider, pullRequest, plugin,
clusterDecisionResource), a git generator on another repository, a generator that matched
nothing.

Failing::

    spec:
      generators:
        - list: {elements: [{name: web}]}
      # no template

Passing: the same with `template:` giving metadata.name and spec.
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.checks.context import Context

ID = "argocd-generator"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
