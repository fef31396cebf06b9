"""How two environments differ, Application by Application: what a promotion would move
(``gitplane compare``).

Aspects, each a row with both sides: ``application`` and ``object`` (present on one side
only), ``chart`` (the chart and the version its range resolved to), ``helm-values`` (a value
the Application gives its chart: value files, ``values``/``valuesObject``, parameters;
values under a secret-looking key hidden), ``image``, ``replicas``, ``resources``,
``config-keys`` and ``config`` (ConfigMap keys and values), ``quota`` (ResourceQuota and
LimitRange), ``hosts`` (Ingress, Gateway API routes, OpenShift Routes), and ``fields`` for an
object that differs in nothing above (its differing fields named, never their values).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from gitplane.argocd.values import SECRET_KEY, flatten, helm_values
from gitplane.errors import GitplaneError
from gitplane.k8s import WORKLOADS, as_dict, containers, dig
from gitplane.platform import AppResult, Platform

_SHOWN = 80  # a value longer than this is shortened


@dataclass
class EnvDifference:
    """One way two environments differ for an Application (what a promotion would move)."""

    application: str
    aspect: str  # application | object | chart | helm-values | image | replicas | resources
    #              config-keys | config | quota | hosts | fields
    resource: str
    a: str
    b: str

    def to_json(self) -> dict[str, str]:
        return {"application": self.application, "aspect": self.aspect,
                "resource": self.resource, "a": self.a, "b": self.b}


def _workload_facts(obj: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """aspect/detail → value, for the parts of a workload a promotion looks at."""
    out: dict[str, tuple[str, str]] = {}
    path = WORKLOADS.get(str(obj.get("kind")))
    if path is None:
        return out
    spec = dig(obj, *path)
    if not isinstance(spec, dict):
        return out
    if obj.get("kind") in ("Deployment", "StatefulSet", "ReplicaSet"):
        out["replicas"] = ("replicas", str(dig(obj, "spec", "replicas") or 1))
    for _, _, c in containers(spec):
        name = str(c.get("name"))
        out[f"image:{name}"] = ("image", f"{name}: {c.get('image')}")
        res = as_dict(c.get("resources"))
        flat = ", ".join(f"{side}.{k}={v}" for side in ("requests", "limits")
                         for k, v in sorted(as_dict(res.get(side)).items()))
        out[f"resources:{name}"] = ("resources", f"{name}: {flat or 'none'}")
    return out


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = text.replace("\n", "\\n")
    return text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "…"


def _charts(ar: AppResult) -> dict[str, str]:
    """source index → ``chart@version (repository)`` of the Application's chart sources."""
    out = {}
    for i, (src, version) in enumerate(zip(ar.app.sources, ar.app.resolved(), strict=True)):
        if src.chart:
            shown = version or f"{src.target_revision} (not cached)"
            out[f"chart:{i}"] = f"{src.chart}@{shown} ({src.repo_url})"
    return out


def _value_rows(name: str, aspect: str, resource: str, fa: dict[str, Any],
                fb: dict[str, Any], hide: bool = False) -> list[EnvDifference]:
    rows = []
    for key in sorted(set(fa) | set(fb)):
        if key in fa and key in fb and fa[key] == fb[key]:
            continue
        secret = hide and bool(SECRET_KEY.search(key))

        def show(side: dict[str, Any], secret: bool = secret, key: str = key) -> str:
            if key not in side:
                return "-"
            return f"{key}: (hidden)" if secret else f"{key}: {_short(side[key])}"
        rows.append(EnvDifference(name, aspect, resource, show(fa), show(fb)))
    return rows


def _config(obj: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in as_dict(obj.get("data")).items()}
    data.update({k: f"(binary, {len(str(v))} base64 characters)"
                 for k, v in as_dict(obj.get("binaryData")).items()})
    return data


def _quota(obj: dict[str, Any]) -> dict[str, Any]:
    kind = obj.get("kind")
    if kind == "ResourceQuota":
        return {f"hard.{k}": v for k, v in as_dict(dig(obj, "spec", "hard")).items()}
    if kind == "LimitRange":
        out = {}
        for item in dig(obj, "spec", "limits") or []:
            if isinstance(item, dict):
                for side, values in item.items():
                    if side != "type" and isinstance(values, dict):
                        out.update({f"{item.get('type')}.{side}.{k}": v
                                    for k, v in values.items()})
        return out
    return {}


