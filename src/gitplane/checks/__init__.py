"""Checks: one module per rule, registered in :data:`RULES`; the engine collects and sorts.

A rule module has ``ID``, ``SEVERITY``, a docstring that is its documentation (with a failing
and a passing example) and ``check(ctx) -> Iterator[Finding]``. Rules produced by a pipeline
stage (YAML reading, kustomize, discovery) report what that stage found.
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Iterator

from gitplane.argocd.discover import EnvResult, Platform, root_name
from gitplane.checks import (argocd_destination, argocd_no_applications, argocd_duplicate_name, argocd_generator,
                             argocd_invalid, argocd_path_missing, argocd_project,
                             argocd_unpinned, deprecated_api, image_tag_mutable,
                             kustomize_build, kustomize_deprecated, plaintext_secret,
                             probes_missing, resources_missing, sealed_secret_scope,
                             security_context, reference_missing, service_selector,
                             ingress_backend, ingress_class, issuer_missing,
                             duplicate_resource, crd_order, quota_exceeded,
                             env_missing_overlay, env_config_drift, yaml_ambiguous,
                             orphan_overlay, schema, schema_unknown_kind,
                             source_not_rendered, yaml_duplicate_key, yaml_syntax)
from gitplane import kinds
from gitplane.model import Finding, Resource

RULES: dict[str, ModuleType] = {m.ID: m for m in (
    yaml_syntax, yaml_duplicate_key, kustomize_build, schema, schema_unknown_kind,
    argocd_path_missing, argocd_generator, argocd_invalid, argocd_duplicate_name,
    argocd_no_applications,
    source_not_rendered, orphan_overlay, image_tag_mutable, argocd_project,
    argocd_destination, argocd_unpinned, resources_missing, probes_missing, security_context,
    plaintext_secret, sealed_secret_scope, deprecated_api, kustomize_deprecated,
    reference_missing, service_selector, ingress_backend, ingress_class, issuer_missing,
    duplicate_resource, crd_order, quota_exceeded, env_missing_overlay, env_config_drift,
    yaml_ambiguous,
)}


@dataclass
class Unit:
    """What one Application (or a bootstrap overlay no Application deploys) rendered."""

    environment: str
    application: str
    resources: list[Resource]
    files: set[str] = field(default_factory=set)


@dataclass
class Context:
    platform: Platform
    only_app: str | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    def units(self) -> Iterator[Unit]:
        for er in self.platform.envs:
            yield from _units(er, self.only_app)

    def stage(self, rule: str) -> Iterator[Finding]:
        for f in self.platform.findings:
            if f.rule == rule and (not self.only_app or f.application == self.only_app):
                yield f


def _units(er: EnvResult, only_app: str | None) -> Iterator[Unit]:
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

    def summary(self) -> dict[str, int]:
        return {"environments": len(self.platform.envs), "applications": self.applications,
                "notRendered": self.not_rendered, "resources": self.resources,
                "errors": self.errors, "warnings": self.warnings}

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary(), "findings": [f.to_json() for f in self.findings]}


SUPPRESS = "gitplane.io/suppress"


def suppressions(ctx: Context) -> dict[tuple[str, str, str], set[str]]:
    """(environment, application, resource) → rule ids its ``gitplane.io/suppress``
    annotation silences (``"rule-a, rule-b: the reason"``; a reason is required)."""
    out: dict[tuple[str, str, str], set[str]] = {}
    for unit in ctx.units():
        for res in unit.resources:
            text = dig(res.obj, "metadata", "annotations", SUPPRESS)
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


def _guarded(rid: str, rule: ModuleType, ctx: Context) -> Iterator[Finding]:
    """A rule's findings. A rule that breaks on an object nobody foresaw does not go silent:
    the objects it breaks on are found (by bisection over the rendered objects) and each is
    one finding; the rule's findings on every other object are still reported. A failure
    no object explains is one finding for the rule. Every other rule still runs."""
    try:
        return iter(list(rule.check(ctx)))
    except Exception as exc:  # noqa: BLE001 - isolate one rule's bug from the verdict
        first = exc
    everything = _all_resources(ctx.platform)

    def attempt(excluded: set[int]) -> list[Finding] | Exception:
        try:
            return list(rule.check(Context(_without(ctx.platform, excluded), ctx.only_app)))
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


def dig(value: Any, *keys: str | int) -> Any:
    """``value[k1][k2]...`` or None as soon as a step is missing or not a mapping/list."""
    for k in keys:
        if isinstance(k, int) and isinstance(value, list) and 0 <= k < len(value):
            value = value[k]
        elif isinstance(k, str) and isinstance(value, dict):
            value = value.get(k)
        else:
            return None
    return value


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping, else an empty one (malformed input is schema's job)."""
    return value if isinstance(value, dict) else {}


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
            for path in kinds.secret_fields(res.api_version, res.kind):
                add(dig(res.obj, *path))
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


def run(platform: Platform, only_app: str | None = None, strict: bool = False) -> Result:
    """Every rule over the platform; configured severities and exclusions and inline
    suppressions applied; findings de-duplicated and sorted."""
    ctx = Context(platform, only_app)
    configured = platform.repo.config.rules
    silenced = suppressions(ctx)
    found: set[Finding] = set()
    for rid, rule in RULES.items():
        rc = configured.get(rid)
        if rc is not None and rc.severity == "off":
            continue
        for f in _guarded(rid, rule, ctx):
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
    unrendered = sum(1 for a in chosen if not a.rendered or
                     set(a.app.kinds) - {"kustomize", "directory", "ref"})
    return Result(platform, sorted(found), len(chosen), sum(len(u.resources) for u in units),
                  unrendered)


