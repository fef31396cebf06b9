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

Also failing: a cluster Secret of the cluster inventory (``clusters.yaml``) whose ``config``
holds ``bearerToken``, ``password`` or ``tlsClientConfig.keyData``.

A Secret rendered from a chart of a Helm repository (fetched into gitplane's cache) holds
what the chart's templates make (generated passwords, configuration files) and what the
Application gives it: only keys whose value is one the repository holds (a value of the
Application's Helm values, or a credential-looking value found inside the Secret's value)
are reported.

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


def _repository_values(ar: Any) -> tuple[set[str], set[str]]:
    """(every value, the credential-looking values) of an Application's Helm values, as
    strings of four characters or more."""
    from gitplane.argocd.values import SECRET_KEY, helm_values

    every: set[str] = set()
    credentials: set[str] = set()
    for key, value in helm_values(ar).items():
        if isinstance(value, (dict, list)) or value is None or isinstance(value, bool):
            continue
        text = str(value)
        if len(text) >= 4 and not AVP.match(text):
            every.add(text)
            if SECRET_KEY.search(key):
                credentials.add(text)
    return every, credentials


def _from_repository(obj: dict[str, Any], held: tuple[set[str], set[str]]) -> list[str]:
    """Keys of a chart's Secret whose value the repository holds."""
    every, credentials = held
    out = []
    for key, value in _values(obj).items():
        text = str(value)
        if text in every or any(c in text for c in credentials):
            out.append(key)
    return sorted(out)


#: Fields of a cluster Secret's ``config`` (and its ``tlsClientConfig``) that are credentials.
CLUSTER_CREDENTIALS = ("bearerToken", "password", "keyData")


def _cluster_credentials(data: dict[str, Any]) -> list[str]:
    """The credential fields a cluster Secret's ``config`` holds in plain text."""
    raw = data.get("config")
    try:
        config = json_value(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        return []
    if not isinstance(config, dict):
        return []
    tls = config.get("tlsClientConfig")
    found = [k for k in CLUSTER_CREDENTIALS if _held(config.get(k))]
    found += [f"tlsClientConfig.{k}" for k in CLUSTER_CREDENTIALS
              if isinstance(tls, dict) and _held(tls.get(k))]
    return found


def _held(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and not AVP.match(value)


def check(ctx: Context) -> Iterator[Finding]:
    repo = ctx.platform.repo
    for er in ctx.platform.envs:  # the cluster inventory: Secrets the renders never show
        inventory = repo.inventory_path(er.env.name)
        for cluster in er.clusters:
            fields = _cluster_credentials(cluster.get("data") or {})
            if fields and not ctx.only_app:
                name = (cluster.get("metadata") or {}).get("name", "")
                yield Finding(er.env.name, "", repo.rel(inventory) if inventory else "",
                              int(cluster.get("line") or 1), ID, f"/v1/Secret/{name}",
                              SEVERITY, f"cluster Secret '{name}' holds {', '.join(fields)} "
                              "in plain text in its config; seal it (a SealedSecret of the "
                              "cluster Secret) or use an external secret store")
    apps = {(er.env.name, ar.app.name): ar for er in ctx.platform.envs for ar in er.apps}
    for unit in ctx.units():
        ar = apps.get((unit.environment, unit.application))
        chart = ar is not None and any(ar.app.resolved())
        held = _repository_values(ar) if ar is not None and chart else None
        for res in unit.resources:
            if held is not None and res.kind == "Secret" and _plain(res.obj):
                keys = _from_repository(res.obj, held)
                if keys:
                    yield resource_finding(ID, SEVERITY, unit, res,
                                           f"Secret holds {', '.join(keys)} in plain text (from "
                                           "the Application's Helm values); seal it or use an "
                                           "external secret store")
                continue
            for message, path in _inside(res.obj):
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"{message}; seal it or use an external secret store",
                                       *path)
