"""An Ingress whose backend Service, or the Service's port, does not exist.

Requests to that path then fail with 503. Each backend (default and per rule path) must name
a Service of the Ingress's namespace and one of its ports, by number or by name.

Failing::

    backend:
      service: {name: web-app, port: {number: 8080}}   # the Service exposes port 80

Passing: ``port: {number: 80}`` or ``port: {name: http}``.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.k8s import as_dict, dig
from gitplane.checks.context import Context, env_index, resource_finding

ID = "ingress-backend"
SEVERITY = "error"


def backends(spec: dict[str, Any]) -> Iterator[tuple[dict[str, Any], tuple[str | int, ...]]]:
    if isinstance(spec.get("defaultBackend"), dict):
        yield spec["defaultBackend"], ("spec", "defaultBackend")
    rules = spec.get("rules")
    for i, _ in enumerate(rules if isinstance(rules, list) else []):
        paths = dig(rules, i, "http", "paths")
        for j, _ in enumerate(paths if isinstance(paths, list) else []):
            backend = dig(paths, j, "backend")
            if isinstance(backend, dict):
                yield backend, ("spec", "rules", i, "http", "paths", j)


def check(ctx: Context) -> Iterator[Finding]:
    for unit in ctx.units():
        index = env_index(ctx, unit.environment)
        for res in unit.resources:
            if res.kind != "Ingress" or not res.api_version.startswith("networking.k8s.io/"):
                continue
            for backend, where in backends(as_dict(res.obj.get("spec"))):
                svc = backend.get("service")
                if not isinstance(svc, dict):
                    continue
                name = str(svc.get("name"))
                found = index.objects.get(("Service", res.namespace, name)) or []
                if not found:
                    if not index.external_namespaces.get(res.namespace):
                        yield resource_finding(ID, SEVERITY, unit, res,
                                               f"backend Service '{name}' does not exist in "
                                               f"namespace '{res.namespace}'", *where)
                    continue
                port = as_dict(svc.get("port"))
                ports = dig(found[0][1].obj, "spec", "ports")
                ports = [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []
                ok = any((port.get("number") is not None and p.get("port") == port["number"]) or
                         (port.get("name") and p.get("name") == port["name"]) for p in ports)
                if port and not ok:
                    want = port.get("number", port.get("name"))
                    yield resource_finding(ID, SEVERITY, unit, res,
                                           f"Service '{name}' has no port {want}", *where)
