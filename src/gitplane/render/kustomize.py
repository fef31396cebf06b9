"""Kustomize sources: the repository boundary enforced first, then the real engine.

The graph of every kustomization (resources, components, patches, generator files) is walked
before kustomize runs: remote bases, Helm charts, plugins, paths or symlinks leaving the
repository, missing files and YAML errors are reported with file and line, and kustomize is
not run on them. Rendering goes through a wrapper kustomization with
``buildMetadata: [originAnnotations]`` so each object is traced to its source file.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from gitplane.boundary import walk
from gitplane.errors import GitplaneError, YamlError
from gitplane.model import Resource, resource_id
from gitplane.proc import Engine
from gitplane import cache
from gitplane.render import Problem, Rendered, yaml_problem
from gitplane.render.engine_errors import readable_error
from gitplane.render.overrides import wrapper
from gitplane.repo import Repository
from gitplane.yamlio import (BOOLEAN_HAZARD, Doc, ParsedFiles, load_text, load_trusted,
                             read_regular, words_of, yaml_value)
import contextlib

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
ORIGIN = "config.kubernetes.io/origin"
_REMOTE = re.compile(r"^(https?://|ssh://|git::|git@|github\.com/|gitlab\.com/|bitbucket\.org/)"
                     r"|\?ref=|\?version=|//.*\.git")
_BUILTIN_PLUGINS = {
    "AnnotationsTransformer", "ConfigMapGenerator", "HashTransformer", "ImageTagTransformer",
    "LabelTransformer", "NamespaceTransformer", "PatchJson6902Transformer",
    "PatchStrategicMergeTransformer", "PatchTransformer", "PrefixSuffixTransformer",
    "PrefixTransformer", "SuffixTransformer", "ReplacementTransformer",
    "ReplicaCountTransformer", "SecretGenerator", "ValueAddTransformer",
    "SortOrderTransformer", "IAMPolicyGenerator",
}


#: A line number, or a function giving it (line numbers need the node tree, which a file read
#: from the parse cache builds only when asked).
Line = int | Callable[[], int]


def kustomization_file(directory: Path) -> Path | None:
    base = str(directory)
    for n in KUSTOMIZATION_FILES:
        if os.path.isfile(os.path.join(base, n)):
            return directory / n
    return None


def is_remote(entry: str) -> bool:
    return bool(_REMOTE.search(entry))


@dataclass(frozen=True)
class _Walked:
    """What a clean walk of one folder found (see :meth:`Graph.walk`)."""

    files: frozenset[str]
    probed: frozenset[str]
    unparsed: tuple[Path, ...]
    docs: dict[str, list[Doc]]
    secrets: frozenset[str] = frozenset()
    helm: bool = False
    charts: tuple[tuple[str, str], ...] = ()


class Graph:
    """Walks a kustomization tree, collecting files read and problems, within the repository."""

    def __init__(self, repo: Repository, parsed: ParsedFiles | None = None,
                 light: bool = False) -> None:
        self.repo = repo
        self.parsed = parsed or ParsedFiles()
        #: Light: resource and patch files are listed, not parsed (enough to know what a
        #: render reads, not to render it: a diff's skip decision).
        self.light = light
        self.unparsed: list[Path] = []
        self.files: set[str] = set()
        self.probed: set[str] = set()
        #: values of secretGenerator literals: never quoted in a problem (kustomize's
        #: errors can print them)
        self.secrets: set[str] = set()
        self.problems: list[Problem] = []
        self.docs: dict[str, list[Doc]] = {}
        self.helm = False  # a kustomization of the graph inflates charts (--enable-helm)
        #: charts of gitplane's cache standing for charts kustomize would pull: the chart
        #: folder it names → the cached chart (given to gitplane's Helm command)
        self.charts: dict[str, str] = {}

    def problem(self, rule: str, file: str, line: Line, message: str,
                severity: str = "error") -> None:
        """A problem; ``line`` may be a function giving it (found only when needed)."""
        self.problems.append(Problem(rule, file, line() if callable(line) else line, message,
                                     severity=severity))

    def root_kind(self, directory: Path) -> str:
        kfile = kustomization_file(directory)
        docs = self.docs.get(self.repo.rel(kfile)) if kfile else None
        obj = docs[0].obj if docs else None
        return str(obj.get("kind") or "Kustomization") if isinstance(obj, dict) else \
            "Kustomization"

    # -- paths -------------------------------------------------------------------------
    def _inside(self, target: Path, file: str, line: Line, what: str) -> Path | None:
        """The target if it stays in the repository (lexically and after symlinks)."""
        norm = os.path.normpath(target)
        if not self.repo.contains(norm):
            self.problem("kustomize-build", file, line,
                         f"{what} leaves the repository; refused")
            return None
        try:
            real = self.repo.realpath(norm)
        except (RuntimeError, OSError):
            self.problem("kustomize-build", file, line, f"{what}: symlink loop")
            return None
        if not self.repo.contains(real, real=True):
            self.problem("kustomize-build", file, line,
                         f"{what}: symlink points outside repository; refused")
            return None
        return Path(norm)

    def load(self, path: Path) -> list[Doc] | None:
        rel = self.repo.rel(path)
        if rel in self.docs:
            return self.docs[rel]
        self.files.add(rel)
        try:
            docs = self.parsed.load(path, rel)
        except YamlError as exc:
            self.problems.append(yaml_problem(exc))
            self.docs[rel] = []
            return None
        self.docs[rel] = docs
        for doc in docs:
            for line, message in doc.hazards:
                # kustomize writes YAML 1.1 booleans it read as strings quoted, so they reach
                # the API server as strings: not a hazard in a kustomize source.
                if BOOLEAN_HAZARD not in message:
                    self.problem("yaml-ambiguous", rel, line, message, "warning")
        return docs

    def _env_secrets(self, path: Path) -> None:
        """The values of a secretGenerator env file (``KEY=value`` lines), never to be quoted
        in a problem; a file that leaves the repository was refused by ``_file_ref``."""
        try:
            if not self.repo.contains(self.repo.realpath(str(path)), real=True):
                return
            text = read_regular(path, 1024 * 1024).decode("utf-8", "replace")
        except (OSError, RuntimeError):
            return
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.lstrip().startswith("#") and len(value.strip()) >= 4:
                self.secrets.add(value.strip())

    # -- the walk ------------------------------------------------------------------------
    def walk(self, directory: Path, stack: tuple[Path, ...] = ()) -> None:
        """Walk the kustomization in ``directory``. A folder whose walk met no problem at all
        is walked once per run (files are what they were): later walks take its result."""
        if directory in stack:
            self._walk(directory, stack)  # the cycle, reported
            return
        key = (str(self.repo.top), str(directory), self.light)
        memo = self.parsed.walks
        hit = memo.get(key)
        if hit is None and key not in self.parsed.unclean:
            # Walked apart: a folder on a cycle never walks clean (the walk comes back to
            # it), so a clean result holds for every caller.
            sub = Graph(self.repo, self.parsed, self.light)
            sub._walk(directory, stack)
            if sub.problems:
                self.parsed.unclean.add(key)
            else:
                hit = memo[key] = _Walked(frozenset(sub.files), frozenset(sub.probed),
                                          tuple(sub.unparsed), dict(sub.docs),
                                          frozenset(sub.secrets),
                                          sub.helm, tuple(sorted(sub.charts.items())))
        if hit is None:
            self._walk(directory, stack)
            return
        self.files |= hit.files
        self.probed |= hit.probed
        self.secrets |= hit.secrets
        self.helm |= hit.helm
        self.charts.update(hit.charts)
        self.unparsed.extend(p for p in hit.unparsed if p not in self.unparsed)
        for rel, docs in hit.docs.items():
            self.docs.setdefault(rel, docs)

    def _walk(self, directory: Path, stack: tuple[Path, ...] = ()) -> None:
        if directory in stack:
            chain = " → ".join(self.repo.rel(p) for p in (*stack[stack.index(directory):],
                                                          directory))
            self.problem("kustomize-build", self.repo.rel(stack[-1]), 1, f"cycle: {chain}")
            return
        base = str(directory)
        names = [n for n in KUSTOMIZATION_FILES if os.path.isfile(os.path.join(base, n))]
        rel_dir = self.repo.rel(directory)
        # Names looked for and absent: a diff must see one appear.
        at = "" if rel_dir == "." else f"{rel_dir}/"
        self.probed.update(f"{at}{n}" for n in KUSTOMIZATION_FILES if n not in names)
        if len(names) > 1:
            self.problem("kustomize-build", rel_dir, 1,
                         f"Found multiple kustomization files: {', '.join(names)}")
            return
        if not names:
            self.problem("kustomize-build", rel_dir, 1,
                         "unable to find one of 'kustomization.yaml', 'kustomization.yml' or "
                         "'Kustomization' in the folder")
            return
        kfile = directory / names[0]
        if kfile.is_symlink() and self._inside(kfile, self.repo.rel(kfile), 1,
                                               "kustomization file") is None:
            return
        docs = self.load(kfile)
        if docs is None:
            return
        rel = self.repo.rel(kfile)
        if not docs:
            self.problem("kustomize-build", rel, 1, "kustomization file is empty")
            return
        doc = docs[0]
        k = doc.obj
        if not isinstance(k, dict):
            self.problem("kustomize-build", rel, doc.line, "kustomization is not a mapping")
            return
        stack = (*stack, directory)
        for key in ("helmCharts", "helmGlobals", "helmChartInflationGenerator"):
            if key not in k:
                continue
            if self.repo.enables_helm and key == "helmCharts":
                self._helm_charts(directory, rel, doc, k)
            elif self.repo.enables_helm and key == "helmChartInflationGenerator":
                self.problem("source-not-rendered", rel, doc.line_of(key),
                             f"'{key}': a generator file of kustomize's legacy chart "
                             "inflator is not rendered by gitplane (use helmCharts); this "
                             "kustomization is not rendered", severity="warning")
            elif not self.repo.enables_helm:
                self.problem("kustomize-build", rel, doc.line_of(key),
                             f"'{key}' needs --enable-helm, which this repository's Argo CD "
                             "does not set (kustomize.buildOptions in argocd-cm, or "
                             "kustomizeBuildOptions in gitplane.yaml): Argo CD fails to "
                             "render it too")
        for key in ("resources", "bases", "components"):
            for i, entry in enumerate(_list(k.get(key))):
                self._entry(directory, rel, doc, key, i, entry, stack)
        self._files(directory, rel, doc, k)

    def _helm_charts(self, directory: Path, rel: str, doc: Doc, k: dict[str, Any]) -> None:
        """kustomize's ``helmCharts`` (with ``--enable-helm``): each chart must be in the
        repository under its chart home (vendored: kustomize would pull a missing one into
        the repository); value files must stay in the repository; nothing is fetched."""
        from gitplane.render import charts as cache_of_charts
        from gitplane.render.helm import link_outside, engine_name

        self.helm = True
        if not engine_name():
            self.problem("source-not-rendered", rel, doc.line_of("helmCharts"),
                         "helmCharts: no Helm engine (helm-python-sdk or a 'helm' binary) is "
                         "installed; this kustomization is not rendered", severity="warning")
            return
        globals_ = as_mapping(k.get("helmGlobals"))
        for i, chart in enumerate(_list(k.get("helmCharts"))):
            line = partial(doc.line_of, "helmCharts", i)
            if not isinstance(chart, dict) or not chart.get("name"):
                self.problem("kustomize-build", rel, line, f"helmCharts[{i}] has no name")
                continue
            name, repo_url = str(chart["name"]), str(chart.get("repo") or "")
            version = str(chart.get("version") or "")
            home_entry = str(chart.get("chartHome") or globals_.get("chartHome") or "charts")
            if home_entry.startswith("/"):
                self.problem("kustomize-build", rel, line,
                             f"helmCharts[{i}] chartHome '{home_entry}' is absolute; refused")
                continue
            home = self._inside(directory / home_entry, rel, line, f"helmCharts[{i}] chartHome")
            if home is None:
                continue
            folder = home / f"{name}-{version}" / name if version and repo_url else home / name
            for vf in [chart.get("valuesFile"), *_list(chart.get("additionalValuesFiles"))]:
                if vf:
                    self._file_ref(directory, rel, line, f"helmCharts[{i}] values file", str(vf),
                                   False)
            if not chart.get("releaseName"):
                self.problems.append(Problem(
                    "source-not-rendered", rel, line(), f"helmCharts[{i}] '{name}' has no "
                    "releaseName: Helm makes one up on every render (so does Argo CD); "
                    "gitplane renders it as 'release-name'", severity="warning",
                    approximate=True))
            if folder.is_dir():
                inside = self._inside(folder, rel, line, f"helmCharts[{i}] chart")
                if inside is None:
                    continue
                outside = link_outside(self.repo, folder)
                if outside:
                    self.problem("kustomize-build", rel, line,
                                 f"{outside}: a link out of the repository; refused (Helm "
                                 "would read what it points at)")
                    continue
                self.files.update(self.repo.rel(folder / f) for f in walk(folder, links=True)[1])
                continue
            found = cache_of_charts.cached(repo_url, name, version or "*") if repo_url else None
            values_file = chart.get("valuesFile") or globals_.get("valuesFile")
            if found is not None and values_file:
                # kustomize "pulls" it (gitplane's Helm command finds it in the cache and
                # writes nothing) and renders it from the cache
                for base in {str(home), os.path.realpath(home)}:
                    key = f"{base}/{name}-{version}/{name}" if version else f"{base}/{name}"
                    self.charts[key] = str(found.folder)
                continue
            where = f" of {repo_url}" if repo_url else ""
            if found is not None:
                why = ("is in gitplane's cache, but without valuesFile kustomize reads the "
                       "chart's values.yaml from its chart home in the repository")
            else:
                why = (f"is neither vendored under {self.repo.rel(home)}/ nor in gitplane's "
                       "cache ('gitplane charts pull --allow-network')")
            self.problem("source-not-rendered", rel, line,
                         f"helmCharts[{i}] chart '{name}' {version or '(latest)'}{where} {why}: "
                         "kustomize would pull it into the repository, which gitplane does not "
                         "write; this kustomization is not rendered (or vendor it: 'helm pull "
                         f"--untar --untardir {self.repo.rel(folder.parent)}')",
                         severity="warning")

    def _entry(self, directory: Path, rel: str, doc: Doc, key: str, i: int, entry: Any,
               stack: tuple[Path, ...]) -> None:
        line = partial(doc.line_of, key, i)
        if not isinstance(entry, str) or not entry:
            self.problem("kustomize-build", rel, line, f"{key}[{i}] must be a path")
            return
        target = self._target(directory, rel, line, f"{key}[{i}]", entry)
        if target is None:
            return
        if target.is_dir():
            self.walk(target, stack)
        elif target.is_file():
            self._manifest(target)
        else:
            self.problem("kustomize-build", rel, line, f"{key}[{i}] '{entry}' not found")

    def _manifest(self, path: Path) -> None:
        if self.light:
            self.files.add(self.repo.rel(path))
            self.unparsed.append(path)
            return
        docs = self.load(path)
        if docs is not None and not docs:
            self.problem("yaml-syntax", self.repo.rel(path), 1,
                         "contributed 0 objects (empty or comments only)", "warning")

    def _target(self, directory: Path, rel: str, line: Line, what: str,
                entry: str) -> Path | None:
        """The local path an entry names, or None after reporting why it is refused."""
        if is_remote(entry):
            # Argo CD fetches it; offline it cannot be: the kustomization is not rendered,
            # which is said, and is not a defect of the repository.
            self.problem("source-not-rendered", rel, line,
                         f"{what} '{entry}' is remote; gitplane renders offline and does "
                         "not fetch it, so this kustomization is not rendered",
                         severity="warning")
            return None
        if entry.startswith("/"):
            self.problem("kustomize-build", rel, line, f"{what} '{entry}' is absolute; refused")
            return None
        return self._inside(directory / entry, rel, line, f"{what} '{entry}'")

    def _file_ref(self, directory: Path, rel: str, line: Line, what: str, entry: str,
                  parse: bool) -> None:
        target = self._target(directory, rel, line, what, entry)
        if target is None:
            return
        if not target.is_file():
            self.problem("kustomize-build", rel, line, f"{what} '{entry}' not found")
            return
        if parse and not self.light:
            self.load(target)
        else:
            self.files.add(self.repo.rel(target))
            if parse:
                self.unparsed.append(target)

    def _files(self, directory: Path, rel: str, doc: Doc, k: dict[str, Any]) -> None:
        for i, p in enumerate(_list(k.get("patches"))):
            if isinstance(p, dict) and isinstance(p.get("path"), str):
                self._file_ref(directory, rel, partial(doc.line_of, "patches", i, "path"),
                               f"patches[{i}].path", p["path"], True)
        for i, p in enumerate(_list(k.get("patchesStrategicMerge"))):
            if isinstance(p, str) and "\n" not in p and not p.lstrip().startswith(("{", "-")):
                self._file_ref(directory, rel, partial(doc.line_of, "patchesStrategicMerge", i),
                               f"patchesStrategicMerge[{i}]", p, True)
        for i, p in enumerate(_list(k.get("patchesJson6902"))):
            if isinstance(p, dict) and isinstance(p.get("path"), str):
                self._file_ref(directory, rel, partial(doc.line_of, "patchesJson6902", i, "path"),
                               f"patchesJson6902[{i}].path", p["path"], True)
        for i, p in enumerate(_list(k.get("replacements"))):
            if isinstance(p, dict) and isinstance(p.get("path"), str):
                self._file_ref(directory, rel, partial(doc.line_of, "replacements", i, "path"),
                               f"replacements[{i}].path", p["path"], True)
        for key in ("crds", "configurations"):
            for i, p in enumerate(_list(k.get(key))):
                if isinstance(p, str):
                    self._file_ref(directory, rel, partial(doc.line_of, key, i), f"{key}[{i}]", p, True)
        for gen in ("configMapGenerator", "secretGenerator"):
            for i, g in enumerate(_list(k.get(gen))):
                if not isinstance(g, dict):
                    continue
                if gen == "secretGenerator":
                    for lit in _list(g.get("literals")):
                        value = str(lit).split("=", 1)[1] if "=" in str(lit) else str(lit)
                        if len(value) >= 4:
                            self.secrets.add(value)
                for j, f in enumerate(_list(g.get("files"))):
                    if isinstance(f, str):
                        path = f.split("=", 1)[1] if "=" in f else f
                        self._file_ref(directory, rel, partial(doc.line_of, gen, i, "files", j),
                                       f"{gen}[{i}].files[{j}]", path, False)
                envs = _list(g.get("envs")) + ([g["env"]] if isinstance(g.get("env"), str)
                                               else [])
                for f in envs:
                    if isinstance(f, str):
                        self._file_ref(directory, rel, partial(doc.line_of, gen, i), f"{gen}[{i}] env",
                                       f, False)
                        if gen == "secretGenerator":
                            self._env_secrets(directory / f)
        for key in ("generators", "transformers", "validators"):
            for i, entry in enumerate(_list(k.get(key))):
                line = partial(doc.line_of, key, i)
                if isinstance(entry, str) and "\n" not in entry:
                    target = self._target(directory, rel, line, f"{key}[{i}]", entry)
                    if target is None:
                        continue
                    if target.is_dir():
                        self.walk(target, ())
                        continue
                    if not target.is_file():
                        self.problem("kustomize-build", rel, line,
                                     f"{key}[{i}] '{entry}' not found")
                        continue
                    plugin_docs = self.load(target) or []
                    objs = [d.obj for d in plugin_docs]
                else:
                    try:
                        objs = [d.obj for d in load_text(str(entry), rel)] if isinstance(
                            entry, str) else [entry]
                    except YamlError:
                        objs = []
                for obj in objs:
                    if _is_plugin(obj):
                        self.problem("kustomize-build", rel, line,
                                     f"{key}[{i}]: plugins and KRM functions are disabled "
                                     "(not rendered)")


def _is_plugin(obj: Any) -> bool:
    if not isinstance(obj, dict):
        return False
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    ann = meta.get("annotations") if isinstance(meta, dict) else None
    if isinstance(ann, dict) and ("config.kubernetes.io/function" in ann
                                  or "config.k8s.io/function" in ann):
        return True
    api = str(obj.get("apiVersion") or "")
    return api not in ("builtin", "kustomize.config.k8s.io/v1beta1",
                       "kustomize.config.k8s.io/v1alpha1", "") \
        and obj.get("kind") not in _BUILTIN_PLUGINS


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@dataclass
class Pending:
    """A kustomization whose graph is walked and clean, waiting for the engine."""

    repo: Repository
    directory: Path
    graph: Graph
    overrides: dict[str, Any] | None
    out: Rendered
    krel: str
    cache_key: str | None
    _names: tuple[set[str], set[str]] | None = None
    _size: int | None = None

    def names(self) -> tuple[set[str], set[str]]:
        """(names its objects can have before kustomize renames them, every word its files
        and settings hold): two kustomizations share a batch only when neither's words
        name the other's objects, so no name reference can cross between them."""
        if self._names is None:
            defined: set[str] = set()
            words: set[str] = set()
            for docs in self.graph.docs.values():
                for doc in docs:
                    d, w = doc.names()
                    defined |= d
                    words |= w
            words_of(self.overrides or {}, words)
            self._names = (defined, words)
        return self._names

    def size(self) -> int:
        """Bytes of the files its graph reads (a batch's share of the engine's memory)."""
        if self._size is None:
            total = 0
            for rel in self.graph.files:
                with contextlib.suppress(OSError):
                    total += os.stat(os.path.join(self.repo.top, rel)).st_size
            self._size = total
        return self._size

