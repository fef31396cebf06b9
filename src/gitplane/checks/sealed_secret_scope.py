"""A strict-scope SealedSecret renamed or moved by an overlay: it can no longer be decrypted.

A SealedSecret sealed with the default (strict) scope is bound to the namespace and name it
was sealed for. An overlay's ``namePrefix``, ``nameSuffix``, ``namespace`` or a hash suffix
changes the rendered name or namespace, and the controller then fails with "no key could
decrypt secret". Renaming needs ``sealedsecrets.bitnami.com/namespace-wide`` (name may
change) or ``cluster-wide`` (both may change) at sealing time.

Failing: ``deployments/.../base/db-sealed.yaml`` sealed as ``dev/db`` in an overlay with
``namePrefix: prod-`` and ``namespace: prod`` (rendered ``prod/prod-db``).

Passing: the same SealedSecret sealed with ``sealedsecrets.bitnami.com/namespace-wide: "true"``
and only the name changed, or no rename at all.

What it was sealed for: the ``gitplane.io/sealed-for: namespace/name`` annotation ``gitplane
seal`` writes (it seals for the rendered name and namespace), else the file's own name and
namespace (or its template's namespace), as kubeseal leaves them.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.k8s import as_dict, dig
from gitplane.checks.context import Context, resource_finding

ID = "sealed-secret-scope"
SEVERITY = "error"
NS_WIDE = "sealedsecrets.bitnami.com/namespace-wide"
CLUSTER_WIDE = "sealedsecrets.bitnami.com/cluster-wide"
SEALED_FOR = "gitplane.io/sealed-for"


def _scope(meta: dict[str, Any]) -> str:
    raw = meta.get("annotations")
    ann: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if str(ann.get(CLUSTER_WIDE, "")).lower() == "true":
        return "cluster-wide"
    if str(ann.get(NS_WIDE, "")).lower() == "true":
        return "namespace-wide"
    return "strict"


def check(ctx: Context) -> Iterator[Finding]:
    for unit in ctx.units():
        for res in unit.resources:
            if res.kind != "SealedSecret" or not res.api_version.startswith("bitnami.com/"):
                continue
            source = res.doc.obj if res.doc is not None and isinstance(res.doc.obj, dict) \
                else None
            if source is None:
                continue
            sealed_meta = as_dict(source.get("metadata"))
            template_meta = as_dict(dig(source, "spec", "template", "metadata"))
            scope = _scope(sealed_meta) if _scope(sealed_meta) != "strict" else \
                _scope(template_meta)
            sealed_ns = str(sealed_meta.get("namespace") or template_meta.get("namespace") or "")
            sealed_name = str(sealed_meta.get("name") or "")
            recorded = as_dict(sealed_meta.get("annotations")).get(SEALED_FOR)
            if isinstance(recorded, str) and "/" in recorded:
                # gitplane seal records what it sealed for (the rendered name, which an
                # overlay's namePrefix makes differ from the file's)
                sealed_ns, _, sealed_name = recorded.partition("/")
            ns_changed = bool(sealed_ns) and res.namespace != sealed_ns
            name_changed = res.name != sealed_name
            if scope == "cluster-wide":
                continue
            if (scope == "strict" and (ns_changed or name_changed)) or \
                    (scope == "namespace-wide" and ns_changed):
                yield resource_finding(
                    ID, SEVERITY, unit, res,
                    f"rendered {res.namespace}/{res.name} ≠ sealed {sealed_ns}/{sealed_name} "
                    f"({scope} scope); the controller will not decrypt it")
