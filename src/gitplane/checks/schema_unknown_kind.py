"""A kind with no schema to validate against (custom resources, until their CRD is known).

Reported once per kind per Application and environment, naming the first object. The objects
are still rendered and checked by every other rule.

Failing: a ``cert-manager.io/v1`` ``ClusterIssuer`` (no built-in schema).

Passing: a kind Kubernetes 1.37 defines, such as ``apps/v1`` ``Deployment``.
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.checks import schema
from gitplane.model import Finding, Resource
from gitplane.checks.context import Context, Unit, resource_finding

ID = "schema-unknown-kind"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Finding]:
    if "schema-unknown" not in ctx.cache:
        list(schema.check(ctx))
    groups: dict[tuple[str, str, str], list[tuple[Unit, Resource]]] = {}
    for unit, res in ctx.cache["schema-unknown"]:
        key = (unit.environment, unit.application, f"{res.api_version} {res.kind}")
        groups.setdefault(key, []).append((unit, res))
    for (_, _, kind), items in sorted(groups.items(), key=lambda kv: kv[0]):
        unit, res = items[0]
        more = f" ({len(items)} objects)" if len(items) > 1 else ""
        yield resource_finding(ID, SEVERITY, unit, res,
                               f"no schema for {kind}{more}")
