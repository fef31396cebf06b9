"""An object that does not match its Kubernetes schema (Kubernetes 1.37, strict).

Strict means unknown fields are errors too, as ``kubectl apply --validate=strict`` and the
API server's field validation treat them. Schemas come from kubernetes-validate, offline; one
validator is built per apiVersion and kind and reused.

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
from typing import TYPE_CHECKING, Any, Iterator

from gitplane.model import Finding

if TYPE_CHECKING:
    from gitplane.checks import Context

ID = "schema"
SEVERITY = "error"
MAX_ERRORS_PER_OBJECT = 10


class Schemas:
    """Validators per (apiVersion, kind) for one Kubernetes version, built once each."""

    def __init__(self, version: str = "1.37") -> None:
        import kubernetes_validate

        base = Path(os.path.dirname(kubernetes_validate.__file__)) / "kubernetes-json-schema"
        self.dir = base / f"v{version.lstrip('v')}.0-local-strict"
        self._validators: dict[tuple[str, str], Any] = {}
        self._registry: Any = None
        self._lock = threading.Lock()

    def _file(self, api_version: str, kind: str) -> Path:
        api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        return self.dir / f"{kind.lower()}-{api}.json"

    def validator(self, api_version: str, kind: str) -> Any | None:
        key = (api_version, kind)
        with self._lock:
            if key in self._validators:
                return self._validators[key]
            import jsonschema_rs

            path = self._file(api_version, kind)
            validator = None
            if kind and path.is_file():
                if self._registry is None:
                    defs = json.loads((self.dir / "_definitions.json").read_text())
                    self._registry = jsonschema_rs.Registry([(defs["$id"], defs)])
                schema = json.loads(path.read_text())
                validator = jsonschema_rs.Draft202012Validator(schema, registry=self._registry)
            self._validators[key] = validator
            return validator


def _where(path: list[str | int]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def errors(schemas: Schemas, obj: dict[str, Any]) -> list[tuple[list[str | int], str]] | None:
    """Schema errors of ``obj`` as (path, message); None when its kind has no schema."""
    validator = schemas.validator(str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))
    if validator is None:
        return None
    out = []
    for err in validator.iter_errors(obj):
        out.append((list(err.instance_path), err.message))
        if len(out) >= MAX_ERRORS_PER_OBJECT:
            break
    return out


def check(ctx: Context) -> Iterator[Finding]:
    from gitplane.checks import resource_finding

    schemas = ctx.cache.setdefault("schemas", Schemas(
        ctx.platform.repo.config.kubernetes_version))
    unknown = ctx.cache.setdefault("schema-unknown", [])
    for unit in ctx.units():
        for res in unit.resources:
            errs = errors(schemas, res.obj)
            if errs is None:
                unknown.append((unit, res))
                continue
            for path, message in errs:
                where = _where(path)
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"{where + ': ' if where else ''}{message}", *path)
