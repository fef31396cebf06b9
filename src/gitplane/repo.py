"""The repository: where it is, its environments and its layout, and the trees of its
revisions (the git facts behind them are asked in gitplane.git)."""
from __future__ import annotations

import functools
import os
import re
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from gitplane import git
from gitplane.config import Config, load as load_config
from gitplane.boundary import Boundary, walk
from gitplane.errors import BoundaryError, GitplaneError
from gitplane.model import Environment

DEPLOYMENTS = "deployments"
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@functools.lru_cache(maxsize=4096)
def normalize_url(url: str) -> str:
    """Compare repository URLs after dropping scheme, user, ``.git`` and ``git@host:`` form."""
    u = url.strip().lower()
    m = re.match(r"^[\w.-]+@([^:/]+):(.*)$", u)
    if m:
        u = f"{m.group(1)}/{m.group(2)}"
    u = re.sub(r"^[a-z+]+://", "", u)
    u = re.sub(r"^[^@/]+@", "", u)
    u = u.rstrip("/")
    if u.endswith(".git"):
        u = u[:-4]
    return u


#: ``kustomize.buildOptions`` of argocd-cm (or the Argo CD chart's values), or
#: ``kustomizeBuildOptions`` of the Argo CD operator's ArgoCD resource, with --enable-helm.
HELM_BUILD_OPTION = re.compile(
    r"(kustomize\.buildOptions|kustomizeBuildOptions)[\"']?\s*:[^\n]*--enable-helm")

#: CI variables naming the branch a pull request will be merged into.
CI_TARGET_BRANCH = ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME")


def branch_of(option: str | None, checked_out: str | None, configured: str | None) -> str | None:
    """The branch a working tree stands for; see :attr:`Repository.branch`."""
    if option:
        return option
    if checked_out:
        return checked_out
    for var in CI_TARGET_BRANCH:
        value = os.environ.get(var, "").strip()
        if value:
            return value.removeprefix("refs/heads/")
    return configured or None


def is_within(path: Path, root: Path) -> bool:
    """Whole-component containment (``/r-evil`` is not within ``/r``)."""
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


