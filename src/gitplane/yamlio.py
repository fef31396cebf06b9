"""Safe YAML reading: C loader, line numbers, duplicate keys, alias bombs and depth refused.

Every problem is a :class:`~gitplane.errors.YamlError` naming the file and line; nothing here
raises anything else for bad input.
"""
from __future__ import annotations

import hashlib
import stat
import os
import errno
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitplane import limits
from gitplane.errors import GitplaneError, YamlError

# The node budget per document (after alias expansion), the nesting budget and the largest
# file read (RELIABILITY #36) are gitplane.limits: far above any real manifest, far below a
# bomb, and the user's to raise.

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """Safe loader that keeps timestamps and ``=`` as the strings Kubernetes sees."""


def _as_str(loader: Any, node: yaml.Node) -> str:
    return str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _as_str)
_Loader.add_constructor("tag:yaml.org,2002:value", _as_str)


_WORD = re.compile(r"[A-Za-z0-9_.-]+")


def words_of(value: Any, out: set[str]) -> None:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif v is not None and not isinstance(v, bool):
            text = str(v)
            out.add(text)
            if any(c in text for c in " \n\t:"):
                out.update(_WORD.findall(text))


@dataclass
class Doc:
    """One non-empty YAML document: the value, its first line, its node tree for lines, and
    the ambiguous scalars found in it (line, message)."""

    obj: Any
    line: int
    node: yaml.Node | None  # None when read from the parse cache: rebuilt on first line_of
    hazards: list[tuple[int, str]] = field(default_factory=list)
    source: _Source | None = field(default=None, repr=False, compare=False)
    index: int = field(default=0, repr=False, compare=False)
    _names: tuple[frozenset[str], frozenset[str]] | None = field(default=None, repr=False,
                                                                  compare=False)

    def names(self) -> tuple[frozenset[str], frozenset[str]]:
        """(the names this document defines, every word it holds): ``metadata.name`` and
        generator names; every string scalar, and the words of multi-line ones (inline
        patches). Computed once."""
        if self._names is None:
            defined: set[str] = set()
            words: set[str] = set()
            obj = self.obj
            if isinstance(obj, dict):
                meta = obj.get("metadata")
                if isinstance(meta, dict) and meta.get("name") is not None:
                    defined.add(str(meta["name"]))
                for gen in ("configMapGenerator", "secretGenerator"):
                    entries = obj.get(gen)
                    for g in entries if isinstance(entries, list) else []:
                        if isinstance(g, dict) and g.get("name") is not None:
                            defined.add(str(g["name"]))
            words_of(obj, words)
            self._names = (frozenset(defined), frozenset(words))
        return self._names

    def line_of(self, *path: str | int) -> int:
        """Line of ``path`` (keys and indexes): of the key for a mapping entry, of the item
        for a sequence entry; of the closest parent when the path does not exist."""
        if self.node is None:
            if self.source is None:
                return self.line
            self.node = self.source.nodes()[self.index]
        node = self.node
        if node is None:
            return self.line
        line = node.start_mark.line + 1
        for step in path:
            nxt = None
            at = line
            if isinstance(node, yaml.MappingNode) and isinstance(step, str):
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == step:
                        nxt, at = v, k.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and \
                    0 <= step < len(node.value):
                nxt = node.value[step]
                at = nxt.start_mark.line + 1
            if nxt is None:
                return line
            node = nxt
            line = at
        return line


_BOOL_11 = {"yes", "no", "on", "off", "y", "n"}
_TAG = "tag:yaml.org,2002:"


BOOLEAN_HAZARD = "is a boolean in YAML 1.1"


def _ambiguous(node: yaml.ScalarNode) -> str | None:
    """Why a plain scalar reads differently in YAML 1.1 and 1.2, or None."""
    if node.style:  # quoted or block: a string in both
        return None
    value = node.value
    if node.tag == _TAG + "bool" and value.lower() in _BOOL_11:
        return (f"unquoted '{value}' {BOOLEAN_HAZARD} (Argo CD's reader of plain manifest "
                "folders) and a string in YAML 1.2; quote it where a string is meant")
    if node.tag == _TAG + "int" and ":" in value:
        return (f"unquoted '{value}' is the number {_sexagesimal(value)} in YAML 1.1 and a "
                "string in YAML 1.2; quote it")
    # A leading-zero octal (``defaultMode: 0440``) is read as octal by every reader on Argo
    # CD's path (kyaml, sigs.k8s.io/yaml): not a hazard, and quoting it would break it.
    return None


