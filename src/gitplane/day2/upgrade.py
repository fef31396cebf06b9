"""``gitplane upgrade``: move a pinned chart to another version, everywhere at once.

A chart is pinned by the ``targetRevision`` of every Application (or ApplicationSet template)
that installs it, and in the platform's versions file (``deployments/versions.yaml``, written
by ``gitplane init``); the upgrade edits all of them in one change, refuses when they
disagree, refuses a downgrade unless forced, lists the upstream upgrade notes of the versions
crossed (gitplane's version table, and any chart major version crossed), checks what a note
requires of the platform where it can (Argo CD 3.3's server-side apply), and renders the
result: with the new chart in gitplane's cache, the rendered difference; without it, said.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from gitplane.day2 import Edit, Effect, check_minimal, effect, load, read_inside, \
    require_clean, scratch_platform
from gitplane.errors import GitplaneError
from gitplane.platform import Platform
from gitplane.render import charts
from gitplane.repo import Repository, normalize_url
from gitplane.scaffold.edit import set_scalars

VERSIONS_FILE = "versions.yaml"


@dataclass(frozen=True)
class Pin:
    environment: str
    application: str
    file: str
    applicationset: str
    repo_url: str
    chart: str
    version: str
    index: int  # -1: spec.source, else spec.sources[index]


@dataclass
class Upgrade:
    chart: str
    repo_url: str
    current: str
    target: str
    pins: list[Pin]
    notes: list[dict[str, str]] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    effect: Effect = field(default_factory=Effect)
    warnings: list[str] = field(default_factory=list)
    rendered: bool = False  # the new chart was in the cache and rendered
    written: bool = False
    commit: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"chart": self.chart, "repoURL": self.repo_url, "from": self.current,
                "to": self.target, "notes": self.notes,
                "pins": sorted({(p.file, p.application) for p in self.pins}),
                "edits": [e.to_json() for e in self.edits],
                "rendered": self.rendered, "effect": self.effect.to_json(),
                "warnings": self.warnings, "written": self.written,
                "commit": self.commit or None}


def _key(version: str) -> tuple[int, int, int, int, str]:
    parsed = charts.parse(version)
    if parsed is None:
        raise GitplaneError(f"'{version}' is not a version (MAJOR.MINOR.PATCH)")
    return parsed[0], parsed[1], parsed[2], 0 if parsed[3] else 1, parsed[3]


def pins(platform: Platform) -> list[Pin]:
    """Every chart of a Helm repository an Application installs, with where it is pinned."""
    out = []
    for er in platform.envs:
        for ar in er.apps:
            spec = ar.app.doc.get("spec") if isinstance(ar.app.doc.get("spec"), dict) else {}
            multiple = isinstance(spec, dict) and isinstance(spec.get("sources"), list)
            for i, s in enumerate(ar.app.sources):
                if s.chart and not charts.is_oci(s.repo_url):
                    out.append(Pin(er.env.name, ar.app.name, ar.app.origin.file,
                                   ar.app.origin.applicationset or "", s.repo_url, s.chart,
                                   s.target_revision, i if multiple else -1))
    return out


def _table() -> list[dict[str, Any]]:
    data = json.loads((resources.files("gitplane") / "data" / "versions.json")
                      .read_text(encoding="utf-8"))
    return list(data["components"].values())


def notes(chart: str, repo_url: str, current: str, target: str) -> list[dict[str, str]]:
    """The upgrade notes of the versions crossed from ``current`` to ``target``."""
    out: list[dict[str, str]] = []
    lo, hi = _key(current), _key(target)
    for entry in _table():
        if entry.get("chart") != chart or normalize_url(str(entry.get("repo", ""))) != \
                normalize_url(repo_url):
            continue
        for n in entry.get("notes", []):
            if lo < _key(str(n["version"])) <= hi:
                out.append({k: str(v) for k, v in n.items()})
    if hi[0] > lo[0]:
        out.append({"version": f"{hi[0]}.0.0", "note": f"chart major version {lo[0]} → "
                    f"{hi[0]}: values may be renamed or removed; read the chart's release "
                    "notes and compare the rendered difference"})
    return sorted(out, key=lambda n: _key(n["version"]))


def _versions_file(repo: Repository) -> str | None:
    rel = repo.rel(repo.deployments / VERSIONS_FILE)
    return rel if (repo.top / rel).is_file() else None


def inventory(repo: Repository, platform: Platform) -> list[dict[str, Any]]:
    """Per chart: the versions pinned, the versions file's, the newest stable version of
    the last index gitplane cached, and where it is installed."""
    declared = _declared(repo)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for p in pins(platform):
        row = rows.setdefault((p.chart, normalize_url(p.repo_url)), {
            "chart": p.chart, "repoURL": p.repo_url, "pinned": set(), "applications": set()})
        row["pinned"].add(p.version)
        row["applications"].add(p.application)
    out = []
    for (chart, _), row in sorted(rows.items()):
        known = charts.known_versions(row["repoURL"], chart)
        stable = [v for v in known or [] if (parsed := charts.parse(v)) and not parsed[3]]
        out.append({"chart": chart, "repoURL": row["repoURL"],
                    "pinned": sorted(row["pinned"]),
                    "versionsFile": declared.get(chart, {}).get("version"),
                    "newest": max(stable, key=_key) if stable else None,
                    "applications": sorted(row["applications"])})
    return out


def _declared(repo: Repository) -> dict[str, dict[str, str]]:
    import yaml

    rel = _versions_file(repo)
    if rel is None:
        return {}
    try:
        data = yaml.safe_load(read_inside(repo, rel).decode("utf-8")) or {}
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise GitplaneError(f"{rel}: cannot read it ({exc})") from None
    found = data.get("charts") if isinstance(data, dict) else None
    return {str(k): {kk: str(vv) for kk, vv in v.items()} for k, v in (found or {}).items()
            if isinstance(v, dict)}


def _edit_file(repo: Repository, rel: str, mine: list[Pin], chart: str, target: str) -> Edit:
    path = repo.top / rel

    def find(docs: list[Any]) -> list[tuple[Any, Any, str]]:
        out = []
        for doc in docs:
            if not isinstance(doc, dict):
                continue
            kind = doc.get("kind")
            name = (doc.get("metadata") or {}).get("name")
            if kind == "Application" and any(p.application == name and not p.applicationset
                                             for p in mine):
                spec = doc.get("spec") or {}
            elif kind == "ApplicationSet" and any(p.applicationset == name for p in mine):
                spec = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
            else:
                continue
            sources = [spec["source"]] if isinstance(spec.get("source"), dict) else []
            sources += [s for s in spec.get("sources") or [] if isinstance(s, dict)]
            for s in sources:
                if s.get("chart") != chart or "targetRevision" not in s:
                    continue
                if "{{" in str(s.get("targetRevision", "")):
                    raise GitplaneError(f"{rel}: {name}'s targetRevision is templated; edit "
                                        "it by hand; nothing written")
                out.append((s, "targetRevision", target))
        return out

    old = read_inside(repo, rel)
    count = [0]

    def counted(docs: list[Any]) -> list[tuple[Any, Any, str]]:
        found = find(docs)
        count[0] = len(found)
        return found

    new = set_scalars(path, counted, rel)
    e = Edit(rel, old, new, f"{chart} targetRevision → {target} ({count[0]})")
    check_minimal(e, replaced=count[0], inserted=0)
    return e


def upgrade(repo: Repository, component: str, to: str | None, force: bool = False,
            roots: list[str] | None = None, progress: Any = None) -> Upgrade:
    """The upgrade planned, edited and rendered (not written)."""
    before = load(repo, roots, progress)
    every = pins(before)
    found = [p for p in every if p.chart == component]
    if not found:
        known = sorted({p.chart for p in every})
        raise GitplaneError(f"unknown component '{component}': no Application installs a "
                            f"chart of that name (charts: {', '.join(known) or 'none'})")
    urls = {normalize_url(p.repo_url) for p in found}
    if len(urls) > 1:
        raise GitplaneError(f"chart '{component}' comes from several repositories "
                            f"({', '.join(sorted(urls))}); edit them by hand")
    versions = {p.version for p in found}
    declared = _declared(repo).get(component, {}).get("version")
    if len(versions) > 1 or (declared is not None and declared not in versions):
        where = ", ".join(sorted({f"{p.application} in {p.environment}: {p.version}"
                                  for p in found}))
        raise GitplaneError(f"'{component}' is pinned at different versions ({where}"
                            f"{'; ' + VERSIONS_FILE + ': ' + declared if declared else ''}); "
                            "make them agree first")
    current = versions.pop()
    if not charts.is_exact(current):
        raise GitplaneError(f"'{component}' is pinned by a range ({current}): Argo CD follows "
                            "it already; pin a version to upgrade it")
    if to is None:
        index = charts.known_versions(found[0].repo_url, component)
        stable = [v for v in index or [] if (parsed := charts.parse(v)) and not parsed[3]]
        if not stable:
            raise GitplaneError(f"no newer version of '{component}' is known offline: give "
                                "--to VERSION (or 'gitplane charts pull --allow-network' to "
                                "cache the chart repository's index)")
        to = max(stable, key=_key)
    if to.startswith("v") != current.startswith("v") and charts.parse(to):
        to = ("v" + to) if current.startswith("v") else to.lstrip("v")
    if _key(to) == _key(current):
        return Upgrade(component, found[0].repo_url, current, to, found)
    if _key(to) < _key(current) and not force:
        raise GitplaneError(f"{to} is older than {current}: a downgrade is refused "
                            "(--force allows it; charts rarely support it)")
    result = Upgrade(component, found[0].repo_url, current, to, found,
                     notes(component, found[0].repo_url, current, to))
    if _key(to) < _key(current):
        result.warnings.append(f"downgrade {current} → {to}, forced")
    for n in result.notes:
        need = n.get("requires")
        if need:
            missing = sorted({p.application for p in found if not _has_option(before, p, need)})
            n["platform"] = (f"not set on {', '.join(missing)}: add it before upgrading"
                             if missing else f"{need} is set")
    for rel in sorted({p.file for p in found}):
        result.edits.append(_edit_file(repo, rel, [p for p in found if p.file == rel],
                                       component, to))
    vfile = _versions_file(repo)
    if vfile is not None and declared is not None:
        old = read_inside(repo, vfile)
        new = set_scalars(repo.top / vfile, lambda docs: [(docs[0]["charts"][component],
                                                           "version", to)], vfile)
        e = Edit(vfile, old, new, f"{component}: {current} → {to}")
        check_minimal(e, replaced=1, inserted=0)
        result.edits.append(e)
    require_clean(repo, [e.path for e in result.edits])
    after = scratch_platform(repo, result.edits, roots)
    chosen = {(p.environment, p.application) for p in found}
    # the pins themselves: the Application (or ApplicationSet) objects a parent renders
    pinned = {("Application", p.application) for p in found if not p.applicationset} | \
        {("ApplicationSet", p.applicationset) for p in found if p.applicationset}

    def intended(c: Any, a: Any, b: Any) -> bool:
        obj = a or b or {}
        name = (obj.get("metadata") or {}).get("name")
        return (c.environment, c.application) in chosen or (
            str(obj.get("apiVersion", "")).startswith("argoproj.io/") and
            (obj.get("kind"), name) in pinned)

    result.effect = effect(before, after, intended)
    result.rendered = charts.cached(found[0].repo_url, component, to) is not None
    if not result.rendered:
        result.warnings.append(f"chart {component} {to} is not in gitplane's cache: the "
                               "rendered difference is not shown ('gitplane charts pull "
                               "--allow-network' fetches it)")
    return result


def _has_option(platform: Platform, pin: Pin, option: str) -> bool:
    er = next(e for e in platform.envs if e.env.name == pin.environment)
    spec = er.by_name[pin.application].app.doc.get("spec") or {}
    options = ((spec.get("syncPolicy") or {}) if isinstance(spec, dict) else {}).get(
        "syncOptions") or []
    return option in [str(o) for o in options]


__all__ = ["upgrade", "inventory", "notes", "pins", "Upgrade", "Pin", "VERSIONS_FILE"]
