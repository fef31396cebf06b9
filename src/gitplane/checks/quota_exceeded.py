"""Workloads of a namespace asking for more than its ResourceQuota allows.

Argo CD's sync then fails half way: the API server refuses the pods (or the workload) that
do not fit. Per environment and namespace, the requests and limits of every workload's
containers, times its replicas (Jobs: parallelism; DaemonSets count one pod), with the
namespace's LimitRange defaults applied to containers that set none, are added up and
compared with each ResourceQuota's ``hard`` values (``requests.cpu``, ``requests.memory``,
``limits.cpu``, ``limits.memory``, ``cpu``, ``memory``, ``pods``). A container that sets no
value a quota constrains, with no LimitRange default, is refused by the API server too.

Failing: a quota ``requests.cpu: "4"`` and a Deployment of 3 replicas requesting ``2`` CPU.

Passing: the same Deployment with 1 replica, or a quota of ``"6"``.
"""
from __future__ import annotations

import re
from typing import Any
from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.k8s import as_dict, containers, dig, pod_spec
from gitplane.checks.context import Context, env_index, resource_finding

ID = "quota-exceeded"
SEVERITY = "error"
_SUFFIX = {"m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
           "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50,
           "Ei": 2 ** 60, "n": 1e-9, "u": 1e-6}
RESOURCES = ("cpu", "memory")


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity (``100m``, ``1.5``, ``128Mi``, ``1e3``) as a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    m = re.fullmatch(r"\s*([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)([a-zA-Z]*)\s*", str(value))
    if not m or m.group(2) not in _SUFFIX:
        return None
    return float(m.group(1)) * _SUFFIX[m.group(2)]


def show(kind: str, value: float) -> str:
    if kind == "cpu":
        return f"{value:g}" if value >= 1 else f"{value * 1000:g}m"
    if kind == "memory":
        for unit, size in (("Gi", 2 ** 30), ("Mi", 2 ** 20), ("Ki", 2 ** 10)):
            if value >= size:
                return f"{value / size:g}{unit}"
    return f"{value:g}"


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 1


def _pods(res: Any) -> int:
    spec = as_dict(res.obj.get("spec"))
    if res.kind in ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"):
        return _count(spec.get("replicas", 1))
    if res.kind == "Job":
        return _count(spec.get("parallelism", 1))
    if res.kind == "CronJob":
        return _count(as_dict(as_dict(spec.get("jobTemplate")).get("spec")).get("parallelism", 1))
    return 1


def _defaults(index: Any, namespace: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {"requests": {}, "limits": {}}
    for _, lr in index.of_kind("LimitRange"):
        if lr.namespace != namespace:
            continue
        limits = dig(lr.obj, "spec", "limits")
        for item in limits if isinstance(limits, list) else []:
            if not isinstance(item, dict) or item.get("type") != "Container":
                continue
            for key, into in (("defaultRequest", "requests"), ("default", "limits")):
                for r, v in as_dict(item.get(key)).items():
                    q = quantity(v)
                    if q is not None:
                        out[into].setdefault(r, q)
            # a default limit with no default request makes the request the limit
            for r, q in list(out["limits"].items()):
                out["requests"].setdefault(r, q)
    return out


def check(ctx: Context) -> Iterator[Finding]:
    for er in ctx.platform.envs:
        index = env_index(ctx, er.env.name)
        for qunit, quota in index.of_kind("ResourceQuota"):
            parsed = {k: quantity(v) for k, v in as_dict(dig(quota.obj, "spec", "hard")).items()}
            hard: dict[str, float] = {("requests." + k if k in RESOURCES else k): v
                                      for k, v in parsed.items() if v is not None}
            ns = quota.namespace
            defaults = _defaults(index, ns)
            used: dict[str, float] = {}
            parts: dict[str, list[str]] = {}
            for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job",
                         "CronJob", "Pod", "ReplicationController"):
                for wunit, w in index.of_kind(kind):
                    found = pod_spec(w)
                    if w.namespace != ns or found is None:
                        continue
                    path, spec = found
                    pods = _pods(w)
                    used["pods"] = used.get("pods", 0) + pods
                    for fld, i, c in containers(spec, init=False):
                        res = as_dict(c.get("resources"))
                        for side in ("requests", "limits"):
                            for r in RESOURCES:
                                key = f"{side}.{r}"
                                q = quantity(as_dict(res.get(side)).get(r))
                                if q is None:
                                    q = defaults[side].get(r)
                                if q is None and side == "requests":
                                    q = quantity(as_dict(res.get("limits")).get(r))
                                if q is None:
                                    if key in hard and (not ctx.only_app or
                                                        wunit.application == ctx.only_app):
                                        yield resource_finding(
                                            ID, SEVERITY, wunit, w,
                                            f"container '{c.get('name')}' sets no {key} and "
                                            f"namespace '{ns}' has a quota on it (no LimitRange "
                                            "default): the API server refuses the pod",
                                            *path, fld, i)
                                    continue
                                used[key] = used.get(key, 0) + q * pods
                                if key in hard:
                                    parts.setdefault(key, []).append(
                                        f"{w.name} {pods}×{show(r, q)}")
            if ctx.only_app and qunit.application != ctx.only_app:
                continue
            for key, limit in sorted(hard.items()):
                if key in used and used[key] > limit + 1e-9:
                    r = key.split(".")[-1]
                    detail = ", ".join(parts.get(key, [])[:6])
                    yield resource_finding(
                        ID, SEVERITY, qunit, quota,
                        f"{key}: workloads in namespace '{ns}' need {show(r, used[key])}, the "
                        f"quota allows {show(r, limit)} ({detail})", "spec", "hard")