#: Kustomization settings kustomize applies to the whole build, not to one kustomization's
#: objects: a kustomization using them is rendered alone.
BUILD_WIDE = ("vars", "sortOptions", "configurations", "crds", "openapi")


def build(repo: Repository, engine: Engine, directory: Path, timeout: float = 60.0,
          memory: int = 2 * 1024 ** 3, parsed: ParsedFiles | None = None,
          overrides: dict[str, Any] | None = None,
          changed: set[str] | None = None) -> Rendered:
    """Render one kustomization directory within the repository boundary, with the
    Application's own kustomize settings (``overrides``) when it has some. With ``changed``,
    a kustomization that reads none of those files and holds no Argo CD object is not
    rendered (``skipped``): the engine is deterministic, so its output did not change."""
    got = prepare(repo, engine, directory, parsed, overrides, changed)
    return got if isinstance(got, Rendered) else render_one(engine, got, timeout, memory)


def _unrenderable(p: Problem) -> bool:
    """A problem that stops the engine: an error, or something gitplane cannot render
    offline (a remote base, Helm inside kustomize)."""
    return p.severity == "error" or (p.rule == "source-not-rendered" and not p.approximate)


def prepare(repo: Repository, engine: Engine, directory: Path,
            parsed: ParsedFiles | None = None, overrides: dict[str, Any] | None = None,
            changed: set[str] | None = None) -> Rendered | Pending:
    """Everything before the engine: the graph walk (its problems end here), the ``changed``
    skip and the cache. A :class:`Pending` when the engine must run."""
    walk_key = _walk_key(repo, engine, directory, overrides) if changed is None else None
    if walk_key is not None:
        remembered = _remembered(repo, walk_key, parsed or ParsedFiles())
        if remembered is not None:
            return remembered
    # With ``changed``, a light walk first: most kustomizations are skipped unparsed.
    graph = _walked(repo, directory, parsed, overrides, light=changed is not None)
    if graph.light and not any(_unrenderable(p) for p in graph.problems) and \
            not (graph.files & (changed or set())) and not (graph.probed & (changed or set())) \
            and not _argo_inside(graph) and not untracked(graph):
        return Rendered(files=graph.files, problems=list(graph.problems), skipped=True)
    if graph.light:
        graph = _walked(repo, directory, parsed, overrides, light=False)
    out = Rendered(files=graph.files)
    out.problems = list(graph.problems)
    if any(_unrenderable(p) for p in graph.problems):
        out.ok = False
        return out
    kfile = kustomization_file(directory)
    krel = repo.rel(kfile) if kfile else repo.rel(directory)
    cache_key = _cache_key(repo, engine, directory, graph, overrides)
    if walk_key is not None and cache_key is not None and not graph.problems:
        _remember(repo, walk_key, graph, cache_key)
    if cache_key is not None:
        hit = cache.get(cache_key)
        if hit is not None:
            try:
                out.resources = [Resource(r["obj"], str(r["file"]), int(r["line"]),
                                          _doc_at(graph.docs.get(r["file"]), int(r["line"])))
                                 for r in hit["resources"] if isinstance(r["obj"], dict)]
                return out
            except (KeyError, TypeError, ValueError):
                out.resources = []  # an entry of the wrong shape is a miss, as promised
    return Pending(repo, directory, graph, overrides, out, krel, cache_key)


