"""Discovery: every Application of every environment, found the way Argo CD finds them.

Start at the environment's bootstrap overlays, take Applications as they are, expand
ApplicationSets, and follow every Application whose source lies in this repository
(app-of-apps), rendering each source once. Renders of one round run in parallel.
"""
from __future__ import annotations

import json
import os

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gitplane import cache, k8s
from gitplane.argocd import appset as appsets
from gitplane.argocd.generators import GeneratorError, OfflineError, doublestar_match
from gitplane.argocd.application import (APPLICATION, APPLICATIONSET, InvalidApplication,
                                         from_doc, is_kind)
from gitplane.argocd import clusters as inventory
from gitplane.boundary import walk
from gitplane.errors import BoundaryError, GitplaneError, YamlError
from gitplane.model import Environment, Finding, Origin, Resource, Source
from gitplane.proc import Engine
from gitplane.render import Problem, Rendered, directory, helm, kustomize
from gitplane.platform import AppResult, EnvResult, Platform, Progress, finding_of, root_name
from gitplane.repo import Repository, Revisions
from gitplane.yamlio import ParsedFiles, load_file, read_regular

#: Argo CD's explicit source types (``ApplicationSource.ExplicitType``): the section that
#: is present decides how the source is rendered.
EXPLICIT = (("kustomize", "Kustomize"), ("helm", "Helm"), ("directory", "Directory"),
            ("plugin", "Plugin"))


def explicit_type(src: Source) -> str | None:
    """The type an explicit ``kustomize:``/``helm:``/``directory:``/``plugin:`` section gives
    ``src``; InvalidApplication with Argo CD's message when there are several."""
    found = [(key, name) for key, name in EXPLICIT if src.raw.get(key) is not None]
    if len(found) > 1:
        raise InvalidApplication("multiple application sources defined: " +
                                 ",".join(name for _, name in found))
    return found[0][0] if found else None


def _classify(repo: Repository, src: Source) -> tuple[str, str]:
    """(kind, message) of one source, in ``repo`` (the tree of its revision)."""
    if src.chart or not repo.is_self(src.repo_url):
        return "external", ""
    if src.path is None:
        if src.raw.get("ref"):
            return "ref", ""  # a multi-source ref: read through $ref by other sources
        return "missing", "source has no path"
    try:
        folder = repo.resolve(src.path or ".")
    except BoundaryError as exc:
        return "refused", str(exc)
    if not folder.is_dir():
        return "missing", f"path '{src.path}' does not exist in the repository"
    explicit = explicit_type(src)
    if explicit == "plugin":
        name = (src.raw.get("plugin") or {}).get("name") if isinstance(
            src.raw.get("plugin"), dict) else None
        return "plugin", (f"config-management plugin{' ' + repr(name) if name else ''}: "
                          "listed, not rendered (a plugin runs a program of the repo server)")
    if explicit == "directory":
        return "directory", ""
    if explicit == "kustomize":
        return "kustomize", ""  # Argo CD runs kustomize here, kustomization file or not
    if explicit == "helm" or (explicit is None and not kustomize.kustomization_file(folder)
                              and (folder / "Chart.yaml").is_file()):
        return "helm", ""
    if kustomize.kustomization_file(folder):
        return "kustomize", ""
    return "directory", ""


class Shared:
    """What the two sides of a ``diff`` share, so the second side does only the work its
    differences need: parsed files (by content), the skip decisions of kustomizations that
    read no changed file (their graph is the same on both sides: every file it reads is),
    and ApplicationSet expansions, reused when the ApplicationSet is the same and every
    answer its generators got from the outside world (folders, files, clusters) is too."""

    def __init__(self) -> None:
        self.parsed = ParsedFiles()
        self.skips: dict[str, Rendered] = {}
        self.expansions: dict[str, list[tuple[list[tuple[str, tuple[Any, ...], Any]],
                                              appsets.Expansion]]] = {}


class _Recording:
    """A generators' world that records every question and answer (errors included)."""

    def __init__(self, world: LocalWorld) -> None:
        self.world = world
        self.calls: list[tuple[str, tuple[Any, ...], Any]] = []

    def _ask(self, method: str, *args: Any) -> Any:
        answer = _answer(self.world, method, args)
        self.calls.append((method, args, answer))
        if isinstance(answer, GeneratorError):
            raise answer
        return answer

    def directories(self, repo_url: str, revision: str) -> list[str]:
        return list(self._ask("directories", repo_url, revision))

    def files(self, repo_url: str, revision: str, pattern: str) -> dict[str, str]:
        return dict(self._ask("files", repo_url, revision, pattern))

    def clusters(self) -> list[dict[str, Any]]:
        return list(self._ask("clusters"))


