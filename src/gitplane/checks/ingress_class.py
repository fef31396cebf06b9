"""An Ingress whose class no IngressClass of the environment defines.

No controller then serves it. Checks ``spec.ingressClassName`` (and the older
``kubernetes.io/ingress.class`` annotation) against the IngressClasses rendered in the
environment; a warning when an Application gitplane cannot render (an ingress controller's
chart) might define it.

Failing: ``ingressClassName: traefik`` with only the IngressClass ``nginx``.

Passing: ``ingressClassName: nginx``.
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.k8s import dig
from gitplane.checks.context import Context, env_index, resource_finding

ID = "ingress-class"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Finding]:
    for unit in ctx.units():
        index = env_index(ctx, unit.environment)
        classes = {r.name for _, r in index.of_kind("IngressClass")}
        for res in unit.resources:
            if res.kind != "Ingress":
                continue
            name = dig(res.obj, "spec", "ingressClassName") or dig(
                res.obj, "metadata", "annotations", "kubernetes.io/ingress.class")
            if not name or name in classes:
                continue
            external = sorted({a for apps in index.external_namespaces.values() for a in apps})
            severity, hint = (("warning", f"; it may come from {', '.join(external)}")
                              if external else (SEVERITY, ""))
            yield resource_finding(ID, severity, unit, res,
                                   f"IngressClass '{name}' is not defined in this environment "
                                   f"(known: {', '.join(sorted(classes)) or 'none'}){hint}",
                                   "spec")
