"""A namespace without a Pod Security Admission level.

Kubernetes' Pod Security Admission enforces the level a namespace names in its
``pod-security.kubernetes.io/enforce`` label (``privileged``, ``baseline`` or
``restricted``). A namespace without it gets the cluster's default, which is ``privileged``
unless the API server was configured otherwise: any pod may run as root, on the host's
network, with added capabilities. Name the level (``restricted`` where the workloads allow
it), so the namespace says what it admits. A label with another value is reported too (the
API server rejects it).

Not reported: Kubernetes' own namespaces (``kube-system``, ``kube-public``,
``kube-node-lease``, ``default``), and OpenShift namespaces whose labels OpenShift keeps in
sync itself (``openshift-*``, or ``security.openshift.io/scc.podSecurityLabelSync`` set).

Failing::

    apiVersion: v1
    kind: Namespace
    metadata: {name: payments}

Passing::

    metadata:
      name: payments
      labels: {pod-security.kubernetes.io/enforce: restricted}
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.checks.context import Context, resource_finding
from gitplane.k8s import dig
from gitplane.model import Finding

ID = "pod-security-labels"
SEVERITY = "warning"
ENFORCE = "pod-security.kubernetes.io/enforce"
LEVELS = ("privileged", "baseline", "restricted")
SYSTEM = {"kube-system", "kube-public", "kube-node-lease", "default"}
OPENSHIFT_SYNC = "security.openshift.io/scc.podSecurityLabelSync"


def check(ctx: Context) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()
    for unit in ctx.units():
        for res in unit.resources:
            if res.kind != "Namespace" or res.api_version != "v1":
                continue
            if res.name in SYSTEM or res.name.startswith("openshift"):
                continue
            labels = dig(res.obj, "metadata", "labels")
            labels = labels if isinstance(labels, dict) else {}
            if OPENSHIFT_SYNC in labels or (unit.environment, res.name) in seen:
                continue
            seen.add((unit.environment, res.name))
            level = labels.get(ENFORCE)
            if level is None:
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"namespace '{res.name}' names no Pod Security level: "
                                       f"the cluster's default applies (privileged unless "
                                       f"configured); set the {ENFORCE} label",
                                       "metadata", "name")
            elif level not in LEVELS:
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"'{level}' is not a Pod Security level (use one of "
                                       f"{', '.join(LEVELS)})", "metadata", "labels", ENFORCE)
