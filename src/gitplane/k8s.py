"""Kubernetes objects as plain data, knowledge that needs no check context: whether a kind
is namespaced or cluster-scoped, which fields hold secret values, how to reach into an object
(``dig``), the pod spec of a workload and its containers, and which Secrets operators make.

Scope comes from, in order: CustomResourceDefinitions rendered in the same environment
(``spec.scope``), the built-in API resources, and well-known custom resources of widely used
operators. Anything else is *unknown*: callers must not guess (a rule does not flag it, the
renderer does not give it a namespace).
"""
from __future__ import annotations

from typing import Any
from collections.abc import Iterable

from gitplane import bundled
from gitplane.model import Resource

#: Built-in API groups (``""`` is the core group) whose kinds are namespaced unless listed in
#: :data:`BUILTIN_CLUSTER`.
BUILTIN_GROUPS = {
    "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
    "storage.k8s.io", "scheduling.k8s.io", "node.k8s.io", "coordination.k8s.io",
    "discovery.k8s.io", "events.k8s.io", "certificates.k8s.io", "admissionregistration.k8s.io",
    "apiextensions.k8s.io", "apiregistration.k8s.io", "flowcontrol.apiserver.k8s.io",
    "resource.k8s.io", "internal.apiserver.k8s.io", "storagemigration.k8s.io",
    "authentication.k8s.io", "authorization.k8s.io",
}

#: Cluster-scoped kinds of the built-in groups (Kubernetes 1.25–1.37).
BUILTIN_CLUSTER = {
    ("", "Namespace"), ("", "Node"), ("", "PersistentVolume"), ("", "ComponentStatus"),
    ("storage.k8s.io", "StorageClass"), ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"), ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
    ("scheduling.k8s.io", "PriorityClass"), ("node.k8s.io", "RuntimeClass"),
    ("networking.k8s.io", "IngressClass"), ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("resource.k8s.io", "DeviceClass"), ("resource.k8s.io", "ResourceSlice"),
    ("internal.apiserver.k8s.io", "StorageVersion"),
    ("storagemigration.k8s.io", "StorageVersionMigration"),
    ("policy", "PodSecurityPolicy"),
    ("authentication.k8s.io", "TokenReview"), ("authentication.k8s.io", "SelfSubjectReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
}

#: Custom resources of widely deployed projects whose CRDs are often installed by a chart
#: gitplane does not render: (group, kind) → scope.
KNOWN_CUSTOM = {
    ("argoproj.io", "Application"): "Namespaced",
    ("argoproj.io", "ApplicationSet"): "Namespaced",
    ("argoproj.io", "AppProject"): "Namespaced",
    # Argo Rollouts and Argo Workflows
    ("argoproj.io", "Rollout"): "Namespaced",
    ("argoproj.io", "AnalysisTemplate"): "Namespaced",
    ("argoproj.io", "AnalysisRun"): "Namespaced",
    ("argoproj.io", "Experiment"): "Namespaced",
    ("argoproj.io", "ClusterAnalysisTemplate"): "Cluster",
    ("argoproj.io", "Workflow"): "Namespaced",
    ("argoproj.io", "WorkflowTemplate"): "Namespaced",
    ("argoproj.io", "CronWorkflow"): "Namespaced",
    ("argoproj.io", "ClusterWorkflowTemplate"): "Cluster",
    ("cert-manager.io", "ClusterIssuer"): "Cluster",
    ("cert-manager.io", "Issuer"): "Namespaced",
    ("cert-manager.io", "Certificate"): "Namespaced",
    ("gateway.networking.k8s.io", "GatewayClass"): "Cluster",
    ("gateway.networking.k8s.io", "Gateway"): "Namespaced",
    ("gateway.networking.k8s.io", "HTTPRoute"): "Namespaced",
    ("security.openshift.io", "SecurityContextConstraints"): "Cluster",
    ("console.openshift.io", "ConsolePlugin"): "Cluster",
    ("console.openshift.io", "ConsoleLink"): "Cluster",
    ("console.openshift.io", "ConsoleNotification"): "Cluster",
    ("config.openshift.io", "*"): "Cluster",
    ("project.openshift.io", "Project"): "Cluster",
    ("project.openshift.io", "ProjectRequest"): "Cluster",
    ("user.openshift.io", "Group"): "Cluster",
    ("operator.openshift.io", "*"): "Cluster",
    ("operators.coreos.com", "Subscription"): "Namespaced",
    ("operators.coreos.com", "OperatorGroup"): "Namespaced",
    ("operators.coreos.com", "CatalogSource"): "Namespaced",
    ("kargo.akuity.io", "Project"): "Cluster",
    ("kargo.akuity.io", "ClusterConfig"): "Cluster",
    ("kargo.akuity.io", "ClusterPromotionTask"): "Cluster",
    ("external-secrets.io", "ClusterSecretStore"): "Cluster",
    ("external-secrets.io", "ClusterExternalSecret"): "Cluster",
    ("external-secrets.io", "ExternalSecret"): "Namespaced",
    ("external-secrets.io", "SecretStore"): "Namespaced",
    ("bitnami.com", "SealedSecret"): "Namespaced",
    ("monitoring.coreos.com", "ServiceMonitor"): "Namespaced",
    ("monitoring.coreos.com", "PodMonitor"): "Namespaced",
    ("monitoring.coreos.com", "PrometheusRule"): "Namespaced",
    ("kyverno.io", "ClusterPolicy"): "Cluster",
    ("kyverno.io", "Policy"): "Namespaced",
    ("nvidia.com", "ClusterPolicy"): "Cluster",
    ("templates.gatekeeper.sh", "ConstraintTemplate"): "Cluster",
    ("constraints.gatekeeper.sh", "*"): "Cluster",
    ("karpenter.sh", "NodePool"): "Cluster",
    ("karpenter.k8s.aws", "EC2NodeClass"): "Cluster",
    ("snapshot.storage.k8s.io", "VolumeSnapshotClass"): "Cluster",
    ("snapshot.storage.k8s.io", "VolumeSnapshotContent"): "Cluster",
    ("postgresql.cnpg.io", "Cluster"): "Namespaced",
    ("metallb.io", "IPAddressPool"): "Namespaced",
    ("crossplane.io", "*"): "Cluster",
    ("pkg.crossplane.io", "*"): "Cluster",
    ("apiextensions.crossplane.io", "*"): "Cluster",
}


#: Where objects keep secret values: (group, kind) → paths of the fields holding them (a
#: mapping of values, or anything else, which is secret whole). A SealedSecret keeps its
#: ciphertexts under ``spec``.
SECRET_FIELDS: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("", "Secret"): (("data",), ("stringData",)),
    ("bitnami.com", "SealedSecret"): (("spec", "encryptedData"), ("encryptedData",)),
}


