"""An object that does not match its Kubernetes schema (Kubernetes 1.37, strict).

Strict means unknown fields are errors too, as ``kubectl apply --validate=strict`` and the
API server's field validation treat them. Schemas come from kubernetes-validate, offline, for
built-in kinds; from the CRDs an environment renders; for the kinds of every component the
reference platform pins (Argo CD, cert-manager, Sealed Secrets, the Prometheus operator, the
Gateway API, Kubeflow training, Spark, OpenTelemetry, Velero, Traefik), from the CRDs of the
pinned releases (shipped with gitplane, ``gitplane.bundled``; a repository that renders
those CRDs uses its own); then from the schema locations configured. One validator is built
per apiVersion and kind and reused.

Failing::

    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      template: {spec: {containers: [{name: web, image: nginx:1.27.3, port: 80}]}}

(no selector; ``port`` is not a container field.)

Passing: the same with ``selector``, matching template labels and ``ports: [{containerPort: 80}]``.
"""
from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any
from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.boundary import Boundary
from gitplane.errors import BoundaryError
from gitplane.k8s import secret_fields
from gitplane.yamlio import json_value
from gitplane.k8s import dig
from gitplane.checks.context import Context, resource_finding
from gitplane import bundled, cache

ID = "schema"
SEVERITY = "error"
MAX_ERRORS_PER_OBJECT = 10


#: What a kind and an apiVersion may look like before they name a schema file.
SAFE_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,62}$")
SAFE_API = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?v[0-9a-z]{1,20}$")


class Schemas:
    """Validators per (apiVersion, kind), built once each: Kubernetes' own for one version
    (kubernetes-validate, strict), then custom resources from the CRDs an environment renders,
    then the schema locations the user names (folders, or URL templates when allowed)."""

    def __init__(self, version: str = "1.37", locations: list[str] | None = None,
                 repo_top: Path | None = None, allow_network: bool = False) -> None:
        import kubernetes_validate

        base = Path(os.path.dirname(kubernetes_validate.__file__)) / "kubernetes-json-schema"
        self.dir = base / f"v{version.lstrip('v')}.0-local-strict"
        self.locations = [loc if "://" in loc or "{" in loc else
                          str((repo_top or Path.cwd()) / loc) + "/{group}/{kind}_{version}.json"
                          for loc in (locations or [])]
        self.allow_network = allow_network
        self.repo_top = repo_top
        self._validators: dict[Any, Any] = {}
        self._registry: Any = None
        self._lock = threading.Lock()

    def _file(self, api_version: str, kind: str) -> Path:
        api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        return self.dir / f"{kind.lower()}-{api}.json"

    def validator(self, api_version: str, kind: str,
                  crds: dict[tuple[str, str], dict[str, Any]] | None = None) -> Any | None:
        """The validator for ``kind``, or None when no source has a schema for it."""
        import jsonschema_rs

        if not SAFE_KIND.match(kind) or not SAFE_API.match(api_version):
            return None  # never a file name built from such input
        with self._lock:
            key = (api_version, kind)
            if key in self._validators and self._validators[key] is not None:
                return self._validators[key]
            path = self._file(api_version, kind)
            if kind and path.is_file():
                if self._registry is None:
                    defs = json.loads((self.dir / "_definitions.json").read_text())
                    self._registry = jsonschema_rs.Registry([(defs["$id"], defs)])
                schema = json.loads(path.read_text())
                self._validators[key] = jsonschema_rs.Draft202012Validator(
                    schema, registry=self._registry)
                return self._validators[key]
            crd = (crds or {}).get(key)
            if crd is not None:
                ck = ("crd", id(crd))
                if ck not in self._validators:
                    self._validators[ck] = jsonschema_rs.validator_for(crd)
                return self._validators[ck]
            own = bundled.schema(api_version, kind)
            if own is not None:  # a pinned component's kind, from its release's CRDs
                ak = ("bundled", key)
                if ak not in self._validators:
                    self._validators[ak] = jsonschema_rs.validator_for(own)
                return self._validators[ak]
            if key not in self._validators:
                self._validators[key] = self._located(api_version, kind)
            return self._validators[key]

    def _local(self, where: str) -> str | None:
        """A schema file of a folder location, within the size limit; a location of the
        repository's gitplane.yaml is read only inside the repository."""
        if self.repo_top is not None and where.startswith(str(self.repo_top) + os.sep) and \
                not _within(where, self.repo_top):
            return None
        path = Path(where)
        try:
            if not path.is_file() or path.stat().st_size > 10 * 1024 * 1024:
                return None
            return path.read_text()
        except (OSError, UnicodeDecodeError):
            return None

    def _located(self, api_version: str, kind: str) -> Any | None:
        import jsonschema_rs

        group, _, version = api_version.rpartition("/")
        for template in self.locations:
            where = template.replace("{group}", group).replace(
                "{kind}", kind.lower()).replace("{version}", version)
            text = fetch(where, self.allow_network) if "://" in where else \
                self._local(where)
            if text is None:
                continue
            try:
                return jsonschema_rs.validator_for(json_value(text))
            except (ValueError, jsonschema_rs.ValidationError):
                continue
        return None


