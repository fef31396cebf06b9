"""The render scheduler: each job (a folder and the settings that decide its render) is
rendered once per run, many at a time.

Kustomizations are walked here, in the calling thread (Python work: threads would only
contend for the interpreter), and what needs the engine is packed into batches that run in
a pool beside local Helm charts. Why a batch gives each kustomization exactly what it gets
alone is written beside the batching code (``render.kustomize.Packer``).

Between the two sides of a ``diff``, a kustomization that read no changed file on one side
is skipped on the other without a walk (``skips``): its graph is the same on both sides,
since every file it reads is.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitplane.proc import Engine
from gitplane.render import Rendered, batch, directory, helm, kustomize
from gitplane.repo import Repository
from gitplane.yamlio import ParsedFiles

#: The most kustomizations rendered by one engine run.
BATCH_SIZE = 64


@dataclass(frozen=True)
class HelmRelease:
    """How Argo CD installs a local chart: its ``helm`` settings, the release name and
    namespace, and the trees of the Application's ``ref`` sources (for ``$ref`` values)."""

    values: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    namespace: str = ""
    refs: dict[str, Repository] = field(default_factory=dict)
    #: the Application's file and line: where its own values (and a cached chart's
    #: problems) are reported
    origin: tuple[str, int] = ("", 0)
    cached: bool = False  # the chart is a Helm repository's, unpacked in gitplane's cache
    #: the environment's API versions beyond Kubernetes' own (its CRDs), for
    #: ``.Capabilities.APIVersions``
    api_versions: tuple[str, ...] = ()


def render_helm(repo: Repository, job: Job, cfg: Any) -> Rendered:
    """One Helm job's render (``cfg``: the platform's configuration, for the limits and the
    Kubernetes version)."""
    release = job.release or HelmRelease(name=job.folder.name)
    return helm.build(repo, job.folder, dict(release.values), release.name,
                      release.namespace, dict(release.refs), cfg.render_timeout,
                      cfg.render_memory_mib * 1024 ** 2, cfg.kubernetes_version,
                      origin=release.origin, cached=release.cached,
                      api_versions=list(release.api_versions))


@dataclass(frozen=True)
class Job:
    """One render: ``kind`` (kustomize, directory, file, helm) of ``folder`` with
    ``options`` (the settings that decide it), in the tree ``view`` (default: the
    scheduler's repository)."""

    kind: str
    folder: Path
    options: dict[str, Any] = field(default_factory=dict)
    view: Repository | None = None
    release: HelmRelease | None = None

    @property
    def key(self) -> str:
        return key(self.folder, self.options)


def key(folder: Path, options: dict[str, Any]) -> str:
    """The render of ``folder`` with ``options``: the same key, the same render."""
    if options:
        return f"{folder}?{json.dumps(options, sort_keys=True)}"
    return str(folder)


class Scheduler:
    """Renders each job once, many in parallel; ``done`` holds every render by key."""

    def __init__(self, repo: Repository, engine: Engine, workers: int,
                 changed: set[str] | None = None, parsed: ParsedFiles | None = None,
                 skips: dict[str, Rendered] | None = None) -> None:
        self.repo = repo
        self.engine = engine
        self.workers = workers
        self.changed = changed
        self.skips = skips
        self.done: dict[str, Rendered] = {}
        self.parsed = parsed or ParsedFiles()

    def one(self, job: Job) -> Rendered | kustomize.Pending:
        """The render of one job, or for a kustomization that needs the engine, what the
        engine needs (rendered in batches by :meth:`many`)."""
        repo = job.view or self.repo
        cfg = self.repo.config
        if job.kind == "helm":
            return render_helm(repo, job, cfg)
        if job.kind == "kustomize":
            # A kustomization of this side's own tree that the other side of a diff skipped
            # reads no changed file: skipped here too, without a walk.
            skips = self.skips if repo is self.repo else None
            memo = f"{repo.rel(job.folder)}?{json.dumps(job.options, sort_keys=True)}"
            if skips is not None and memo in skips:
                return skips[memo]
            got = kustomize.prepare(repo, self.engine, job.folder, self.parsed,
                                    job.options or None, self.changed)
            if skips is not None and isinstance(got, Rendered) and got.skipped:
                skips[memo] = got
            return got
        if job.kind == "file":
            return directory.build_file(repo, job.folder, self.parsed)
        return directory.build(repo, job.folder, job.options, self.parsed)

    def many(self, jobs: list[Job], step: Callable[[], None] = lambda: None) -> None:
        """Render every job not done yet; ``step`` after each render."""
        todo: dict[str, Job] = {}
        for job in jobs:
            if job.key not in self.done:
                todo[job.key] = job
        if not todo:
            return
        cfg = self.repo.config
        limits = (cfg.render_timeout, cfg.render_memory_mib * 1024 ** 2)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            # Graph walks and cache look-ups are Python work, done here while programs (Helm,
            # the engine) run in the pool. Many kustomizations per engine run: the engine's
            # start-up is most of a small render's time. A batch goes to the engine when it
            # is full, or at once when a worker is idle.
            packer = batch.Packer(BATCH_SIZE)
            helm_jobs: dict[str, Future[Any]] = {}
            batches: list[tuple[list[kustomize.Pending], Future[list[Rendered]]]] = []
            keys: dict[int, str] = {}

            def submit(groups: list[list[kustomize.Pending]]) -> None:
                batches.extend((g, pool.submit(batch.render_batch, self.engine, g, *limits))
                               for g in groups)

            for k, job in sorted(todo.items()):
                if job.kind == "helm":
                    helm_jobs[k] = pool.submit(self.one, job)
                    continue
                got = self.one(job)
                if isinstance(got, kustomize.Pending):
                    keys[id(got)] = k
                    submit(packer.add(got))
                    if sum(1 for _, f in batches if not f.done()) < self.workers:
                        submit(packer.drain())
                else:
                    self.done[k] = got
                    step()
            submit(packer.drain())
            for k, fut in helm_jobs.items():
                self.done[k] = fut.result()
                step()
            for group, run in batches:
                for p, rendered in zip(group, run.result(), strict=True):
                    self.done[keys[id(p)]] = rendered
                    step()
