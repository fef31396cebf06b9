"""Git facts, each asked of ``git`` in one place: the top level and ``origin`` of a checkout,
the branch checked out, the commit a revision names, the merge-base, the files two
revisions (or a revision and the working tree) differ in, a revision checked out into a
scratch folder, and whether a folder is ignored.

Git runs with the safe options of ``gitplane.proc`` (no hooks, fsmonitor, external diff or
text conversion a repository could set); a revision that looks like an option is refused,
never passed to git.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gitplane import proc
from gitplane.errors import GitplaneError


def _out(args: list[str], cwd: Path, timeout: float = 30.0) -> str | None:
    """git's output, or None when it fails or cannot run."""
    try:
        res = proc.git(args, cwd=cwd, timeout=timeout)
    except GitplaneError:
        return None
    text = res.stdout.decode().strip()
    return text if res.returncode == 0 and text else None


def toplevel(path: Path) -> Path | None:
    """The top level of the checkout holding ``path``, or None."""
    top = _out(["rev-parse", "--show-toplevel"], path)
    return Path(top) if top else None


def origin_url(top: Path) -> str | None:
    return _out(["config", "--get", "remote.origin.url"], top)


def checked_out_branch(top: Path) -> str | None:
    """The branch checked out, None when detached or not in Git."""
    return _out(["symbolic-ref", "--short", "-q", "HEAD"], top)


def commit_of(cwd: Path, revision: str) -> str | None:
    """The commit ``revision`` names locally (a branch, remote branch, tag or commit), or
    None; ``origin/<revision>`` is tried too."""
    if not revision or revision.startswith("-"):
        return None
    for candidate in (revision, f"origin/{revision}"):
        commit = _out(["rev-parse", "--verify", "--quiet", "--end-of-options",
                       f"{candidate}^{{commit}}"], cwd)
        if commit:
            return commit
    return None


def merge_base(cwd: Path, a: str, b: str) -> str | None:
    return _out(["merge-base", a, b], cwd)


def changed_files(top: Path, base: str, head: str | None) -> set[str]:
    """Paths that differ between ``base`` and ``head`` (the working tree, untracked files
    included, when ``head`` is None)."""
    args = ["diff", "--no-ext-diff", "--no-textconv", "--name-only", "-z", base]
    if head:
        args.append(head)
    with ThreadPoolExecutor(max_workers=1) as pool:  # both listings at once
        untracked = pool.submit(proc.git, ["ls-files", "--others", "--exclude-standard", "-z"],
                                top, 120) if head is None else None
        res = proc.git(args, cwd=top, timeout=120)
        listed = untracked.result() if untracked is not None else None
    if res.returncode != 0:
        raise GitplaneError(f"git diff failed: {res.stderr.strip()}")
    out = {p for p in res.stdout.decode("utf-8", "replace").split("\0") if p}
    if listed is not None:
        if listed.returncode != 0:
            raise GitplaneError(f"git ls-files failed: {listed.stderr.strip()}")
        out |= {p for p in listed.stdout.decode("utf-8", "replace").split("\0") if p}
    return out


def check_out(cwd: Path, commit: str, dest: Path, index: Path) -> None:
    """``commit`` checked out into ``dest`` through the private index file ``index``: git's
    own checkout (paths checked by git, links created as links, to be judged by the
    repository boundary), the user's index and working tree untouched, Git LFS content left
    as pointers (nothing fetched)."""
    env = {"GIT_INDEX_FILE": str(index), "GIT_LFS_SKIP_SMUDGE": "1"}
    for args in (["read-tree", commit],
                 ["checkout-index", "--all", "--force", f"--prefix={dest}/"]):
        res = proc.git(args, cwd=cwd, timeout=120, env=env)
        if res.returncode != 0:
            raise GitplaneError(f"git {args[0]} {commit[:12]} failed: {res.stderr.strip()}")
    dest.mkdir(exist_ok=True)  # an empty tree checks nothing out


def init(directory: Path) -> None:
    res = proc.git(["init", "-q", str(directory)], cwd=directory)
    if res.returncode != 0:
        raise GitplaneError(f"git init {directory} failed: {res.stderr.strip()}")


def ignored(directory: Path, top: Path) -> bool:
    """Whether ``directory`` is ignored by the checkout at ``top``."""
    res = proc.git(["check-ignore", "-q", "--no-index", str(directory.absolute()) + "/"],
                   cwd=top)
    return res.returncode == 0