def _sexagesimal(value: str) -> int:
    total = 0
    for part in value.replace("_", "").lstrip("+-").split(":"):
        total = total * 60 + int(part)
    return -total if value.startswith("-") else total


def _check(node: yaml.Node, file: str, hazards: list[tuple[int, str]] | None = None) -> None:
    """Refuse duplicate keys, self-containing anchors, too deep nesting and alias bombs;
    collect ambiguous scalars and non-string keys into ``hazards``."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    notes = hazards if hazards is not None else []
    bounds = limits.current()
    max_depth, max_nodes = bounds.yaml_depth, bounds.yaml_nodes

    def walk(n: yaml.Node, depth: int) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise YamlError(file, n.start_mark.line + 1, "anchor value contains itself")
        if depth > max_depth:
            raise YamlError(file, n.start_mark.line + 1,
                            f"nesting too deep (over {max_depth} levels, "
                            "GITPLANE_MAX_YAML_DEPTH)")
        total = 1
        if isinstance(n, yaml.MappingNode):
            active.add(key)
            seen: dict[str, int] = {}
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode) and k.tag not in (_TAG + "str", _TAG + "merge"):
                    notes.append((k.start_mark.line + 1,
                                  f"key '{k.value}' is not a string (YAML reads it as "
                                  f"{k.tag.rsplit(':', 1)[-1]}); quote it"))
                if isinstance(v, yaml.ScalarNode) and (why := _ambiguous(v)):
                    notes.append((v.start_mark.line + 1, why))
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    if k.value in seen:
                        raise YamlError(file, k.start_mark.line + 1,
                                        f"duplicate key '{k.value}' (first at line "
                                        f"{seen[k.value]})", "yaml-duplicate-key")
                    seen[k.value] = k.start_mark.line + 1
                total += walk(k, depth + 1) + walk(v, depth + 1)
            active.discard(key)
        elif isinstance(n, yaml.SequenceNode):
            active.add(key)
            for v in n.value:
                if isinstance(v, yaml.ScalarNode) and (why := _ambiguous(v)):
                    notes.append((v.start_mark.line + 1, why))
                total += walk(v, depth + 1)
            active.discard(key)
        if total > max_nodes:
            raise YamlError(file, n.start_mark.line + 1,
                            f"document expands to over {max_nodes} nodes "
                            "(alias bomb?); refused (GITPLANE_MAX_YAML_NODES)")
        sizes[key] = total
        return total

    walk(node, 0)


def load_text(text: str, file: str) -> list[Doc]:
    """Parse every non-empty document of ``text``; ``file`` is the name used in errors."""
    if text.startswith("\ufeff"):
        text = text[1:]
    loader = _Loader(text)
    docs: list[Doc] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            hazards: list[tuple[int, str]] = []
            _check(node, file, hazards)
            obj = loader.construct_document(node)
            if obj is None:
                continue
            docs.append(Doc(obj, node.start_mark.line + 1, node, hazards))
    except YamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        raise YamlError(file, line, _unquoted(text, what or "invalid YAML")) from None
    except yaml.YAMLError as exc:
        raise YamlError(file, 1, _unquoted(text, str(exc).splitlines()[0])) from None
    except RecursionError:
        raise YamlError(file, 1, "nesting too deep") from None
    except (ValueError, TypeError) as exc:  # e.g. unhashable keys from constructors
        raise YamlError(file, 1, _unquoted(text, f"cannot construct value: {exc}")) from None
    finally:
        loader.dispose()
    return docs


_SECRET_KIND = re.compile(r"^\s*(?:-\s+)?kind:\s*[\"']?(?:Secret|SealedSecret)[\"']?\s*$",
                          re.M)
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")


def _unquoted(text: str, message: str) -> str:
    """A parser's message about a file that holds a Secret or SealedSecret, with every
    fragment it quotes from the file (a tag, an alias, a character: possibly part of a
    secret value) left out: the object never parsed, so its secret fields are unknown."""
    if not _SECRET_KIND.search(text):
        return message
    return _QUOTED.sub("'…'", message)


class GuardedYAMLError(yaml.YAMLError, GitplaneError):
    """A YAML value refused by the guarded loader (size, alias expansion, depth, syntax)."""


def yaml_value(text: str) -> Any:
    """``yaml.safe_load`` of text held in a field (elementsYaml, a generator's file, a
    templatePatch, ``fromYaml``), through the guarded loader: size, alias expansion and depth
    bounded. Raises a ``yaml.YAMLError`` (so callers keep their handling) when refused."""
    most = limits.current().file_bytes
    if len(text) > most:
        raise GuardedYAMLError(f"value of {len(text)} characters is over the {most} limit "
                               "(GITPLANE_MAX_FILE_BYTES)")
    try:
        docs = load_text(text, "<value>")
    except YamlError as exc:
        raise GuardedYAMLError(f"line {exc.line}: {exc.reason}") from None
    if len(docs) > 1:
        raise GuardedYAMLError("expected a single document in the stream")
    return docs[0].obj if docs else None


def json_value(text: str) -> Any:
    """``json.loads`` with the same bounds (size, nesting): a ``json.JSONDecodeError`` when
    refused."""
    most = limits.current().file_bytes
    if len(text) > most:
        raise json.JSONDecodeError(f"over the {most} character limit "
                                   "(GITPLANE_MAX_FILE_BYTES)", text[:80], 0)
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nesting too deep", text[:80], 0) from None


def _open_regular(path: Path) -> tuple[int, int]:
    """A descriptor of ``path`` and its size, when it is a regular file: a FIFO or a device
    named ``*.yaml`` would block or never end (OSError otherwise)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file")
    return fd, st.st_size


