"""The cluster inventory: Argo CD's declarative cluster Secrets, credentials left out.

A file holds Secrets labelled ``argocd.argoproj.io/secret-type: cluster`` with ``name`` and
``server`` (and optionally ``project``) in ``stringData`` or base64 ``data``, plus labels and
annotations for the clusters generator's selectors — the same documents users already keep
for Argo CD. In the seed's layout each environment's inventory is
``deployments/environments/<env>/clusters.yaml``; with none, only the in-cluster cluster
exists, as in a new Argo CD.
"""
from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from gitplane.errors import GitplaneError, YamlError
from gitplane.yamlio import load_file

SECRET_TYPE = "argocd.argoproj.io/secret-type"
FILENAME = "clusters.yaml"


def load(path: Path, shown: str) -> list[dict[str, Any]]:
    """The cluster Secrets of ``path``: ``{"metadata", "data"}`` with data decoded."""
    try:
        docs = load_file(path, shown)
    except YamlError as exc:
        raise GitplaneError(str(exc)) from None
    out: list[dict[str, Any]] = []
    for doc in docs:
        items = doc.obj.get("items") if isinstance(doc.obj, dict) and \
            doc.obj.get("kind") == "List" else [doc.obj]
        for obj in items or []:
            where = f"{shown}:{doc.line}"
            if not isinstance(obj, dict) or obj.get("kind") != "Secret":
                raise GitplaneError(f"{where}: not a Secret (the inventory holds Argo CD "
                                    "cluster Secrets)")
            meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            assert isinstance(meta, dict)
            labels = meta.get("labels") or {}
            if not isinstance(labels, dict) or labels.get(SECRET_TYPE) != "cluster":
                raise GitplaneError(f"{where}: Secret '{meta.get('name', '')}' is not labelled "
                                    f"{SECRET_TYPE}: cluster")
            for field in ("stringData", "data"):
                if obj.get(field) is not None and not isinstance(obj.get(field), dict):
                    raise GitplaneError(f"{where}: {field} of cluster Secret "
                                        f"'{meta.get('name', '')}' must be a mapping")
            data = {str(k): str(v) for k, v in (obj.get("stringData") or {}).items()}
            for k, v in (obj.get("data") or {}).items():
                try:
                    data.setdefault(str(k), base64.b64decode(str(v), validate=True).decode())
                except (binascii.Error, UnicodeDecodeError):
                    raise GitplaneError(f"{where}: data.{k} is not valid base64") from None
            if not data.get("server"):
                raise GitplaneError(f"{where}: cluster Secret '{meta.get('name', '')}' has no "
                                    "server")
            data.setdefault("name", data["server"])
            out.append({"metadata": {k: meta[k] for k in ("name", "namespace", "labels",
                                                          "annotations") if k in meta},
                        "data": data, "line": doc.line})
    return out


#: The cluster Argo CD runs in, known to every Argo CD by this name and server.
IN_CLUSTER_NAME = "in-cluster"
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"


def destinations(secrets: list[dict[str, Any]]) -> dict[str, str]:
    """name → server of every known cluster, in-cluster included unless redefined."""
    out = {IN_CLUSTER_NAME: IN_CLUSTER_SERVER}
    for s in secrets:
        out[s["data"]["name"]] = s["data"]["server"]
    return out


def destination_server(dest: dict[str, Any], known: dict[str, str]) -> str:
    """The cluster an Application's destination means, as a server URL (``known``: name →
    server, from :func:`destinations`); ``name:<name>`` for a name the inventory lacks; the
    in-cluster server when the destination names no cluster."""
    server, name = dest.get("server") or "", dest.get("name") or ""
    if server:
        return str(server)
    if name:
        return known.get(str(name), f"name:{name}")
    return IN_CLUSTER_SERVER
