"""``gitplane release``: a semantic-version tag of the platform and its changelog, built
from what renders differently since the previous tag.

The previous release is the highest ``platform/vX.Y.Z`` tag the commit holds; both sides
are rendered in full (the previous one from a scratch checkout). Per environment and domain
the changelog lists Applications added and removed and, for the others, chart versions,
images, replicas and the objects added, removed and changed (names only: no value of any
object, so no secret, appears); then the commit subjects since the previous tag. The bump is
proposed from the rendered change: an Application, a CRD or a CRD's served version removed
is major; anything added is minor; anything else is patch.
"""
from __future__ import annotations

import datetime
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from gitplane import proc
from gitplane.day2 import Edit, load, read_inside, require_clean
from gitplane.day2.promote import images_of
from gitplane.diff import compare_platforms, platform_at
from gitplane.errors import GitplaneError
from gitplane.platform import AppResult, Platform, engine_for
from gitplane.repo import Repository, Revisions

PREFIX = "platform/v"
SEMVER = re.compile(r"^platform/v(\d+)\.(\d+)\.(\d+)$")
BUMPS = ("major", "minor", "patch")
CHANGELOG = "CHANGELOG.md"
HEADER = "# Changelog\n\nReleases of the platform, made by `gitplane release` from what each " \
         "environment renders.\n"


@dataclass
class Release:
    tag: str
    version: str
    previous: str  # the previous tag, "" for the first release
    proposed: str
    bump: str
    why: list[str]
    date: str
    section: str
    record: dict[str, Any]
    edits: list[Edit] = field(default_factory=list)
    commit: str = ""
    written: bool = False
    empty: bool = False  # nothing renders differently

    def to_json(self) -> dict[str, Any]:
        return {**self.record, "written": self.written, "commit": self.commit or None,
                "files": [e.path for e in self.edits]}


def _git(repo: Repository, *args: str) -> str:
    res = proc.git(list(args), cwd=repo.top, timeout=60)
    if res.returncode != 0:
        raise GitplaneError(f"git {args[0]} failed: {res.stderr.strip()}")
    return res.stdout.decode("utf-8", "replace")


def previous_tag(repo: Repository) -> tuple[str, tuple[int, int, int]]:
    tags = _git(repo, "tag", "--list", f"{PREFIX}*", "--merged", "HEAD").split()
    found = [(tuple(int(x) for x in m.groups()), t) for t in tags if (m := SEMVER.match(t))]
    if not found:
        return "", (0, 0, 0)
    version, tag = max(found)
    return tag, (version[0], version[1], version[2])


def _domain(ar: AppResult) -> str:
    labels = (ar.app.doc.get("metadata") or {}).get("labels") or {}
    if isinstance(labels, dict) and labels.get("gitplane.io/domain"):
        return str(labels["gitplane.io/domain"])
    # its source's folder, else where it is defined (a chart's Application in a domain)
    for path in [s.path or "" for s in ar.app.sources] + [ar.app.origin.file]:
        parts = path.split("/")
        if "domains" in parts and parts.index("domains") + 1 < len(parts):
            return parts[parts.index("domains") + 1]
        if "bootstrap" in parts:
            return "bootstrap"
    return "other"


def _charts(ar: AppResult) -> dict[str, str]:
    return {s.chart: (v or s.target_revision) for s, v in
            zip(ar.app.sources, ar.app.resolved(), strict=True) if s.chart}


def _replicas(ar: AppResult) -> dict[str, Any]:
    return {f"{r.kind}/{r.name}": (r.obj.get("spec") or {}).get("replicas") for r in
            ar.resources if isinstance(r.obj.get("spec"), dict) and
            "replicas" in r.obj["spec"]}


def _crd_versions(platform: Platform) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for er in platform.envs:
        for ar in er.apps:
            for r in ar.resources:
                if r.kind == "CustomResourceDefinition":
                    for v in (r.obj.get("spec") or {}).get("versions") or []:
                        if isinstance(v, dict) and v.get("served", True):
                            out[f"{er.env.name}/{r.name}"].add(str(v.get("name")))
    return out


