"""Checks: one module per rule, registered in :data:`RULES`; the engine collects and sorts.

A rule module has ``ID``, ``SEVERITY``, a docstring that is its documentation (with a failing
and a passing example) and ``check(ctx) -> Iterator[Finding]``. Rules produced by a pipeline
stage (YAML reading, kustomize, discovery) report what that stage found.
"""
from __future__ import annotations

import fnmatch
import sys
import traceback
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from collections.abc import Iterator

from gitplane.platform import Platform, root_name
from gitplane.checks import (argocd_destination, argocd_duplicate_name, argocd_generator,
                             argocd_invalid, argocd_no_applications, argocd_path_missing,
                             argocd_project, argocd_sync_retry, argocd_unpinned,
                             component_retired, crd_order, deprecated_api, duplicate_resource,
                             env_config_drift, env_missing_overlay, helm_template, helm_values,
                             image_tag_mutable, ingress_backend, ingress_class, issuer_missing,
                             kustomize_build, kustomize_deprecated, namespace_missing,
                             orphan_overlay, placeholder_value, plaintext_secret,
                             pod_security_labels, probes_missing, quota_exceeded,
                             reference_missing, resources_missing, schema, schema_unknown_kind,
                             sealed_secret_scope, security_context, service_selector,
                             setting_unfilled, source_not_rendered, yaml_ambiguous,
                             yaml_duplicate_key, yaml_syntax)
from gitplane import k8s
from gitplane.config import FILENAME, Config
from gitplane.errors import ConfigError
from gitplane.checks.context import Context, SchemaSettings, Unit, resource_finding
from gitplane.model import Finding, Resource

RULES: dict[str, ModuleType] = {m.ID: m for m in (
    yaml_syntax, yaml_duplicate_key, kustomize_build, helm_values, helm_template, schema,
    schema_unknown_kind,
    argocd_path_missing, argocd_generator, argocd_invalid, argocd_duplicate_name,
    argocd_no_applications,
    source_not_rendered, orphan_overlay, image_tag_mutable, argocd_project,
    argocd_destination, argocd_sync_retry, placeholder_value, component_retired,
    pod_security_labels, namespace_missing, setting_unfilled,
    argocd_unpinned, resources_missing, probes_missing, security_context,
    plaintext_secret, sealed_secret_scope, deprecated_api, kustomize_deprecated,
    reference_missing, service_selector, ingress_backend, ingress_class, issuer_missing,
    duplicate_resource, crd_order, quota_exceeded, env_missing_overlay, env_config_drift,
    yaml_ambiguous,
)}


def validate(config: Config) -> None:
    """The rule ids ``gitplane.yaml`` names are rules of this registry (a ConfigError with
    the line otherwise); called before anything renders."""
    for rid, rc in config.rules.items():
        if rid not in RULES:
            raise ConfigError(f"{FILENAME}:{rc.line}: rules: unknown rule id '{rid}' "
                              f"(valid: {', '.join(sorted(RULES))})")


@dataclass
class Result:
    platform: Platform
    findings: list[Finding]
    applications: int
    resources: int
    not_rendered: int = 0  # Applications with a source gitplane did not render

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    @property
    def notices(self) -> int:
        """Findings of severity ``info``: what to fill in or know; they never fail a run."""
        return sum(1 for f in self.findings if f.severity == "info")

    def summary(self) -> dict[str, int]:
        return {"environments": len(self.platform.envs), "applications": self.applications,
                "notRendered": self.not_rendered, "resources": self.resources,
                "errors": self.errors, "warnings": self.warnings, "info": self.notices}

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary(), "findings": [f.to_json() for f in self.findings]}


SUPPRESS = "gitplane.io/suppress"


