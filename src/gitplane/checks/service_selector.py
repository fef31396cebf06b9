"""A Service whose selector matches no pod template in its namespace.

It then has no endpoints: every request to it fails. Compared with the pod template labels of
every workload of the environment in the Service's namespace (a warning when an Application
gitplane cannot render deploys there too).

Failing::

    kind: Service
    spec:
      selector: {app: web}       # the Deployment's pods are labelled app: web-app

Passing: ``selector: {app: web-app}``. Not reported: a Service whose selector names a
custom resource of its namespace (operators label the pods they make with their resource's
name: the Prometheus operator's ``operator.prometheus.io/name``, Strimzi's
``strimzi.io/cluster``, CloudNativePG's ``cnpg.io/cluster``), and a Service in
``kube-system`` selecting the cluster's own pods (CoreDNS, kube-proxy, etcd, the control
plane), which no platform renders.
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.k8s import dig, pod_specs
from gitplane.checks.context import Context, env_index, resource_finding
from gitplane import k8s

ID = "service-selector"
SEVERITY = "error"


def _labels_index(ctx: Context, env: str) -> dict[str, dict[tuple[str, str], set[int]]]:
    """namespace → (label, value) → ids of the pod templates carrying it."""
    cache = ctx.cache.setdefault("pod-labels", {})
    if env not in cache:
        index = env_index(ctx, env)
        out: dict[str, dict[tuple[str, str], set[int]]] = {}
        n = 0
        # every pod template: core workloads and custom resources holding one (Argo
        # Rollouts, Kubeflow jobs), each template's labels beside its pod spec
        for _, items in sorted(index.objects.items()):
            for _, w in items:
                for path, _spec in pod_specs(w):
                    labels = dig(w.obj, *path[:-1], "metadata", "labels")
                    if not isinstance(labels, dict):
                        continue
                    n += 1
                    by_pair = out.setdefault(w.namespace, {})
                    for k, v in labels.items():
                        by_pair.setdefault((str(k), str(v)), set()).add(n)
        cache[env] = out
    found: dict[str, dict[tuple[str, str], set[int]]] = cache[env]
    return found


#: the cluster's own pods in kube-system (kubeadm's static pods, CoreDNS, kube-proxy)
KUBERNETES_OWN = {("k8s-app", "kube-dns"), ("k8s-app", "kube-proxy"), ("component", "etcd"),
                  ("component", "kube-apiserver"), ("component", "kube-scheduler"),
                  ("component", "kube-controller-manager")}


def _custom_names(ctx: Context, env: str) -> dict[str, set[str]]:
    """namespace → names of the custom resources rendered there."""
    cache = ctx.cache.setdefault("custom-names", {})
    if env not in cache:
        out: dict[str, set[str]] = {}
        for (_, ns, name), items in env_index(ctx, env).objects.items():
            if ns and any(k8s.group_of(r.api_version) not in k8s.BUILTIN_GROUPS
                          for _, r in items):
                out.setdefault(ns, set()).add(name)
        cache[env] = out
    names: dict[str, set[str]] = cache[env]
    return names


def _custom_resources(ctx: Context, env: str) -> dict[str, str]:
    """namespace → the first custom resource rendered there (``Kind/name``): an operator may
    create and label pods from it at run time."""
    cache = ctx.cache.setdefault("custom-resources", {})
    if env not in cache:
        out: dict[str, str] = {}
        for (kind, ns, name), items in sorted(env_index(ctx, env).objects.items()):
            if not ns or ns in out:
                continue
            for _, r in items:
                if k8s.group_of(r.api_version) not in k8s.BUILTIN_GROUPS and \
                        k8s.group_of(r.api_version) != "argoproj.io":
                    out[ns] = f"{kind}/{name}"
                    break
        cache[env] = out
    made: dict[str, str] = cache[env]
    return made


def check(ctx: Context) -> Iterator[Finding]:
    for unit in ctx.units():
        index = env_index(ctx, unit.environment)
        labels = _labels_index(ctx, unit.environment)
        for res in unit.resources:
            if res.kind != "Service" or res.api_version != "v1":
                continue
            selector = dig(res.obj, "spec", "selector")
            if not isinstance(selector, dict) or not selector:
                continue
            by_pair = labels.get(res.namespace, {})
            matches: set[int] | None = None
            for k, v in selector.items():
                ids = by_pair.get((str(k), str(v)), set())
                matches = ids if matches is None else matches & ids
                if not matches:
                    break
            if matches:
                continue
            pairs = {(str(k), str(v)) for k, v in selector.items()}
            if res.namespace == "kube-system" and pairs & KUBERNETES_OWN:
                continue
            named = _custom_names(ctx, unit.environment).get(res.namespace, set())
            if {v for _, v in pairs} & named:
                continue  # an operator's pods, labelled with its resource's name
            sel = ", ".join(f"{k}={v}" for k, v in sorted(selector.items()))
            maybe = index.external_namespaces.get(res.namespace)
            makers = _custom_resources(ctx, unit.environment).get(res.namespace)
            if makers and not maybe:
                yield resource_finding(ID, "warning", unit, res,
                                       f"selector {sel} matches no rendered pod template; pods "
                                       f"may be made by an operator from {makers}",
                                       "spec", "selector")
            elif maybe:
                yield resource_finding(ID, "warning", unit, res,
                                       f"selector {sel} matches no rendered pod template; pods "
                                       f"may come from {', '.join(sorted(maybe))}",
                                       "spec", "selector")
            else:
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"selector {sel} matches no pod template in namespace "
                                       f"'{res.namespace}'", "spec", "selector")
