"""Round-trip YAML edits that keep comments, quotes and order; only the edited lines change."""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any
from collections.abc import Callable

from gitplane.errors import GitplaneError
from gitplane.yamlio import read_regular


_KEY_LINE = re.compile(r"^( *)[^\s#-][^#]*:\s*(#.*)?$")
_DASH_LINE = re.compile(r"^( *)- ")
_MAP_LINE = re.compile(r"^( *)[^\s#-][^:#]*:")


def indentation(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as the file indents them (ruamel's terms), so a round
    trip re-indents nothing: a block sequence under a key, with its dash at the key's column
    (kustomize edit's style) or indented, and nested mappings' step; (2, 4, 2) when the file
    shows none."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    offset = mapping = None
    for a, b in zip(lines, lines[1:], strict=False):
        key = _KEY_LINE.match(a)
        if key is None:
            continue
        dash, sub = _DASH_LINE.match(b), _MAP_LINE.match(b)
        if dash is not None and offset is None:
            offset = len(dash.group(1)) - len(key.group(1))
        elif sub is not None and mapping is None and len(sub.group(1)) > len(key.group(1)):
            mapping = len(sub.group(1)) - len(key.group(1))
    offset = 2 if offset is None or offset < 0 else offset
    return mapping or 2, offset + 2, offset


def _yaml(text: str = "") -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    mapping, sequence, offset = indentation(text)
    y.indent(mapping=mapping, sequence=sequence, offset=offset)
    y.preserve_quotes = True
    y.width = 4096
    return y


def _decode(raw: bytes, shown: str) -> tuple[str, str, str]:
    """(text with LF line ends, encoding, line end) of a file's bytes: UTF-8 (a BOM kept) or
    UTF-16 with its mark; CRLF files keep CRLF."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif raw.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        raise GitplaneError(f"{shown}: not UTF-8 or UTF-16 text; edit it by hand") from None
    newline = "\r\n" if "\r\n" in text else "\n"
    return text.replace("\r\n", "\n"), encoding, newline


def edit(path: Path, change: Callable[[Any], None], shown: str) -> bytes:
    """Apply ``change`` to the first document of ``path``; return the new bytes (not
    written), in the file's own encoding and line ends."""
    from ruamel.yaml.error import YAMLError

    if path.is_symlink():
        raise GitplaneError(f"{shown}: is a symlink; refusing to edit it")
    try:
        text, encoding, newline = _decode(read_regular(path), shown)
        y = _yaml(text)
        data = y.load(text)
    except (OSError, YAMLError) as exc:
        raise GitplaneError(f"{shown}: cannot edit: {exc}") from None
    if data is None:
        raise GitplaneError(f"{shown}: is empty")
    change(data)
    out = io.StringIO()
    y.dump(data, out)
    return out.getvalue().replace("\n", newline).encode(encoding)


def edit_all(path: Path, change: Callable[[list[Any]], None], shown: str) -> bytes:
    """Like :func:`edit`, for a file of several documents: ``change`` gets them all."""
    from ruamel.yaml.error import YAMLError

    if path.is_symlink():
        raise GitplaneError(f"{shown}: is a symlink; refusing to edit it")
    try:
        text, encoding, newline = _decode(read_regular(path), shown)
        y = _yaml(text)
        y.explicit_start = False
        docs = list(y.load_all(text))
    except (OSError, YAMLError) as exc:
        raise GitplaneError(f"{shown}: cannot edit: {exc}") from None
    change(docs)
    out = io.StringIO()
    y.dump_all(docs, out)
    return out.getvalue().replace("\n", newline).encode(encoding)


def append_item(seq: Any, item: Any) -> None:
    """Append ``item`` to a round-trip sequence of mappings; a comment after the last item
    (which belongs to what follows the sequence) moves after the new one."""
    last: Any = seq[-1] if len(seq) else None
    seq.append(item)
    ca = getattr(last, "ca", None)
    if last is None or ca is None or not hasattr(item, "ca") or not len(last):
        return
    key = list(last.keys())[-1]
    tokens = ca.items.get(key)
    if tokens and len(tokens) > 2 and tokens[2] is not None:
        new_key = list(item.keys())[-1]
        item.ca.items[new_key] = [None, None, tokens[2], None]
        tokens[2] = None


def set_scalars(path: Path, find: Callable[[list[Any]], list[tuple[Any, Any, str]]],
                shown: str) -> bytes:
    """Replace, in place, the scalar values ``find`` names (``(mapping, key, new value)`` of
    the file's documents), keeping each one's quoting, and nothing else of the file:
    the text of those values alone changes (block scalars, trailing spaces and comments
    elsewhere stay byte for byte). The result is parsed again and must equal the documents
    with those values set; a value that is not a one-line scalar is refused."""
    import yaml
    from ruamel.yaml.error import YAMLError

    if path.is_symlink():
        raise GitplaneError(f"{shown}: is a symlink; refusing to edit it")
    try:
        raw = read_regular(path)
        text, encoding, newline = _decode(raw, shown)
        docs = list(_yaml(text).load_all(text))
    except (OSError, YAMLError) as exc:
        raise GitplaneError(f"{shown}: cannot edit: {exc}") from None
    lines = text.split("\n")
    targets = find(docs)
    for node, key, value in sorted(targets, key=lambda t: tuple(t[0].lc.value(t[1])),
                                   reverse=True):
        line, col = node.lc.value(key)
        current = lines[line]
        rest = current[col:]
        if rest[:1] in ("'", '"'):
            end = rest.find(rest[0], 1)
            if end < 0 or rest[0] == '"' and "\\" in rest[:end]:
                raise GitplaneError(f"{shown}:{line + 1}: the value is not a simple "
                                    "one-line string; edit it by hand")
            token, new = rest[:end + 1], rest[0] + value + rest[0]
        else:
            token = re.split(r"\s+#|\s*$", rest, maxsplit=1)[0].rstrip()
            if not token or token[:1] in "|>&*!{[":
                raise GitplaneError(f"{shown}:{line + 1}: the value is not a plain one-line "
                                    "scalar; edit it by hand")
            new = value
        lines[line] = current[:col] + new + rest[len(token):]
    out = "\n".join(lines)
    # parsed again, it must be the old documents with exactly those values set
    try:
        want = list(yaml.safe_load_all(text))
        got = list(yaml.safe_load_all(out))
    except yaml.YAMLError as exc:
        raise GitplaneError(f"{shown}: the edit does not parse ({exc}); nothing written") \
            from None
    for node, key, value in targets:
        path_ = _path_to(docs, node)
        if path_ is None:
            raise GitplaneError(f"{shown}: cannot locate the edited value")
        cur: Any = want
        for step in path_:
            cur = cur[step]
        cur[key] = value if not isinstance(cur.get(key), (int, float)) else yaml.safe_load(value)
    if got != want:
        raise GitplaneError(f"{shown}: the edit cannot be made exactly; edit it by hand; "
                            "nothing written")
    return out.replace("\n", newline).encode(encoding)


def _path_to(root: Any, target: Any, trail: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    """The keys and indexes from ``root`` to the node ``target`` (by identity)."""
    if root is target:
        return trail
    items = root.items() if isinstance(root, dict) else enumerate(root) \
        if isinstance(root, list) else []
    for k, v in items:
        if isinstance(v, (dict, list)):
            found = _path_to(v, target, (*trail, k))
            if found is not None:
                return found
    return None