def changes(before: Platform, after: Platform) -> tuple[dict[str, Any], str, list[str]]:
    """(per environment, domain and Application what changed; the proposed bump; why)."""
    b = {er.env.name: er for er in before.envs}
    a = {er.env.name: er for er in after.envs}
    objects: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(
        lambda: {"added": [], "removed": [], "modified": []})
    for c in compare_platforms(before, after):
        kind_name = "/".join(c.resource.split("/")[2:3] + c.resource.split("/")[4:])
        objects[(c.environment, c.application)][c.change].append(kind_name)
    out: dict[str, Any] = {}
    major: list[str] = []
    minor: list[str] = []
    patch: list[str] = []
    for env in sorted(set(a) | set(b)):
        old = b[env].by_name if env in b else {}
        new = a[env].by_name if env in a else {}
        for name in sorted(set(old) | set(new)):
            ar = new.get(name) or old[name]
            entry: dict[str, Any] = {}
            if name not in old:
                entry["status"] = "added"
                minor.append(f"Application {name} added in {env}")
            elif name not in new:
                entry["status"] = "removed"
                major.append(f"Application {name} removed from {env}")
            else:
                entry["status"] = "changed"
                charts_a, charts_b = _charts(old[name]), _charts(new[name])
                entry["charts"] = {c: [charts_a.get(c), charts_b.get(c)]
                                   for c in sorted(set(charts_a) | set(charts_b))
                                   if charts_a.get(c) != charts_b.get(c)}
                ia, ib = images_of(old[name]), images_of(new[name])
                entry["images"] = {n: [sorted(i.version or ":latest" for i in ia.get(n, ())),
                                       sorted(i.version or ":latest" for i in ib.get(n, ()))]
                                   for n in sorted(set(ia) | set(ib)) if ia.get(n) != ib.get(n)}
                ra, rb = _replicas(old[name]), _replicas(new[name])
                entry["replicas"] = {k: [ra.get(k), rb.get(k)] for k in sorted(set(ra) | set(rb))
                                     if ra.get(k) != rb.get(k)}
            entry["objects"] = objects.get((env, name), {"added": [], "removed": [],
                                                         "modified": []})
            if entry["status"] == "changed" and not any(
                    entry[k] for k in ("charts", "images", "replicas")) and \
                    not any(entry["objects"].values()):
                continue
            if entry["status"] == "changed":
                if entry["objects"]["added"]:
                    minor.append(f"{name} in {env}: objects added")
                if entry["objects"]["removed"] or entry["objects"]["modified"] or any(
                        entry[k] for k in ("charts", "images", "replicas")):
                    patch.append(f"{name} in {env} changed")
            out.setdefault(env, {}).setdefault(_domain(ar), {})[name] = entry
    crds_a, crds_b = _crd_versions(before), _crd_versions(after)
    for crd, versions in sorted(crds_a.items()):
        gone = versions - crds_b.get(crd, set())
        if gone:
            major.append(f"CRD {crd.split('/', 1)[1]} no longer serves "
                         f"{', '.join(sorted(gone))} in {crd.split('/')[0]}")
    if major:
        return out, "major", major
    if minor:
        return out, "minor", minor
    return out, "patch" if patch else "", patch


def _bumped(version: tuple[int, int, int], bump: str) -> str:
    x, y, z = version
    if bump == "major":
        return f"{x + 1}.0.0"
    if bump == "minor":
        return f"{x}.{y + 1}.0"
    return f"{x}.{y}.{z + 1}"


def _pair(v: list[Any]) -> str:
    def one(x: Any) -> str:
        return "none" if x in (None, []) else ", ".join(x) if isinstance(x, list) else str(x)
    return f"{one(v[0])} → {one(v[1])}"


def section(tag: str, date: str, bump: str, proposed: str, why: list[str],
            envs: dict[str, Any], commits: list[tuple[str, str]]) -> str:
    lines = [f"## {tag} ({date})", ""]
    reason = f"; {why[0]}" + (f" and {len(why) - 1} more" if len(why) > 1 else "") if why \
        else ""
    lines.append(f"Bump: {bump}" + (f" (proposed: {proposed}{reason})" if proposed != bump
                                    else f"{reason}") + ".")
    lines.append("")
    if not envs:
        lines += ["No rendered change.", ""]
    for env in sorted(envs):
        lines += [f"### {env}", ""]
        for domain in sorted(envs[env]):
            lines.append(f"#### {domain}")
            lines.append("")
            for app, e in sorted(envs[env][domain].items()):
                if e["status"] != "changed":
                    lines.append(f"- {e['status'].capitalize()} Application `{app}`")
                    continue
                parts = [f"chart {c} {_pair(v)}" for c, v in e["charts"].items()]
                parts += [f"image {n} {_pair(v)}" for n, v in e["images"].items()]
                parts += [f"replicas of {k} {_pair(v)}" for k, v in e["replicas"].items()]
                objs = e["objects"]
                for kind in ("added", "removed", "modified"):
                    if objs[kind]:
                        shown = ", ".join(objs[kind][:6]) + (
                            f" and {len(objs[kind]) - 6} more" if len(objs[kind]) > 6 else "")
                        parts.append(f"{kind} {shown}")
                lines.append(f"- `{app}`: " + "; ".join(parts))
            lines.append("")
    if commits:
        lines += ["### Commits", ""]
        lines += [f"- {subject} ({cid})" for cid, subject in commits]
        lines.append("")
    return "\n".join(lines)