def read_regular(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (default: the file limit of
    gitplane.limits); OSError otherwise."""
    limit = limits.current().file_bytes if limit is None else limit
    fd, size = _open_regular(path)
    try:
        if size > limit:
            raise OSError(errno.EFBIG, f"{size} bytes, over the {limit} byte limit")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:  # it grew while being read
                raise OSError(errno.EFBIG, f"over the {limit} byte limit")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def digest_regular(path: Path, limit: int | None = None) -> bytes:
    """SHA-256 of a regular file, streamed (never the whole file in memory); files up to 64
    times the file limit (kustomize reads them, gitplane only hashes them)."""
    limit = 64 * limits.current().file_bytes if limit is None else limit
    fd, size = _open_regular(path)
    try:
        if size > limit:
            raise OSError(errno.EFBIG, f"{size} bytes, over the {limit} byte limit")
        h = hashlib.sha256()
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return h.digest()
            h.update(chunk)
    finally:
        os.close(fd)


def read_text(path: Path, file: str) -> tuple[bytes, str]:
    """The bytes of ``path`` and their text (UTF-8, or UTF-16 with its mark), within the size
    limit; a YamlError naming ``file`` otherwise (a FIFO or device is not read)."""
    try:
        raw = read_regular(path)
    except OSError as exc:
        raise YamlError(file, 1, f"cannot read: {exc.strerror}") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw, raw.decode("utf-16")
        except UnicodeDecodeError:
            raise YamlError(file, 1, "invalid UTF-16") from None
    try:
        return raw, raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlError(file, line, "invalid UTF-8") from None


def load_file(path: Path, file: str) -> list[Doc]:
    """Read and parse ``path``; ``file`` is its repository-relative name for messages."""
    return load_text(read_text(path, file)[1], file)


class _Source:
    """The text docs read from the parse cache came from: their node trees, parsed once when
    a line number is first asked for."""

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self._nodes: list[yaml.Node | None] | None = None

    def nodes(self) -> list[yaml.Node | None]:
        if self._nodes is None:
            self._nodes = [d.node for d in load_text(self.text, self.file)]
        return self._nodes


#: Format of the parse cache's entries (a new format is a new key).
PARSE_FORMAT = "gitplane-parsed-2"


def _cached_parse(raw: bytes, text: str, file: str) -> list[Doc]:
    """``load_text`` through the parse cache keyed by the bytes' hash."""
    from gitplane import cache

    if not cache.enabled():
        return load_text(text, file)
    k = hashlib.sha256(f"{PARSE_FORMAT}\0{cache.code_digest()}\0".encode() + raw).hexdigest()
    entry = cache.get(k, "parsed")
    docs_json = entry.get("docs") if entry else None
    if isinstance(docs_json, list):
        source = _Source(text, file)
        try:
            return [Doc(d["obj"], int(d["line"]), None,
                        [(int(h[0]), str(h[1])) for h in d["hazards"]], source, i)
                    for i, d in enumerate(docs_json)]
        except (KeyError, TypeError, ValueError, IndexError):
            pass  # a damaged entry is a miss
    docs = load_text(text, file)
    stored = {"docs": [{"obj": d.obj, "line": d.line, "hazards": [list(h) for h in d.hazards]}
                       for d in docs]}
    try:
        text = json.dumps(stored, separators=(",", ":"))
        exact = json.loads(text) == stored  # non-string keys, tuples: not cached
    except (TypeError, ValueError, RecursionError):
        exact = False
    if exact:
        cache.put_text(k, text, "parsed")
    return docs


def load_trusted(text: str, file: str) -> list[Any]:
    """Objects of text gitplane's own checks already vetted (the engine's output): no line
    tracking, no node walk; still safe, still a YamlError (never a crash) when it is bad."""
    try:
        return [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    except yaml.YAMLError as exc:
        raise YamlError(file, 1, str(exc).splitlines()[0]) from None
    except RecursionError:
        raise YamlError(file, 1, "nesting too deep") from None


class ParsedFiles:
    """Each file parsed once per run (keyed by path, size and modification time), shared by
    the renders of every environment; safe to use from several threads."""

    def __init__(self) -> None:
        self._done: dict[tuple[str, int, int], list[Doc] | YamlError] = {}
        self._digests: dict[tuple[str, int, int], bytes] = {}
        self._by_content: dict[bytes, list[Doc]] = {}
        self._scans: dict[tuple[str, int, int, Any], bool] = {}
        #: Clean kustomization walks of this run, and the folders whose walk is not clean
        #: (``gitplane.render.kustomize.Graph.walk``).
        self.walks: dict[tuple[str, str, bool], Any] = {}
        self.unclean: set[tuple[str, str, bool]] = set()

    def scan(self, path: Path, test: Callable[[bytes], bool]) -> bool:
        """``test`` of the file's bytes, once per run and file (True when unreadable)."""
        try:
            st = path.stat()
        except OSError:
            return True
        key = (str(path), st.st_mtime_ns, st.st_size, test)
        got = self._scans.get(key)
        if got is None:
            try:
                got = self._scans[key] = test(read_regular(path))
            except OSError:
                return True
        return got

    def digest(self, path: Path) -> bytes:
        """SHA-256 of the file's bytes, read once per run (an OSError when it cannot be)."""
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
        got = self._digests.get(key)
        if got is None:
            got = digest_regular(path)
            self._digests[key] = got
        return got

    def load(self, path: Path, file: str) -> list[Doc]:
        try:
            st = path.stat()
        except OSError:
            return load_file(path, file)  # raises the YamlError naming the problem
        key = (str(path), st.st_mtime_ns, st.st_size)
        hit = self._done.get(key)
        if hit is None:
            try:
                raw, text = read_text(path, file)
                digest = hashlib.sha256(raw).digest()
                self._digests[key] = digest
                hit = self._by_content.get(digest)
                if hit is None:  # the same bytes elsewhere (the other side of a diff)
                    hit = self._by_content[digest] = _cached_parse(raw, text, file)
            except YamlError as exc:
                hit = exc
            self._done[key] = hit
        if isinstance(hit, YamlError):
            raise YamlError(hit.file, hit.line, hit.reason, hit.rule)
        return hit


class _Dumper(yaml.SafeDumper):
    """Block-style dumper for rendered output; strings YAML 1.1 would misread stay quoted."""


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_representer)


def dump_all(objs: list[Any]) -> str:
    """Deterministic multi-document YAML (keys sorted), as written by ``render``."""
    return yaml.dump_all(objs, Dumper=_Dumper, default_flow_style=False, sort_keys=True,
                         explicit_start=True, allow_unicode=True, width=4096)
