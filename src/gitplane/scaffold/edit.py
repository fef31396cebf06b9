"""Round-trip YAML edits that keep comments, quotes and order; only the edited lines change."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable

from gitplane.errors import GitplaneError
from gitplane.scaffold.files import write_atomic


def _yaml() -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.indent(mapping=2, sequence=4, offset=2)
    y.preserve_quotes = True
    y.width = 4096
    return y


def edit(path: Path, change: Callable[[Any], None], shown: str) -> str:
    """Apply ``change`` to the first document of ``path``; return the new text (not written)."""
    from ruamel.yaml.error import YAMLError

    if path.is_symlink():
        raise GitplaneError(f"{shown}: is a symlink; refusing to edit it")
    y = _yaml()
    try:
        text = path.read_text(encoding="utf-8")
        data = y.load(text)
    except (OSError, YAMLError) as exc:
        raise GitplaneError(f"{shown}: cannot edit: {exc}") from None
    if data is None:
        raise GitplaneError(f"{shown}: is empty")
    change(data)
    out = io.StringIO()
    y.dump(data, out)
    return out.getvalue()


def save(path: Path, before: str, after: str, shown: str) -> None:
    """Write ``after`` unless the file changed since it was read as ``before``."""
    if path.read_text(encoding="utf-8") != before:
        raise GitplaneError(f"{shown}: changed since read; nothing written")
    write_atomic(path, after)
