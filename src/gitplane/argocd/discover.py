"""Discovery: every Application of every environment, found the way Argo CD finds them.

Start at the environment's bootstrap overlays, take Applications as they are, expand
ApplicationSets, and follow every Application whose source lies in this repository
(app-of-apps), rendering each source once. Renders of one round run in parallel.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from gitplane import cache, k8s
from gitplane.argocd import appset as appsets
from gitplane.argocd.application import (APPLICATION, APPLICATIONSET, InvalidApplication,
                                         from_doc, is_kind)
from gitplane.argocd.generators import GeneratorError
from gitplane.argocd.sources import approximations, classify, source_options
from gitplane.argocd.world import LocalWorld, Shared, expand
from gitplane.errors import GitplaneError
from gitplane.model import Environment, Finding, Origin, Resource
from gitplane.platform import AppResult, EnvResult, Platform, Progress, finding_of, root_name
from gitplane.proc import Engine
from gitplane.render import Problem, Rendered, kustomize
from gitplane.render.scheduler import HelmRelease, Job, Scheduler
from gitplane.render.scheduler import key as render_key
from gitplane.repo import Repository, Revisions


def _findings(problems: list[Problem], env: str, app: str) -> list[Finding]:
    return [finding_of(p, env, app) for p in problems]


def discover(repo: Repository, engine: Engine, envs: list[Environment],
             jobs: int | None = None, progress: Progress | None = None,
             changed: set[str] | None = None, shared: Shared | None = None,
             memo: dict[str, Rendered] | None = None) -> Platform:
    """Find and render every Application of ``envs``. With ``changed`` (repository paths),
    a kustomization that reads none of them and holds no Argo CD object is not rendered:
    its output is the same on both sides of a diff (``Rendered.skipped``). ``memo`` keeps
    renders between discoveries of the same tree (root finding, then the real one)."""
    engine.version()  # a program that is not kustomize fails here, before any render
    renderer = Scheduler(repo, engine, jobs or max(2, os.cpu_count() or 2), changed,
                         shared.parsed if shared else None,
                         shared.skips if shared else None)
    if memo is not None:
        renderer.done = memo
    results = [EnvResult(env) for env in envs]
    revisions = Revisions(repo)
    world = LocalWorld(repo, revisions=revisions)
    try:
        return _discover(repo, engine, results, renderer, revisions, world, progress, shared)
    finally:
        revisions.close()
        cache.flush()


def _discover(repo: Repository, engine: Engine, results: list[EnvResult], renderer: Scheduler,
              revisions: Revisions, world: LocalWorld, progress: Progress | None,
              shared: Shared | None) -> Platform:

    seen: dict[str, set[str]] = {er.env.name: set() for er in results}
    roots: list[tuple[EnvResult, str, Path, str]] = []
    for er in results:
        if not er.env.roots and repo.seed_layout:
            er.findings.append(Finding(
                er.env.name, "", repo.rel(repo.deployments / "bootstrap"), 0,
                "argocd-path-missing", "", "error",
                f"environment '{er.env.name}' has no bootstrap overlay "
                f"({repo.prefix}/bootstrap/*/environments/{er.env.name}/)"))
        for root in er.env.roots:
            folder = repo.top / root
            kind = "file" if folder.is_file() else (
                "kustomize" if kustomize.kustomization_file(folder) else
                "helm" if (folder / "Chart.yaml").is_file() else "directory")
            roots.append((er, root, folder, kind))
            seen[er.env.name].add(str(folder))
    counter = _Counter(progress)
    job_findings: dict[tuple[int, str], list[Finding]] = {}
    counter.total += len({str(f) for _, _, f, _ in roots})
    renderer.many([Job(k, f) for _, _, f, k in roots], counter.step)
    new: list[tuple[EnvResult, AppResult]] = []
    for er, root, folder, _kind in roots:
        rendered = renderer.done[render_key(folder, {})]
        er.roots[root] = rendered
        er.findings.extend(_findings(rendered.problems, er.env.name, root_name(root)))
        new.extend((er, ar) for ar in _collect(repo, er, rendered.resources, world, shared))
    while new:
        jobs = [job for _, ar in new for job in _jobs(ar)]
        counter.total += len({j.key for j in jobs} - set(renderer.done))
        renderer.many(jobs, counter.step)
        following: list[tuple[EnvResult, AppResult]] = []
        for er, ar in new:
            children: list[Resource] = []
            ok = True
            for job in _jobs(ar):
                folder, view = job.folder, job.view
                rendered = renderer.done[job.key]
                found = _findings(rendered.problems, er.env.name, ar.app.name)
                job_findings[(id(ar), job.key)] = found
                er.findings.extend(found)
                ok = ok and rendered.ok
                ar.resources.extend(applied(rendered.resources))
                ar.files |= rendered.files
                if view is repo:
                    ar.local_files |= rendered.files
                if str(folder) not in seen[er.env.name]:  # app-of-apps, cycles cut here
                    seen[er.env.name].add(str(folder))
                    children.extend(rendered.resources)
            ar.rendered = ok
            following.extend((er, c) for c in _collect(repo, er, children, world, shared))
        new = following
    _with_environment_apis(results, renderer, job_findings)
    for er in results:
        er.apps.sort(key=lambda a: a.app.name)
        destination_namespaces(er)
        try:
            er.clusters = world.for_env(er.env.name).clusters()
        except GeneratorError as exc:
            path = repo.inventory_path(er.env.name)
            er.findings.append(Finding(er.env.name, "", repo.rel(path) if path else "", 1,
                                       "argocd-destination", "", "error", str(exc)))
    return Platform(repo, results, engine.version(), renderer.parsed)


def applied(resources: list[Resource]) -> list[Resource]:
    """What Argo CD applies of a render: Helm hooks of types it does not support (test,
    pre-delete, rollback...) are ignored by its sync."""
    from gitplane.render.helm import applied_by_argo_cd

    return [r for r in resources if applied_by_argo_cd(r.obj)]


def environment_apis(er: EnvResult) -> tuple[str, ...]:
    """The API versions an environment adds to Kubernetes' own: ``group/version`` and
    ``group/version/Kind`` of every served version of every CRD it renders (what a cluster
    holding the environment serves, and what Argo CD passes Helm as --api-versions)."""
    out: set[str] = set()
    for ar in er.apps:
        for r in ar.resources:
            if r.kind != "CustomResourceDefinition" or not r.api_version.startswith(
                    "apiextensions.k8s.io/"):
                continue
            spec = k8s.as_dict(r.obj.get("spec"))
            group = str(spec.get("group") or "")
            kind = str(k8s.as_dict(spec.get("names")).get("kind") or "")
            for v in spec.get("versions") or []:
                if isinstance(v, dict) and v.get("name") and v.get("served", True) and group:
                    out.add(f"{group}/{v['name']}")
                    if kind:
                        out.add(f"{group}/{v['name']}/{kind}")
    return tuple(sorted(out))


def _with_environment_apis(results: list[EnvResult], renderer: Scheduler,
                           job_findings: dict[tuple[int, str], list[Finding]]) -> None:
    """Render again, with the environment's API versions, the charts whose templates read
    ``.Capabilities.APIVersions`` (Argo CD gives Helm the cluster's; a cluster holding the
    environment serves the CRDs the environment renders). Their objects and findings
    replace the first render's; Applications they would add are not followed (a chart
    that makes Applications depending on the cluster's APIs is rare)."""
    from gitplane.render.helm import asks_api_versions

    asks: dict[str, bool] = {}
    redo: list[tuple[EnvResult, AppResult, list[Job]]] = []
    for er in results:
        apis = environment_apis(er)
        if not apis:
            continue
        for ar in er.apps:
            jobs = _jobs(ar)
            changed = False
            for i, job in enumerate(jobs):
                if job.kind != "helm" or job.release is None:
                    continue
                folder = str(job.folder)
                if folder not in asks:
                    asks[folder] = asks_api_versions(job.folder)
                if asks[folder]:
                    release = replace(job.release, api_versions=apis)
                    jobs[i] = Job("helm", job.folder, {**job.options, "apis": hash_of(apis)},
                                  job.view, release)
                    changed = True
            if changed:
                redo.append((er, ar, jobs))
    if not redo:
        return
    renderer.many([j for _, _, jobs in redo for j in jobs])
    for er, ar, jobs in redo:
        first = {id(f) for job in _jobs(ar) for f in job_findings.get((id(ar), job.key), [])}
        er.findings[:] = [f for f in er.findings if id(f) not in first]
        ar.resources = []
        ok = True
        for job in jobs:
            rendered = renderer.done[job.key]
            er.findings.extend(_findings(rendered.problems, er.env.name, ar.app.name))
            ar.resources.extend(applied(rendered.resources))
            ok = ok and rendered.ok
        ar.rendered = ok