def secret_fields(api_version: str, kind: str) -> tuple[tuple[str, ...], ...]:
    """The paths of the fields of a ``kind`` object that hold secret values."""
    return SECRET_FIELDS.get((group_of(api_version), kind), ())


def group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def crd_scopes(objects: Iterable[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(group, kind) → ``Namespaced``/``Cluster`` of the CustomResourceDefinitions among
    ``objects``."""
    out: dict[tuple[str, str], str] = {}
    for obj in objects:
        if obj.get("kind") != "CustomResourceDefinition" or \
                group_of(str(obj.get("apiVersion") or "")) != "apiextensions.k8s.io":
            continue
        spec = obj.get("spec")
        spec = spec if isinstance(spec, dict) else {}
        names = spec.get("names")
        names = names if isinstance(names, dict) else {}
        scope, group, kind = spec.get("scope"), spec.get("group"), names.get("kind")
        if isinstance(group, str) and isinstance(kind, str) and \
                scope in ("Namespaced", "Cluster"):
            out[(group, kind)] = str(scope)
    return out


def scope(api_version: str, kind: str,
          crds: dict[tuple[str, str], str] | None = None) -> str | None:
    """``Namespaced``, ``Cluster``, or None when unknown."""
    group = group_of(api_version)
    if crds and (group, kind) in crds:
        return crds[(group, kind)]
    if group in BUILTIN_GROUPS:
        return "Cluster" if (group, kind) in BUILTIN_CLUSTER else "Namespaced"
    return KNOWN_CUSTOM.get((group, kind)) or KNOWN_CUSTOM.get((group, "*")) or \
        bundled.scope(group, kind)


def namespaced(api_version: str, kind: str, crds: dict[tuple[str, str], str] | None = None
               ) -> bool:
    """Known to be namespaced (unknown scope is not)."""
    return scope(api_version, kind, crds) == "Namespaced"


# -- reading objects ---------------------------------------------------------------------
def dig(value: Any, *keys: str | int) -> Any:
    """``value[k1][k2]...`` or None as soon as a step is missing or not a mapping/list."""
    for k in keys:
        if isinstance(k, int) and isinstance(value, list) and 0 <= k < len(value):
            value = value[k]
        elif isinstance(k, str) and isinstance(value, dict):
            value = value.get(k)
        else:
            return None
    return value


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping, else an empty one (malformed input is schema's job)."""
    return value if isinstance(value, dict) else {}


# -- workloads -----------------------------------------------------------------------------
WORKLOADS = {"Deployment": ("spec", "template", "spec"), "StatefulSet": ("spec", "template", "spec"),
             "DaemonSet": ("spec", "template", "spec"), "ReplicaSet": ("spec", "template", "spec"),
             "ReplicationController": ("spec", "template", "spec"),
             "Job": ("spec", "template", "spec"),
             "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"), "Pod": ("spec",)}
LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController",
                "Rollout"}


def pod_spec(res: Resource) -> tuple[tuple[str, ...], dict[str, Any]] | None:
    """The pod spec of a core workload and its path in the object, or None."""
    path = WORKLOADS.get(res.kind)
    if path is None or not res.api_version.split("/")[0] in ("v1", "apps", "batch"):
        return None
    cur: Any = res.obj
    for step in path:
        cur = cur.get(step) if isinstance(cur, dict) else None
    return (path, cur) if isinstance(cur, dict) else None


