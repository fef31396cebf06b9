"""Day-2 changes of the repository: promote, seal, release, upgrade.

Every command here plans its edits without writing, shows their rendered effect (the
platform rendered as it is, and again in a scratch copy with the edits applied), verifies
each edit (only the intended lines differ; the file parses to the intended data), refuses
files with uncommitted changes, writes all or nothing, and with ``commit`` makes one commit
with trailers naming what it did.
"""
from __future__ import annotations

import difflib
import io
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitplane import proc
from gitplane.diff import Change, compare_platforms, platform_at
from gitplane.errors import GitplaneError
from gitplane.platform import Platform, Progress, engine_for
from gitplane.repo import Repository, Revisions
from gitplane.scaffold.files import write_all
from gitplane.yamlio import read_regular


@dataclass
class Edit:
    """One file's new bytes (``old`` None: a new file), and what the edit is."""

    path: str  # repository-relative (to the Git top)
    old: bytes | None
    new: bytes
    what: str

    def lines(self) -> str:
        """The edit as a unified diff."""
        a = (self.old or b"").decode("utf-8", "replace").splitlines(keepends=True)
        b = self.new.decode("utf-8", "replace").splitlines(keepends=True)
        return "".join(difflib.unified_diff(a, b, f"a/{self.path}", f"b/{self.path}", n=1))

    def to_json(self) -> dict[str, Any]:
        return {"file": self.path, "what": self.what, "created": self.old is None,
                "diff": self.lines()}


@dataclass
class Effect:
    """The rendered difference an edit makes, split into what was meant and the rest."""

    intended: list[Change] = field(default_factory=list)
    collateral: list[Change] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"intended": [c.to_json() for c in self.intended],
                "collateral": [c.to_json() for c in self.collateral]}


def read_inside(repo: Repository, rel: str) -> bytes:
    """The bytes of the repository file ``rel``: a regular file whose path, through every
    link, stays inside the repository (a link out of it is refused, never followed)."""
    full = repo.top / rel
    try:
        repo.boundary.check(full, rel)
        return read_regular(full)
    except OSError as exc:
        raise GitplaneError(f"{rel}: cannot read it ({exc.strerror or exc})") from None


def exists_inside(repo: Repository, rel: str) -> bool:
    """Whether ``rel`` is a regular file of the repository (a link leaving it is not)."""
    try:
        read_inside(repo, rel)
    except GitplaneError:
        return False
    return True


def load(repo: Repository, roots: list[str] | None = None,
         progress: Progress | None = None) -> Platform:
    """Discover and render ``repo`` as its tree holds it (diff's side of one tree)."""
    engine = engine_for(repo)
    revisions = Revisions(repo)
    try:
        return platform_at(revisions, None, engine, roots=roots, progress=progress,
                           missing_ok=False)
    finally:
        revisions.close()
        engine.close()


def require_clean(repo: Repository, paths: list[str]) -> None:
    """Refuse files with changes not committed (or not tracked, where they exist): an edit
    must be reviewable on its own."""
    if not repo.in_git or not paths:
        return
    res = proc.git(["status", "--porcelain", "--untracked-files=all", "--", *paths],
                   cwd=repo.top)
    if res.returncode != 0:
        raise GitplaneError(f"git status failed: {res.stderr.strip()}")
    dirty = [line[3:] for line in res.stdout.decode(errors="replace").splitlines() if line]
    if dirty:
        raise GitplaneError("uncommitted changes in " + ", ".join(sorted(dirty)[:10]) +
                            ": commit or stash them first; nothing written")


def scratch_platform(repo: Repository, edits: list[Edit], roots: list[str] | None = None,
                     progress: Progress | None = None) -> Platform:
    """The platform as it renders with ``edits`` applied, in a scratch copy of the working
    tree (never the repository itself)."""
    with tempfile.TemporaryDirectory(prefix="gitplane-edit-") as tmp:
        tree = Path(tmp) / "tree"
        shutil.copytree(repo.top, tree, symlinks=True,
                        ignore=shutil.ignore_patterns(".git"))
        for e in edits:
            target = tree / e.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(e.new)
        return load(repo.at(tree), roots, progress)


def effect(before: Platform, after: Platform, intended: Any) -> Effect:
    """Every rendered change, split by ``intended(change, before_obj, after_obj)``."""
    out = Effect()
    objs = {}
    for side, platform in (("a", before), ("b", after)):
        for er in platform.envs:
            for ar in er.apps:
                for r in ar.resources:
                    objs[(side, er.env.name, ar.app.name, r.id)] = r.obj
    for c in compare_platforms(before, after):
        a = objs.get(("a", c.environment, c.application, c.resource))
        b = objs.get(("b", c.environment, c.application, c.resource))
        (out.intended if intended(c, a, b) else out.collateral).append(c)
    return out


def check_minimal(e: Edit, replaced: int, inserted: int) -> None:
    """The edit differs from the file in at most ``replaced`` replaced lines and
    ``inserted`` new lines, and removes none: a round trip that reformatted anything else is
    refused."""
    if e.old is None:
        return
    a = e.old.decode("utf-8", "replace").splitlines()
    b = e.new.decode("utf-8", "replace").splitlines()
    rep = ins = dele = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "replace":
            rep += i2 - i1
            ins += max(0, (j2 - j1) - (i2 - i1))
        elif op == "insert":
            ins += j2 - j1
        elif op == "delete":
            dele += i2 - i1
    if rep > replaced or ins > inserted or dele:
        raise GitplaneError(f"{e.path}: the edit cannot be made exactly (it would change "
                            f"{rep + dele} lines and add {ins}, where {replaced} and "
                            f"{inserted} were meant); edit it by hand; nothing written")


def parsed(data: bytes, shown: str) -> Any:
    """The YAML documents of ``data`` as plain data (for comparing edits)."""
    import yaml

    try:
        return list(yaml.safe_load_all(io.BytesIO(data)))
    except yaml.YAMLError as exc:
        raise GitplaneError(f"{shown}: the edit does not parse ({exc}); nothing written") \
            from None


def write(repo: Repository, edits: list[Edit]) -> None:
    """All edits or none; a file changed since it was read is refused."""
    files = {repo.top / e.path: e.new for e in edits}
    expected = {repo.top / e.path: e.old for e in edits if e.old is not None}
    for e in edits:
        if e.old is None and (repo.top / e.path).exists():
            raise GitplaneError(f"{e.path}: appeared since it was planned; nothing written")
    write_all(files, expected, {repo.top / e.path: e.path for e in edits})


def commit(repo: Repository, edits: list[Edit], subject: str, trailers: dict[str, str]
           ) -> str:
    """One commit of exactly the edited files; its id."""
    if not repo.in_git:
        raise GitplaneError("--commit needs a Git repository")
    paths = sorted({e.path for e in edits})
    message = subject + "\n\n" + "\n".join(f"{k}: {v}" for k, v in trailers.items()) + "\n"
    for args in (["add", "--", *paths], ["commit", "-q", "-m", message, "--", *paths]):
        res = proc.git(args, cwd=repo.top, timeout=60)
        if res.returncode != 0:
            raise GitplaneError(f"git {args[0]} failed: "
                                f"{res.stderr.strip()} (the files "
                                "are written, not committed)")
    res = proc.git(["rev-parse", "HEAD"], cwd=repo.top)
    return res.stdout.decode().strip()


__all__ = ["Edit", "Effect", "load", "read_inside", "exists_inside", "require_clean", "scratch_platform", "effect",
           "check_minimal", "parsed", "write", "commit"]