# -- walks remembered between runs ------------------------------------------------------------
# A warm run need not walk a kustomization graph again: a clean walk is kept in the cache
# with what it depended on (every file it read, by content digest, and every kustomization
# file name it looked for and did not find) and the key of its render. It is taken again
# only when each of those files still has its digest and stays inside the repository, and
# none of those names exists; anything else walks afresh. Objects taken from the cache get
# their source document only when a finding asks for a line.


def _walk_key(repo: Repository, engine: Engine, directory: Path,
              overrides: dict[str, Any] | None) -> str | None:
    if not cache.enabled():
        return None
    return cache.key(["walk", engine.binary, engine.version(), repo.rel(directory),
                      json.dumps(overrides or {}, sort_keys=True)], {})


def _remember(repo: Repository, key: str, graph: Graph, render_key: str) -> None:
    try:
        files = {rel: graph.parsed.digest(repo.top / rel).hex() for rel in graph.files}
    except OSError:
        return
    cache.put(key, {"files": files, "probed": sorted(graph.probed), "render": render_key},
              "walks")


def _remembered(repo: Repository, key: str, parsed: ParsedFiles) -> Rendered | None:
    """The render of a remembered walk whose files are all as they were, or None."""
    entry = cache.get(key, "walks")
    if entry is None:
        return None
    try:
        files = dict(entry["files"])
        probed = [str(rel) for rel in entry["probed"]]
        render = cache.get(str(entry["render"]))
        if render is None:
            return None
        for rel, digest in files.items():
            path = repo.top / str(rel)
            repo.boundary.check(path, str(rel))
            if parsed.digest(path).hex() != digest:
                return None
        if any(os.path.lexists(repo.top / rel) for rel in probed):
            return None
        resources = [Resource(r["obj"], str(r["file"]), int(r["line"]),
                              _LazyDoc(parsed, repo.top / str(r["file"]), str(r["file"]),
                                       int(r["line"])))
                     for r in render["resources"] if isinstance(r["obj"], dict)]
    except (GitplaneError, OSError, KeyError, TypeError, ValueError, AttributeError):
        return None  # changed, gone, outside, or an entry of the wrong shape: walk afresh
    return Rendered(resources=resources, files={str(rel) for rel in files})