#: Custom resources that hold pod templates, as (group, kind) → the path to a mapping of
#: replica roles, each with a ``template`` (Kubeflow's training jobs), or to a template's
#: pod spec itself (Argo Rollouts).
CUSTOM_POD_TEMPLATES: dict[tuple[str, str], tuple[tuple[str, ...], bool]] = {
    ("kubeflow.org", "TFJob"): (("spec", "tfReplicaSpecs"), True),
    ("kubeflow.org", "PyTorchJob"): (("spec", "pytorchReplicaSpecs"), True),
    ("kubeflow.org", "MPIJob"): (("spec", "mpiReplicaSpecs"), True),
    ("kubeflow.org", "XGBoostJob"): (("spec", "xgbReplicaSpecs"), True),
    ("kubeflow.org", "PaddleJob"): (("spec", "paddleReplicaSpecs"), True),
    ("kubeflow.org", "JAXJob"): (("spec", "jaxReplicaSpecs"), True),
    ("argoproj.io", "Rollout"): (("spec", "template", "spec"), False),
}


def pod_specs(res: Resource) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every pod spec an object holds, with its path: a core workload's, and those of the
    custom resources of :data:`CUSTOM_POD_TEMPLATES` (one per replica role)."""
    core = pod_spec(res)
    if core is not None:
        return [core]
    known = CUSTOM_POD_TEMPLATES.get((group_of(res.api_version), res.kind))
    if known is None:
        return []
    path, by_role = known
    found = dig(res.obj, *path)
    if not by_role:
        return [(path, found)] if isinstance(found, dict) else []
    out = []
    for role, replica in sorted(found.items()) if isinstance(found, dict) else []:
        spec = dig(replica, "template", "spec")
        if isinstance(spec, dict):
            out.append(((*path, str(role), "template", "spec"), spec))
    return out


def containers(spec: dict[str, Any], init: bool = True) -> list[tuple[str, int, dict[str, Any]]]:
    """(field, index, container) of a pod spec: containers, then initContainers."""
    out = []
    for fld in ("containers", "initContainers") if init else ("containers",):
        items = spec.get(fld)
        for i, c in enumerate(items if isinstance(items, list) else []):
            if isinstance(c, dict):
                out.append((fld, i, c))
    return out


# -- Secrets made by controllers ---------------------------------------------------------
#: What makes a Secret at run time, as data: (group, kind) → (paths to the Secret's name,
#: tried in order, the object's own name when none is set; suffixes added to that name;
#: whether the namespace is chosen at run time). The next operator is one line.
SECRET_MAKERS: dict[tuple[str, str], tuple[tuple[tuple[str, ...], ...], tuple[str, ...], bool]] = {
    ("bitnami.com", "SealedSecret"): ((("spec", "template", "metadata", "name"),), ("",), False),
    ("external-secrets.io", "ExternalSecret"): ((("spec", "target", "name"),), ("",), False),
    ("external-secrets.io", "ClusterExternalSecret"): (
        (("spec", "externalSecretSpec", "target", "name"), ("spec", "externalSecretName")),
        ("",), True),
    ("cert-manager.io", "Certificate"): ((("spec", "secretName"),), ("",), False),
    ("postgresql.cnpg.io", "Cluster"): ((), ("-app", "-superuser", "-ca", "-replication",
                                             "-server"), False),
    ("secretgenerator.mittwald.de", "StringSecret"): ((), ("",), False),
    ("onepassword.com", "OnePasswordItem"): ((), ("",), False),
    ("secrets.hashicorp.com", "VaultStaticSecret"): ((("spec", "destination", "name"),), ("",),
                                                     False),
    ("secrets.hashicorp.com", "VaultDynamicSecret"): ((("spec", "destination", "name"),),
                                                      ("",), False),
    ("bitwarden-k8s.io", "BitwardenSecret"): ((("spec", "secretName"),), ("",), False),
}
#: Annotations whose value names a Secret a controller makes beside the object:
#: OpenShift's service CA operator.
SECRET_ANNOTATIONS = ("service.beta.openshift.io/serving-cert-secret-name",
                      "service.alpha.openshift.io/serving-cert-secret-name")
ANY_NAMESPACE = "*"


def secrets_made(res: Resource) -> list[tuple[str, str]]:
    """(namespace, name) of the Secrets a controller makes from ``res`` (namespace ``*``:
    chosen at run time)."""
    out: list[tuple[str, str]] = []
    maker = SECRET_MAKERS.get((res.api_version.rpartition("/")[0], res.kind))
    if maker is not None:
        paths, suffixes, anywhere = maker
        name = next((str(v) for p in paths if isinstance(v := dig(res.obj, *p), str) and v),
                    res.name)
        ns = ANY_NAMESPACE if anywhere else res.namespace
        out.extend((ns, name + suffix) for suffix in suffixes if name)
    annotations = dig(res.obj, "metadata", "annotations")
    if isinstance(annotations, dict):
        for key in SECRET_ANNOTATIONS:
            if isinstance(annotations.get(key), str) and annotations[key]:
                out.append((res.namespace, annotations[key]))
    return out
