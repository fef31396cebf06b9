"""Safe writes: all conflicts found before anything is written, each file replaced atomically.

A plan is a set of (path, text) pairs. ``commit`` refuses when any target exists (unless
``force``), when a target is a symlink, or when it would leave the base folder; otherwise it
writes each file to a temporary file in the same folder, fsyncs it and renames it into place.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gitplane.errors import GitplaneError


@dataclass
class Plan:
    base: Path
    files: dict[Path, str | bytes] = field(default_factory=dict)

    def add(self, rel: str, text: str | bytes) -> None:
        self.files[self.base / rel] = text

    def conflicts(self) -> list[Path]:
        return sorted(p for p in self.files if p.exists() or p.is_symlink())

    def commit(self, force: bool = False) -> list[Path]:
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
        for path, text in sorted(self.files.items()):
            write_atomic(path, text)
        return sorted(self.files)


def write_atomic(path: Path, text: str | bytes, encoding: str = "utf-8") -> None:
    """Write ``text`` (in ``encoding``; bytes as they are) to ``path`` atomically: a temporary
    file in the same folder, fsync, the original mode, rename, fsync of the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    data = text if isinstance(text, bytes) else text.encode(encoding)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