class _LazyDoc:
    """The source document of an object taken from the cache, parsed (from the parse cache)
    only when a finding asks for a line or the object as written."""

    def __init__(self, parsed: ParsedFiles, path: Path, file: str, line: int) -> None:
        self.parsed, self.path, self.file, self.line = parsed, path, file, line
        self._doc: Doc | None = None
        self._loaded = False

    def _get(self) -> Doc | None:
        if not self._loaded:
            self._loaded = True
            try:
                self._doc = _doc_at(self.parsed.load(self.path, self.file), self.line)
            except (YamlError, OSError):
                self._doc = None
        return self._doc

    @property
    def obj(self) -> Any:
        doc = self._get()
        return doc.obj if doc is not None else None

    def line_of(self, *path: str | int) -> int:
        doc = self._get()
        return int(doc.line_of(*path)) if doc is not None else self.line


def _walked(repo: Repository, directory: Path, parsed: ParsedFiles | None,
            overrides: dict[str, Any] | None, light: bool) -> Graph:
    """The graph of ``directory`` and of the Application's own components and patches."""
    graph = Graph(repo, parsed, light)
    graph.walk(directory)
    for i, comp in enumerate((overrides or {}).get("components") or []):
        target = graph._target(directory, repo.rel(directory), 1,
                               f"Application kustomize.components[{i}]", str(comp))
        if target is not None:
            graph.walk(target)
    for i, patch in enumerate((overrides or {}).get("patches") or []):
        if isinstance(patch, dict) and patch.get("path"):
            graph._file_ref(directory, repo.rel(directory), 1,
                            f"Application kustomize.patches[{i}].path", str(patch["path"]),
                            True)
    return graph


