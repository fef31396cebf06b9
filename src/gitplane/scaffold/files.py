"""Safe writes: all conflicts found before anything is written, each file replaced atomically.

A plan is a set of (path, text) pairs and in-place edits. ``commit`` refuses when any target
exists (unless ``force``), when a target is a symlink, or when it would leave the base
folder; otherwise it writes every file to a temporary file beside its target, fsyncs it, and
only when all are staged renames them into place: all or nothing.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gitplane.errors import GitplaneError
from gitplane.yamlio import read_regular
import contextlib


@dataclass
class Plan:
    base: Path
    files: dict[Path, str | bytes] = field(default_factory=dict)
    #: files edited in place: path → (the bytes read, the bytes to write, the name shown)
    edits: dict[Path, tuple[bytes, bytes, str]] = field(default_factory=dict)

    def add(self, rel: str, text: str | bytes) -> None:
        self.files[self.base / rel] = text

    def edit(self, path: Path, before: bytes, after: bytes, shown: str) -> None:
        """Replace ``path`` with ``after`` at commit, if it still holds ``before``."""
        self.edits[path] = (before, after, shown)

    def conflicts(self) -> list[Path]:
        return sorted(p for p in self.files if p.exists() or p.is_symlink())

    def commit(self, force: bool = False) -> list[Path]:
        """Every file and edit, or none: all are checked, then written beside their targets,
        then moved into place; a failure on the way removes what was staged (exit 2)."""
        base_real = self.base.resolve()
        for path in self.files:
            if path.is_symlink():
                raise GitplaneError(f"{path}: is a symlink; refusing to write through it")
            # the nearest folder that exists, resolved through every link: a link anywhere
            # on the way out of the base is refused (folders are created below it)
            chain = [path.parent, *path.parent.parents]
            below = chain[:chain.index(self.base) + 1] if self.base in chain else chain
            nearest = next((p for p in below if p.exists() or p.is_symlink()), None)
            if nearest is None:
                continue  # the base itself is still to be made
            parent = nearest.resolve()
            if base_real not in (parent, *parent.parents):
                raise GitplaneError(f"{path}: leaves {self.base} (through "
                                    f"{nearest}); refused, nothing was written")
        existing = self.conflicts()
        if existing and not force:
            shown = ", ".join(str(p) for p in existing[:5])
            more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
            raise GitplaneError(f"refusing to overwrite existing files: {shown}{more} "
                                "(nothing was written; use --force to overwrite)")
        out = {p: t if isinstance(t, bytes) else t.encode("utf-8")
               for p, t in self.files.items()}
        expected = {}
        for path, (before, after, _) in self.edits.items():
            out[path], expected[path] = after, before
        write_all(out, expected, {p: shown for p, (_, _, shown) in self.edits.items()})
        return sorted(out)


def write_all(files: dict[Path, bytes], expected: dict[Path, bytes] | None = None,
              shown: dict[Path, str] | None = None) -> None:
    """Write every file or none. Each is first written to a temporary file beside its target
    (folders created as needed), then all are renamed into place; a failure while staging
    (a full disk, a read-only folder) removes every temporary file and new folder and is a
    GitplaneError naming the path and the reason. ``expected``: files that must still hold
    these bytes (an edit of a file that changed since it was read is refused)."""
    expected = expected or {}
    shown = shown or {}
    staged: list[tuple[Path, str]] = []
    made: list[Path] = []
    try:
        for path in sorted(files):
            name = shown.get(path, str(path))
            if path in expected and read_regular(path) != expected[path]:
                raise GitplaneError(f"{name}: changed since read; nothing written")
            made.extend(_make_folders(path.parent))
            try:
                staged.append((path, _stage(path, files[path])))
            except OSError as exc:
                raise GitplaneError(f"{name}: cannot write ({exc.strerror or exc}); nothing "
                                    "was written") from None
        for path, tmp in staged:
            os.replace(tmp, path)
        _sync_folders({path.parent for path, _ in staged})
    except BaseException:
        for _, tmp in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the ones created, outermost first."""
    missing = []
    for p in (folder, *folder.parents):
        if p.exists() or p.is_symlink():
            break
        missing.append(p)
    made: list[Path] = []
    for p in reversed(missing):
        try:
            p.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            for q in reversed(made):
                q.rmdir()
            raise GitplaneError(f"{p}: cannot create the folder ({exc.strerror or exc}); "
                                "nothing was written") from None
        made.append(p)
    return made


def _stage(path: Path, data: bytes) -> str:
    """``data`` in a temporary file beside ``path``, synced, with ``path``'s mode."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _sync_folders(folders: set[Path]) -> None:
    for folder in sorted(folders):
        try:
            dfd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass
