"""The repository's boundary: the one place a path is resolved through links and checked.

Argo CD checks a repository out in a folder of its own, so a link works there only when it
stays inside the repository on its own terms. A link is followed here the same way: its
target is taken step by step from the link's folder, and it leaves the repository when it is
absolute or when a ``..`` climbs above the repository's top, even if it would come back in
by the repository's own folder name (``../../repo/x`` works on a laptop, never in Argo CD).
Every reader (gitplane.yaml and the files it names, ``deployments/``, Application paths,
kustomize entries, plain folders, chart value files, schema locations) asks this module.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from gitplane.errors import BoundaryError

#: Where a link that leaves the repository "points": a place no repository is in.
OUTSIDE = os.path.join(os.sep, ".outside-the-repository")
#: Links followed in one resolution before it is called a loop (Linux's own limit).
MAX_HOPS = 40


class Boundary:
    """Paths of one repository (``top``), resolved through links, each folder once."""

    def __init__(self, top: Path | str) -> None:
        self.top = os.path.abspath(top)
        self.top_real = os.path.realpath(top)
        self._memo: dict[str, str] = {}

    def contains(self, path: str, real: bool = False) -> bool:
        """Whether ``path`` is the repository or inside it (whole components: ``/r-evil`` is
        not inside ``/r``); ``real``: against the repository's resolved location."""
        top = self.top_real if real else self.top
        return path == top or (path.startswith(top) and path[len(top):len(top) + 1] == os.sep)

    def real(self, path: str | Path) -> str:
        """``path`` made absolute with every link resolved; a link that leaves the repository
        resolves to a place under :data:`OUTSIDE`; RuntimeError on a loop."""
        return self._real(os.path.abspath(path), 0)

    def _real(self, path: str, hops: int) -> str:
        hit = self._memo.get(path)
        if hit is not None:
            return hit
        parent, name = os.path.split(path)
        if not name or parent == path:
            return path
        real_parent = self._real(parent, hops)
        full = os.path.join(real_parent, name)
        if os.path.islink(full):
            if hops >= MAX_HOPS:
                raise RuntimeError(f"{full}: symlink loop")
            full = self._follow(real_parent, os.readlink(full), hops + 1)
        self._memo[path] = full
        return full

    def _follow(self, folder: str, target: str, hops: int) -> str:
        """The link ``target`` read in ``folder`` (already resolved)."""
        if not self.contains(folder, real=True):
            # above the repository (its own path's links): the system's resolution
            return os.path.realpath(os.path.join(folder, target))
        if os.path.isabs(target):
            return os.path.join(OUTSIDE, target.lstrip(os.sep))
        parts = [p for p in folder[len(self.top_real):].split(os.sep) if p]
        for comp in target.split("/"):
            if comp in ("", "."):
                continue
            if comp == "..":
                if not parts:
                    return os.path.join(OUTSIDE, target.replace("../", ""))
                parts.pop()
            else:
                parts.append(comp)
        return self._real(os.path.join(self.top_real, *parts), hops)

    def check(self, path: str | Path, shown: str) -> Path:
        """``path`` as given when it, resolved through every link, is inside the repository;
        a BoundaryError naming ``shown`` otherwise."""
        absolute = os.path.normpath(os.path.abspath(path))
        if not self.contains(absolute) and not self.contains(absolute, real=True):
            raise BoundaryError(f"{shown}: outside the repository; refused")
        try:
            real = self.real(absolute)
        except (RuntimeError, OSError):
            raise BoundaryError(f"{shown}: symlink loop") from None
        if not self.contains(real, real=True):
            raise BoundaryError(f"{shown}: symlink points outside repository; refused")
        return Path(absolute)


def inside(path: str | Path, top: str | Path, shown: str) -> Path:
    """:meth:`Boundary.check` for one path of the repository at ``top``."""
    return Boundary(top).check(path, shown)


def walk(root: Path | str, enter: Callable[[str], bool] = lambda name: True,
         links: bool = False) -> tuple[list[str], list[str]]:
    """(folders, files) under ``root``, ``/``-separated relative to it and sorted: the one
    tree walker. A folder is entered (and listed) when ``enter(its name)``; a link to a
    folder is never followed; files are regular files, and with ``links`` also links to
    anything but a folder (their readers check them against the boundary, as Argo CD reads
    a linked manifest)."""
    folders: list[str] = []
    files: list[str] = []
    stack = [("", str(root))]
    while stack:
        rel, path = stack.pop()
        try:
            entries = list(os.scandir(path))
        except OSError:
            continue
        for e in entries:
            name = f"{rel}/{e.name}" if rel else e.name
            if e.is_dir(follow_symlinks=False):
                if enter(e.name):
                    folders.append(name)
                    stack.append((name, e.path))
            elif e.is_file(follow_symlinks=False) or (
                    links and e.is_symlink() and not e.is_dir(follow_symlinks=True)):
                files.append(name)
    return sorted(folders), sorted(files)