def hosts(obj: dict[str, Any]) -> list[str]:
    """The host names an object routes: Ingress rules and TLS, Gateway API routes' and
    listeners' host names, OpenShift Routes."""
    kind = str(obj.get("kind"))
    found: list[Any] = []
    if kind == "Ingress":
        found += [r.get("host") for r in dig(obj, "spec", "rules") or [] if isinstance(r, dict)]
        for t in dig(obj, "spec", "tls") or []:
            found += (t.get("hosts") or []) if isinstance(t, dict) else []
    elif kind.endswith("Route") and str(obj.get("apiVersion", "")).startswith(
            "gateway.networking.k8s.io/"):
        found += dig(obj, "spec", "hostnames") or []
    elif kind == "Gateway":
        found += [ln.get("hostname") for ln in dig(obj, "spec", "listeners") or []
                  if isinstance(ln, dict)]
    elif kind == "Route" and str(obj.get("apiVersion", "")).startswith("route.openshift.io/"):
        found.append(dig(obj, "spec", "host"))
    return sorted({str(h) for h in found if h})


def _fields(oa: dict[str, Any], ob: dict[str, Any]) -> str:
    """The top fields in which two objects differ (never their values: a Secret's too)."""
    fa, fb = flatten(oa), flatten(ob)
    paths = sorted({re.sub(r"\[\d+\].*$", "", p) for p in set(fa) | set(fb)
                    if fa.get(p, ...) != fb.get(p, ...)})
    return ", ".join(paths[:4]) + (f" and {len(paths) - 4} more" if len(paths) > 4 else "")


def compare_envs(platform: Platform, env_a: str, env_b: str,
                 app: str | None = None) -> list[EnvDifference]:
    """How ``env_a`` and ``env_b`` differ, per Application: Applications and objects on one
    side only, images and tags, replicas, resources, configuration keys."""
    envs = {er.env.name: er for er in platform.envs}
    for name in (env_a, env_b):
        if name not in envs:
            raise GitplaneError(f"unknown environment '{name}' (known: {', '.join(envs)})")
    side = {name: {ar.app.name: ar for ar in envs[name].apps} for name in (env_a, env_b)}
    out: list[EnvDifference] = []
    for name in sorted(set(side[env_a]) | set(side[env_b])):
        if app and name != app:
            continue
        a, b = side[env_a].get(name), side[env_b].get(name)
        if a is None or b is None:
            out.append(EnvDifference(name, "application", "", "present" if a else "absent",
                                     "present" if b else "absent"))
            continue
        ca, cb = _charts(a), _charts(b)
        for key in sorted(set(ca) | set(cb)):
            if ca.get(key) != cb.get(key):
                out.append(EnvDifference(name, "chart", "", ca.get(key, "-"),
                                         cb.get(key, "-")))
        out += _value_rows(name, "helm-values", "", helm_values(a), helm_values(b), hide=True)
        objs_a = {r.id: r.obj for r in a.resources}
        objs_b = {r.id: r.obj for r in b.resources}
        for rid in sorted(set(objs_a) | set(objs_b)):
            oa, ob = objs_a.get(rid), objs_b.get(rid)
            if oa is None or ob is None:
                out.append(EnvDifference(name, "object", rid, "present" if oa else "absent",
                                         "present" if ob else "absent"))
                continue
            if oa == ob:
                continue
            before = len(out)
            fa, fb = _workload_facts(oa), _workload_facts(ob)
            for key in sorted(set(fa) | set(fb)):
                va, vb = fa.get(key), fb.get(key)
                if va != vb:
                    aspect = (va or vb or ("", ""))[0]
                    out.append(EnvDifference(name, aspect, rid, va[1] if va else "",
                                             vb[1] if vb else ""))
            if oa.get("kind") == "ConfigMap":
                da, db = _config(oa), _config(ob)
                if set(da) != set(db):
                    out.append(EnvDifference(name, "config-keys", rid,
                                             ", ".join(sorted(set(da) - set(db))) or "-",
                                             ", ".join(sorted(set(db) - set(da))) or "-"))
                shared = set(da) & set(db)
                out += _value_rows(name, "config", rid, {k: da[k] for k in shared},
                                   {k: db[k] for k in shared})
            out += _value_rows(name, "quota", rid, _quota(oa), _quota(ob))
            ha, hb = hosts(oa), hosts(ob)
            if ha != hb:
                out.append(EnvDifference(name, "hosts", rid, ", ".join(ha) or "-",
                                         ", ".join(hb) or "-"))
            if len(out) == before:
                differ = _fields(oa, ob)
                out.append(EnvDifference(name, "fields", rid, differ, differ))
    return out
