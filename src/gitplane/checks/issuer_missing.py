"""A cert-manager Certificate or Ingress that names an issuer the environment does not have.

The certificate is then never issued and TLS fails. Checks ``spec.issuerRef`` of
Certificates and the ``cert-manager.io/cluster-issuer`` and ``cert-manager.io/issuer``
annotations of Ingresses against the ClusterIssuers and the Issuers (in the same namespace)
rendered in the environment.

Failing: ``cert-manager.io/cluster-issuer: letsencrypt`` with only ``letsencrypt-prod``.

Passing: ``cert-manager.io/cluster-issuer: letsencrypt-prod``.
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.k8s import as_dict, dig
from gitplane.checks.context import Context, env_index, resource_finding

ID = "issuer-missing"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Finding]:
    for unit in ctx.units():
        index = env_index(ctx, unit.environment)
        for res in unit.resources:
            wanted: list[tuple[str, str, tuple[str, ...]]] = []
            if res.kind == "Certificate" and res.api_version.startswith("cert-manager.io/"):
                ref = as_dict(dig(res.obj, "spec", "issuerRef"))
                if ref.get("name") and ref.get("group", "cert-manager.io") == "cert-manager.io":
                    wanted.append((str(ref.get("kind") or "Issuer"), str(ref["name"]),
                                   ("spec", "issuerRef")))
            elif res.kind == "Ingress":
                ann = as_dict(dig(res.obj, "metadata", "annotations"))
                if ann.get("cert-manager.io/cluster-issuer"):
                    wanted.append(("ClusterIssuer", str(ann["cert-manager.io/cluster-issuer"]),
                                   ("metadata", "annotations")))
                if ann.get("cert-manager.io/issuer"):
                    wanted.append(("Issuer", str(ann["cert-manager.io/issuer"]),
                                   ("metadata", "annotations")))
            for kind, name, where in wanted:
                ns = "" if kind == "ClusterIssuer" else res.namespace
                if not index.has(kind, ns, name):
                    yield resource_finding(ID, SEVERITY, unit, res,
                                           f"{kind} '{name}' does not exist in this environment"
                                           + (f" (namespace '{ns}')" if ns else ""), *where)
