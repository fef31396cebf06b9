"""Roots of a repository in another layout: the Argo CD objects nothing else deploys.

A file holding Applications or ApplicationSets is *deployed* when an Application found from
another such file renders it at the same revision (its renders read the file). That is
decided from what the renders read, never from folder containment: an Application whose
``path: .`` is another branch (Kargo's rendered branches) deploys that branch, not this tree;
a file a kustomization does not list is not deployed by it. Files are then a graph (who
deploys whom); the roots are the files no other file deploys, and the entry of each cycle
no outside file enters (a self-managing root deploys the folder holding its own file).

Files that are templates of another tool (Helm chart templates, Backstage's ``${{ values.x
}}``, ``<CLUSTER_NAME>`` placeholders) are not roots; a Helm chart whose templates hold Argo
CD objects is a root folder (rendered as a chart).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitplane.argocd.application import APPLICATION, APPLICATIONSET, is_kind
from gitplane.boundary import walk
from gitplane.argocd.discover import discover
from gitplane.argocd.world import Shared
from gitplane.platform import EnvResult, Platform, Progress
from gitplane.errors import GitplaneError, YamlError
from gitplane.model import Environment, Finding
from gitplane.proc import Engine
from gitplane.render import Rendered
from gitplane.repo import DEPLOYMENTS, Repository
from gitplane.yamlio import load_file, read_text

#: Marks of a file that is another tool's template, not a manifest Argo CD reads as is.
_FOREIGN = re.compile(r"\$\{\{|\{\{-|<[A-Z][A-Z0-9_]*>|\{%")
_ARGO_TEXT = re.compile(r"^\s*kind:\s*[\"']?(Application|ApplicationSet)[\"']?\s*$", re.M)


@dataclass
class Candidates:
    """Files holding Argo CD objects, and those set aside as another tool's templates."""

    files: list[str] = field(default_factory=list)  # Argo CD objects as they are
    charts: list[str] = field(default_factory=list)  # Helm charts templating Argo CD objects
    templates: list[str] = field(default_factory=list)  # other tools' templates, not roots
    objects: int = 0  # Applications and ApplicationSets in ``files``

    @property
    def any(self) -> bool:
        return bool(self.files or self.charts or self.templates)


def _chart_of(path: Path, top: Path) -> Path | None:
    """The Helm chart folder whose ``templates/`` holds ``path``, or None."""
    for parent in path.parents:
        if parent == top or top not in parent.parents:
            return None
        if parent.name == "templates" and (parent.parent / "Chart.yaml").is_file():
            return parent.parent
    return None