def suppressions(ctx: Context) -> dict[tuple[str, str, str], set[str]]:
    """(environment, application, resource) → rule ids its ``gitplane.io/suppress``
    annotation silences (``"rule-a, rule-b: the reason"``; a reason is required)."""
    out: dict[tuple[str, str, str], set[str]] = {}
    for unit in ctx.units():
        for res in unit.resources:
            text = k8s.dig(res.obj, "metadata", "annotations", SUPPRESS)
            if not isinstance(text, str):
                continue
            ids, _, reason = text.partition(":")
            rules = {r.strip() for r in ids.split(",") if r.strip()}
            if reason.strip() and rules and rules <= set(RULES):
                out.setdefault((unit.environment, unit.application, res.id), set()).update(rules)
    return out


def _excluded(rc: Any, f: Finding) -> bool:
    return any(fnmatch.fnmatchcase(f.file, e.path) and
               fnmatch.fnmatchcase(f.environment, e.environment) and
               fnmatch.fnmatchcase(f.application, e.application) for e in rc.exclude)


#: At most this many objects are set aside as ones a rule cannot judge, per rule and run.
MAX_CULPRITS = 10


def _guarded(rid: str, rule: ModuleType, ctx: Context, debug: bool = False
             ) -> Iterator[Finding]:
    """A rule's findings. A rule that breaks on an object nobody foresaw does not go silent:
    the objects it breaks on are found (by bisection over the rendered objects) and each is
    one finding; the rule's findings on every other object are still reported. A failure
    no object explains is one finding for the rule. Every other rule still runs."""
    try:
        return iter(list(rule.check(ctx)))
    except Exception as exc:  # noqa: BLE001 - isolate one rule's bug from the verdict
        first = exc
        if debug:
            print(f"rule {rid} raised:", file=sys.stderr)
            traceback.print_exception(exc, file=sys.stderr)
    everything = _all_resources(ctx.platform)

    def attempt(excluded: set[int]) -> list[Finding] | Exception:
        try:
            return list(rule.check(Context(_without(ctx.platform, excluded), ctx.only_app,
                                           schemas=ctx.schemas)))
        except Exception as exc:  # noqa: BLE001
            return exc

    excluded: set[int] = set()
    culprits: list[tuple[Any, Resource, Exception]] = []
    result = attempt({id(r) for _, r in everything})
    if isinstance(result, Exception):  # not an object's doing
        return iter([Finding("", "", "", 0, rid, "", "error",
                             f"rule {rid} could not finish ({type(first).__name__}: {first}); "
                             "please report it with the input")])
    while len(culprits) < MAX_CULPRITS:
        result = attempt(excluded)
        if not isinstance(result, Exception):
            break
        remaining = [(u, r) for u, r in everything if id(r) not in excluded]
        lo, hi = 1, len(remaining)  # the smallest prefix that still breaks the rule
        while lo < hi:
            mid = (lo + hi) // 2
            keep = excluded | {id(r) for _, r in remaining[mid:]}
            if isinstance(attempt(keep), Exception):
                hi = mid
            else:
                lo = mid + 1
        unit, res = remaining[lo - 1]
        failure = attempt(excluded | {id(r) for _, r in remaining[lo:]})
        culprits.append((unit, res, failure if isinstance(failure, Exception) else result))
        excluded.add(id(res))
    else:
        result = attempt(excluded)
    found = [] if isinstance(result, Exception) else result
    for unit, res, err in culprits:
        found.append(Finding(unit[0], unit[1], res.file, res.line, rid, res.id, "error",
                             f"rule {rid} could not judge this object ({type(err).__name__}: "
                             f"{err}); is it well formed? The rule judged every other object"))
    return iter(found)


def _all_resources(platform: Platform) -> list[tuple[tuple[str, str], Resource]]:
    """((environment, application), object) of every rendered object, each once."""
    out: list[tuple[tuple[str, str], Resource]] = []
    seen: set[int] = set()
    for er in platform.envs:
        for ar in er.apps:
            for r in ar.resources:
                if id(r) not in seen:
                    seen.add(id(r))
                    out.append(((er.env.name, ar.app.name), r))
        for root, rendered in sorted(er.roots.items()):
            for r in rendered.resources:
                if id(r) not in seen:
                    seen.add(id(r))
                    out.append(((er.env.name, root_name(root)), r))
    return out


