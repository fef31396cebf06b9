"""What a change does: rendered differences between two revisions, or two environments.

Both sides of ``diff`` are discovered and rendered the full Argo CD way (ApplicationSets
expanded on each side); a revision is read from Git into a scratch tree, never touching the
working tree or the index. Objects are compared after a canonical dump (keys sorted), so key
order and formatting never show. Secret values (``data``/``stringData`` of Secrets,
``encryptedData`` of SealedSecrets) never appear: each distinct value becomes a run of ``+``
of its own length, so a change stays visible.
"""
from __future__ import annotations

import contextlib

import difflib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from gitplane import cache, git, k8s
from gitplane.argocd import roots as root_finder
from gitplane.argocd.discover import discover
from gitplane.argocd.sources import source_options
from gitplane.argocd.world import Shared
from gitplane.platform import Platform, Progress, finding_of
from gitplane.render import Rendered
from gitplane.errors import GitplaneError
from gitplane.model import Finding
from gitplane.repo import Repository, Revisions
from gitplane.yamlio import dump_all
from gitplane.render import directory, kustomize
from gitplane.argocd.discover import destination_namespaces

@dataclass
class Change:
    environment: str
    application: str
    resource: str
    change: str  # added | removed | modified
    diff: str

    def to_json(self) -> dict[str, str]:
        return {"environment": self.environment, "application": self.application,
                "resource": self.resource, "change": self.change, "diff": self.diff}


