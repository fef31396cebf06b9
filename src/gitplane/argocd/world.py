"""The generators' outside world, offline: this repository's trees (its working tree and
the revisions a generator names) and each environment's cluster inventory; and the replay
of ApplicationSet expansions between the two sides of a ``diff``: an expansion is reused
when the ApplicationSet is the same and every answer its generators got is too."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitplane.argocd import appset as appsets
from gitplane.argocd import clusters as inventory
from gitplane.argocd.generators import GeneratorError, OfflineError, doublestar_match
from gitplane.boundary import walk
from gitplane.errors import GitplaneError
from gitplane.render import Rendered
from gitplane.repo import Repository, Revisions
from gitplane.yamlio import ParsedFiles, read_regular


class LocalWorld:
    """Generators' outside world from this repository: its working tree (for git generators
    on this repository) and each environment's cluster inventory."""

    def __init__(self, repo: Repository, env: str = "",
                 clusters: list[dict[str, Any]] | None = None,
                 revisions: Revisions | None = None) -> None:
        self.repo = repo
        self.env = env
        self._clusters = clusters
        self.revisions = revisions or Revisions(repo)
        self._listings: dict[tuple[str, str], list[str]] = {}

    def for_env(self, env: str) -> LocalWorld:
        other = LocalWorld(self.repo, env, self._clusters, self.revisions)
        other._listings = self._listings
        return other

    def _tree(self, repo_url: str, revision: str) -> Repository:
        """The tree a generator reads: its revision when that resolves locally, else the
        working tree."""
        self._check(repo_url)
        try:
            return self.revisions.view(revision)
        except GitplaneError:
            return self.repo

    def _listing(self, tree: Repository, what: str) -> list[str]:
        """The tree's folders (``dirs``) or files, listed once."""
        key = (str(tree.top), what)
        if key not in self._listings:
            self._listings[key] = appsets.list_folders(tree.top) if what == "dirs" else \
                list_files(tree.top)
        return self._listings[key]

    def _check(self, repo_url: str) -> None:
        if not self.repo.is_self(repo_url):
            raise OfflineError(f"repoURL '{repo_url}' is not this repository; another "
                               "repository cannot be read offline (add its URL to repoURLs: "
                               "in gitplane.yaml if it is a mirror of this one)")

    def directories(self, repo_url: str, revision: str) -> list[str]:
        return self._listing(self._tree(repo_url, revision), "dirs")

    def files(self, repo_url: str, revision: str, pattern: str) -> dict[str, str]:
        tree = self._tree(repo_url, revision)
        out = {}
        for rel in self._listing(tree, "files"):
            if doublestar_match(pattern, rel):
                try:
                    out[rel] = read_regular(tree.top / rel).decode("utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise GeneratorError(f"cannot read {rel}: {exc}") from None
        return out

    def clusters(self) -> list[dict[str, Any]]:
        if self._clusters is None:
            path = self.repo.inventory_path(self.env) if self.env else None
            try:
                if path is not None and (path.is_file() or path.is_symlink()):
                    self.repo.inside(path)  # a link out of the repository is refused
                self._clusters = inventory.load(path, self.repo.rel(path)) \
                    if path is not None and path.is_file() else []
            except GitplaneError as exc:
                raise GeneratorError(str(exc)) from None
        return self._clusters


def list_files(root: Path) -> list[str]:
    """Every regular file under ``root`` (no ``.git``, symlinks not followed), relative."""
    return walk(root, lambda name: name != ".git")[1]


class Shared:
    """What the two sides of a ``diff`` share, so the second side does only the work its
    differences need: parsed files (by content), the skip decisions of kustomizations that
    read no changed file (their graph is the same on both sides: every file it reads is),
    and ApplicationSet expansions, reused when the ApplicationSet is the same and every
    answer its generators got from the outside world (folders, files, clusters) is too."""

    def __init__(self) -> None:
        self.parsed = ParsedFiles()
        self.skips: dict[str, Rendered] = {}
        self.expansions: dict[str, list[tuple[list[tuple[str, tuple[Any, ...], Any]],
                                              appsets.Expansion]]] = {}


class _Recording:
    """A generators' world that records every question and answer (errors included)."""

    def __init__(self, world: LocalWorld) -> None:
        self.world = world
        self.calls: list[tuple[str, tuple[Any, ...], Any]] = []

    def _ask(self, method: str, *args: Any) -> Any:
        answer = _answer(self.world, method, args)
        self.calls.append((method, args, answer))
        if isinstance(answer, GeneratorError):
            raise answer
        return answer

    def directories(self, repo_url: str, revision: str) -> list[str]:
        return list(self._ask("directories", repo_url, revision))

    def files(self, repo_url: str, revision: str, pattern: str) -> dict[str, str]:
        return dict(self._ask("files", repo_url, revision, pattern))

    def clusters(self) -> list[dict[str, Any]]:
        return list(self._ask("clusters"))


def _answer(world: LocalWorld, method: str, args: tuple[Any, ...]) -> Any:
    try:
        return getattr(world, method)(*args)
    except GeneratorError as exc:
        return exc


def expand(obj: dict[str, Any], world: LocalWorld,
            shared: Shared | None) -> appsets.Expansion:
    """``appsets.expand``, reused from the other side of a diff when nothing it read differs."""
    if shared is None:
        return appsets.expand(obj, world)
    key = json.dumps([world.env, obj], sort_keys=True, default=str)
    for calls, expansion in shared.expansions.get(key, []):
        if all(_same(_answer(world, m, a), answer) for m, a, answer in calls):
            return expansion
    recording = _Recording(world)
    expansion = appsets.expand(obj, recording)
    shared.expansions.setdefault(key, []).append((recording.calls, expansion))
    return expansion


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, GeneratorError) or isinstance(b, GeneratorError):
        return type(a) is type(b) and str(a) == str(b)
    return bool(a == b)
