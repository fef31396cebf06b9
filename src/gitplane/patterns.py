"""Patterns a repository writes: Go regular expressions and the three glob dialects Argo CD
matches paths with, all compiled to RE2.

RE2 matches in time linear in the input whatever the pattern, as Go's ``regexp`` does, so a
hostile pattern cannot make gitplane backtrack for hours, and a glob's brace groups become
alternations instead of a list of every expansion. ``google-re2`` is kept behind this module;
nothing else imports it.

Glob dialects:

* ``path``: Go's ``path.Match`` (git directories generator): ``*`` and ``?`` stay within one
  folder, ``[^…]`` negates, ``\\`` escapes, no braces.
* ``doublestar``: bmatcuk/doublestar v4 (git files generator): as ``path`` and ``**`` spans
  folders, ``[!…]`` also negates, ``{a,b}`` alternatives (nested).
* ``argo``: Argo CD's ``directory.include``/``exclude`` (gobwas/glob without separators):
  ``*`` and ``?`` cross folders too.

A range written backwards (``[z-a]``) matches nothing, as in Go; an unclosed ``[`` or ``{``
or a trailing ``\\`` is a :class:`PatternError`.
"""
from __future__ import annotations

import functools
from typing import Any, Literal
from collections.abc import Iterator

import re2

from gitplane.errors import GitplaneError

MAX_PATTERN = 4096          # characters of one pattern
MAX_PROGRAM = 8 << 20       # bytes RE2 may use to compile one pattern

Dialect = Literal["path", "doublestar", "argo"]


class PatternError(GitplaneError, ValueError):
    """A pattern that does not compile; the message says why."""


def _options() -> Any:
    opts = re2.Options()
    opts.log_errors = False
    opts.max_mem = MAX_PROGRAM
    return opts


_OPTIONS = _options()


