"""A pod that runs as root, privileged, with privilege escalation, or in host namespaces.

``privileged: true``, ``hostNetwork``, ``hostPID`` or ``hostIPC`` are errors where the
namespace's Pod Security level (``pod-security.kubernetes.io/enforce`` on the rendered
Namespace) is ``baseline`` or ``restricted``: the API server rejects the pod. In a namespace
that enforces ``privileged`` (node agents: log collectors, node exporters, CNI and CSI
drivers) or whose level the environment does not set, they are warnings: correct node agents
need them, and they still deserve a look. Warnings: no ``runAsNonRoot: true`` (on the pod or
every container), ``allowPrivilegeEscalation`` not set to ``false``. Checked on every pod
template, init containers included.

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
from gitplane.k8s import as_dict, containers, dig
from gitplane.checks.context import Context, env_index, pods, resource_finding

ENFORCE = "pod-security.kubernetes.io/enforce"

ID = "security-context"
SEVERITY = "warning"


def _enforced(ctx: Context, env: str, namespace: str) -> str:
    """The Pod Security level the rendered Namespace enforces ("" when none is set)."""
    for _, ns in env_index(ctx, env).objects.get(("Namespace", "", namespace), []):
        labels = dig(ns.obj, "metadata", "labels")
        if isinstance(labels, dict) and labels.get(ENFORCE):
            return str(labels[ENFORCE])
    return ""


def _severity(level: str) -> tuple[str, str]:
    if level in ("baseline", "restricted"):
        return "error", f"; the namespace enforces Pod Security '{level}', so the pod is rejected"
    if level == "privileged":
        return "warning", "; allowed by the namespace's Pod Security level 'privileged'"
    return "warning", ""


def check(ctx: Context) -> Iterator[Finding]:
    for unit, res, path, spec in pods(ctx):
        severity, why = _severity(_enforced(ctx, unit.environment, res.namespace))
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(host) is True:
                yield resource_finding(ID, severity, unit, res,
                                       f"{host}: true shares the node's namespace{why}",
                                       *path, host)
        pod_sc = as_dict(spec.get("securityContext"))
        for fld, i, c in containers(spec):
            sc = as_dict(c.get("securityContext"))
            name = c.get("name")
            where: tuple[str | int, ...] = (*path, fld, i)
            if sc.get("privileged") is True:
                yield resource_finding(ID, severity, unit, res,
                                       f"container '{name}' is privileged{why}", *where)
            if not (sc.get("runAsNonRoot") is True or
                    (pod_sc.get("runAsNonRoot") is True and sc.get("runAsNonRoot") is not False)):
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"container '{name}' may run as root: set "
                                       "runAsNonRoot: true", *where)
            if sc.get("allowPrivilegeEscalation") is not False:
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"container '{name}' allows privilege escalation: "
                                       "set allowPrivilegeEscalation: false", *where)
