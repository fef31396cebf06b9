"""An Application deployed in some environments and missing from another.

Usually an overlay that was never created for a new environment, or a promotion that will
fail because the target has nothing to promote into. Reported in each environment that
lacks it, naming where it exists.

Failing: ``web-app`` in staging, no ``web-app`` in production (no
``apps/web-app/environments/production/`` overlay).

Applications of two environments are counterparts when they deploy the same thing (the same
repository, chart or path once the environment's name is taken out of paths), not when they
have the same name: ``svc-a-staging`` and ``svc-a-production`` deploying
``apps/svc-a/overlays/staging`` and ``.../production`` are one Application.

Passing: every Application in every environment, or the difference intended and disabled for
that Application in gitplane.yaml (``rules: {env-missing-overlay: {exclude: [...]}}``).
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.checks.context import Context, counterpart_key

ID = "env-missing-overlay"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Finding]:
    envs = ctx.platform.envs
    if len(envs) < 2:
        return
    # what an Application deploys → environment → (its name there, its file)
    where: dict[str, dict[str, tuple[str, str]]] = {}
    for er in envs:
        for ar in er.apps:
            where.setdefault(counterpart_key(ar, er.env.name), {})[er.env.name] = (
                ar.app.name, ar.app.origin.file)
    repo = ctx.platform.repo
    domains: dict[str, list[str]] = {}  # app folder → its domains, read once per run
    for d, a in repo.apps():
        domains.setdefault(a, []).append(d)
    for _key, present in sorted(where.items()):
        names = sorted({n for n, _ in present.values()})
        if ctx.only_app and ctx.only_app not in names:
            continue
        name = names[0]
        for er in envs:
            if er.env.name in present:
                continue
            domain_app = sorted(f"{repo.prefix}/domains/{d}/apps/{a}/environments/{er.env.name}"
                                for a in names for d in domains.get(a, ()))
            file = domain_app[0] if domain_app else next(iter(present.values()))[1]
            yield Finding(er.env.name, name, file, 0, ID, "", SEVERITY,
                          f"Application '{name}' exists in {', '.join(sorted(present))} but "
                          f"nothing deploys its counterpart in '{er.env.name}'")