def _without(platform: Platform, excluded: set[int]) -> Platform:
    """A view of ``platform`` without the objects in ``excluded`` (by identity)."""
    from dataclasses import replace

    envs = []
    for er in platform.envs:
        apps = [replace(ar, resources=[r for r in ar.resources if id(r) not in excluded])
                for ar in er.apps]
        roots = {k: replace(v, resources=[r for r in v.resources if id(r) not in excluded])
                 for k, v in er.roots.items()}
        envs.append(replace(er, apps=apps, roots=roots,
                            by_name={a.app.name: a for a in apps}))
    return replace(platform, envs=envs)


#: Values shorter than this are not searched for in messages (they would mangle words).
MIN_SECRET = 4


def secret_values(platform: Platform) -> list[str]:
    """Every secret value the platform's objects hold (as written, decoded from base64, and
    as JSON quotes them), longest first."""
    import base64
    import json as _json

    out: set[str] = set()

    def add(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                add(v)
        elif isinstance(value, list):
            for v in value:
                add(v)
        elif value is not None and not isinstance(value, bool):
            text = str(value)
            for form in (text, _json.dumps(text)[1:-1]):
                if len(form) >= MIN_SECRET:
                    out.add(form)
            try:
                decoded = base64.b64decode(text, validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            if len(decoded) >= MIN_SECRET:
                out.add(decoded)

    for er in platform.envs:
        resources = [r for ar in er.apps for r in ar.resources] + \
            [r for root in er.roots.values() for r in root.resources]
        for res in resources:
            for path in k8s.secret_fields(res.api_version, res.kind):
                add(k8s.dig(res.obj, *path))
    return sorted(out, key=lambda v: (-len(v), v))


def _redacted(f: Finding, values: list[str]) -> Finding:
    message = f.message
    for v in values:
        if v in message:
            message = message.replace(v, "++++++++")
    if message == f.message:
        return f
    return Finding(f.environment, f.application, f.file, f.line, f.rule, f.resource,
                   f.severity, message)


def run(platform: Platform, only_app: str | None = None, strict: bool = False,
        debug: bool = False, schemas: SchemaSettings | None = None) -> Result:
    """Every rule over the platform; configured severities and exclusions and inline
    suppressions applied; findings de-duplicated and sorted."""
    ctx = Context(platform, only_app, schemas=schemas)
    configured = platform.repo.config.rules
    silenced = suppressions(ctx)
    found: set[Finding] = set()
    for rid, rule in RULES.items():
        rc = configured.get(rid)
        if rc is not None and rc.severity == "off":
            continue
        for f in _guarded(rid, rule, ctx, debug):
            if rc is not None and _excluded(rc, f):
                continue
            if rid in silenced.get((f.environment, f.application, f.resource), ()):
                continue
            severity = rc.severity if rc is not None and rc.severity else f.severity
            if strict and severity == "warning":
                severity = "error"
            if severity != f.severity:
                f = Finding(f.environment, f.application, f.file, f.line, f.rule, f.resource,
                            severity, f.message)
            found.add(f)
    values = secret_values(platform)
    if values:  # the one place every finding passes through before any output
        found = {_redacted(f, values) for f in found}
    units = list(ctx.units())
    chosen = [a for er in platform.envs for a in er.apps
              if not only_app or a.app.name == only_app]
    unrendered = sum(1 for a in chosen if not a.fully_rendered)
    return Result(platform, sorted(found), len(chosen), sum(len(u.resources) for u in units),
                  unrendered)


#: The checks' public surface: the registry, the engine, and what a rule is written with.
__all__ = ["RULES", "Result", "run", "validate", "suppressions", "secret_values", "Context",
           "SchemaSettings",
           "Unit", "resource_finding"]