@dataclass
class DiffResult:
    base: str
    head: str
    changes: list[Change] = field(default_factory=list)
    #: Renders that failed on a side ("base"/"head", finding): their objects are missing from
    #: that side, so the changes of those Applications are not to be trusted.
    problems: list[tuple[str, Any]] = field(default_factory=list)
    #: (environment, application, why) of Applications that changed in ways gitplane does not
    #: render (a chart's version, a local chart's files, a plugin): said, never "no changes".
    not_rendered: list[tuple[str, str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"base": self.base, "head": self.head,
                "changes": [c.to_json() for c in self.changes],
                "notRendered": [{"environment": e, "application": a, "reason": why}
                                for e, a, why in self.not_rendered],
                "problems": [{"side": side, **f.to_json()} for side, f in self.problems]}


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _secret_fields(obj: dict[str, Any]) -> tuple[tuple[str, ...], ...]:
    return k8s.secret_fields(str(obj.get("apiVersion") or ""), str(obj.get("kind")))


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        obj = obj.get(step) if isinstance(obj, dict) else None
    return obj


def _set(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of ``obj`` with ``path`` set to ``value`` (copies along the path only)."""
    out = dict(obj)
    if len(path) == 1:
        out[path[0]] = value
    else:
        inner = out.get(path[0])
        out[path[0]] = _set(inner if isinstance(inner, dict) else {}, path[1:], value)
    return out


def mask(before: dict[str, Any] | None, after: dict[str, Any] | None
         ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Both sides with secret values replaced by ``+`` runs: equal values get equal runs,
    different values different lengths, so a change is visible and no value is. A secret
    field that is not a mapping (a string, a list) is hidden whole; a
    ``last-applied-configuration`` annotation is hidden on any object."""
    objs = [o for o in (before, after) if o is not None]
    fields: set[tuple[str, ...]] = set()
    for o in objs:
        fields.update(_secret_fields(o))
    lengths: dict[tuple[tuple[str, ...], str, str], int] = {}
    for o in objs:
        for f in sorted(fields):
            value = _get(o, f)
            items = sorted(value.items(), key=lambda kv: str(kv[0])) if isinstance(
                value, dict) else [("", value)] if value is not None else []
            for k, v in items:
                key = (f, str(k), json.dumps(v, sort_keys=True, default=str))
                if key not in lengths:
                    lengths[key] = 8 + sum(1 for x in lengths if x[:2] == key[:2])

    def hide(o: dict[str, Any] | None) -> dict[str, Any] | None:
        if o is None:
            return None
        out = o
        for f in fields:
            value = _get(o, f)
            if value is None:
                continue
            if isinstance(value, dict):
                hidden: Any = {k: "+" * lengths[(f, str(k), json.dumps(
                    v, sort_keys=True, default=str))] for k, v in value.items()}
            else:
                hidden = "+" * lengths[(f, "", json.dumps(value, sort_keys=True, default=str))]
            out = _set(out, f, hidden)
        annotations = _get(out, ("metadata", "annotations"))
        if isinstance(annotations, dict) and LAST_APPLIED in annotations:
            out = _set(out, ("metadata", "annotations"),
                       {**annotations, LAST_APPLIED: "++++++++"})
        return out

    return hide(before), hide(after)


def _objects(platform: Platform, env: str | None, app: str | None
             ) -> dict[tuple[str, str, str], dict[str, Any]]:
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for er in platform.envs:
        if env and er.env.name != env:
            continue
        for ar in er.apps:
            if app and ar.app.name != app:
                continue
            for res in ar.resources:
                out[(er.env.name, ar.app.name, res.id)] = res.obj
    return out


def compare_platforms(base: Platform, head: Platform, env: str | None = None,
                      app: str | None = None) -> list[Change]:
    a, b = _objects(base, env, app), _objects(head, env, app)
    changes: list[Change] = []
    for key in sorted(set(a) | set(b)):
        before, after = mask(a.get(key), b.get(key))
        if before == after:
            continue
        old = dump_all([before]).splitlines(keepends=True) if before is not None else []
        new = dump_all([after]).splitlines(keepends=True) if after is not None else []
        kind = "added" if before is None else "removed" if after is None else "modified"
        text = "".join(difflib.unified_diff(old, new, f"a/{key[2]}", f"b/{key[2]}", n=3))
        changes.append(Change(key[0], key[1], key[2], kind, text))
    return changes


def resolve(repo: Repository, revision: str) -> str:
    """The commit ``revision`` names; a GitplaneError naming it when it does not resolve."""
    commit = repo.resolve_revision(revision) if not revision.startswith("-") else None
    if commit is None:
        raise GitplaneError(f"unknown revision '{revision}' (not a commit here; in a shallow "
                            "clone, fetch more history)")
    return commit


def default_base(repo: Repository) -> str:
    """The merge-base of HEAD with the default branch (origin/HEAD, main or master)."""
    for branch in ("origin/HEAD", "origin/main", "origin/master", "main", "master"):
        other = repo.resolve_revision(branch)
        if other is None:
            continue
        base = git.merge_base(repo.top, "HEAD", other)
        if base:
            return base
    return resolve(repo, "HEAD")


def platform_at(revisions: Revisions, commit: str | None, engine: Any,
                changed: set[str] | None = None, shared: Shared | None = None,
                progress: Progress | None = None, roots: list[str] | None = None,
                missing_ok: bool = True, unreadable: list[Finding] | None = None
                ) -> Platform:
    """Discover and render the repository as ``commit`` holds it (a scratch tree), or the
    working tree for None; its roots are ``roots``, the configured ones, or found on it."""
    side = revisions.view(commit) if commit else revisions.repo
    memo: dict[str, Rendered] = {}
    try:
        envs, found = root_finder.environments(side, engine, roots, memo, changed, shared,
                                               progress)
    except GitplaneError as exc:
        if not missing_ok:
            raise
        envs, found = [], None  # nothing gitplane can read at that revision: all is added
        if unreadable is not None and "no platform here" not in str(exc):
            # Not an empty side but one that cannot be read: never silently empty.
            unreadable.append(Finding("", "", "", 0, root_finder.RULE, "", "error",
                                      f"this side cannot be read ({exc}); its objects show "
                                      "as absent"))
    platform = discover(side, engine, envs, changed=changed, shared=shared, progress=progress,
                        memo=memo)
    root_finder.never_silent(platform, found)
    return platform


def changed_files(repo: Repository, base: str, head: str | None) -> set[str]:
    """Repository paths that differ between ``base`` and ``head`` (the working tree, untracked
    files included, when ``head`` is None)."""
    return git.changed_files(repo.top, base, head)


def _source_key(ar: Any) -> str:
    return json.dumps([s.raw for s in ar.app.sources], sort_keys=True, default=str)


def _render_whole(ar: Any, engine: Any, er: Any) -> None:
    """Render an Application's local sources without skipping (its source moved); the
    problems of the render are the environment's findings, as in any render."""
    resources = []
    ok = True
    from gitplane.argocd.discover import applied, helm_jobs
    from gitplane.render.scheduler import render_helm

    charts = dict(helm_jobs(ar))
    for i, (kind, src, view) in enumerate(zip(ar.app.kinds, ar.app.sources, ar.views,
                                             strict=False)):
        if kind == "helm" and i in charts:
            got = render_helm(charts[i].view or view, charts[i], view.config)
            got.resources = applied(got.resources)
        elif kind == "kustomize":
            options = source_options(kind, src)
            got = kustomize.build(view, engine, view.resolve(src.path or "."),
                                  overrides=options or None)
        elif kind == "directory":
            got = directory.build(view, view.resolve(src.path or "."), src.directory)
        else:
            continue
        resources.extend(got.resources)
        ok = ok and got.ok
        known = set(er.findings)
        er.findings.extend(f for f in (finding_of(p, er.env.name, ar.app.name)
                                       for p in got.problems) if f not in known)
    ar.resources = resources
    ar.rendered = ok


def _complete(before: Platform, after: Platform, engine: Any) -> None:
    """Renders skipped because their files did not change are the same on both sides only
    when the Application reads the same sources; an Application whose sources changed, or
    that exists on one side only, is rendered whole."""
    touched: set[tuple[int, str]] = set()
    for env in {e.env.name for e in before.envs} | {e.env.name for e in after.envs}:
        sides = [{ar.app.name: ar for er in p.envs if er.env.name == env for ar in er.apps}
                 for p in (before, after)]
        for name in set(sides[0]) | set(sides[1]):
            a, b = sides[0].get(name), sides[1].get(name)
            if a is not None and b is not None and _source_key(a) == _source_key(b):
                continue
            for side, ar in ((before, a), (after, b)):
                if ar is not None:
                    er = next(e for e in side.envs if e.env.name == env)
                    _render_whole(ar, engine, er)
                    touched.add((id(side), env))
    for side in (before, after):  # namespaces, as Argo CD applies them, on the new renders
        for er in side.envs:
            if (id(side), er.env.name) in touched:
                destination_namespaces(er)


#: Source kinds gitplane renders; an Application with any other changed unseen.
RENDERED_KINDS = {"kustomize", "directory", "ref"}


def _not_rendered(before: Platform, after: Platform, changed: set[str], env: str | None,
                  app: str | None) -> list[tuple[str, str, str]]:
    """Applications whose change gitplane cannot show: a source it does not render (a chart,
    a plugin, a revision not in this clone) whose settings changed, or whose files did."""
    sides = [{(er.env.name, ar.app.name): ar for er in p.envs for ar in er.apps}
             for p in (before, after)]
    out = []
    for key in sorted(set(sides[0]) | set(sides[1])):
        if (env and key[0] != env) or (app and key[1] != app):
            continue
        a, b = sides[0].get(key), sides[1].get(key)
        ar = b or a
        assert ar is not None
        unseen = sorted(set(ar.app.kinds) - RENDERED_KINDS -
                        ({"helm"} if all(x is None or x.rendered for x in (a, b)) else set()))
        if not unseen:
            continue
        what = ", ".join(unseen)
        if a is None or b is None:
            why = f"{'added' if a is None else 'removed'}; its {what} sources are not rendered"
        elif _source_key(a) != _source_key(b):
            why = f"its sources changed; its {what} sources are not rendered"
        elif any(s.path and any(f == s.path.strip("/") or f.startswith(s.path.strip("/") + "/")
                                for f in changed)
                 for s, k in zip(ar.app.sources, ar.app.kinds, strict=True)
                 if k in unseen):
            why = f"files of its {what} sources changed; they are not rendered"
        else:
            continue
        out.append((key[0], key[1], why))
    return out


def _prefetch(revisions: Revisions, commit: str) -> None:
    with contextlib.suppress(GitplaneError):  # raised again when the base side asks for it
        revisions.view(commit)


def diff(repo: Repository, base: str | None, head: str | None, engine: Any,
         env: str | None = None, app: str | None = None,
         progress: Progress | None = None, roots: list[str] | None = None) -> DiffResult:
    """Rendered changes from ``base`` (default: merge-base with the default branch) to
    ``head`` (default: the working tree); ``progress`` follows the renders of both sides."""
    if not repo.in_git:
        raise GitplaneError(f"{repo.top}: not a Git repository; diff needs revisions")
    base_commit = resolve(repo, base) if base else default_base(repo)
    head_commit = resolve(repo, head) if head else None
    revisions = Revisions(repo)
    # Git checks the base out while the changes are listed and the head side is discovered.
    checkout = threading.Thread(target=_prefetch, args=(revisions, base_commit), daemon=True)
    checkout.start()
    try:
        # Only renders that read a changed file (or hold Argo CD objects) run on either side.
        changed = changed_files(repo, base_commit, head_commit)
        # The head first: the base side reuses its skip decisions and expansions.
        shared = Shared()
        done = [0]  # renders of the head side, before the base side's

        def head_progress(n: int, total: int) -> None:
            done[0] = total
            if progress is not None:
                progress(n, total)

        def base_progress(n: int, total: int) -> None:
            if progress is not None:
                progress(done[0] + n, done[0] + total)

        after = platform_at(revisions, head_commit, engine, changed, shared, head_progress,
                            roots, missing_ok=head_commit is not None)
        head_name = head_commit or "working tree"
        checkout.join()
        unreadable: list[Finding] = []
        before = platform_at(revisions, base_commit, engine, changed, shared, base_progress,
                             roots, unreadable=unreadable)
        _complete(before, after, engine)
    finally:
        checkout.join()
        revisions.close()
        cache.flush()
    if env and env not in {e.env.name for e in before.envs} | {e.env.name for e in after.envs}:
        raise GitplaneError(f"unknown environment '{env}'")
    problems = [("base", f) for f in unreadable] + [
        (side, f) for side, p in (("base", before), ("head", after))
        for f in sorted(set(p.findings)) if f.severity == "error" and
        (not env or f.environment == env) and (not app or f.application == app)]
    return DiffResult(base_commit, head_name, compare_platforms(before, after, env, app),
                      problems, _not_rendered(before, after, changed, env, app))


__all__ = ["diff", "DiffResult", "Change", "mask", "compare_platforms"]
