"""The custom resource definitions gitplane ships: schemas and scopes of the kinds of every
component the reference platform pins (Argo CD, cert-manager, Sealed Secrets, the Prometheus
operator, the Gateway API, Kubeflow training, Spark, OpenTelemetry, Velero, Traefik).

Built by ``tools/crd_schemas.py`` from the projects' CRDs at the pinned releases into
``schemas/crds.zip``: ``index.json`` and one strict JSON schema per apiVersion and kind,
each read only when an object of that kind is validated. A repository that renders its own
CRDs is validated against those instead (they are the ones its cluster gets).
"""
from __future__ import annotations

import functools
import json
import threading
import zipfile
from pathlib import Path
from typing import Any

ARCHIVE = Path(__file__).parent / "schemas" / "crds.zip"
_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def index() -> dict[str, Any]:
    """``sources`` (component, repository, tag, kinds), ``scopes`` ("group|Kind" →
    Namespaced/Cluster) and ``schemas`` (the "group/version|Kind" keys present)."""
    with zipfile.ZipFile(ARCHIVE) as z:
        data: dict[str, Any] = json.loads(z.read("index.json"))
    data["schemas"] = set(data["schemas"])
    return data


def scope(group: str, kind: str) -> str | None:
    """``Namespaced``/``Cluster`` of a bundled kind, None when not bundled."""
    value = index()["scopes"].get(f"{group}|{kind}")
    return str(value) if value else None


@functools.lru_cache(maxsize=256)
def schema(api_version: str, kind: str) -> dict[str, Any] | None:
    """The strict JSON schema of a bundled apiVersion and kind, or None."""
    key = f"{api_version}|{kind}"
    if key not in index()["schemas"]:
        return None
    with _lock, zipfile.ZipFile(ARCHIVE) as z:
        value: dict[str, Any] = json.loads(z.read(f"{api_version}_{kind}.json"))
    return value