@dataclass
class Repository:
    root: Path  # the folder that holds deployments/
    top: Path  # Git top level (Argo CD paths are relative to it); root when not in Git
    config: Config = field(default_factory=Config)
    origin: str | None = None
    #: ``--branch``: the branch the working tree stands for, chosen by the user.
    branch_option: str | None = None
    #: Where Git commands run: ``top``, or for a materialised revision the repository's own
    #: top level (the scratch tree has no ``.git``).
    git_top: Path | None = None

    @classmethod
    def find(cls, start: Path | None = None, layout: bool = True,
             branch: str | None = None) -> Repository:
        """The repository at or above ``start``: the folder holding ``deployments/``, or with
        ``layout=False`` and none found, the Git top level (or ``start`` itself). ``branch``:
        the branch the working tree stands for (``--branch``)."""
        start = (start or Path.cwd())
        if not start.exists():
            raise GitplaneError(f"{start}: no such directory")
        if not start.is_dir():
            raise GitplaneError(f"{start}: not a directory")
        start = start.resolve()
        for cand in (start, *start.parents):
            if (cand / DEPLOYMENTS).is_dir():
                root = cand
                break
        else:
            if layout:
                raise GitplaneError(f"{start}: no platform here (no '{DEPLOYMENTS}/' folder in "
                                    "it or its parents); create one with 'gitplane init'")
            root = git.toplevel(start) or start
        top = git.toplevel(root) or root
        if not is_within(root, top):
            top = root
        Boundary(top).check(root / DEPLOYMENTS, DEPLOYMENTS)
        config = load_config(root)
        if branch is not None and (not branch.strip() or branch.startswith("-")):
            raise GitplaneError(f"--branch '{branch}': not a branch name")
        return cls(root=root, top=top, config=config, origin=git.origin_url(top),
                   branch_option=branch)

    # -- paths ---------------------------------------------------------------------------
    def rel(self, path: Path | str) -> str:
        """Repository-relative POSIX name of ``path`` (for messages and Argo CD paths)."""
        s, top = str(path), self._top_str
        if s.startswith(top) and s[len(top):len(top) + 1] == "/":
            return s[len(top) + 1:]
        if s == top:
            return "."
        try:
            return Path(path).relative_to(self.top).as_posix()
        except ValueError:
            return s

    @cached_property
    def _top_str(self) -> str:
        return str(self.top)

    @property
    def prefix(self) -> str:
        """Argo CD path of the platform root (``deployments`` unless nested in a repository)."""
        rel = self.rel(self.root)
        return DEPLOYMENTS if rel in ("", ".") else f"{rel}/{DEPLOYMENTS}"

    @cached_property
    def boundary(self) -> Boundary:
        """The repository's boundary: every path a reader follows is checked by it."""
        return Boundary(self.top)

    def realpath(self, path: str) -> str:
        """``path`` made absolute with every link resolved as Argo CD's checkout would (see
        gitplane.boundary); RuntimeError on a symlink loop."""
        return self.boundary.real(path)

    def contains(self, path: str, real: bool = False) -> bool:
        """Whether ``path`` (a string) is the repository or inside it; ``real``: against
        the repository's resolved location."""
        return self.boundary.contains(path, real)

    def resolve(self, rel: str) -> Path:
        """An Argo CD path made absolute, refused when it is absolute or leaves the repository
        (remembered per path for the run)."""
        memo = self._resolved
        hit = memo.get(rel)
        if hit is None:
            try:
                hit = self._resolve(rel)
            except BoundaryError as exc:
                hit = exc
            memo[rel] = hit
        if isinstance(hit, BoundaryError):
            raise BoundaryError(str(hit))
        return hit

    @cached_property
    def _resolved(self) -> dict[str, Path | BoundaryError]:
        return {}

    def _resolve(self, rel: str) -> Path:
        if rel.startswith("/"):
            raise BoundaryError(f"app path is absolute: '{rel}'")
        candidate = os.path.normpath(os.path.join(self._top_str, rel))
        if not self.contains(candidate):
            raise BoundaryError(f"app path outside root: '{rel}'")
        return self.boundary.check(candidate, f"'{rel}'")

    @cached_property
    def enables_helm(self) -> bool:
        """Whether this repository's Argo CD builds kustomizations with ``--enable-helm``:
        ``kustomizeBuildOptions`` in gitplane.yaml, or ``kustomize.buildOptions`` with the
        flag in a file of the repository (argocd-cm, or the Argo CD chart's values)."""
        if "--enable-helm" in self.config.kustomize_build_options.split():
            return True
        for rel in walk(self.top, lambda n: not n.startswith("."))[1]:
            if not rel.endswith((".yaml", ".yml")):
                continue
            try:
                with open(self.top / rel, "rb") as fh:
                    data = fh.read(1 << 20)
            except OSError:
                continue
            if (b"kustomize.buildOptions" in data or b"kustomizeBuildOptions" in data) and \
                    HELM_BUILD_OPTION.search(data.decode("utf-8", "replace")):
                return True
        return False

    # -- Argo CD identity ----------------------------------------------------------------
    def urls(self) -> set[str]:
        return set(self._urls)

    @cached_property
    def _urls(self) -> frozenset[str]:
        out = {normalize_url(u) for u in self.config.repo_urls}
        if self.origin:
            out.add(normalize_url(self.origin))
        return frozenset(out)

    def is_self(self, repo_url: str) -> bool:
        return normalize_url(repo_url) in self._urls

    @property
    def _git_cwd(self) -> Path:
        return self.git_top or self.top

    @cached_property
    def checked_out_branch(self) -> str | None:
        """The checked-out branch, None when detached or not in Git."""
        if self.git_top is not None:
            return None  # a materialised revision: its branch is given by ``at``
        return git.checked_out_branch(self.top)

    @cached_property
    def branch(self) -> str | None:
        """The branch the working tree stands for (what Argo CD will read once it is merged):
        ``--branch``; else the branch checked out; else, on a detached pull-request checkout
        in CI, the target branch (``GITHUB_BASE_REF``, ``CI_MERGE_REQUEST_TARGET_BRANCH_NAME``);
        else ``branch:`` of gitplane.yaml; else None."""
        return branch_of(self.branch_option, self.checked_out_branch, self.config.branch)

    def is_working_tree(self, revision: str) -> bool:
        """Whether Argo CD at ``revision`` would see what the working tree holds once pushed."""
        if revision in ("", "HEAD"):
            return True
        branch = self.branch
        return branch is not None and revision.removeprefix("refs/heads/") == branch

    @cached_property
    def in_git(self) -> bool:
        return self.git_top is not None or (self.top / ".git").exists()

    def resolve_revision(self, revision: str) -> str | None:
        """The commit ``revision`` names locally (a branch, remote branch, tag or commit), or
        None. Revisions that look like options are refused, never passed to git."""
        if not self.in_git:
            return None
        return git.commit_of(self._git_cwd, revision)

    def at(self, tree: Path, branch: str | None = None) -> Repository:
        """This repository as it is in ``tree`` (a materialised revision), standing for
        ``branch`` (default: the branch the working tree stands for)."""
        rel = self.rel(self.root)
        root = tree if rel in ("", ".") else tree / rel
        return Repository(root=root, top=tree, config=self.config, origin=self.origin,
                          branch_option=branch or self.branch, git_top=self._git_cwd)

    # -- layout --------------------------------------------------------------------------
    @property
    def deployments(self) -> Path:
        return self.root / DEPLOYMENTS

    @property
    def seed_layout(self) -> bool:
        """Whether the repository follows the seed's layout (``deployments/``)."""
        return self.deployments.is_dir()

    def environments(self, roots: list[str] | None = None) -> list[Environment]:
        """The environments; a repository in another layout has one (``default`` unless
        configured) whose roots are ``roots`` or the configured ones (roots are found by
        :func:`gitplane.argocd.roots.environments`, which calls this with them)."""
        if roots or not self.seed_layout:
            chosen = list(roots or self.config.roots)
            for r in chosen:
                self.resolve(r)  # refuses roots leaving the repository
                if not (self.top / r).exists():
                    raise GitplaneError(f"root '{r}' does not exist in {self.top}")
            return [Environment(self.config.environment, sorted(chosen))]
        env_dir = self.deployments / "environments"
        names = sorted(p.name for p in env_dir.iterdir() if p.is_dir()) if env_dir.is_dir() \
            else []
        if not names:
            raise GitplaneError(f"{self.rel(self.deployments)}: no environments (expected "
                                f"folders under {self.rel(env_dir)}/)")
        out = []
        boot = self.deployments / "bootstrap"
        for name in names:
            roots = sorted(self.rel(p) for p in boot.glob(f"*/environments/{name}")
                           if p.is_dir()) if boot.is_dir() else []
            out.append(Environment(name, roots))
        return out

    def has_kustomizations(self) -> bool:
        names = {"kustomization.yaml", "kustomization.yml", "Kustomization"}
        return any(f.rsplit("/", 1)[-1] in names
                   for f in walk(self.top, lambda n: not n.startswith("."))[1])

    def inside(self, path: Path) -> Path:
        """``path`` when it, resolved through every link, is within the repository; a
        BoundaryError naming it otherwise. The one check of every file a setting names."""
        return self.resolve(self.rel(path))

    def inventory_path(self, env: str) -> Path | None:
        """The cluster inventory of ``env``: ``deployments/environments/<env>/clusters.yaml``
        in the seed's layout, else the ``clusters`` file of gitplane.yaml."""
        if self.seed_layout:
            return self.deployments / "environments" / env / "clusters.yaml"
        return self.top / self.config.clusters if self.config.clusters else None

    def environment(self, name: str) -> Environment:
        envs = {e.name: e for e in self.environments()}
        if name not in envs:
            raise GitplaneError(f"unknown environment '{name}' (known: {', '.join(envs)})")
        return envs[name]

    def overlays(self) -> list[tuple[str, str]]:
        """Every (environment, overlay folder) the layout defines, repository-relative."""
        out: list[tuple[str, str]] = []
        if not self.seed_layout:
            return out
        d = self.deployments
        for p in sorted(d.glob("domains/*/apps/*/environments/*")):
            if p.is_dir():
                out.append((p.name, self.rel(p)))
        for p in sorted(d.glob("environments/*/platform-config")):
            if p.is_dir():
                out.append((p.parent.name, self.rel(p)))
        return out

    def apps(self) -> list[tuple[str, str]]:
        """(domain, app) pairs of the layout."""
        if not self.seed_layout:
            return []
        return sorted((p.parent.parent.name, p.name)
                      for p in self.deployments.glob("domains/*/apps/*") if p.is_dir())


