"""The same object deployed by two Applications of one environment.

Argo CD then lets the two fight over it: each sync overwrites the other and both show
OutOfSync (or one is refused as "shared resource"). Objects are the same when group, kind,
namespace and name are, on the same destination cluster.

Failing: a ConfigMap ``applications/environment-config`` rendered by ``platform-config`` and
by ``web-app``.

Passing: each object owned by exactly one Application.
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding, Resource
from gitplane.argocd.clusters import destination_server, destinations
from gitplane.platform import AppResult
from gitplane.checks.context import Context, Unit, resource_finding

ID = "duplicate-resource"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Finding]:
    for er in ctx.platform.envs:
        known = destinations(er.clusters)
        owners: dict[tuple[str, str], list[tuple[AppResult, Resource]]] = {}
        for ar in er.apps:
            dest = ar.app.destination
            cluster = destination_server(dest, known)
            seen: set[str] = set()
            for res in ar.resources:
                if res.id in seen:
                    continue
                seen.add(res.id)
                owners.setdefault((cluster, res.id), []).append((ar, res))
        for (_, _rid), items in sorted(owners.items(), key=lambda kv: kv[0]):
            apps = sorted({ar.app.name for ar, _ in items})
            if len(apps) < 2:
                continue
            for ar, res in items:
                if ctx.only_app and ar.app.name != ctx.only_app:
                    continue
                others = [a for a in apps if a != ar.app.name]

                unit = Unit(er.env.name, ar.app.name, ar.resources)
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"also deployed by {', '.join(others)}")
