"""What discovery and rendering produce: per environment, every Application and what its
sources rendered to. The input of checks, reports, ``render -o`` and ``diff``.

These hold a repository and renders, so they sit above ``repo`` and ``render`` (and below
Argo CD discovery, which fills them); the ground-floor values are in ``gitplane.model``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from gitplane.model import Application, Environment, Finding, Resource
from gitplane.proc import Engine
from gitplane.render import Problem, Rendered
from gitplane.repo import Repository
from gitplane.yamlio import ParsedFiles

Progress = Callable[[int, int], None]

#: source types gitplane renders (the others: another repository, a plugin, a chart not in
#: the cache, a source refused)
RENDERED_KINDS = frozenset({"kustomize", "directory", "ref", "helm"})


@dataclass
class AppResult:
    """One Application in one environment, with what its sources rendered to."""

    app: Application
    resources: list[Resource] = field(default_factory=list)
    rendered: bool = False  # every local source rendered without a problem
    views: list[Repository] = field(default_factory=list)  # per source: the tree it reads
    files: set[str] = field(default_factory=set)  # every repository file its renders read
    #: the files its renders read in the tree being discovered (not in other revisions)
    local_files: set[str] = field(default_factory=set)

    @property
    def fully_rendered(self) -> bool:
        """Every source rendered without a problem, and each of a type gitplane renders."""
        return self.rendered and not set(self.app.kinds) - RENDERED_KINDS


@dataclass
class EnvResult:
    env: Environment
    apps: list[AppResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    roots: dict[str, Rendered] = field(default_factory=dict)
    clusters: list[dict[str, Any]] = field(default_factory=list)  # the cluster inventory
    by_name: dict[str, AppResult] = field(default_factory=dict, repr=False)


@dataclass
class Platform:
    """The result of discovery and rendering: the input of checks, reports and render -o."""

    repo: Repository
    envs: list[EnvResult]
    engine_version: str
    parsed: ParsedFiles = field(default_factory=ParsedFiles, repr=False)  # files read, parsed

    @property
    def findings(self) -> list[Finding]:
        return [f for e in self.envs for f in e.findings]


def engine_for(repo: Repository) -> Engine:
    """The Kustomize engine for ``repo``, with the Kubernetes version Helm is given when a
    kustomization inflates charts (``helmCharts``)."""
    engine = Engine(repo.config.kustomize, repo.top)
    engine.kube_version = repo.config.kubernetes_version
    return engine


def root_name(root: str) -> str:
    """How findings name a root: ``bootstrap/argocd`` in the seed's layout, else its path."""
    parts = root.split("/")
    if "bootstrap" in parts and "environments" in parts:
        return "bootstrap/" + parts[parts.index("environments") - 1]
    return root


def finding_of(p: Problem, env: str, app: str) -> Finding:
    return Finding(env, app, p.file, p.line, p.rule, p.resource, p.severity, p.message)


__all__ = ["Platform", "EnvResult", "AppResult", "Progress", "root_name", "finding_of",
           "engine_for", "RENDERED_KINDS"]
