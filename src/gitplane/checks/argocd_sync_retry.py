"""An Application that syncs on its own but never retries a failed sync.

Argo CD's automated sync does not try a failed sync of the same commit again: the
Application stays in SyncError until someone syncs it by hand or pushes another commit.
On a fresh cluster, a first sync often fails for reasons that pass (a CRD or a webhook not
ready yet, a namespace another Application creates), so an Application without
``syncPolicy.retry`` never converges on its own. Give it a retry with a limit and a backoff.
Reported once per Application, or once per ApplicationSet for the Applications it generates
(the template is where the fix goes).

Failing::

    syncPolicy:
      automated: {prune: true, selfHeal: true}

Passing::

    syncPolicy:
      automated: {prune: true, selfHeal: true}
      retry:
        limit: 5
        backoff: {duration: 10s, factor: 2, maxDuration: 3m}

Also passing: a manual sync policy, or ``automated: {enabled: false}``.
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.argocd.application import automated, retries
from gitplane.checks.context import Context
from gitplane.model import Finding

ID = "argocd-sync-retry"
SEVERITY = "warning"


def check(ctx: Context) -> Iterator[Finding]:
    for er in ctx.platform.envs:
        # (file, line, ApplicationSet) → the Applications written or generated there
        sites: dict[tuple[str, int, str], list[str]] = {}
        for ar in er.apps:
            app = ar.app
            if ctx.only_app and app.name != ctx.only_app:
                continue
            if automated(app.doc) and not retries(app.doc):
                o = app.origin
                sites.setdefault((o.file, o.line, o.applicationset or ""), []).append(app.name)
        for (file, line, appset), names in sorted(sites.items()):
            if appset:
                message = (f"ApplicationSet '{appset}' generates {len(names)} Application(s) "
                           f"({', '.join(sorted(names)[:3])}{', …' if len(names) > 3 else ''}) "
                           "with automated sync and no retry: a failed sync of a commit is "
                           "never tried again; add syncPolicy.retry (limit, backoff) to its "
                           "template")
            else:
                message = ("automated sync without retry: a failed sync of a commit is never "
                           "tried again; add syncPolicy.retry (limit, backoff)")
            yield Finding(er.env.name, sorted(names)[0], file, line, ID, "", SEVERITY, message)