WORKLOADS = {"Deployment": ("spec", "template", "spec"), "StatefulSet": ("spec", "template", "spec"),
             "DaemonSet": ("spec", "template", "spec"), "ReplicaSet": ("spec", "template", "spec"),
             "ReplicationController": ("spec", "template", "spec"),
             "Job": ("spec", "template", "spec"),
             "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"), "Pod": ("spec",)}
LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"}


def pod_spec(res: Resource) -> tuple[tuple[str, ...], dict[str, Any]] | None:
    """The pod spec of a core workload and its path in the object, or None."""
    path = WORKLOADS.get(res.kind)
    if path is None or not res.api_version.split("/")[0] in ("v1", "apps", "batch"):
        return None
    cur: Any = res.obj
    for step in path:
        cur = cur.get(step) if isinstance(cur, dict) else None
    return (path, cur) if isinstance(cur, dict) else None


def pods(ctx: Context, long_running: bool = False
         ) -> Iterator[tuple[Unit, Resource, tuple[str, ...], dict[str, Any]]]:
    """(unit, workload, path of its pod spec, pod spec) of every core workload rendered."""
    for unit in ctx.units():
        for res in unit.resources:
            if long_running and res.kind not in LONG_RUNNING:
                continue
            found = pod_spec(res)
            if found is not None:
                yield unit, res, found[0], found[1]


def containers(spec: dict[str, Any], init: bool = True) -> list[tuple[str, int, dict]]:
    """(field, index, container) of a pod spec: containers, then initContainers."""
    out = []
    for fld in ("containers", "initContainers") if init else ("containers",):
        items = spec.get(fld)
        for i, c in enumerate(items if isinstance(items, list) else []):
            if isinstance(c, dict):
                out.append((fld, i, c))
    return out


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


#: What makes a Secret at run time, as data: (group, kind) → (paths to the Secret's name,
#: tried in order, the object's own name when none is set; suffixes added to that name;
#: whether the namespace is chosen at run time). The next operator is one line.
SECRET_MAKERS: dict[tuple[str, str], tuple[tuple[tuple[str, ...], ...], tuple[str, ...], bool]] = {
    ("bitnami.com", "SealedSecret"): ((("spec", "template", "metadata", "name"),), ("",), False),
    ("external-secrets.io", "ExternalSecret"): ((("spec", "target", "name"),), ("",), False),
    ("external-secrets.io", "ClusterExternalSecret"): (
        (("spec", "externalSecretSpec", "target", "name"), ("spec", "externalSecretName")),
        ("",), True),
    ("cert-manager.io", "Certificate"): ((("spec", "secretName"),), ("",), False),
    ("postgresql.cnpg.io", "Cluster"): ((), ("-app", "-superuser", "-ca", "-replication",
                                             "-server"), False),
    ("secretgenerator.mittwald.de", "StringSecret"): ((), ("",), False),
    ("onepassword.com", "OnePasswordItem"): ((), ("",), False),
    ("secrets.hashicorp.com", "VaultStaticSecret"): ((("spec", "destination", "name"),), ("",),
                                                     False),
    ("secrets.hashicorp.com", "VaultDynamicSecret"): ((("spec", "destination", "name"),),
                                                      ("",), False),
    ("bitwarden-k8s.io", "BitwardenSecret"): ((("spec", "secretName"),), ("",), False),
}
#: Annotations whose value names a Secret a controller makes beside the object:
#: OpenShift's service CA operator.
SECRET_ANNOTATIONS = ("service.beta.openshift.io/serving-cert-secret-name",
                      "service.alpha.openshift.io/serving-cert-secret-name")
ANY_NAMESPACE = "*"


def secrets_made(res: Resource) -> list[tuple[str, str]]:
    """(namespace, name) of the Secrets a controller makes from ``res`` (namespace ``*``:
    chosen at run time)."""
    out: list[tuple[str, str]] = []
    maker = SECRET_MAKERS.get((res.api_version.rpartition("/")[0], res.kind))
    if maker is not None:
        paths, suffixes, anywhere = maker
        name = next((str(v) for p in paths if isinstance(v := dig(res.obj, *p), str) and v),
                    res.name)
        ns = ANY_NAMESPACE if anywhere else res.namespace
        out.extend((ns, name + suffix) for suffix in suffixes if name)
    annotations = dig(res.obj, "metadata", "annotations")
    if isinstance(annotations, dict):
        for key in SECRET_ANNOTATIONS:
            if isinstance(annotations.get(key), str) and annotations[key]:
                out.append((res.namespace, annotations[key]))
    return out


def env_index(ctx: Context, env: str) -> EnvIndex:
    cache = ctx.cache.setdefault("env-index", {})
    if env not in cache:
        objects: dict[tuple[str, str, str], list[tuple[Unit, Resource]]] = {}
        external: dict[str, list[str]] = {}
        anywhere: set[tuple[str, str]] = set()
        er = next(e for e in ctx.platform.envs if e.env.name == env)
        for unit in _units(er, None):
            for res in unit.resources:
                objects.setdefault((res.kind, res.namespace, res.name), []).append((unit, res))
                for ns, name in secrets_made(res):  # operators make Secrets of these
                    objects.setdefault(("Secret", ns, name), []).append((unit, res))
                    if ns == ANY_NAMESPACE:
                        anywhere.add(("Secret", name))
        for ar in er.apps:
            if any(k in ("external", "helm") for k in ar.app.kinds) or not ar.rendered:
                ns = ar.app.destination.get("namespace", "")
                external.setdefault(ns, []).append(ar.app.name)
        cache[env] = EnvIndex(objects, external, anywhere=anywhere)
    return cache[env]


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
    from gitplane.repo import normalize_url

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
