"""A Secret with its values in the repository: ``data`` or ``stringData`` in plain sight.

Anyone who can read the repository can read the secret, forever (Git keeps history). Found
by structure, not by pattern: rendered Secrets (a ``secretGenerator`` makes one too), Secrets
inside a ``kind: List``, and Secrets stored in a ``kubectl.kubernetes.io/last-applied-
configuration`` annotation. Seal it (SealedSecret) or reference an external secret store.

Failing::

    apiVersion: v1
    kind: Secret
    metadata: {name: db}
    stringData: {password: hunter2}

Passing: a ``bitnami.com/v1alpha1`` SealedSecret with ``encryptedData``; values that are all
argocd-vault-plugin placeholders (``<path:secret/data/db#password>``); an Argo CD repository
Secret (``argocd.argoproj.io/secret-type: repository``) holding only ``url`` and ``type``.
"""
from __future__ import annotations

import base64
import json
import re
from typing import Any
from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.yamlio import json_value
from gitplane.checks.context import Context, resource_finding

ID = "plaintext-secret"
SEVERITY = "error"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


#: argocd-vault-plugin placeholders (``<path:vault/data/x#key>``, ``<key>`` with the path in
#: an annotation): the plugin fills the value in at render time, the repository holds none.
AVP = re.compile(r"^\s*<[^<>\s]+>\s*$|^\s*<path:[^>]+>\s*$")
#: Keys of Argo CD repository and cluster Secrets that are not credentials.
ARGOCD_PLAIN = {"url", "type", "name", "project", "enableOCI", "enableLfs", "insecure",
                "forceHttpBasicAuth", "proxy", "noProxy", "server", "namespaces",
                "clusterResources", "useAzureWorkloadIdentity", "githubAppEnterpriseBaseUrl"}
SECRET_TYPE = "argocd.argoproj.io/secret-type"


def _values(obj: dict[str, Any]) -> dict[str, Any]:
    """Every key of ``data`` and ``stringData`` with its value (base64 decoded where it can
    be)."""
    out: dict[str, Any] = {}
    data = obj.get("data")
    for k, v in (data.items() if isinstance(data, dict) else []):
        try:
            out[str(k)] = base64.b64decode(str(v), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            out[str(k)] = v
    string = obj.get("stringData")
    for k, v in (string.items() if isinstance(string, dict) else []):
        out[str(k)] = v
    for f in ("data", "stringData"):  # a malformed field still holds its value in the open
        if obj.get(f) and not isinstance(obj.get(f), dict):
            out[f"({f})"] = obj[f]
    return out


def _plain(obj: Any) -> bool:
    """A Secret holding a value in plain text: not only placeholders of
    argocd-vault-plugin, not an Argo CD repository Secret holding only its URL and type."""
    if not (isinstance(obj, dict) and obj.get("kind") == "Secret" and
            str(obj.get("apiVersion") or "") == "v1" and
            bool(obj.get("data") or obj.get("stringData"))):
        return False
    values = _values(obj)
    secret = {k: v for k, v in values.items()
              if not (isinstance(v, str) and AVP.match(v))}
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    labels = meta.get("labels") if isinstance(meta, dict) else None
    if isinstance(labels, dict) and labels.get(SECRET_TYPE) in ("repository", "repo-creds"):
        secret = {k: v for k, v in secret.items() if k not in ARGOCD_PLAIN}
    return bool(secret)


def _inside(obj: dict[str, Any]) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    """(where, path) of every plaintext Secret in ``obj`` (itself, List items, annotations)."""
    if _plain(obj):
        # key names only, of fields that are mappings: a value is never part of a message
        keys = sorted(str(k) for f in ("data", "stringData")
                      if isinstance(obj.get(f), dict) for k in obj[f])
        yield f"Secret holds {', '.join(keys) or 'values'} in plain text", ()
    if obj.get("kind") == "List" and isinstance(obj.get("items"), list):
        for i, item in enumerate(obj["items"]):
            if _plain(item):
                yield "a Secret inside this List holds values in plain text", ("items", i)
    meta = obj.get("metadata")
    ann = meta.get("annotations") if isinstance(meta, dict) else None
    raw = ann.get(LAST_APPLIED) if isinstance(ann, dict) else None
    if isinstance(raw, str):
        try:
            applied = json_value(raw)
        except json.JSONDecodeError:
            applied = None
        if _plain(applied):
            yield ("the last-applied-configuration annotation holds a Secret's values in "
                   "plain text"), ("metadata", "annotations")


def check(ctx: Context) -> Iterator[Finding]:
    for unit in ctx.units():
        for res in unit.resources:
            for message, path in _inside(res.obj):
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"{message}; seal it or use an external secret store",
                                       *path)
