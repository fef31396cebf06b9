"""A custom resource whose CRD another Application installs, with nothing to order them.

On the first sync the resource's dry run fails ("the server could not find the requested
resource") before the CRD exists. Either give the CRD's Application an earlier sync wave
than this resource's Application (``argocd.argoproj.io/sync-wave``), or annotate the resource
with ``argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true``.

Failing: a ``Widget`` in Application ``widgets`` whose CRD is rendered by Application
``widget-crds``, both in wave 0, no sync option.

Passing: the Widget annotated ``SkipDryRunOnMissingResource=true``, or ``widget-crds`` in
wave -1, or ``widget-crds`` deploying to another cluster (only a CRD on the same destination
cluster orders anything), or ``widgets`` syncing automatically with a retry (its failed first
sync is tried again once the CRD exists, so it converges).
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.argocd.application import automated, retries
from gitplane.argocd.clusters import destination_server, destinations
from gitplane.model import Finding
from gitplane.k8s import dig
from gitplane.checks.context import Context, Unit, resource_finding

ID = "crd-order"
SEVERITY = "warning"
WAVE = "argocd.argoproj.io/sync-wave"
OPTIONS = "argocd.argoproj.io/sync-options"


def _wave(meta: object) -> int:
    try:
        return int(str(dig(meta, "annotations", WAVE) or "0"))
    except ValueError:
        return 0


def check(ctx: Context) -> Iterator[Finding]:
    for er in ctx.platform.envs:
        known = destinations(er.clusters)
        # (group, kind, destination cluster) -> the Application deploying the CRD there
        crds: dict[tuple[str, str, str], str] = {}
        for ar in er.apps:
            for res in ar.resources:
                if res.kind == "CustomResourceDefinition":
                    crds[(str(dig(res.obj, "spec", "group")),
                          str(dig(res.obj, "spec", "names", "kind")),
                          destination_server(ar.app.destination, known))] = ar.app.name
        if not crds:
            continue
        waves = {ar.app.name: _wave(ar.app.doc.get("metadata")) for ar in er.apps}
        for ar in er.apps:
            if ctx.only_app and ar.app.name != ctx.only_app:
                continue

            unit = Unit(er.env.name, ar.app.name, ar.resources)
            for res in ar.resources:
                group = res.api_version.rpartition("/")[0]
                owner = crds.get((group, res.kind, destination_server(ar.app.destination, known)))
                if owner is None or owner == ar.app.name:
                    continue
                options = str(dig(res.obj, "metadata", "annotations", OPTIONS) or "")
                if "SkipDryRunOnMissingResource=true" in options:
                    continue
                if waves.get(owner, 0) < waves.get(ar.app.name, 0):
                    continue
                if automated(ar.app.doc) and retries(ar.app.doc):
                    continue  # the failed first sync is tried again once the CRD exists
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"its CRD comes from Application '{owner}' with no earlier "
                                       "sync wave; add SkipDryRunOnMissingResource=true or order "
                                       "the Applications")