def _is_template(obj: dict[str, Any]) -> bool:
    """An object another tool fills in before Argo CD sees it: a name with a placeholder
    (``{{ }}``, ``${{ }}``, ``<NAME>``: Argo CD never templates the name of an object it
    reads from Git), or an Application whose source has an envsubst/shell placeholder
    (``repoURL: ${gitops_repo}``)."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name = meta.get("name") if isinstance(meta, dict) else None
    if isinstance(name, str) and ("{{" in name or bool(_FOREIGN.search(name))):
        return True
    if not is_kind(obj, APPLICATION):
        return False
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    sources = [spec.get("source")] + list(spec.get("sources") or []) \
        if isinstance(spec, dict) else []
    return any(isinstance(v, str) and "${" in v for src in sources if isinstance(src, dict)
               for k, v in src.items() if k in ("repoURL", "path", "targetRevision", "chart"))


def _argo_text(path: Path, shown: str) -> bool:
    """Whether the text of ``path`` (within the size limit) names an Argo CD kind."""
    try:
        text = read_text(path, shown)[1]
    except YamlError:
        return False
    return bool(_ARGO_TEXT.search(text)) and "argoproj.io" in text


def scan(top: Path, rel: Any) -> Candidates:
    """Every file under ``top`` (``.git`` and symlinks skipped) holding Argo CD
    Applications or ApplicationSets; ``rel`` names a path repository-relative."""
    out = Candidates()
    charts: set[str] = set()
    # .bootstrap/, .argocd/ count; links are skipped
    for name in walk(top, lambda n: n != ".git")[1]:
        if not name.endswith((".yaml", ".yml")):
            continue
        path = top / name
        chart = _chart_of(path, top)
        if chart is not None:
            if _argo_text(path, rel(path)):
                charts.add(rel(chart))
            continue
        try:
            docs = load_file(path, rel(path))
        except YamlError:
            if _argo_text(path, rel(path)):
                out.templates.append(rel(path))
            continue
        objs = [d.obj for d in docs
                if is_kind(d.obj, APPLICATION) or is_kind(d.obj, APPLICATIONSET)]
        if not objs:
            continue
        if any(_is_template(o) for o in objs):
            out.templates.append(rel(path))
            continue
        out.files.append(rel(path))
        out.objects += len(objs)
    out.charts = sorted(charts)
    return out


def choose(candidates: list[str], edges: dict[str, set[str]]) -> list[str]:
    """The roots of the graph ``edges`` (file → files its Applications' renders read) over
    ``candidates``: files no other file reaches, and the entry of each cycle that no file
    outside it reaches (the shallowest, then first by name)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comp: dict[str, int] = {}
    comps: list[list[str]] = []
    counter = [0]

    def strongconnect(v: str) -> None:  # Tarjan, iterative (deep app-of-apps chains)
        work = [(v, iter(sorted(edges.get(v, ()))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            pushed = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    pushed = True
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            if pushed:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp[w] = len(comps)
                    members.append(w)
                    if w == node:
                        break
                comps.append(members)

    for v in sorted(candidates):
        if v not in index:
            strongconnect(v)
    entered = {comp[w] for v in candidates for w in edges.get(v, ())
               if w in comp and comp[w] != comp[v]}
    roots = []
    for i, members in enumerate(comps):
        if i not in entered:
            roots.append(min(members, key=lambda f: (f.count("/"), f)))
    return sorted(roots)


@dataclass
class Found:
    """The roots chosen, what they were chosen from, and what to tell the user about it."""

    roots: list[str]
    candidates: Candidates
    notes: list[tuple[str, str]] = field(default_factory=list)  # (file, message): warnings


def find(repo: Repository, engine: Engine, memo: dict[str, Rendered] | None = None,
         changed: set[str] | None = None, shared: Shared | None = None,
         progress: Progress | None = None) -> Found:
    """Discover from every candidate at once (a probe), then keep the files nothing else
    renders at the same revision, and the entries of cycles. ``memo`` keeps the probe's
    renders for the discovery that follows (with the same ``changed`` and ``shared``)."""
    cands = scan(repo.top, repo.rel)
    found = Found([], cands)
    every = sorted(cands.files + cands.charts)
    if not every:
        return found
    probe = discover(repo, engine, [Environment(repo.config.environment, every)], memo=memo,
                     changed=changed, shared=shared, progress=progress)
    edges: dict[str, set[str]] = {}
    known = set(cands.files)
    for er in probe.envs:
        for ar in er.apps:
            origin = ar.app.origin.file
            if origin not in known:
                continue
            edges.setdefault(origin, set()).update(ar.local_files & known)
    found.roots = choose(every, edges)
    return found


def environments(repo: Repository, engine: Engine, roots: list[str] | None = None,
                 memo: dict[str, Rendered] | None = None, changed: set[str] | None = None,
                 shared: Shared | None = None, progress: Progress | None = None
                 ) -> tuple[list[Environment], Found | None]:
    """The environments to discover: the seed layout's, or one whose roots are ``roots``,
    the configured ones, or those found (then also what they were found from)."""
    if repo.deployments.is_symlink():
        repo.inside(repo.deployments)  # a link out of the repository (at any revision)
    if repo.seed_layout and not roots:
        return repo.environments(), None
    chosen = list(roots or repo.config.roots)
    found = None
    if not chosen:
        found = find(repo, engine, memo, changed, shared, progress)
        chosen = found.roots
        if not chosen and not found.candidates.any and not repo.has_kustomizations():
            raise GitplaneError(f"{repo.root}: no platform here (no '{DEPLOYMENTS}/' folder, "
                                "no Argo CD Application or ApplicationSet, no kustomization); "
                                "create one with 'gitplane init'")
    return repo.environments(chosen), found


RULE = "argocd-no-applications"


def never_silent(platform: Platform, found: Found | None) -> None:
    """A finding on every environment that has no Application: an error where the repository
    holds Argo CD objects (the gate must not pass on nothing), naming why and the fix once;
    a warning where it holds none (nothing of Argo CD's to render)."""
    cands = found.candidates if found is not None else None
    for er in platform.envs:
        if er.apps:
            continue
        explicit = found is None and not platform.repo.seed_layout
        holds = cands.any if cands is not None else bool(er.env.roots)
        if cands is not None and not holds:
            er.findings.append(Finding(
                er.env.name, "", "", 0, RULE, "", "warning",
                "no Argo CD Application or ApplicationSet in this repository: nothing is "
                "rendered; name what Argo CD deploys with --root PATH (or roots: in "
                "gitplane.yaml)"))
            continue
        why = _reasons(er, cands)
        rendered_roots = any(r.resources for r in er.roots.values())
        severity = "warning" if explicit and rendered_roots else "error"
        roots = ", ".join(er.env.roots[:3]) + (", …" if len(er.env.roots) > 3 else "")
        er.findings.append(Finding(
            er.env.name, "", er.env.roots[0] if er.env.roots else "", 1 if er.env.roots else 0,
            RULE, "", severity,
            f"0 Applications in environment '{er.env.name}' (roots: {roots or 'none'})"
            f"{': ' + '; '.join(why) if why else ''}; name the roots with --root PATH or "
            "roots: in gitplane.yaml"))


def _reasons(er: EnvResult, cands: Candidates | None) -> list[str]:
    out = []
    empty = sorted({f.application for f in er.findings
                    if f.rule == "argocd-generator" and "generated no Applications" in f.message})
    clusters = sum(1 for f in er.findings if f.rule == "argocd-generator" and
                   "clusters" in f.message and "generated no Applications" in f.message)
    if empty:
        out.append(f"{len(empty)} ApplicationSets generated no Applications"
                   + (" (clusters generators: the cluster inventory has no matching cluster; "
                      "add clusters: to gitplane.yaml)" if clusters else ""))
    if cands is not None and cands.charts:
        out.append(f"Helm charts template Applications ({', '.join(cands.charts[:3])}); "
                   "they are rendered only with a Helm engine")
    if cands is not None and cands.templates:
        n = len(cands.templates)
        out.append(f"{n} file{' is' if n == 1 else 's are'} other tools' templates, not Argo "
                   f"CD objects (e.g. {cands.templates[0]})")
    unrendered = [f for f in er.findings if f.rule == "source-not-rendered"]
    if unrendered and not (cands is not None and cands.charts):
        out.append(f"{len(unrendered)} sources not rendered (see the source-not-rendered "
                   "warnings)")
    return out
