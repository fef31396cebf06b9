"""An Application whose AppProject is not in the repository, or does not permit it.

Argo CD refuses to sync an Application whose project does not exist or whose source
repository or destination the project does not allow. The project must be rendered in the
same environment (rendered by an Application or with a root, or in a file beside a root that
no Application renders, applied with it; the ``default`` project exists in every Argo CD).
When some Application or root of the environment is not rendered (a local chart, a remote
base, a branch not fetched), a missing project may come from it: a warning naming them; ``sourceRepos`` and ``destinations`` are matched as Argo CD matches them
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

Each rendered object is held to its Application's project as Argo CD holds it at sync: a
cluster-scoped kind must be in ``clusterResourceWhitelist`` (empty or absent: none is) and
not in ``clusterResourceBlacklist``; a namespaced kind must not be in
``namespaceResourceBlacklist`` nor, when ``namespaceResourceWhitelist`` lists kinds, outside
it (an empty one is not judged: Argo CD releases read it as "all" or as "none"); and the namespace a namespaced object lands in must be a permitted destination (a
ClusterRole, or a ConfigMap in ``kube-system``, from a project limited to one namespace is
refused). Kinds of unknown scope are not judged.
"""
from __future__ import annotations

import fnmatch
from typing import Any
from collections.abc import Iterator

from gitplane import k8s
from gitplane.argocd.clusters import destinations
from gitplane.model import Finding
from gitplane.repo import normalize_url
from gitplane.checks.context import Context, Unit, env_crds, resource_finding, units_of
from gitplane.errors import YamlError
from gitplane.yamlio import load_file

ID = "argocd-project"
SEVERITY = "error"


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


def _listed(items: Any, group: str, kind: str, name: str) -> bool:
    """Argo CD's match of a resource list entry: globs on group and kind (and on the name
    where an entry gives one)."""
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        if _glob(str(item.get("kind", "")), kind) and _glob(str(item.get("group", "")), group) \
                and (not item.get("name") or _glob(str(item["name"]), name)):
            return True
    return False


def kind_refusal(spec: dict[str, Any], group: str, kind: str, name: str,
                 namespaced: bool) -> str | None:
    """Why the project refuses this kind, or None when it permits it."""
    if namespaced:
        # An empty whitelist is not judged: Argo CD releases differ on it (allow all, or none)
        white = spec.get("namespaceResourceWhitelist")
        if white and not _listed(white, group, kind, name):
            return "is not in namespaceResourceWhitelist"
        if _listed(spec.get("namespaceResourceBlacklist"), group, kind, name):
            return "is in namespaceResourceBlacklist"
        return None
    if not _listed(spec.get("clusterResourceWhitelist"), group, kind, name):
        return ("is cluster-scoped and not in clusterResourceWhitelist"
                if spec.get("clusterResourceWhitelist") else
                "is cluster-scoped and the project allows no cluster-scoped kinds")
    if _listed(spec.get("clusterResourceBlacklist"), group, kind, name):
        return "is in clusterResourceBlacklist"
    return None


def _objects(unit: Unit, spec: dict[str, Any], project: str, server: str, cluster: str,
             home: str, crds: dict[tuple[str, str], str]) -> Iterator[Finding]:
    """The objects the project refuses, once per kind and reason (with a count)."""
    seen: dict[tuple[str, str], list[Any]] = {}
    for res in unit.resources:
        where = k8s.scope(res.api_version, res.kind, crds)
        if where is None:
            continue
        group = k8s.group_of(res.api_version)
        why = kind_refusal(spec, group, res.kind, res.name, where == "Namespaced")
        if why is not None:
            seen.setdefault((res.kind, why), []).append(res)
            continue
        ns = res.namespace or home
        if where == "Namespaced" and ns and not permits_destination(
                list(spec.get("destinations") or []), server, cluster, ns):
            seen.setdefault((res.kind, f"namespace '{ns}' is not a destination of the "
                                       "project"), []).append(res)
    for (kind, why), items in seen.items():
        first = items[0]
        more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
        yield resource_finding(ID, SEVERITY, unit, first,
                               f"project '{project}' refuses {kind} '{first.name}'{more}: "
                               f"{why}; Argo CD will not sync it")


def _beside_roots(ctx: Context, er: Any) -> dict[str, dict[str, Any]]:
    """AppProjects in files beside a root (its folder, not below) that no Application
    renders: applied with the root, by hand or by a bootstrap script."""
    repo = ctx.platform.repo
    read = {f for ar in er.apps for f in ar.files}
    out: dict[str, dict[str, Any]] = {}
    folders = set()
    for root in er.env.roots:
        path = repo.top / root
        folders.add(path if path.is_dir() else path.parent)
    for folder in sorted(folders):
        try:
            if not repo.contains(repo.realpath(str(folder)), real=True):
                continue
            entries = sorted(folder.iterdir())
        except (OSError, RuntimeError):
            continue
        for path in entries:
            rel = repo.rel(path)
            if path.suffix not in (".yaml", ".yml") or path.is_symlink() or \
                    not path.is_file() or rel in read:
                continue
            try:
                docs = load_file(path, rel)
            except YamlError:
                continue
            for d in docs:
                obj = d.obj
                if isinstance(obj, dict) and obj.get("kind") == "AppProject" and \
                        str(obj.get("apiVersion") or "").startswith("argoproj.io/"):
                    meta, spec = obj.get("metadata"), obj.get("spec")
                    if isinstance(meta, dict) and isinstance(meta.get("name"), str):
                        out.setdefault(meta["name"], spec if isinstance(spec, dict) else {})
    return out


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
        for name, beside in _beside_roots(ctx, er).items():
            projects.setdefault(name, beside)
        projects.setdefault("default", {"sourceRepos": ["*"],
                                        "destinations": [{"server": "*", "namespace": "*"}],
                                        "clusterResourceWhitelist": [{"group": "*",
                                                                      "kind": "*"}]})
        crds = env_crds(ctx, er)
        units = {u.application: u for u in units_of(er, ctx.only_app)}
        names = destinations(er.clusters)
        # Applications and roots whose objects gitplane did not see: an AppProject may be
        # among them (a chart, a remote base, a branch not fetched).
        unseen = sorted({a.app.name for a in er.apps if not a.rendered or
                         set(a.app.kinds) - {"kustomize", "directory", "ref", "external", "helm"}} |
                        {r for r, got in er.roots.items() if not got.ok})
        for ar in er.apps:
            app = ar.app
            if ctx.only_app and app.name != ctx.only_app:
                continue
            o = app.origin
            spec = projects.get(app.project)
            if spec is None:
                if unseen:
                    yield Finding(er.env.name, app.name, o.file, o.line, ID, "", "warning",
                                  f"project '{app.project}' is not defined by anything "
                                  f"rendered; it may come from {', '.join(unseen[:3])}"
                                  f"{', …' if len(unseen) > 3 else ''} (not rendered)")
                    continue
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
                continue
            unit = units.get(app.name)
            if unit is not None:
                yield from _objects(unit, spec, app.project, server, name, namespace, crds)