def hash_of(values: tuple[str, ...]) -> str:
    import hashlib

    return hashlib.sha256("\n".join(values).encode()).hexdigest()[:16]


def _cached_chart(repo: Repository, src: Any, view: Repository
                  ) -> tuple[Repository, str, str, str]:
    """A chart of a Helm repository that is in gitplane's cache renders as a local chart:
    its view is the unpacked chart (nothing is fetched here; ``gitplane charts pull``).
    (view, kind, resolved version, why it is not rendered)."""
    from gitplane.render import charts

    spec = src.target_revision or "*"
    if charts.is_oci(src.repo_url) and not charts.is_exact(spec):
        return view, "external", "", (
            f"chart '{src.chart}' '{spec}' of the OCI registry {src.repo_url} is not "
            "rendered: gitplane pulls OCI charts by exact version only; pin one")
    found = charts.cached(src.repo_url, str(src.chart), spec)
    if found is None:
        return view, "external", "", (
            f"chart '{src.chart}' {spec} of {src.repo_url} is not in gitplane's cache: not "
            "rendered, not checked; fetch it once with 'gitplane charts pull --allow-network'")
    return (Repository(root=found.folder, top=found.folder.parent, config=repo.config),
            "helm", found.version, "")


def _jobs(ar: AppResult) -> list[Job]:
    """The renders an Application's local sources need: kustomizations and plain folders by
    their settings, local Helm charts once per Application (their release is its own)."""
    out = []
    app = ar.app
    for i, (kind, src, view) in enumerate(zip(app.kinds, app.sources, ar.views, strict=True)):
        # a chart of a Helm repository: its view is the unpacked chart in the cache
        folder = view.root if src.chart else view.resolve(src.path or ".")
        if kind in ("kustomize", "directory"):
            out.append(Job(kind, folder, source_options(kind, src), view))
        elif kind == "helm":
            refs = {str(s.raw["ref"]): v for s, v, k in zip(app.sources, ar.views, app.kinds,
                                                              strict=True)
                    if s.raw.get("ref") and k != "external"}
            release = HelmRelease(dict(src.raw.get("helm") or {}), app.name,
                                  app.destination.get("namespace", ""), refs,
                                  (app.origin.file, app.origin.line), bool(src.chart))
            out.append(Job("helm", folder, {"app": app.name, "source": i}, view, release))
    return out