def release(repo: Repository, bump: str | None = None, roots: list[str] | None = None,
            progress: Any = None) -> Release:
    """The release planned (not written, not tagged)."""
    if not repo.in_git or not _git(repo, "rev-parse", "--verify", "-q", "HEAD").strip():
        raise GitplaneError("release needs a Git repository with a commit")
    if bump is not None and bump not in BUMPS:
        raise GitplaneError(f"unknown bump '{bump}' (known: {', '.join(BUMPS)})")
    dirty = [ln[3:] for ln in _git(repo, "status", "--porcelain", "--untracked-files=no")
             .splitlines() if ln]
    if dirty:
        raise GitplaneError("uncommitted changes in " + ", ".join(dirty[:10]) + ": a release "
                            "describes a commit; commit or stash them first")
    prev, version = previous_tag(repo)
    head = _git(repo, "rev-parse", "HEAD").strip()
    after = load(repo, roots, progress)
    if prev:
        revisions = Revisions(repo)
        engine = engine_for(repo)
        try:
            before = platform_at(revisions, _git(repo, "rev-parse", f"{prev}^{{commit}}")
                                 .strip(), engine, roots=roots)
        finally:
            engine.close()
            revisions.close()
    else:
        before = Platform(repo, [], after.engine_version)
    envs, proposed, why = changes(before, after)
    chosen = bump or proposed or "patch"
    new = _bumped(version, chosen)
    tag = f"{PREFIX}{new}"
    if _git(repo, "tag", "--list", tag).strip():
        raise GitplaneError(f"tag {tag} exists; nothing written")
    log_range = f"{prev}..HEAD" if prev else "HEAD"
    commits = [tuple(line.split(" ", 1)) for line in
               _git(repo, "log", "--no-merges", "--format=%h %s", log_range).splitlines()
               if " " in line][:200]
    date = datetime.datetime.fromtimestamp(
        int(_git(repo, "log", "-1", "--format=%ct", "HEAD").strip()), datetime.UTC
    ).strftime("%Y-%m-%d")
    text = section(tag, date, chosen, proposed or "none", why, envs,
                   [(c[0], c[1]) for c in commits])
    record = {"tag": tag, "version": new, "previous": prev or None, "commit": head,
              "date": date, "bump": {"chosen": chosen, "proposed": proposed or None,
                                     "why": why},
              "environments": envs,
              "commits": [{"id": c[0], "subject": c[1]} for c in commits]}
    result = Release(tag, new, prev, proposed or "none", chosen, why, date, text, record,
                     empty=not envs)
    root = repo.rel(repo.root)
    base = "" if root in ("", ".") else f"{root}/"
    changelog = f"{base}{CHANGELOG}"
    path = repo.top / changelog
    if path.is_symlink():
        raise GitplaneError(f"{changelog}: is a symlink; refusing to edit it")
    old = read_inside(repo, changelog) if path.exists() else None
    body = old.decode("utf-8") if old is not None else HEADER
    marker = "\n## "
    at = body.find(marker)
    new_body = (body.rstrip("\n") + "\n\n" + text) if at < 0 else \
        body[:at + 1] + text + "\n" + body[at + 1:]
    result.edits.append(Edit(changelog, old, new_body.encode(), f"{tag} section"))
    record_path = f"{base}releases/{tag.split('/', 1)[1]}.json"
    if (repo.top / record_path).exists():
        raise GitplaneError(f"{record_path}: exists; nothing written")
    result.edits.append(Edit(record_path, None,
                             (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode(),
                             "release record"))
    require_clean(repo, [e.path for e in result.edits])
    return result


def tag(repo: Repository, result: Release) -> None:
    """The annotated tag on the release commit."""
    _git(repo, "tag", "-a", "--cleanup=verbatim", result.tag, "-m",
         f"{result.tag}\n\n{result.section}",
         result.commit)


__all__ = ["release", "tag", "Release", "changes", "previous_tag", "section"]
