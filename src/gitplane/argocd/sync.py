"""Argo CD's sync order: the sequence in which a sync applies an Application's objects.

gitops-engine sorts its sync tasks by phase (PreSync, Sync, PostSync, SyncFail), then wave
(``argocd.argoproj.io/sync-wave``; a Helm hook's ``helm.sh/hook-weight``), then kind (Helm's
install order, custom resources last), then name; a Namespace then moves ahead of the first
object in it, and a CRD ahead of the first custom resource of its kind, each taking that
object's phase and wave. A hook of several phases runs in each; ``Skip`` is never applied.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gitplane import k8s
from gitplane.model import Resource

PHASES = ("PreSync", "Sync", "PostSync", "SyncFail")
_PHASE = {p: i for i, p in enumerate(PHASES)}
HOOK = "argocd.argoproj.io/hook"
WAVE = "argocd.argoproj.io/sync-wave"
#: Helm hooks Argo CD maps onto its phases
_HELM = {"pre-install": "PreSync", "pre-upgrade": "PreSync",
         "post-install": "PostSync", "post-upgrade": "PostSync"}
#: Helm's install order, as gitops-engine uses it; kinds not listed come after
KINDS = ("Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
         "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap",
         "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
         "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
         "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
         "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
         "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "Ingress", "APIService")
_KIND = {k: i - len(KINDS) for i, k in enumerate(KINDS)}


@dataclass(frozen=True)
class Step:
    """One object applied in one phase and wave (a hook of two phases is two steps)."""

    phase: str
    wave: int
    resource: Resource
    hook: bool


def _int(value: object) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 0  # as gitops-engine: a wave that is not a number is wave 0


def steps_of(resource: Resource) -> list[Step]:
    """The phases (with their wave) in which Argo CD applies ``resource``."""
    annotations = k8s.as_dict(k8s.as_dict(resource.obj.get("metadata")).get("annotations"))
    phases: list[str] = []
    hook = False
    if HOOK in annotations:
        hook = True
        phases = [p.strip() for p in str(annotations[HOOK]).split(",") if p.strip()]
        if "Skip" in phases:
            return []
        phases = [p for p in phases if p in _PHASE]
    elif "helm.sh/hook" in annotations:
        hook = True
        helm = [h.strip() for h in str(annotations["helm.sh/hook"]).split(",")]
        phases = sorted({_HELM[h] for h in helm if h in _HELM}, key=_PHASE.__getitem__)
    if not phases:
        if hook:
            return []
        phases = ["Sync"]
    wave = _int(annotations[WAVE]) if WAVE in annotations else \
        _int(annotations.get("helm.sh/hook-weight", 0)) if "helm.sh/hook" in annotations else 0
    return [Step(p, wave, resource, hook) for p in phases]


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def sync_order(resources: list[Resource]) -> list[Step]:
    """``resources`` as the steps of one sync, in the order Argo CD applies them."""
    steps = [s for r in resources for s in steps_of(r)]
    steps.sort(key=lambda s: (_PHASE[s.phase], s.wave, _KIND.get(s.resource.kind, 0),
                              s.resource.name))

    def namespace(step: Step) -> tuple[str | None, str | None]:
        r = step.resource
        dep = r.name if r.kind == "Namespace" and _group(r.api_version) == "" else None
        return dep, r.namespace or None

    def crd(step: Step) -> tuple[str | None, str | None]:
        r = step.resource
        if r.kind == "CustomResourceDefinition":
            spec = k8s.as_dict(r.obj.get("spec"))
            group, kind = spec.get("group"), k8s.as_dict(spec.get("names")).get("kind")
            return (f"{group}/{kind}" if group and kind else None), None
        return None, f"{_group(r.api_version)}/{r.kind}"

    _adjust(steps, namespace)
    _adjust(steps, crd)
    return steps


def _adjust(steps: list[Step],
            key: Callable[[Step], tuple[str | None, str | None]]) -> None:
    """Move each dependency ahead of the first step that refers to it, with that step's
    phase and wave (gitops-engine's adjustDeps)."""
    first: dict[str, int] = {}
    for i in range(len(steps)):
        step = steps[i]
        dep, ref = key(step)
        if dep is not None:
            if dep in first:
                at = first[dep]
                steps[at + 1:i + 1] = steps[at:i]
                steps[at] = Step(steps[at + 1].phase, steps[at + 1].wave, step.resource,
                                 step.hook)
                for k, v in first.items():
                    if v >= at:
                        first[k] = v + 1
        elif ref is not None and ref not in first:
            first[ref] = i


__all__ = ["Step", "sync_order", "steps_of", "PHASES", "KINDS"]