def helm_jobs(ar: AppResult) -> list[tuple[int, Job]]:
    """(source index, render) of the Application's Helm sources (local or cached charts)."""
    indexes = [i for i, k in enumerate(ar.app.kinds) if k == "helm"]
    return list(zip(indexes, [j for j in _jobs(ar) if j.kind == "helm"], strict=True))


def destination_namespaces(er: EnvResult) -> None:
    """Give namespaced objects without a namespace their Application's destination namespace,
    as Argo CD does when it applies them (scope from the environment's rendered CRDs, the
    built-in kinds and well-known custom resources; an object of unknown scope is left as
    it is). Rendered objects may be shared between Applications: changed ones are copies."""
    crds = k8s.crd_scopes(r.obj for ar in er.apps for r in ar.resources)
    for ar in er.apps:
        namespace = ar.app.destination.get("namespace", "")
        if not namespace:
            continue
        out = []
        for res in ar.resources:
            meta = res.obj.get("metadata")
            if isinstance(meta, dict) and not meta.get("namespace") and \
                    k8s.namespaced(res.api_version, res.kind, crds):
                obj = {**res.obj, "metadata": {**meta, "namespace": namespace}}
                res = Resource(obj, res.file, res.line, res.doc)
            out.append(res)
        ar.resources = out


