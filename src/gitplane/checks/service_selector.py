"""A Service whose selector matches no pod template in its namespace.

It then has no endpoints: every request to it fails. Compared with the pod template labels of
every workload of the environment in the Service's namespace (a warning when an Application
gitplane cannot render deploys there too).

Failing::

    kind: Service
    spec:
      selector: {app: web}       # the Deployment's pods are labelled app: web-app

Passing: ``selector: {app: web-app}``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from gitplane.model import Finding

if TYPE_CHECKING:
    from gitplane.checks import Context

ID = "service-selector"
SEVERITY = "error"


def check(ctx: Context) -> Iterator[Finding]:
    from gitplane.checks import WORKLOADS, dig, env_index, pod_spec, resource_finding

    for unit in ctx.units():
        index = env_index(ctx, unit.environment)
        for res in unit.resources:
            if res.kind != "Service" or res.api_version != "v1":
                continue
            selector = dig(res.obj, "spec", "selector")
            if not isinstance(selector, dict) or not selector:
                continue
            matched = False
            for kind in WORKLOADS:
                for _, w in index.of_kind(kind):
                    if w.namespace != res.namespace or pod_spec(w) is None:
                        continue
                    path = WORKLOADS[kind][:-1] + ("metadata", "labels")
                    labels: Any = w.obj
                    for step in path:
                        labels = labels.get(step) if isinstance(labels, dict) else None
                    if isinstance(labels, dict) and all(labels.get(k) == v
                                                        for k, v in selector.items()):
                        matched = True
            if matched:
                continue
            sel = ", ".join(f"{k}={v}" for k, v in sorted(selector.items()))
            maybe = index.external_namespaces.get(res.namespace)
            if maybe:
                yield resource_finding(ID, "warning", unit, res,
                                       f"selector {sel} matches no rendered pod template; pods "
                                       f"may come from {', '.join(sorted(maybe))}",
                                       "spec", "selector")
            else:
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"selector {sel} matches no pod template in namespace "
                                       f"'{res.namespace}'", "spec", "selector")
