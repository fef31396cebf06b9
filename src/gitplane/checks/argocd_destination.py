"""An Application whose destination Argo CD cannot resolve, or whose namespace nothing makes.

The cluster must be in the environment's inventory (``name`` or ``server``; the in-cluster
cluster always exists), not named twice (``name`` and ``server`` together). Objects known
to be namespaced (built-in kinds, CRDs rendered in the environment, well-known custom
resources) without a namespace need ``destination.namespace``; an object of unknown scope is
not flagged. A destination namespace that no Application of the environment creates needs
``CreateNamespace=true`` (warning); Argo CD's own namespace on the in-cluster cluster always
exists, and an Application with sources gitplane cannot render is not judged.

Failing::

    destination:
      name: prod-eu          # not in deployments/environments/<env>/clusters.yaml

Passing::

    destination:
      server: https://kubernetes.default.svc
      namespace: web
    syncPolicy:
      syncOptions: [CreateNamespace=true]
"""
from __future__ import annotations

import functools
from collections.abc import Iterator

from gitplane import k8s
from gitplane.argocd.clusters import (IN_CLUSTER_SERVER, destination_server,
                                      destinations)
from gitplane.model import Finding, Origin
from gitplane.argocd.application import creates_namespace
from gitplane.checks.context import Context, env_crds

ID = "argocd-destination"
SEVERITY = "error"
SYSTEM_NAMESPACES = {"default", "kube-system", "kube-public", "kube-node-lease"}
#: Sources whose objects gitplane does not see: a namespace may come from them.
UNSEEN = {"plugin", "missing", "refused", "unresolved", "external"}


def _unknown_message(naming: dict[str, list[str]], where: str, cluster: str, app: str) -> str:
    """The message of an Application naming a cluster the inventory lacks; the fix is named
    once, in the first such Application's finding."""
    apps = naming.get(cluster, [app])
    if len(apps) > 1 and app != apps[0]:
        return (f"cluster '{cluster}' is not in this environment's cluster inventory "
                f"(one of {len(apps)} Applications; the fix is given for '{apps[0]}')")
    count = (f"{len(apps)} Applications name cluster '{cluster}', which is"
             if len(apps) > 1 else f"cluster '{cluster}' is")
    return (f"{count} not in this environment's cluster inventory: add its Argo CD "
            f"cluster Secret to {where}")


def _finding(env: str, app: str, o: Origin, message: str, severity: str = SEVERITY
             ) -> Finding:
    return Finding(env, app, o.file, o.line, ID, "", severity, message)


def check(ctx: Context) -> Iterator[Finding]:
    yield from ctx.stage(ID)
    for er in ctx.platform.envs:
        known = destinations(er.clusters)
        servers, names = set(known.values()) | {IN_CLUSTER_SERVER}, set(known)
        # Applications per unknown cluster: the fix is named once, in the first one's finding.
        naming: dict[str, list[str]] = {}
        for ar in er.apps:
            d = ar.app.destination
            cluster = d.get("name") if d.get("name") else d.get("server")
            if cluster and not (d.get("name") and d.get("server")) and \
                    cluster not in (names if d.get("name") else servers):
                naming.setdefault(cluster, []).append(ar.app.name)
        repo = ctx.platform.repo
        inventory = repo.inventory_path(er.env.name) if repo.seed_layout else None
        where = repo.rel(inventory) if inventory is not None else "clusters: in gitplane.yaml"

        created = {r.name for ar in er.apps for r in ar.resources if r.kind == "Namespace"}
        created |= {r.name for root in er.roots.values() for r in root.resources
                    if r.kind == "Namespace"}
        crds = env_crds(ctx, er)
        for ar in er.apps:
            app = ar.app
            if ctx.only_app and app.name != ctx.only_app:
                continue
            o = app.origin
            dest = app.destination

            finding = functools.partial(_finding, er.env.name, app.name, o)

            if dest.get("name") and dest.get("server"):
                yield finding("destination has both name and server; Argo CD needs one")
            elif dest.get("name") and dest["name"] not in names:
                yield finding(_unknown_message(naming, where, dest["name"], app.name))
            elif dest.get("server") and dest["server"] not in servers:
                yield finding(_unknown_message(naming, where, dest["server"], app.name))
            elif not dest.get("name") and not dest.get("server"):
                yield finding("destination names no cluster (server or name)")
            namespace = dest.get("namespace", "")
            if not namespace:
                loose = [r for r in ar.resources if not r.namespace and
                         k8s.namespaced(r.api_version, r.kind, crds)]
                if loose:
                    yield finding(f"{loose[0].kind} '{loose[0].name}' has no namespace and the "
                                  "destination sets none")
                continue
            # Argo CD's own namespace exists wherever Argo CD runs (the in-cluster cluster).
            own = app.namespace or "argocd"
            in_cluster = destination_server(dest, known) == IN_CLUSTER_SERVER
            if in_cluster and namespace == own:
                continue
            if UNSEEN & set(app.kinds):
                continue  # its own unrendered objects may create the namespace
            if namespace not in created and namespace not in SYSTEM_NAMESPACES and \
                    not creates_namespace(app.doc):
                yield finding(f"namespace '{namespace}' is not created by any Application of "
                              "this environment and CreateNamespace=true is not set", "warning")
