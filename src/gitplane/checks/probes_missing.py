"""A long-running container without a readiness or liveness probe.

Without a readiness probe a Service sends traffic to pods that are not ready and a rollout
cannot tell a broken version from a working one; without a liveness probe a hung process is
never restarted. Checked on Deployments, StatefulSets, DaemonSets and ReplicaSets (not on
Jobs, whose containers end).

Failing::

    containers:
      - name: web
        image: nginx:1.27.3

Passing::

    containers:
      - name: web
        image: nginx:1.27.3
        readinessProbe: {httpGet: {path: /, port: 80}}
        livenessProbe: {httpGet: {path: /, port: 80}}
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.k8s import containers
from gitplane.checks.context import Context, pods, resource_finding

ID = "probes-missing"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Finding]:
    for unit, res, path, spec in pods(ctx, long_running=True):
        for fld, i, c in containers(spec, init=False):
            missing = [p for p in ("readinessProbe", "livenessProbe") if not c.get(p)]
            if missing:
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"container '{c.get('name')}' has no "
                                       f"{' and no '.join(missing)}", *path, fld, i)
