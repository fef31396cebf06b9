"""An Application whose AppProject is not in the repository, or does not permit it.

Argo CD refuses to sync an Application whose project does not exist or whose source
repository or destination the project does not allow. The project must be rendered in the
same environment (the ``default`` project exists in every Argo CD unless the repository
defines its own); ``sourceRepos`` and ``destinations`` are matched as Argo CD matches them
(globs, ``!`` denials, server or name, namespace).

Failing::

    kind: AppProject
    metadata: {name: applications}
    spec:
      sourceRepos: [https://github.com/acme/deployments.git]
      destinations: [{server: https://kubernetes.default.svc, namespace: applications}]
    ---
    kind: Application
    spec:
      project: applications
      destination: {server: https://kubernetes.default.svc, namespace: payments}

Passing: the destination namespace ``applications``, or the project allowing ``payments``.
"""
from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any, Iterator

from gitplane.model import Finding
from gitplane.repo import normalize_url

if TYPE_CHECKING:
    from gitplane.checks import Context

ID = "argocd-project"
SEVERITY = "error"
IN_CLUSTER = "https://kubernetes.default.svc"


def _glob(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def permits_repo(patterns: list[str], url: str) -> bool:
    allowed = False
    for p in patterns:
        deny = p.startswith("!")
        pat = p[1:] if deny else p
        hit = pat == "*" or _glob(pat, url) or normalize_url(pat) == normalize_url(url)
        if deny and hit:
            return False
        if not deny and hit:
            allowed = True
    return allowed


def permits_destination(destinations: list[dict[str, Any]], server: str, name: str,
                        namespace: str) -> bool:
    allowed = False
    for d in destinations:
        ns_pat = str(d.get("namespace") or "")
        deny = ns_pat.startswith("!")
        ns_ok = _glob(ns_pat.lstrip("!"), namespace) if ns_pat else True
        if d.get("server"):
            where = _glob(str(d["server"]).lstrip("!"), server)
        elif d.get("name"):
            where = _glob(str(d["name"]).lstrip("!"), name)
        else:
            where = True
        if deny and where and ns_ok:
            return False
        if not deny and where and ns_ok:
            allowed = True
    return allowed


def check(ctx: Context) -> Iterator[Finding]:
    for er in ctx.platform.envs:
        projects: dict[str, dict[str, Any]] = {}
        for ar in er.apps:
            for res in ar.resources:
                if res.kind == "AppProject" and res.api_version.startswith("argoproj.io/"):
                    projects.setdefault(res.name, res.obj.get("spec") or {})
        for root in er.roots.values():
            for res in root.resources:
                if res.kind == "AppProject" and res.api_version.startswith("argoproj.io/"):
                    projects.setdefault(res.name, res.obj.get("spec") or {})
        projects.setdefault("default", {"sourceRepos": ["*"],
                                        "destinations": [{"server": "*", "namespace": "*"}]})
        names = {c["data"]["name"]: c["data"]["server"] for c in er.clusters}
        names.setdefault("in-cluster", IN_CLUSTER)
        for ar in er.apps:
            app = ar.app
            if ctx.only_app and app.name != ctx.only_app:
                continue
            o = app.origin
            spec = projects.get(app.project)
            if spec is None:
                yield Finding(er.env.name, app.name, o.file, o.line, ID, "", SEVERITY,
                              f"project '{app.project}' is not defined in this environment "
                              f"(known: {', '.join(sorted(projects))})")
                continue
            repos = [str(r) for r in spec.get("sourceRepos") or []]
            for src in app.sources:
                if not permits_repo(repos, src.repo_url):
                    yield Finding(er.env.name, app.name, o.file, o.line, ID, "", SEVERITY,
                                  f"project '{app.project}' does not permit source repository "
                                  f"'{src.repo_url}' (sourceRepos: {', '.join(repos) or 'none'})")
            dest = app.destination
            server = dest.get("server") or names.get(dest.get("name", ""), "")
            name = dest.get("name") or next((n for n, s in names.items() if s == server), "")
            namespace = dest.get("namespace", "")
            if not permits_destination(list(spec.get("destinations") or []), server, name,
                                       namespace):
                where = dest.get("name") or server
                yield Finding(er.env.name, app.name, o.file, o.line, ID, "", SEVERITY,
                              f"project '{app.project}' does not permit destination "
                              f"{where} namespace '{namespace}'")