def render_one(engine: Engine, p: Pending, timeout: float, memory: int) -> Rendered:
    """The engine's render of one kustomization, on its own."""
    out = _engine_build(p.repo, engine, p.directory, p.graph, p.overrides,
                        Rendered(files=p.out.files, problems=list(p.out.problems)), p.krel,
                        timeout, memory)
    store(p, out)
    return out


def store(p: Pending, out: Rendered) -> None:
    if p.cache_key is not None and out.ok:
        cache.put(p.cache_key, {"resources": [{"obj": r.obj, "file": r.file, "line": r.line}
                                              for r in out.resources]})


def _doc_at(docs: list[Doc] | None, line: int) -> Doc | None:
    return next((d for d in docs or [] if d.line == line), None)


#: Kustomization keys that read files gitplane's graph does not follow: not cached.
_UNTRACKED = ("openapi", "helmCharts", "helmGlobals", "helmChartInflationGenerator")


def untracked(graph: Graph) -> bool:
    """Whether a kustomization of the graph reads files the graph does not follow."""
    return any(isinstance(d.obj, dict) and any(k in d.obj for k in _UNTRACKED)
               for docs in graph.docs.values() for d in docs[:1])


_ARGO_GROUP = re.compile(rb"(?<![\w.-])argoproj\.io/")


