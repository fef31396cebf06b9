"""A namespaced object in a namespace that nothing in its environment creates.

Argo CD applies the object into the namespace its manifest names; when that namespace does
not exist the sync fails ("namespaces ... not found") and, with automated sync, retries until
something else creates it. A namespace exists when the environment renders a Namespace of
that name for the same cluster, when an Application deploying there sets
``CreateNamespace=true`` for it, when it is a system namespace, or when it is Argo CD's own
namespace on the in-cluster cluster. An object in its Application's destination namespace
is ``argocd-destination``'s to judge. A source gitplane does not render (a Helm chart,
another repository) is taken to create its own destination namespace, where its objects go;
the finding names such sources, as one of them might make the namespace too.

Failing::

    kind: ConfigMap
    metadata: {name: grafana-datasources, namespace: monitoring}
    # and no Namespace "monitoring", nor an Application into monitoring with CreateNamespace

Passing: a ``Namespace`` named ``monitoring`` in the same Application (with an earlier sync
wave) or in the environment's platform configuration.
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane import k8s
from gitplane.argocd.clusters import IN_CLUSTER_SERVER, destination_server, destinations
from gitplane.checks.argocd_destination import SYSTEM_NAMESPACES, UNSEEN
from gitplane.argocd.application import creates_namespace
from gitplane.checks.context import Context, env_crds, resource_finding, units_of
from gitplane.model import Finding

ID = "namespace-missing"
SEVERITY = "warning"
FIX = ("add a Namespace (in this Application with an earlier sync wave, or in the platform "
       "configuration)")


def check(ctx: Context) -> Iterator[Finding]:
    for er in ctx.platform.envs:
        known = destinations(er.clusters)
        if any(not root.ok for root in er.roots.values()):
            continue  # Applications may be missing altogether
        unseen = sorted(ar.app.name for ar in er.apps
                        if UNSEEN & set(ar.app.kinds) or not ar.rendered)
        note = (f" ({len(unseen)} sources are not rendered, e.g. {', '.join(unseen[:2])}: "
                "if one of them makes it, ignore this)" if unseen else "")
        # (cluster, namespace) → the Applications that make it ("" for a root's objects)
        makers: dict[tuple[str, str], set[str]] = {}
        for ar in er.apps:
            server = destination_server(ar.app.destination, known) or ""
            dest_ns = str(ar.app.destination.get("namespace") or "")
            if ar.app.name in unseen:
                makers.setdefault((server, dest_ns), set()).add(ar.app.name)
            for r in ar.resources:
                if r.kind == "Namespace":
                    makers.setdefault((server, r.name), set()).add(ar.app.name)
            if creates_namespace(ar.app.doc):
                makers.setdefault((server, dest_ns), set()).add(ar.app.name)
            makers.setdefault((IN_CLUSTER_SERVER, ar.app.namespace or "argocd"), set()).add("")
        for root in er.roots.values():
            for r in root.resources:
                if r.kind == "Namespace":
                    makers.setdefault((IN_CLUSTER_SERVER, r.name), set()).add("")
        crds = env_crds(ctx, er)
        by_name = {ar.app.name: ar for ar in er.apps}
        for unit in units_of(er, ctx.only_app):
            owner = by_name.get(unit.application)
            if owner is None:
                continue  # a root's objects: no destination to compare with
            server = destination_server(owner.app.destination, known) or ""
            home = str(owner.app.destination.get("namespace") or "")
            # Applications this one deploys: they exist only after its own sync
            children = {r.name for r in unit.resources if r.kind == "Application"}
            for res in unit.resources:
                ns = res.namespace
                if not ns or ns == home or ns in SYSTEM_NAMESPACES or \
                        not k8s.namespaced(res.api_version, res.kind, crds):
                    continue
                made_by = makers.get((server, ns), set())
                if not made_by:
                    message = (f"namespace '{ns}' is not created by anything in this "
                               f"environment: the sync fails until it exists; {FIX}{note}")
                elif made_by <= children:
                    message = (f"namespace '{ns}' is created only by "
                               f"{', '.join(sorted(made_by))}, which this Application deploys: "
                               f"its first sync fails until they have synced; {FIX}")
                else:
                    continue
                yield resource_finding(ID, SEVERITY, unit, res, message,
                                       "metadata", "namespace")