class Revisions:
    """Trees of revisions other than the working tree, each checked out once per run by Git
    into a scratch folder (RAM-backed where there is one); links stay links, and one that
    leaves the tree is refused by the repository boundary like any other. Removed by
    ``close``."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._views: dict[str, Repository] = {}
        self._scratch: Path | None = None
        self._lock = threading.Lock()

    def view(self, revision: str) -> Repository:
        """The repository as ``revision`` holds it; the working tree for HEAD, the branch
        checked out, or a folder not in Git. GitplaneError when it does not resolve."""
        if self.repo.is_working_tree(revision) or not self.repo.in_git:
            return self.repo
        commit = self.repo.resolve_revision(revision)
        if commit is None:
            raise GitplaneError(f"targetRevision '{revision}' is not in this clone (a branch, "
                                "tag or commit not fetched): not rendered; fetch it to render "
                                "it, or check the name")
        with self._lock:
            if commit not in self._views:
                self._views[commit] = self.repo.at(self._extract(commit))
            return self._views[commit]

    def _extract(self, commit: str) -> Path:
        """Check ``commit`` out into a scratch folder through a private index file: git's
        own checkout (paths checked by git, links created as links and judged later by the
        repository boundary), the user's index and working tree untouched, Git LFS content
        left as pointers (nothing fetched)."""
        import tempfile

        if self._scratch is None:
            shm = Path("/dev/shm")
            parent = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
            self._scratch = Path(tempfile.mkdtemp(prefix="gitplane-rev-", dir=parent))
        dest = self._scratch / commit
        git.check_out(self.repo._git_cwd, commit, dest, self._scratch / f"{commit}.index")
        return dest

    def close(self) -> None:
        if self._scratch is not None:
            import shutil

            shutil.rmtree(self._scratch, ignore_errors=True)
