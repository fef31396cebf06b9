"""A pod that runs as root, privileged, with privilege escalation, or in host namespaces.

Errors: ``privileged: true``, ``hostNetwork``, ``hostPID`` or ``hostIPC``. Warnings: no
``runAsNonRoot: true`` (on the pod or every container), ``allowPrivilegeEscalation`` not set
to ``false``. Checked on the core workload kinds, init containers included.

Failing::

    spec:
      hostNetwork: true
      containers:
        - name: web
          securityContext: {privileged: true}

Passing::

    spec:
      securityContext: {runAsNonRoot: true}
      containers:
        - name: web
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.k8s import as_dict, containers
from gitplane.checks.context import Context, pods, resource_finding

ID = "security-context"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Finding]:
    for unit, res, path, spec in pods(ctx):
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(host) is True:
                yield resource_finding(ID, "error", unit, res,
                                       f"{host}: true shares the node's namespace", *path, host)
        pod_sc = as_dict(spec.get("securityContext"))
        for fld, i, c in containers(spec):
            sc = as_dict(c.get("securityContext"))
            name = c.get("name")
            where: tuple[str | int, ...] = (*path, fld, i)
            if sc.get("privileged") is True:
                yield resource_finding(ID, "error", unit, res,
                                       f"container '{name}' is privileged", *where)
            if not (sc.get("runAsNonRoot") is True or
                    (pod_sc.get("runAsNonRoot") is True and sc.get("runAsNonRoot") is not False)):
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"container '{name}' may run as root: set "
                                       "runAsNonRoot: true", *where)
            if sc.get("allowPrivilegeEscalation") is not False:
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"container '{name}' allows privilege escalation: "
                                       "set allowPrivilegeEscalation: false", *where)