def _argo_inside(graph: Graph) -> bool:
    """Whether a file of the graph holds an Argo CD object (discovery needs its render); for
    a file not parsed, whether it may: it names the ``argoproj.io/`` API group (not as the
    end of a longer name such as ``argocd.argoproj.io/sync-wave``), or has a backslash,
    which a quoted YAML escape could hide the name behind."""
    if any(isinstance(d.obj, dict) and str(d.obj.get("apiVersion", "")).startswith(
            "argoproj.io/") for docs in graph.docs.values() for d in docs):
        return True
    return any(graph.parsed.scan(path, _may_hold_argo) for path in graph.unparsed)


def _may_hold_argo(raw: bytes) -> bool:
    return b"\\" in raw or _ARGO_GROUP.search(raw) is not None


def _cache_key(repo: Repository, engine: Engine, directory: Path, graph: Graph,
               overrides: dict[str, Any] | None) -> str | None:
    """The render's cache key, or None when it must not be cached."""
    if not cache.enabled() or untracked(graph):
        return None
    digests: dict[str, bytes] = {}
    for rel in graph.files:
        try:
            digests[rel] = graph.parsed.digest(repo.top / rel)
        except OSError:
            return None
    return cache.key([engine.binary, engine.version(), repo.rel(directory),
                      json.dumps(overrides or {}, sort_keys=True)], digests)


