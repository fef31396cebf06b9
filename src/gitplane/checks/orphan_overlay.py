"""An overlay of the layout that no Application of its environment deploys.

The layout is ``deployments/domains/<domain>/apps/<app>/environments/<env>/`` and
``deployments/environments/<env>/platform-config/``; an overlay nothing deploys is dead
configuration, or an ApplicationSet that does not reach it. An overlay for an environment
that does not exist is reported too.

Failing: ``apps/web-app/environments/qa/`` when there is no environment ``qa``, or when no
ApplicationSet generates an Application for it.

Passing: every overlay is the path of an Application of that environment.
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.render.kustomize import kustomization_file
from gitplane.checks.context import Context

ID = "orphan-overlay"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Finding]:
    platform = ctx.platform
    repo = platform.repo
    if not repo.seed_layout:
        return
    deployed: dict[str, set[str]] = {}
    for er in platform.envs:
        paths = deployed.setdefault(er.env.name, set(er.env.roots))
        for ar in er.apps:
            paths.update(s.path.strip("/") for s in ar.app.sources if s.path is not None)
    all_envs = {e.name for e in repo.environments()}
    for env, overlay in repo.overlays():
        if env in deployed and overlay in deployed[env]:
            continue
        if env not in deployed and env in all_envs:
            continue  # an environment not selected with --env
        parts = overlay.split("/")
        app = parts[-3] if "/apps/" in overlay else "platform-config"
        if ctx.only_app and app != ctx.only_app:
            continue
        kfile = kustomization_file(repo.top / overlay)
        file = repo.rel(kfile) if kfile else overlay
        why = (f"environment '{env}' does not exist" if env not in all_envs
               else f"no Application in environment '{env}' deploys it")
        yield Finding(env, app, file, 1, ID, "", SEVERITY, f"overlay {overlay} is an orphan: {why}")
