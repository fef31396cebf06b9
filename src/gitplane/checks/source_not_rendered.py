"""A source of this repository that gitplane did not render, or renders differently from
Argo CD; the finding says which, so nothing is silently approximated.

Reported for (each a warning on the Application):

* a ``targetRevision`` this clone does not hold (another branch, Kargo's rendered stage
  branches, a tag not fetched): its source is not rendered;
* a config-management ``plugin`` source: listed, not rendered (a plugin runs a program of the
  repository server);
* the Application's own ``kustomize`` settings that this version does not apply, or a
  ``namePrefix``/``nameSuffix`` set both there and in the kustomization (Argo CD keeps only
  the Application's);
* a folder that is not a Git repository, with a ``targetRevision`` other than ``HEAD``.

* a chart of a Helm repository that is not in gitplane's cache (fetching needs the network:
  ``gitplane charts pull --allow-network`` fills the cache once; CI restores it), or of an
  OCI registry;
* a local chart whose dependency is not vendored under ``charts/`` (on its ``Chart.yaml``).

Sources of other Git repositories are not findings: ``check``'s summary counts them as not
rendered, and ``apps`` lists them. A platform that knowingly leaves its charts unrendered can
lower the rule (``rules: {source-not-rendered: info}`` in gitplane.yaml).

Failing: ``targetRevision: stage/prod`` where the clone has no such branch; ``plugin:
{name: avp}``.

Passing: a kustomize or plain manifest folder at ``HEAD`` or at the checked-out branch.
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.checks.context import Context

ID = "source-not-rendered"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
