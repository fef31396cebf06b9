"""An apiVersion the target Kubernetes version no longer serves.

The API server rejects the object and Argo CD's sync fails. Compared with the Kubernetes
version of ``kubernetesVersion`` in gitplane.yaml (default 1.37); the message names the
version that removed it and the replacement.

Failing::

    apiVersion: batch/v1beta1
    kind: CronJob

Passing::

    apiVersion: batch/v1
    kind: CronJob
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.checks.context import Context, resource_finding

ID = "deprecated-api"
SEVERITY = "error"

#: (apiVersion, kind or "*") → (removed in minor version, replacement apiVersion)
REMOVED: dict[tuple[str, str], tuple[int, str]] = {
    ("extensions/v1beta1", "Deployment"): (16, "apps/v1"),
    ("extensions/v1beta1", "DaemonSet"): (16, "apps/v1"),
    ("extensions/v1beta1", "ReplicaSet"): (16, "apps/v1"),
    ("extensions/v1beta1", "NetworkPolicy"): (16, "networking.k8s.io/v1"),
    ("extensions/v1beta1", "PodSecurityPolicy"): (16, "policy/v1beta1"),
    ("extensions/v1beta1", "Ingress"): (22, "networking.k8s.io/v1"),
    ("apps/v1beta1", "*"): (16, "apps/v1"),
    ("apps/v1beta2", "*"): (16, "apps/v1"),
    ("networking.k8s.io/v1beta1", "*"): (22, "networking.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1beta1", "*"): (22, "rbac.authorization.k8s.io/v1"),
    ("admissionregistration.k8s.io/v1beta1", "*"): (22, "admissionregistration.k8s.io/v1"),
    ("apiextensions.k8s.io/v1beta1", "*"): (22, "apiextensions.k8s.io/v1"),
    ("apiregistration.k8s.io/v1beta1", "*"): (22, "apiregistration.k8s.io/v1"),
    ("authentication.k8s.io/v1beta1", "*"): (22, "authentication.k8s.io/v1"),
    ("authorization.k8s.io/v1beta1", "*"): (22, "authorization.k8s.io/v1"),
    ("certificates.k8s.io/v1beta1", "*"): (22, "certificates.k8s.io/v1"),
    ("coordination.k8s.io/v1beta1", "*"): (22, "coordination.k8s.io/v1"),
    ("scheduling.k8s.io/v1beta1", "*"): (22, "scheduling.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSIDriver"): (22, "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSINode"): (22, "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "StorageClass"): (22, "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "VolumeAttachment"): (22, "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"): (27, "storage.k8s.io/v1"),
    ("batch/v1beta1", "CronJob"): (25, "batch/v1"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice"): (25, "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", "Event"): (25, "events.k8s.io/v1"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): (25, "autoscaling/v2"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): (26, "autoscaling/v2"),
    ("policy/v1beta1", "PodDisruptionBudget"): (25, "policy/v1"),
    ("policy/v1beta1", "PodSecurityPolicy"): (25, "Pod Security Admission"),
    ("node.k8s.io/v1beta1", "RuntimeClass"): (25, "node.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "*"): (26, "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "*"): (29, "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "*"): (32, "flowcontrol.apiserver.k8s.io/v1"),
}


def removed(api_version: str, kind: str, minor: int) -> tuple[int, str] | None:
    hit = REMOVED.get((api_version, kind)) or REMOVED.get((api_version, "*"))
    return hit if hit and minor >= hit[0] else None


def check(ctx: Context) -> Iterator[Finding]:
    version = ctx.platform.repo.config.kubernetes_version.lstrip("v")
    minor = int(version.split(".")[1]) if "." in version else 37
    for unit in ctx.units():
        for res in unit.resources:
            hit = removed(res.api_version, res.kind, minor)
            if hit:
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"{res.api_version} {res.kind} was removed in Kubernetes "
                                       f"1.{hit[0]}; use {hit[1]}", "apiVersion")