class _Counter:
    """Progress over a total that grows as app-of-apps are found."""

    def __init__(self, callback: Progress | None) -> None:
        self.callback = callback
        self.done = 0
        self.total = 0

    def step(self) -> None:
        self.done += 1
        if self.callback:
            self.callback(self.done, max(self.total, self.done))


def _collect(repo: Repository, er: EnvResult, resources: list[Resource],
             world: LocalWorld, shared: Shared | None = None) -> list[AppResult]:
    """Applications and expanded ApplicationSets among ``resources``, added to ``er``."""
    env = er.env.name
    found: list[AppResult] = []
    names = er.by_name

    def add(doc: dict[str, Any], origin: Origin) -> None:
        try:
            app = from_doc(doc, origin, env)
        except InvalidApplication as exc:
            er.findings.append(Finding(env, str((doc.get("metadata") or {}).get("name") or ""),
                                       origin.file, origin.line, "argocd-invalid", "",
                                       "error", str(exc)))
            return
        if app.name in names:
            first = names[app.name].app.origin
            if (first.file, first.line, first.generator) == (origin.file, origin.line,
                                                             origin.generator):
                return  # the same object reached twice (an app that deploys its own folder)
            er.findings.append(Finding(
                env, app.name, origin.file, origin.line, "argocd-duplicate-name", "", "error",
                f"Application '{app.name}' is also defined at {first.file}:{first.line}; "
                "Argo CD keeps only one"))
            return
        views: list[Repository] = []
        for src in app.sources:
            try:
                view = world.revisions.view(src.target_revision) if (
                    not src.chart and repo.is_self(src.repo_url)) else repo
            except GitplaneError as exc:
                view, kind, message = repo, "unresolved", str(exc)
            else:
                try:
                    kind, message = classify(view, src)
                except InvalidApplication as exc:
                    kind, message = "invalid", str(exc)
            version = ""
            if kind == "external" and src.chart:
                view, kind, version, message = _cached_chart(repo, src, view)
                if message:
                    er.findings.append(Finding(env, app.name, origin.file, origin.line,
                                               "source-not-rendered", "", "warning",
                                               f"Application '{app.name}': {message}"))
            views.append(view)
            app.kinds.append(kind)
            app.chart_versions.append(version)
            if kind in ("missing", "refused"):
                er.findings.append(Finding(env, app.name, origin.file, origin.line,
                                           "argocd-path-missing", "", "error",
                                           f"Application '{app.name}': {message}"))
            elif kind == "invalid":
                er.findings.append(Finding(env, app.name, origin.file, origin.line,
                                           "argocd-invalid", "", "error",
                                           f"Application '{app.name}': {message}"))
            elif kind in ("unresolved", "plugin"):
                # Another branch Argo CD reads (Kargo's rendered branches, a release
                # branch) need not exist in this clone: not rendered, said once.
                er.findings.append(Finding(env, app.name, origin.file, origin.line,
                                           "source-not-rendered", "", "warning",
                                           f"Application '{app.name}': {message}"))

            if kind in ("kustomize", "directory"):
                for note in approximations(repo, src, kind):
                    er.findings.append(Finding(env, app.name, origin.file, origin.line,
                                               "source-not-rendered", "", "warning", note))
        ar = AppResult(app, views=views)
        names[app.name] = ar
        er.apps.append(ar)
        found.append(ar)

    for res in resources:
        if is_kind(res.obj, APPLICATION):
            add(res.obj, Origin(res.file, res.line))
        elif is_kind(res.obj, APPLICATIONSET):
            name = res.name
            exp = expand(res.obj, world.for_env(env), shared)
            for severity, items in (("error", exp.errors), ("warning", exp.notes)):
                for label, message in items:
                    line = res.line_of(*appsets.generator_path(label))
                    er.findings.append(Finding(env, name, res.file, line, "argocd-generator",
                                               res.id, severity,
                                               f"ApplicationSet '{name}' {label}: {message}"))
            for gen in exp.apps:
                add(gen.doc, Origin(res.file, res.line, gen.generator, name))
    return found