def _answer(world: LocalWorld, method: str, args: tuple[Any, ...]) -> Any:
    try:
        return getattr(world, method)(*args)
    except GeneratorError as exc:
        return exc


def _expand(obj: dict[str, Any], world: LocalWorld,
            shared: Shared | None) -> appsets.Expansion:
    """``appsets.expand``, reused from the other side of a diff when nothing it read differs."""
    if shared is None:
        return appsets.expand(obj, world)
    key = json.dumps([world.env, obj], sort_keys=True, default=str)
    for calls, expansion in shared.expansions.get(key, []):
        if all(_same(_answer(world, m, a), answer) for m, a, answer in calls):
            return expansion
    recording = _Recording(world)
    expansion = appsets.expand(obj, recording)
    shared.expansions.setdefault(key, []).append((recording.calls, expansion))
    return expansion


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, GeneratorError) or isinstance(b, GeneratorError):
        return type(a) is type(b) and str(a) == str(b)
    return bool(a == b)


class _Renderer:
    """Renders each (folder, directory options) once, many in parallel."""

    def __init__(self, repo: Repository, engine: Engine, jobs: int,
                 changed: set[str] | None = None, shared: Shared | None = None) -> None:
        self.repo = repo
        self.engine = engine
        self.shared = shared
        self.jobs = jobs
        self.changed = changed
        self.done: dict[str, Rendered] = {}
        self.parsed = shared.parsed if shared else ParsedFiles()

    @staticmethod
    def key(kind: str, folder: Path, options: dict[str, Any]) -> str:
        if options:
            return f"{folder}?{json.dumps(options, sort_keys=True)}"
        return str(folder)

    def one(self, kind: str, folder: Path, options: dict[str, Any],
            view: Repository | None = None,
            ar: AppResult | None = None) -> Rendered | kustomize.Pending:
        """The render of one job, or for a kustomization that needs the engine, what the
        engine needs (rendered in batches by :meth:`many`)."""
        repo = view or self.repo
        cfg = self.repo.config
        if kind == "helm" and ar is None:  # a root folder that is a Helm chart
            return helm.build(repo, folder, {}, folder.name, "", {}, cfg.render_timeout,
                              cfg.render_memory_mib * 1024 ** 2)
        if kind == "helm" and ar is not None:
            app = ar.app
            src = app.sources[options["source"]]
            refs = {str(s.raw["ref"]): v for s, v, k in zip(app.sources, ar.views, app.kinds, strict=False)
                    if s.raw.get("ref") and k != "external"}
            return helm.build(repo, folder, dict(src.raw.get("helm") or {}), app.name,
                              app.destination.get("namespace", ""), refs, cfg.render_timeout,
                              cfg.render_memory_mib * 1024 ** 2)
        if kind == "kustomize":
            # A kustomization of this side's own tree that the other side of a diff skipped
            # reads no changed file: skipped here too, without a walk.
            skips = self.shared.skips if self.shared is not None and repo is self.repo \
                else None
            memo = f"{repo.rel(folder)}?{json.dumps(options, sort_keys=True)}"
            if skips is not None and memo in skips:
                return skips[memo]
            got = kustomize.prepare(repo, self.engine, folder, self.parsed, options or None,
                                    self.changed)
            if skips is not None and isinstance(got, Rendered) and got.skipped:
                skips[memo] = got
            return got
        if kind == "file":
            return directory.build_file(repo, folder, self.parsed)
        return directory.build(repo, folder, options, self.parsed)

    def many(self, jobs: list[tuple[Any, ...]], counter: _Counter) -> None:
        todo: dict[str, tuple[Any, ...]] = {}
        for job in jobs:
            k = self.key(*job[:3])
            if k not in self.done:
                todo[k] = job
        if not todo:
            return
        cfg = self.repo.config
        limits = (cfg.render_timeout, cfg.render_memory_mib * 1024 ** 2)
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            # Graph walks and cache look-ups are Python work, done here (threads would only
            # contend for the interpreter) while programs (Helm, the engine) run in the pool.
            # Many kustomizations per engine run: the engine's start-up is most of a small
            # render's time, and a batch gives each the result it has alone. A batch goes to
            # the engine when it is full, or at once when a worker is idle.
            packer = kustomize.Packer(BATCH_SIZE)
            helm_jobs: dict[str, Future[Any]] = {}
            batches: list[tuple[list[kustomize.Pending], Future[list[Rendered]]]] = []
            keys: dict[int, str] = {}

            def submit(groups: list[list[kustomize.Pending]]) -> None:
                batches.extend((g, pool.submit(kustomize.render_batch, self.engine, g, *limits))
                               for g in groups)

            for k, job in sorted(todo.items()):
                if job[0] == "helm":
                    helm_jobs[k] = pool.submit(self.one, *job)
                    continue
                got = self.one(*job)
                if isinstance(got, kustomize.Pending):
                    keys[id(got)] = k
                    submit(packer.add(got))
                    if sum(1 for _, f in batches if not f.done()) < self.jobs:
                        submit(packer.drain())
                else:
                    self.done[k] = got
                    counter.step()
            submit(packer.drain())
            for k, fut in helm_jobs.items():
                self.done[k] = fut.result()
                counter.step()
            for group, batch in batches:
                for p, rendered in zip(group, batch.result(), strict=False):
                    self.done[keys[id(p)]] = rendered
                    counter.step()