def _compile(regex: str, shown: str) -> Any:
    if len(shown) > MAX_PATTERN:
        raise PatternError(f"pattern is {len(shown)} characters long (limit {MAX_PATTERN})")
    try:
        return re2.compile(regex, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(f"invalid pattern {shown!r}: {reason}") from None


# -- Go regular expressions --------------------------------------------------------------------
class GoRegexp:
    """A compiled Go regular expression with Go's matching rules: successive matches never
    overlap and an empty match right after the previous match is skipped."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._rx = _compile(pattern, pattern)

    def search(self, text: str) -> bool:
        return self._rx.search(text) is not None

    def find(self, text: str) -> str:
        m = self._rx.search(text)
        return m.group() if m else ""

    def _matches(self, text: str, n: int = -1) -> Iterator[Any]:
        pos, prev_end, count = 0, -1, 0
        while pos <= len(text) and (n < 0 or count < n):
            m = self._rx.search(text, pos)
            if m is None:
                return
            start, end = m.span()
            if end == start == prev_end:     # empty match abutting the previous one
                pos = end + 1
                continue
            yield m
            count += 1
            prev_end = end
            pos = end if end > start else end + 1

    def find_all(self, text: str, n: int = -1) -> list[str]:
        return [m.group() for m in self._matches(text, n)] if n != 0 else []

    def replace_all(self, text: str, template: str, literal: bool = False) -> str:
        out, last = [], 0
        for m in self._matches(text):
            out.append(text[last:m.start()])
            out.append(template if literal else self._expand(template, m))
            last = m.end()
        out.append(text[last:])
        return "".join(out)

    def split(self, text: str, n: int = -1) -> list[str]:
        if n == 0:
            return []
        if self.pattern and not text:
            return [""]
        out: list[str] = []
        beg = end = 0
        for m in self._matches(text, n):
            if n > 0 and len(out) == n - 1:
                break
            end = m.start()
            if m.end() != 0:
                out.append(text[beg:end])
            beg = m.end()
        if end != len(text):
            out.append(text[beg:])
        return out

    def _expand(self, template: str, m: Any) -> str:
        """Go's ``Regexp.Expand``: ``$1``, ``$name``, ``${name}``, ``$$``; an unknown group is
        empty, a ``$`` not followed by a name stays as written."""
        out, i = [], 0
        while i < len(template):
            c = template[i]
            if c != "$" or i + 1 == len(template):
                out.append(c)
                i += 1
                continue
            if template[i + 1] == "$":
                out.append("$")
                i += 2
                continue
            braced = template[i + 1] == "{"
            j = i + 2 if braced else i + 1
            k = j
            while k < len(template) and (template[k].isalnum() or template[k] == "_") and \
                    template[k].isascii():
                k += 1
            if k == j or (braced and (k == len(template) or template[k] != "}")):
                out.append(c)
                i += 1
                continue
            out.append(self._group(m, template[j:k]))
            i = k + 1 if braced else k
        return "".join(out)

    def _group(self, m: Any, name: str) -> str:
        index = int(name) if name.isdigit() else self._rx.groupindex.get(name, -1)
        if not 0 <= index <= self._rx.groups:
            return ""
        return m.group(index) or ""


@functools.lru_cache(maxsize=256)
def go_regexp(pattern: str) -> GoRegexp:
    """``pattern`` compiled as Go compiles it; :class:`PatternError` when it does not."""
    return GoRegexp(pattern)


def quote_meta(text: str) -> str:
    """Go's ``regexp.QuoteMeta``."""
    return "".join("\\" + c if c in "\\.+*?()|[]{}^$" else c for c in text)


# -- globs --------------------------------------------------------------------------------------
def _char(c: str) -> str:
    return f"\\x{{{ord(c):x}}}"


def _literal(c: str) -> str:
    return c if c.isalnum() or c in "_-/ " else _char(c)


class _Glob:
    def __init__(self, pattern: str, dialect: Dialect) -> None:
        self.p, self.i, self.dialect = pattern, 0, dialect
        self.one = "." if dialect == "argo" else "[^/]"

    def fail(self, why: str) -> PatternError:
        return PatternError(f"invalid glob {self.p!r}: {why}")

    def translate(self, depth: int = 0) -> str:
        """The pattern up to the end (or, inside braces, up to ``,`` or ``}``)."""
        out: list[str] = []
        braces = self.dialect != "path"
        while self.i < len(self.p):
            c = self.p[self.i]
            if braces and depth and c in ",}":
                return "".join(out)
            self.i += 1
            if c == "*":
                out.append(self._stars())
            elif c == "?":
                out.append(self.one)
            elif c == "[":
                out.append(self._class())
            elif c == "\\":
                if self.i == len(self.p):
                    raise self.fail("it ends with an escape")
                out.append(_literal(self.p[self.i]))
                self.i += 1
            elif c == "{" and braces:
                out.append(self._alternatives(depth + 1))
            else:
                out.append(_literal(c))
        if depth:
            raise self.fail("a '{' is never closed")
        return "".join(out)

    def _stars(self) -> str:
        if self.dialect == "argo":
            while self.i < len(self.p) and self.p[self.i] == "*":
                self.i += 1
            return ".*"
        if self.dialect == "path" or self.i == len(self.p) or self.p[self.i] != "*":
            return "[^/]*"
        self.i += 1                                    # "**"
        if self.i < len(self.p) and self.p[self.i] == "/":
            self.i += 1
            return "(?:.*/)?"
        return ".*"

    def _alternatives(self, depth: int) -> str:
        alts = []
        while True:
            alts.append(self.translate(depth))
            if self.i == len(self.p):
                raise self.fail("a '{' is never closed")
            sep = self.p[self.i]
            self.i += 1
            if sep == "}":
                return "(?:" + "|".join(alts) + ")"

    def _class(self) -> str:
        negate_marks = "^" if self.dialect == "path" else "^!"
        negated = self.i < len(self.p) and self.p[self.i] in negate_marks
        self.i += negated
        items: list[str] = []
        first = True
        while True:
            if self.i >= len(self.p):
                raise self.fail("a '[' is never closed")
            c = self.p[self.i]
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            lo = self._class_char()
            hi = lo
            if self.p.startswith("-", self.i) and not self.p.startswith("-]", self.i):
                self.i += 1
                hi = self._class_char()
            if lo <= hi:                               # backwards ranges match nothing (Go)
                items.append(_char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}")
        if not items:
            return "[^\\x00-\\x{10ffff}]" if not negated else "(?s:.)"
        return ("[^" if negated else "[") + "".join(items) + "]"

    def _class_char(self) -> str:
        if self.i >= len(self.p):
            raise self.fail("a '[' is never closed")
        c = self.p[self.i]
        self.i += 1
        if c == "\\":
            if self.i >= len(self.p):
                raise self.fail("it ends with an escape")
            c = self.p[self.i]
            self.i += 1
        return c


@functools.lru_cache(maxsize=512)
def _glob(pattern: str, dialect: Dialect) -> Any:
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"glob is {len(pattern)} characters long (limit {MAX_PATTERN})")
    return _compile("(?s)" + _Glob(pattern, dialect).translate(), pattern)


def glob_match(pattern: str, path: str, dialect: Dialect) -> bool:
    """Whether ``path`` matches the glob ``pattern`` of ``dialect`` (see the module's text);
    :class:`PatternError` when the pattern is malformed."""
    return _glob(pattern, dialect).fullmatch(path) is not None
