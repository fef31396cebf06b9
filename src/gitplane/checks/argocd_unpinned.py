"""A Helm chart or another repository's source on a moving revision.

``HEAD``, an empty revision, ``main``/``master``, ``*``, ``latest`` or a version range
(``^1.2``, ``~1.2``, ``>=1``, ``1.x``) deploys whatever upstream publishes next: the same
commit of this repository deploys different software over time. Pin a chart version, a tag
or a commit. Sources in this repository follow it and are not reported.

Failing::

    source:
      repoURL: https://charts.jetstack.io
      chart: cert-manager
      targetRevision: "*"

Passing: ``targetRevision: v1.17.2``.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.checks.context import Context

ID = "argocd-unpinned"
SEVERITY = "warning"
MOVING = {"", "head", "main", "master", "latest", "*", "trunk", "develop"}


def moving(revision: str, chart: bool) -> bool:
    rev = revision.strip()
    if rev.lower() in MOVING:
        return True
    return chart and (re.search(r"[*^~<>=|]|\bx\b|\.x|\.X", rev) is not None or " " in rev)


def check(ctx: Context) -> Iterator[Finding]:
    repo = ctx.platform.repo
    for er, ar in ctx.apps():
        app = ar.app
        for src in app.sources:
            if not src.chart and repo.is_self(src.repo_url):
                continue
            if moving(src.target_revision, bool(src.chart)):
                what = f"chart '{src.chart}'" if src.chart else f"source '{src.repo_url}'"
                yield Finding(er.env.name, app.name, app.origin.file, app.origin.line, ID, "",
                              SEVERITY, f"{what} follows the moving revision "
                              f"'{src.target_revision}'; pin a version, tag or commit")