#: The most kustomizations rendered by one engine run.
BATCH_SIZE = 64


def _approximations(repo: Repository, src: Source, kind: str) -> list[str]:
    """What this version renders differently from Argo CD for ``src``, said plainly."""
    notes = []
    if not repo.in_git and not repo.is_working_tree(src.target_revision):
        notes.append(f"targetRevision '{src.target_revision}': the folder is not a Git "
                     "repository; rendered from the files as they are")
    overrides = src.raw.get("kustomize") if kind == "kustomize" else None
    unsupported = sorted(set(overrides or {}) - set(kustomize.OVERRIDES)) \
        if isinstance(overrides, dict) else []
    if unsupported:
        notes.append(f"kustomize settings {', '.join(unsupported)} of the Application are not "
                     "applied by this version of gitplane")
    if isinstance(overrides, dict) and src.path is not None:
        kfile = kustomize.kustomization_file(repo.resolve(src.path))
        try:
            docs = load_file(kfile, repo.rel(kfile)) if kfile else []
            own = docs[0].obj if docs else None
        except YamlError:
            own = None  # the render reports the file
        for key in ("namePrefix", "nameSuffix"):
            if overrides.get(key) and isinstance(own, dict) and own.get(key):
                notes.append(f"the Application's {key} replaces the kustomization's own in "
                             "Argo CD; gitplane applies both")
    return notes


def source_options(kind: str, src: Source) -> dict[str, Any]:
    """What else than the folder decides a render: Argo CD's directory settings for a plain
    folder, the Application's own kustomize settings for a kustomization."""
    if kind == "directory":
        return dict(src.directory)
    if kind == "kustomize" and isinstance(src.raw.get("kustomize"), dict):
        return dict(src.raw["kustomize"])
    return {}


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
    renderer = _Renderer(repo, engine, jobs or max(2, os.cpu_count() or 2), changed,
                         shared)
    if memo is not None:
        renderer.done = memo
    results = [EnvResult(env) for env in envs]
    revisions = Revisions(repo)
    world = LocalWorld(repo, revisions=revisions)
    try:
        return _discover(repo, engine, results, renderer, revisions, world, progress)
    finally:
        revisions.close()
        cache.flush()


def _discover(repo: Repository, engine: Engine, results: list[EnvResult], renderer: _Renderer,
              revisions: Revisions, world: LocalWorld,
              progress: Progress | None) -> Platform:

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
    counter.total += len({str(f) for _, _, f, _ in roots})
    renderer.many([(k, f, {}) for _, _, f, k in roots], counter)
    new: list[tuple[EnvResult, AppResult]] = []
    for er, root, folder, kind in roots:
        rendered = renderer.done[renderer.key(kind, folder, {})]
        er.roots[root] = rendered
        er.findings.extend(_findings(rendered.problems, er.env.name, root_name(root)))
        new.extend((er, ar) for ar in _collect(repo, er, rendered.resources, world,
                                                      renderer.shared))
    while new:
        jobs_list: list[tuple[Any, ...]] = [(k, v.resolve(s.path or "."), source_options(k, s), v)
                     for _, ar in new for k, s, v in zip(ar.app.kinds, ar.app.sources, ar.views, strict=False)
                     if k in ("kustomize", "directory")]
        for _, ar in new:  # local Helm charts: one render per Application (its settings)
            for i, (k, s, v) in enumerate(zip(ar.app.kinds, ar.app.sources, ar.views, strict=False)):
                if k == "helm":
                    jobs_list.append(("helm", v.resolve(s.path or "."),
                                      {"app": ar.app.name, "source": i}, v, ar))
        counter.total += len({renderer.key(*j[:3]) for j in jobs_list} - set(renderer.done))
        renderer.many(jobs_list, counter)
        following: list[tuple[EnvResult, AppResult]] = []
        for er, ar in new:
            children: list[Resource] = []
            ok = True
            for i, (kind, src, view) in enumerate(zip(ar.app.kinds, ar.app.sources, ar.views, strict=False)):
                if kind not in ("kustomize", "directory", "helm"):
                    continue
                folder = view.resolve(src.path or ".")
                options = {"app": ar.app.name, "source": i} if kind == "helm" else \
                    source_options(kind, src)
                rendered = renderer.done[renderer.key(kind, folder, options)]
                er.findings.extend(_findings(rendered.problems, er.env.name, ar.app.name))
                ok = ok and rendered.ok
                ar.resources.extend(rendered.resources)
                ar.files |= rendered.files
                if view is repo:
                    ar.local_files |= rendered.files
                if str(folder) not in seen[er.env.name]:  # app-of-apps, cycles cut here
                    seen[er.env.name].add(str(folder))
                    children.extend(rendered.resources)
            ar.rendered = ok
            following.extend((er, c) for c in _collect(repo, er, children, world,
                                                             renderer.shared))
        new = following
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