def _within(path: str, top: Path) -> bool:
    try:
        Boundary(top).check(path, path)
    except BoundaryError:
        return False
    return True


def fetch(url: str, allowed: bool) -> str | None:
    """A schema from a URL, kept in gitplane's cache (``GITPLANE_CACHE_DIR``); only when the
    user allowed the network. A missing schema is None, not an error."""
    import hashlib
    import urllib.error
    import urllib.request


    if not allowed:
        return None
    key = hashlib.sha256(url.encode()).hexdigest()
    hit = cache.get(key, "schemas")
    if hit is not None and isinstance(hit.get("text"), str):
        return str(hit["text"])
    try:
        with urllib.request.urlopen(url, timeout=20) as resp:  # noqa: S310 - opted in
            text = str(resp.read(10 * 1024 * 1024).decode("utf-8"))
    except (urllib.error.URLError, OSError, UnicodeDecodeError, ValueError):
        return None
    cache.put(key, {"text": text}, "schemas")
    return text


def crd_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A CRD's openAPIV3Schema as a strict JSON schema: ``x-kubernetes-int-or-string``,
    ``nullable`` and ``x-kubernetes-preserve-unknown-fields`` honoured, unknown fields refused
    where the CRD lists its fields."""
    def conv(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        if node.get("x-kubernetes-int-or-string"):
            out: dict[str, Any] = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
            if node.get("nullable"):
                out["anyOf"].append({"type": "null"})
            return out
        out = {k: v for k, v in node.items() if not k.startswith("x-kubernetes-")
               and k != "nullable"}
        for key in ("properties", "patternProperties"):
            if isinstance(out.get(key), dict):
                out[key] = {k: conv(v) for k, v in out[key].items()}
        for key in ("items", "additionalProperties", "not"):
            if isinstance(out.get(key), dict):
                out[key] = conv(out[key])
        for key in ("allOf", "anyOf", "oneOf"):
            if isinstance(out.get(key), list):
                out[key] = [conv(v) for v in out[key]]
        if node.get("nullable") and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if out.get("type") == "object" and "properties" in out and \
                not node.get("x-kubernetes-preserve-unknown-fields") and \
                "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out

    root: dict[str, Any] = conv(schema)
    props = root.setdefault("properties", {})
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    props.setdefault("metadata", {"type": "object"})
    return root


def env_crds(resources: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) → JSON schema of every served version of the CRDs in ``resources``."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for res in resources:
        if res.kind != "CustomResourceDefinition" or \
                not res.api_version.startswith("apiextensions.k8s.io/"):
            continue

        group = dig(res.obj, "spec", "group") or ""
        kind = dig(res.obj, "spec", "names", "kind") or ""
        versions = dig(res.obj, "spec", "versions")
        for v in versions if isinstance(versions, list) else []:
            schema = dig(v, "schema", "openAPIV3Schema")
            if isinstance(schema, dict) and v.get("served", True):
                out[(f"{group}/{v.get('name')}", kind)] = crd_schema(schema)
    return out


def _where(path: list[str | int]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _without_value(err: Any) -> str:
    """The message of a schema error on a secret field, which must not quote the value."""
    types = getattr(err.kind, "types", None)
    if isinstance(types, list) and types:
        return f"is not of type {', '.join(map(repr, types))} (value not shown: it is secret)"
    keyword = err.schema_path[-1] if err.schema_path else "schema"
    return f"does not satisfy {keyword!r} (value not shown: it is secret)"


def errors(schemas: Schemas, obj: dict[str, Any],
           crds: dict[tuple[str, str], dict[str, Any]] | None = None
           ) -> list[tuple[list[str | int], str]] | None:
    """Schema errors of ``obj`` as (path, message); None when its kind has no schema."""
    validator = schemas.validator(str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""),
                                  crds)
    if validator is None:
        return None
    out = []
    secret = secret_fields(str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))
    for err in validator.iter_errors(obj):
        path = list(err.instance_path)
        hidden = any(tuple(path[:len(f)]) == f for f in secret)
        out.append((path, _without_value(err) if hidden else err.message))
        if len(out) >= MAX_ERRORS_PER_OBJECT:
            break
    return out


def check(ctx: Context) -> Iterator[Finding]:
    chosen = ctx.schema_settings()
    schemas = ctx.cache.setdefault("schemas", Schemas(
        chosen.kubernetes_version, chosen.locations, ctx.platform.repo.top,
        chosen.allow_network))
    unknown = ctx.cache.setdefault("schema-unknown", [])
    crds_by_env = {er.env.name: env_crds(
        [r for ar in er.apps for r in ar.resources] +
        [r for root in er.roots.values() for r in root.resources]) for er in ctx.platform.envs}
    for unit in ctx.units():
        for res in unit.resources:
            errs = errors(schemas, res.obj, crds_by_env.get(unit.environment))
            if errs is None:
                unknown.append((unit, res))
                continue
            for path, message in errs:
                where = _where(path)
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"{where + ': ' if where else ''}{message}", *path)
