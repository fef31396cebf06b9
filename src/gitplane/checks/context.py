"""What a rule sees: the units (what each Application, or a bootstrap overlay no Application
deploys, rendered), an index of every object of an environment, and how a finding on an
object is made. Rules import this module; the registry and the engine that runs them are
the package itself."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterator

from gitplane.k8s import ANY_NAMESPACE, LONG_RUNNING, crd_scopes, pod_specs, secrets_made
from gitplane.model import Finding, Resource
from gitplane.platform import AppResult, EnvResult, Platform, root_name
from gitplane.repo import normalize_url


@dataclass
class Unit:
    """What one Application (or a bootstrap overlay no Application deploys) rendered."""

    environment: str
    application: str
    resources: list[Resource]
    files: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class SchemaSettings:
    """Where the ``schema`` rule finds schemas: gitplane.yaml's settings, widened by the
    command line's for one run (the loaded configuration is never changed)."""

    kubernetes_version: str
    locations: list[str]
    allow_network: bool = False


@dataclass
class Context:
    platform: Platform
    only_app: str | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    schemas: SchemaSettings | None = None  # None: gitplane.yaml's settings

    def schema_settings(self) -> SchemaSettings:
        if self.schemas is not None:
            return self.schemas
        cfg = self.platform.repo.config
        return SchemaSettings(cfg.kubernetes_version, list(cfg.schema_locations),
                              cfg.allow_network)

    def units(self) -> Iterator[Unit]:
        for er in self.platform.envs:
            yield from units_of(er, self.only_app)

    def apps(self) -> Iterator[tuple[EnvResult, AppResult]]:
        """(environment, Application) of every Application judged (``only_app``'s only)."""
        for er in self.platform.envs:
            for ar in er.apps:
                if not self.only_app or ar.app.name == self.only_app:
                    yield er, ar

    def stage(self, rule: str) -> Iterator[Finding]:
        for f in self.platform.findings:
            if f.rule == rule and (not self.only_app or f.application == self.only_app):
                yield f


def units_of(er: EnvResult, only_app: str | None) -> Iterator[Unit]:
    covered: set[str] = set()
    for ar in er.apps:
        for src in ar.app.sources:
            if src.path is not None:
                covered.add(src.path.strip("/"))
        if not only_app or ar.app.name == only_app:
            yield Unit(er.env.name, ar.app.name, ar.resources, ar.files)
    if only_app:
        return
    for root, rendered in sorted(er.roots.items()):
        if root not in covered:
            yield Unit(er.env.name, root_name(root), rendered.resources, rendered.files)


def pods(ctx: Context, long_running: bool = False
         ) -> Iterator[tuple[Unit, Resource, tuple[str, ...], dict[str, Any]]]:
    """(unit, object, path of its pod spec, pod spec) of every pod template rendered: core
    workloads, and custom resources holding pod templates (Kubeflow jobs, Argo Rollouts)."""
    for unit in ctx.units():
        for res in unit.resources:
            if long_running and res.kind not in LONG_RUNNING:
                continue
            for path, spec in pod_specs(res):
                yield unit, res, path, spec


@dataclass
class EnvIndex:
    """Every rendered object of one environment, by (kind, namespace, name), with the unit
    that renders it; the namespaces external (unrendered) Applications deploy into."""

    objects: dict[tuple[str, str, str], list[tuple[Unit, Resource]]]
    external_namespaces: dict[str, list[str]]
    by_kind: dict[str, list[tuple[Unit, Resource]]] = field(default_factory=dict)
    #: (kind, name) made in namespaces chosen at run time (ClusterExternalSecret)
    anywhere: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        for (kind, _, _), items in sorted(self.objects.items()):
            self.by_kind.setdefault(kind, []).extend(items)

    def has(self, kind: str, namespace: str, name: str) -> bool:
        return bool(self.objects.get((kind, namespace, name))) or (kind, name) in self.anywhere

    def of_kind(self, kind: str) -> list[tuple[Unit, Resource]]:
        return self.by_kind.get(kind, [])


def env_crds(ctx: Context, er: EnvResult) -> dict[tuple[str, str], str]:
    """(group, kind) → scope of the CRDs an environment's Applications render (computed once
    per run, for every rule that asks)."""
    cache = ctx.cache.setdefault("env-crds", {})
    if er.env.name not in cache:
        cache[er.env.name] = crd_scopes(r.obj for ar in er.apps for r in ar.resources)
    scopes: dict[tuple[str, str], str] = cache[er.env.name]
    return scopes


def env_index(ctx: Context, env: str) -> EnvIndex:
    cache = ctx.cache.setdefault("env-index", {})
    if env not in cache:
        objects: dict[tuple[str, str, str], list[tuple[Unit, Resource]]] = {}
        external: dict[str, list[str]] = {}
        anywhere: set[tuple[str, str]] = set()
        er = next(e for e in ctx.platform.envs if e.env.name == env)
        for unit in units_of(er, None):
            for res in unit.resources:
                objects.setdefault((res.kind, res.namespace, res.name), []).append((unit, res))
                for ns, name in secrets_made(res):  # operators make Secrets of these
                    objects.setdefault(("Secret", ns, name), []).append((unit, res))
                    if ns == ANY_NAMESPACE:
                        anywhere.add(("Secret", name))
        for ar in er.apps:
            if "external" in ar.app.kinds or not ar.rendered:
                ns = ar.app.destination.get("namespace", "")
                external.setdefault(ns, []).append(ar.app.name)
        cache[env] = EnvIndex(objects, external, anywhere=anywhere)
    index: EnvIndex = cache[env]
    return index


def without_env(text: str, env: str) -> str:
    """``text`` with the environment's name removed as a whole path segment or as a
    ``-``/``_``/``.``-separated token of one (``overlays/staging``, ``svc-a-staging``)."""
    out = []
    for seg in text.strip("/").split("/"):
        if seg == env:
            continue
        tokens = re.split(r"([-_.])", seg)  # words at even places, separators between
        words = tokens[::2]
        if env in words and len(words) > 1:
            i = words.index(env) * 2
            if i:
                del tokens[i - 1:i + 1]  # the separator before it, and it
            else:
                del tokens[0:2]  # it, and the separator after it
            seg = "".join(tokens)
        out.append(seg)
    return "/".join(out)


def counterpart_key(ar: Any, env: str) -> str:
    """What an Application deploys, the same in every environment: its sources (repository,
    chart, path) with the environment's name taken out of paths; its name (likewise) when it
    has no source that says more. Applications of two environments match by this key, not
    by their names (which often carry the environment: ``svc-a-staging``)."""
    parts = []
    for src in ar.app.sources:
        if src.chart:
            parts.append(f"{normalize_url(src.repo_url)}#{src.chart}")
        elif src.path is not None:
            parts.append(f"{normalize_url(src.repo_url)}:{without_env(src.path, env)}")
    return "|".join(parts) or f"name:{without_env(ar.app.name, env)}"


def resource_finding(rule: str, severity: str, unit: Unit, res: Resource, message: str,
                     *path: str | int) -> Finding:
    return Finding(unit.environment, unit.application, res.file,
                   res.line_of(*path) if path else res.line, rule, res.id, severity, message)
