"""A container without CPU and memory requests and limits.

Without requests the scheduler cannot place the pod well and a ResourceQuota rejects it;
without limits one container can starve its node. Checked on Deployments, StatefulSets,
DaemonSets, ReplicaSets, Jobs, CronJobs and Pods, init containers included.

Failing::

    containers:
      - name: web
        image: nginx:1.27.3

Passing::

    containers:
      - name: web
        image: nginx:1.27.3
        resources:
          requests: {cpu: 100m, memory: 128Mi}
          limits: {cpu: 500m, memory: 256Mi}
"""
from __future__ import annotations

from typing import Any
from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.k8s import as_dict, containers
from gitplane.checks.context import Context, pods, resource_finding

ID = "resources-missing"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Finding]:
    for unit, res, path, spec in pods(ctx):
        for fld, i, c in containers(spec):
            r: dict[str, Any] = as_dict(c.get("resources"))
            missing = [f"{kind}.{what}" for kind in ("requests", "limits")
                       for what in ("cpu", "memory") if not as_dict(r.get(kind)).get(what)]
            if missing:
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"container '{c.get('name')}' has no "
                                       f"{', '.join(missing)}", *path, fld, i)