class LocalWorld:
    """Generators' outside world from this repository: its working tree (for git generators
    on this repository) and each environment's cluster inventory."""

    def __init__(self, repo: Repository, env: str = "",
                 clusters: list[dict[str, Any]] | None = None,
                 revisions: Revisions | None = None) -> None:
        self.repo = repo
        self.env = env
        self._clusters = clusters
        self.revisions = revisions or Revisions(repo)
        self._listings: dict[tuple[str, str], list[str]] = {}

    def for_env(self, env: str) -> LocalWorld:
        other = LocalWorld(self.repo, env, self._clusters, self.revisions)
        other._listings = self._listings
        return other

    def _tree(self, repo_url: str, revision: str) -> Repository:
        """The tree a generator reads: its revision when that resolves locally, else the
        working tree."""
        self._check(repo_url)
        try:
            return self.revisions.view(revision)
        except GitplaneError:
            return self.repo

    def _listing(self, tree: Repository, what: str) -> list[str]:
        """The tree's folders (``dirs``) or files, listed once."""
        key = (str(tree.top), what)
        if key not in self._listings:
            self._listings[key] = appsets.list_folders(tree.top) if what == "dirs" else \
                list_files(tree.top)
        return self._listings[key]

    def _check(self, repo_url: str) -> None:
        if not self.repo.is_self(repo_url):
            raise OfflineError(f"repoURL '{repo_url}' is not this repository; another "
                               "repository cannot be read offline (add its URL to repoURLs: "
                               "in gitplane.yaml if it is a mirror of this one)")

    def directories(self, repo_url: str, revision: str) -> list[str]:
        return self._listing(self._tree(repo_url, revision), "dirs")

    def files(self, repo_url: str, revision: str, pattern: str) -> dict[str, str]:
        tree = self._tree(repo_url, revision)
        out = {}
        for rel in self._listing(tree, "files"):
            if doublestar_match(pattern, rel):
                try:
                    out[rel] = read_regular(tree.top / rel).decode("utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise GeneratorError(f"cannot read {rel}: {exc}") from None
        return out

    def clusters(self) -> list[dict[str, Any]]:
        if self._clusters is None:
            path = self.repo.inventory_path(self.env) if self.env else None
            try:
                if path is not None and (path.is_file() or path.is_symlink()):
                    self.repo.inside(path)  # a link out of the repository is refused
                self._clusters = inventory.load(path, self.repo.rel(path)) \
                    if path is not None and path.is_file() else []
            except GitplaneError as exc:
                raise GeneratorError(str(exc)) from None
        return self._clusters


def list_files(root: Path) -> list[str]:
    """Every regular file under ``root`` (no ``.git``, symlinks not followed), relative."""
    return walk(root, lambda name: name != ".git")[1]


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
                    kind, message = _classify(view, src)
                except InvalidApplication as exc:
                    kind, message = "invalid", str(exc)
            views.append(view)
            app.kinds.append(kind)
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
                for note in _approximations(repo, src, kind):
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
            exp = _expand(res.obj, world.for_env(env), shared)
            for severity, items in (("error", exp.errors), ("warning", exp.notes)):
                for label, message in items:
                    line = res.line_of(*appsets.generator_path(label))
                    er.findings.append(Finding(env, name, res.file, line, "argocd-generator",
                                               res.id, severity,
                                               f"ApplicationSet '{name}' {label}: {message}"))
            for gen in exp.apps:
                add(gen.doc, Origin(res.file, res.line, gen.generator, name))
    return found