def _engine_build(repo: Repository, engine: Engine, directory: Path, graph: Graph,
                  overrides: dict[str, Any] | None, out: Rendered, krel: str, timeout: float,
                  memory: int) -> Rendered:
    """The engine's render through the wrapper kustomization, traced back to source files."""
    scratch = Path(tempfile.mkdtemp(prefix="gitplane-k-", dir=scratch_parent()))
    try:
        # A Component cannot be a resource: it joins the wrapper as a component instead.
        (scratch / "kustomization.yaml").write_text(yaml.safe_dump(wrapper(
            directory, scratch, graph.root_kind(directory), overrides)))
        try:
            res = engine.build(scratch, timeout=timeout, memory=memory, helm=graph.helm,
                               charts=graph.charts)
        except GitplaneError as exc:
            limit = f"{timeout:g} s / {memory // 1024 ** 2} MiB"
            out.problems.append(Problem("kustomize-build", krel, 1,
                                        f"render of {repo.rel(directory)} failed: {exc} "
                                        f"(limits {limit})"))
            out.ok = False
            return out
        if res.returncode != 0:
            msg = readable_error(res.stderr, repo.top, scratch, directory)
            for value in sorted(graph.secrets, key=len, reverse=True):
                msg = msg.replace(value, "++++++++")
            if res.returncode < 0 or "out of memory" in res.stderr or "cannot allocate" in \
                    res.stderr:
                msg = f"render of {repo.rel(directory)} exceeded " \
                      f"{memory // 1024 ** 2} MiB of memory"
            rule = _helm_rule(res.stderr)
            if rule != "kustomize-build":
                msg = _helm_message(res.stderr, repo.top)
            out.problems.append(Problem(rule, krel, 1, msg))
            out.ok = False
            return out
        try:
            objs = load_trusted(res.stdout.decode("utf-8", "replace"), krel)
        except YamlError as exc:
            out.problems.append(Problem("kustomize-build", krel, 1,
                                        f"engine output unreadable: {exc.reason}"))
            out.ok = False
            return out
        for obj in objs:
            if isinstance(obj, dict):
                out.resources.append(traced(repo, graph, scratch, obj, krel))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return out


