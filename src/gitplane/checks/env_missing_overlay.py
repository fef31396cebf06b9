"""An Application deployed in some environments and missing from another.

Usually an overlay that was never created for a new environment, or a promotion that will
fail because the target has nothing to promote into. Reported in each environment that
lacks it, naming where it exists.

Failing: ``web-app`` in staging, no ``web-app`` in production (no
``apps/web-app/environments/production/`` overlay).

Passing: every Application in every environment, or the difference intended and disabled for
that Application in gitplane.yaml (``rules: {env-missing-overlay: {exclude: [...]}}``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from gitplane.model import Finding

if TYPE_CHECKING:
    from gitplane.checks import Context

ID = "env-missing-overlay"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Finding]:
    envs = ctx.platform.envs
    if len(envs) < 2:
        return
    where: dict[str, dict[str, str]] = {}
    for er in envs:
        for ar in er.apps:
            where.setdefault(ar.app.name, {})[er.env.name] = ar.app.origin.file
    repo = ctx.platform.repo
    for name, present in sorted(where.items()):
        if ctx.only_app and name != ctx.only_app:
            continue
        for er in envs:
            if er.env.name in present:
                continue
            domain_app = [f"{repo.prefix}/domains/{d}/apps/{a}/environments/{er.env.name}"
                          for d, a in repo.apps() if a == name]
            file = domain_app[0] if domain_app else next(iter(present.values()))
            yield Finding(er.env.name, name, file, 0, ID, "", SEVERITY,
                          f"Application '{name}' exists in {', '.join(sorted(present))} but "
                          f"not in '{er.env.name}'")
