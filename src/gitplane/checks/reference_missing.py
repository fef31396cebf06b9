"""A pod that references a ConfigMap, Secret, ServiceAccount or PersistentVolumeClaim that
no Application of the environment creates.

The pod then never starts (``CreateContainerConfigError``, ``FailedMount``). Looked up in the
pod's namespace across every Application of the environment; an object an operator makes
a Secret from counts as that Secret (SealedSecret, ExternalSecret and ClusterExternalSecret
``target.name`` or their own name, cert-manager Certificate ``secretName``, CloudNativePG
Cluster ``<name>-app``/``-superuser``/``-ca``/..., OpenShift's
``service.beta.openshift.io/serving-cert-secret-name``; the table is ``SECRET_MAKERS``); names made by kustomize generators are compared with their hash suffix, as rendered.
A Secret in a namespace where a sync hook (a Helm ``pre-install``/``pre-upgrade`` or an Argo
CD ``PreSync``/``Sync`` Job or Pod) runs under a ServiceAccount allowed to create Secrets
there is made by that hook before the pods start (Argo CD's Redis password, webhook
certificates): not reported. References marked ``optional: true`` are skipped. When an Application gitplane cannot render
(a Helm chart from a repository) deploys into the same namespace, it may create the object:
the finding is then a warning naming it.

Failing::

    envFrom:
      - configMapRef: {name: web-config}     # no ConfigMap web-config in the namespace

Passing: a ConfigMap ``web-config`` rendered by any Application of the environment in that
namespace.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.k8s import as_dict, dig, pod_specs
from gitplane.checks.context import Context, env_index, pods, resource_finding

ID = "reference-missing"
SEVERITY = "error"


def references(spec: dict[str, Any]) -> Iterator[tuple[str, str, tuple[str | int, ...]]]:
    """(kind, name, path in the pod spec) of every required reference of a pod spec."""
    volumes = spec.get("volumes")
    for i, v in enumerate(volumes if isinstance(volumes, list) else []):
        if not isinstance(v, dict):
            continue
        if isinstance(v.get("configMap"), dict) and not v["configMap"].get("optional"):
            yield "ConfigMap", str(v["configMap"].get("name")), ("volumes", i)
        if isinstance(v.get("secret"), dict) and not v["secret"].get("optional"):
            yield "Secret", str(v["secret"].get("secretName")), ("volumes", i)
        if isinstance(v.get("persistentVolumeClaim"), dict):
            yield ("PersistentVolumeClaim", str(v["persistentVolumeClaim"].get("claimName")),
                   ("volumes", i))
        sources = dig(v, "projected", "sources")
        for _j, src in enumerate(sources if isinstance(sources, list) else []):
            for kind, key in (("ConfigMap", "configMap"), ("Secret", "secret")):
                ref = src.get(key) if isinstance(src, dict) else None
                if isinstance(ref, dict) and not ref.get("optional"):
                    yield kind, str(ref.get("name")), ("volumes", i)
    for fld in ("containers", "initContainers"):
        for i, c in enumerate(spec.get(fld) or []):
            if not isinstance(c, dict):
                continue
            env_from = c.get("envFrom")
            for e in env_from if isinstance(env_from, list) else []:
                for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    ref = e.get(key) if isinstance(e, dict) else None
                    if isinstance(ref, dict) and not ref.get("optional"):
                        yield kind, str(ref.get("name")), (fld, i, "envFrom")
            env = c.get("env")
            for e in env if isinstance(env, list) else []:
                vf = dig(e, "valueFrom")
                if not isinstance(vf, dict):
                    continue
                for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                    ref = vf.get(key)
                    if isinstance(ref, dict) and not ref.get("optional"):
                        yield kind, str(ref.get("name")), (fld, i, "env")
    sa = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if sa and sa != "default":
        yield "ServiceAccount", str(sa), ("serviceAccountName",)
    secrets = spec.get("imagePullSecrets")
    for i, s in enumerate(secrets if isinstance(secrets, list) else []):
        if isinstance(s, dict) and s.get("name"):
            yield "Secret", str(s["name"]), ("imagePullSecrets", i)


_EARLY_HOOKS = {"pre-install", "pre-upgrade", "PreSync", "Sync"}


def _grants_secret_create(rules: Any) -> bool:
    for rule in rules if isinstance(rules, list) else []:
        if not isinstance(rule, dict):
            continue
        groups = rule.get("apiGroups") or []
        resources = rule.get("resources") or []
        verbs = rule.get("verbs") or []
        if ("" in groups or "*" in groups) and ("secrets" in resources or "*" in resources) \
                and ("create" in verbs or "*" in verbs):
            return True
    return False


def hook_secret_namespaces(ctx: Context, env: str) -> set[str]:
    """Namespaces where a sync hook that runs before the pods (Helm pre-install/pre-upgrade,
    Argo CD PreSync/Sync) has a ServiceAccount allowed to create Secrets there."""
    cache = ctx.cache.setdefault("hook-secret-namespaces", {})
    if env in cache:
        found: set[str] = cache[env]
        return found
    index = env_index(ctx, env)
    roles = {("Role", r.namespace, r.name): r.obj for _, r in index.of_kind("Role")}
    roles.update({("ClusterRole", "", r.name): r.obj for _, r in index.of_kind("ClusterRole")})
    allowed: dict[tuple[str, str], set[str]] = {}  # (namespace, SA) → namespaces ("*": all)
    for kind in ("RoleBinding", "ClusterRoleBinding"):
        for _, b in index.of_kind(kind):
            ref = as_dict(b.obj.get("roleRef"))
            role = roles.get((str(ref.get("kind")), b.namespace if ref.get("kind") == "Role"
                              else "", str(ref.get("name"))))
            if role is None or not _grants_secret_create(role.get("rules")):
                continue
            for subject in b.obj.get("subjects") or []:
                if isinstance(subject, dict) and subject.get("kind") == "ServiceAccount":
                    who = (str(subject.get("namespace") or b.namespace), str(subject.get("name")))
                    allowed.setdefault(who, set()).add(b.namespace if kind == "RoleBinding"
                                                       else "*")
    found = set()
    for _, res in [*index.of_kind("Job"), *index.of_kind("Pod")]:
        annotations = dig(res.obj, "metadata", "annotations")
        annotations = annotations if isinstance(annotations, dict) else {}
        hooks = {h.strip() for key in ("helm.sh/hook", "argocd.argoproj.io/hook")
                 for h in str(annotations.get(key, "")).split(",")}
        if not hooks & _EARLY_HOOKS:
            continue
        for _, spec in pod_specs(res):
            sa = str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
            for ns in allowed.get((res.namespace, sa), set()):
                found.add(res.namespace if ns == "*" else ns)
    cache[env] = found
    return found


def check(ctx: Context) -> Iterator[Finding]:
    for unit, res, path, spec in pods(ctx):
        index = env_index(ctx, unit.environment)
        ns = res.namespace
        for kind, name, where in references(spec):
            if index.has(kind, ns, name):
                continue
            if kind == "Secret" and ns in hook_secret_namespaces(ctx, unit.environment):
                continue
            maybe = index.external_namespaces.get(ns)
            if maybe:
                yield resource_finding(ID, "warning", unit, res,
                                       f"{kind} '{name}' is not rendered in namespace '{ns}'; "
                                       f"it may come from {', '.join(sorted(maybe))}",
                                       *path, *where)
            else:
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"{kind} '{name}' does not exist in namespace '{ns}' in "
                                       "this environment", *path, *where)