def as_mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _helm_rule(stderr: str) -> str:
    """The rule of an engine failure: a chart of ``helmCharts`` whose values the chart's
    schema rejects, or that does not render, has Helm's rules (gitplane's Helm command marks
    its errors)."""
    if "gitplane-helm-values:" in stderr:
        return "helm-values"
    if "gitplane-helm-template:" in stderr or "gitplane-helm-chart:" in stderr:
        return "helm-template"
    return "kustomize-build"


def _helm_message(stderr: str, top: Path) -> str:
    """Helm's own words from kustomize's wrapped error: what follows gitplane's marker up
    to kustomize's ``unable to run`` (which lists the command and its environment)."""
    m = re.search(r"gitplane-helm-\w+: (.*?)(?:: unable to run:|\Z)", stderr, re.S)
    text = m.group(1) if m else stderr
    lines = [ln.strip() for ln in text.replace(str(top) + "/", "").splitlines() if ln.strip()]
    return "helmCharts: " + "; ".join(lines[:6]) + (" …" if len(lines) > 6 else "")


def scratch_parent() -> str | None:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def traced(repo: Repository, graph: Graph, scratch: Path, obj: dict[str, Any],
            fallback: str) -> Resource:
    """Strip the origin annotation and turn it into a file and line."""
    meta = obj.get("metadata")
    origin: Any = None
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
        ann = meta["annotations"]
        raw = ann.pop(ORIGIN, None)
        if not ann:
            del meta["annotations"]
        if isinstance(raw, str):
            try:
                origin = yaml_value(raw)
            except yaml.YAMLError:
                origin = None
    file, line = fallback, 1
    if isinstance(origin, dict):
        ref = origin.get("path") or origin.get("configuredIn")
        if isinstance(ref, str):
            path = Path(os.path.normpath(scratch / ref))
            rel = repo.rel(path)
            if not rel.startswith("/"):
                file = rel
                line, src = _line_in(graph.docs.get(rel) or [], obj, "configuredIn" in origin)
                return Resource(obj, file, line, src)
    return Resource(obj, file, line)


def _line_in(docs: list[Doc], obj: dict[str, Any], generated: bool) -> tuple[int, Doc | None]:
    kind = obj.get("kind")
    name = str((obj.get("metadata") or {}).get("name") or "")
    if generated and docs:
        doc = docs[0]
        k = doc.obj if isinstance(doc.obj, dict) else {}
        for gen in ("configMapGenerator", "secretGenerator"):
            for i, g in enumerate(_list(k.get(gen))):
                if isinstance(g, dict) and g.get("name") and name.find(str(g["name"])) >= 0:
                    return doc.line_of(gen, i), None
        return doc.line, None
    best: Doc | None = None
    for doc in docs:
        o = doc.obj
        if not isinstance(o, dict) or o.get("kind") != kind:
            continue
        src = str((o.get("metadata") or {}).get("name") or "") if isinstance(
            o.get("metadata"), dict) else ""
        if src == name:
            return doc.line, doc
        if src and src in name and best is None:
            best = doc
    if best is not None:
        return best.line, best
    return (docs[0].line if docs else 1), None


__all__ = ["build", "Graph", "kustomization_file", "is_remote", "resource_id"]
