"""The same ConfigMap with different keys in two environments.

Values differ between environments by design; keys should not: a key missing in production
that staging has is how a promotion breaks. ConfigMaps are matched by what their Application
deploys (see env-missing-overlay: not by the Application's name), namespace (the
environment's name taken out) and name (generator hash suffixes removed).

Failing: ``environment-config`` with ``ENV, LOG_LEVEL`` in staging and only ``ENV`` in
production.

Passing: the same keys in both, with different values.
"""
from __future__ import annotations

import re
from typing import Any
from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.checks.context import Context, counterpart_key, without_env

ID = "env-config-drift"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Finding]:
    envs = ctx.platform.envs
    if len(envs) < 2:
        return
    seen: dict[tuple[str, str, str], dict[str, tuple[set[str], Any]]] = {}
    names: dict[str, dict[str, str]] = {}  # counterpart key → environment → Application
    for er in envs:
        for ar in er.apps:
            for res in ar.resources:
                if res.kind != "ConfigMap" or res.api_version != "v1":
                    continue
                base = re.sub(r"-[a-z0-9]{10}$", "", res.name)
                keys = set(res.obj.get("data") or {}) | set(res.obj.get("binaryData") or {})
                key = counterpart_key(ar, er.env.name)
                names.setdefault(key, {})[er.env.name] = ar.app.name
                ns = without_env(res.namespace, er.env.name)
                seen.setdefault((key, ns, base), {})[er.env.name] = (keys, res)
    for (key, _ns, name), by_env in sorted(seen.items()):
        apps = names[key]
        if len(by_env) < 2 or (ctx.only_app and ctx.only_app not in apps.values()):
            continue
        union = set().union(*(k for k, _ in by_env.values()))
        for env, (keys, res) in sorted(by_env.items()):
            missing = sorted(union - keys)
            if missing:
                others = [e for e, (k, _) in by_env.items() if set(missing) & k]
                yield Finding(env, apps[env], res.file, res.line, ID, res.id, SEVERITY,
                              f"ConfigMap {res.namespace}/{name} lacks {', '.join(missing)} that "
                              f"{', '.join(sorted(others))} has")
