"""gitplane's cache: renders keyed by the content of every file they read, parsed YAML keyed
by the file's content.

A render's key is a SHA-256 over gitplane's version, the engine (binary and version), the
render's settings and, for every repository file the kustomization graph reads, its
repository path and content hash. Any change to any of those is a different key, so a stale
entry is never served; an unchanged render is reused across runs, across environments and
across the two sides of a ``diff``.

Parsed YAML (each document's value, first line and the YAML 1.1 hazards found in it) is kept
under the SHA-256 of the file's bytes, so an unchanged file is not parsed again; the node
tree that gives line numbers is rebuilt from the text only when a line is asked for (a
finding). Entries are JSON, never code.

Everything lives in one SQLite database, ``$GITPLANE_CACHE_DIR/cache.sqlite3`` (default
``$XDG_CACHE_HOME/gitplane``, else ``~/.cache/gitplane``). A run reads entries as it goes
and writes its new ones in one transaction at the end: concurrent runs wait for each other's
write (SQLite's locking), a crash leaves the database as it was before the run (SQLite's
journal), and an entry or a database that cannot be read is a miss — a damaged database is
set aside and started afresh. ``GITPLANE_NO_CACHE=1`` or ``--no-cache`` bypasses it.

Where the cache is and whether it is used is an :class:`Options` value: read from the
environment unless a caller chose one for a stretch of work (:func:`using`, as the CLI does
for ``--no-cache``); the environment itself is never written.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

VERSION = "2"
FILENAME = "cache.sqlite3"


@dataclass(frozen=True)
class Options:
    """Where the cache lives and whether it is used."""

    folder: Path
    enabled: bool = True

    @classmethod
    def from_environment(cls) -> Options:
        root = os.environ.get("GITPLANE_CACHE_DIR") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gitplane")
        return cls(Path(root), os.environ.get("GITPLANE_NO_CACHE", "") in ("", "0"))


_chosen: list[Options] = []  # the options chosen by callers of :func:`using`, innermost last


@contextlib.contextmanager
def using(options: Options) -> Iterator[Options]:
    """Use ``options`` until the block ends; the run's new entries are written at its end."""
    _chosen.append(options)
    try:
        yield options
    finally:
        close()
        _chosen.remove(options)


def options() -> Options:
    return _chosen[-1] if _chosen else Options.from_environment()


def folder() -> Path:
    return options().folder


def enabled() -> bool:
    return options().enabled


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of gitplane's own code and data (every file of the installed package),
    computed once per process: a cache entry made by other code is never served, even
    between two builds with the same version string."""
    root = Path(__file__).parent
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and
                       p.suffix in (".py", ".json", ".gz") and "__pycache__" not in p.parts):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def key(parts: list[str], digests: dict[str, bytes]) -> str:
    """A key: gitplane's code, ``parts`` and each file's path and SHA-256."""
    h = hashlib.sha256()
    h.update(f"{VERSION}\0{code_digest()}".encode())
    for p in parts:
        h.update(b"\0" + p.encode())
    for rel in sorted(digests):
        h.update(b"\0" + rel.encode() + b"\0" + digests[rel])
    return h.hexdigest()


class _Store:
    """One database, shared by the threads of a run; new entries kept until ``flush``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.pending: dict[tuple[str, str], str] = {}
        self._db: sqlite3.Connection | None = None
        self.broken = False

    def _connect(self) -> sqlite3.Connection | None:
        for _ in range(2):
            if self._db is not None or self.broken:
                break
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=30, check_same_thread=False,
                                     isolation_level=None)
                try:
                    db.execute("CREATE TABLE IF NOT EXISTS entries (kind TEXT NOT NULL, "
                               "key TEXT NOT NULL, value TEXT NOT NULL, "
                               "PRIMARY KEY (kind, key)) WITHOUT ROWID")
                except sqlite3.Error:
                    db.close()
                    raise
                self._db = db
            except sqlite3.OperationalError:
                self.broken = True  # locked for too long, unwritable: run without
            except sqlite3.DatabaseError:
                self._set_aside()  # not a database (any more): start afresh
            except (sqlite3.Error, OSError):
                self.broken = True
        return self._db

    def _set_aside(self) -> None:
        """A database SQLite cannot read: moved aside, so the cache starts anew."""
        if self._db is not None:
            self._db.close()
            self._db = None
        try:
            os.replace(self.path, self.path.with_name(self.path.name + ".damaged"))
        except OSError:
            self.broken = True

    def get(self, kind: str, k: str) -> str | None:
        with self.lock:
            hit = self.pending.get((kind, k))
            if hit is not None:
                return hit
            db = self._connect()
            if db is None:
                return None
            try:
                row = db.execute("SELECT value FROM entries WHERE kind = ? AND key = ?",
                                 (kind, k)).fetchone()
            except sqlite3.OperationalError:
                return None
            except sqlite3.DatabaseError:
                self._set_aside()
                return None
            except sqlite3.Error:
                return None
        return row[0] if row and isinstance(row[0], str) else None

    def put(self, kind: str, k: str, value: str) -> None:
        with self.lock:
            self.pending[(kind, k)] = value

    def flush(self) -> None:
        with self.lock:
            items, self.pending = self.pending, {}
            db = self._connect() if items else None
            if db is None:
                return
            try:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)",
                               [(kind, k, v) for (kind, k), v in items.items()])
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                if not isinstance(exc, sqlite3.OperationalError) and \
                        isinstance(exc, sqlite3.DatabaseError):
                    self._set_aside()

    def close(self) -> None:
        self.flush()
        with self.lock:
            if self._db is not None:
                self._db.close()
                self._db = None


_stores: dict[str, _Store] = {}
_stores_lock = threading.Lock()


def _store() -> _Store:
    path = str(folder() / FILENAME)
    store = _stores.get(path)
    if store is None:
        with _stores_lock:
            store = _stores.get(path)
            if store is None:
                store = _stores[path] = _Store(Path(path))
    return store


def get(k: str, kind: str = "renders") -> dict[str, Any] | None:
    """The entry ``k`` of ``kind``, or None (absent, unreadable, or the cache is off)."""
    if not enabled():
        return None
    text = _store().get(kind, k)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def put(k: str, value: dict[str, Any], kind: str = "renders") -> None:
    """Remember ``value`` under ``k``; written by :func:`flush` (the end of the run)."""
    if enabled():
        _store().put(kind, k, json.dumps(value, separators=(",", ":")))


def put_text(k: str, text: str, kind: str = "renders") -> None:
    """:func:`put` of a value already in JSON."""
    if enabled():
        _store().put(kind, k, text)


def flush() -> None:
    """Write the run's new entries (one transaction per database)."""
    with _stores_lock:
        stores = list(_stores.values())
    for store in stores:
        store.flush()


def close() -> None:
    """Write the run's new entries and close every database."""
    with _stores_lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        store.close()
