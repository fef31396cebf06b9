"""How two environments differ, Application by Application: what a promotion would move
(``gitplane compare``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitplane.errors import GitplaneError
from gitplane.k8s import WORKLOADS, as_dict, containers, dig
from gitplane.platform import Platform


@dataclass
class EnvDifference:
    """One way two environments differ for an Application (what a promotion would move)."""

    application: str
    aspect: str  # application | object | image | replicas | resources | config-keys
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
        objs_a = {r.id: r.obj for r in a.resources}
        objs_b = {r.id: r.obj for r in b.resources}
        for rid in sorted(set(objs_a) | set(objs_b)):
            oa, ob = objs_a.get(rid), objs_b.get(rid)
            if oa is None or ob is None:
                out.append(EnvDifference(name, "object", rid, "present" if oa else "absent",
                                         "present" if ob else "absent"))
                continue
            fa, fb = _workload_facts(oa), _workload_facts(ob)
            for key in sorted(set(fa) | set(fb)):
                va, vb = fa.get(key), fb.get(key)
                if va != vb:
                    aspect = (va or vb or ("", ""))[0]
                    out.append(EnvDifference(name, aspect, rid, va[1] if va else "",
                                             vb[1] if vb else ""))
            if oa is not None and ob is not None and oa.get("kind") == "ConfigMap":
                ka = set(oa.get("data") or {}) | set(oa.get("binaryData") or {})
                kb = set(ob.get("data") or {}) | set(ob.get("binaryData") or {})
                if ka != kb:
                    out.append(EnvDifference(name, "config-keys", rid,
                                             ", ".join(sorted(ka - kb)) or "-",
                                             ", ".join(sorted(kb - ka)) or "-"))
    return out
