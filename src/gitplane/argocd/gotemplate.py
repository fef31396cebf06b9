"""Go ``text/template`` with the Sprig functions ApplicationSets use, evaluated offline.

Supported: text and actions with ``{{-``/``-}}`` trimming, comments, fields (``.a.b``,
``$``, ``$x.a``), variables (``$x :=``, ``$x =``), pipelines, parenthesised pipelines,
``if``/``else if``/``else``, ``range`` (lists and maps, with ``$i, $v :=``), ``with``,
``break``/``continue`` and the functions in :data:`FUNCS`. ``missingkey=error`` turns a
missing map key into an error, as in Go.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

import yaml

from gitplane import limits
from gitplane.errors import GitplaneError
from gitplane.patterns import PatternError, go_regexp, quote_meta

from gitplane.yamlio import json_value, yaml_value


def _repeat(n: Any, s: Any) -> str:
    text = to_text(s)
    if isinstance(n, int) and n * len(text) > limits.current().template_output:
        raise TemplateError(f"repeat would build {n * len(text)} characters; refused "
                            "(gitplane's limit, GITPLANE_MAX_TEMPLATE_BYTES)")
    return str(text * n)


class TemplateError(GitplaneError):
    """A template that does not parse (``kind`` "parse") or does not execute ("exec"); the
    message follows Go's (``template: base:LINE:COL: executing "base" at <node>: ...``)."""

    def __init__(self, message: str, kind: str = "exec") -> None:
        super().__init__(message)
        self.kind = kind


_MISSING = object()


# -- lexing --------------------------------------------------------------------------------
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\]|\\.)')
  | (?P<num>-?(?:0[xX][0-9a-fA-F]+|\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+|\d+(?:[eE][-+]?\d+)?))
  | (?P<decl>:=)
  | (?P<assign>=)
  | (?P<field>(?:\$[A-Za-z_0-9]*)?(?:\.[A-Za-z_][A-Za-z_0-9]*)+|\.)
  | (?P<var>\$[A-Za-z_0-9]*)
  | (?P<ident>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<pipe>\|)
  | (?P<lp>\()
  | (?P<rp>\))
  | (?P<comma>,)
""", re.X)

Token = tuple[str, str, int]  # kind, text, absolute offset


class _ParseError(Exception):
    def __init__(self, pos: int, message: str) -> None:
        super().__init__(message)
        self.pos = pos


def _tokens(src: str, base: int) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m:
            raise _ParseError(base + pos, f"unexpected {src[pos]!r} in command")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append((kind, m.group(), base + m.start()))
    return out


# -- nodes ---------------------------------------------------------------------------------
@dataclass
class Operand:
    kind: str  # field | lit | ident | pipe | chain
    value: Any
    pos: int = 0
    text: str = ""


@dataclass
class Command:
    args: list[Operand]

    @property
    def pos(self) -> int:
        return self.args[0].pos

    def __str__(self) -> str:
        return " ".join(a.text for a in self.args)


@dataclass
class Pipe:
    decl: list[str]
    cmds: list[Command]
    assign: bool = False
    pos: int = 0

    def __str__(self) -> str:
        head = ", ".join(self.decl) + (" = " if self.assign else " := ") if self.decl else ""
        return head + " | ".join(str(c) for c in self.cmds)


@dataclass
class Block:
    kind: str  # root | if | range | with
    pipe: Pipe | None = None
    body: list[Any] = field(default_factory=list)
    alt: list[Any] = field(default_factory=list)


_OPEN = "{{"


def parse(src: str, funcs: dict[str, Callable[..., Any]] | None = None) -> Block:
    """Parse ``src``; a TemplateError names the line as Go does (``template: base:N: ...``)."""
    standard = funcs is None or funcs is FUNCS
    if standard and src in _PARSED:
        return _PARSED[src]
    try:
        block = _parse(src, funcs if funcs is not None else FUNCS)
    except _ParseError as exc:
        line = src.count("\n", 0, exc.pos) + 1
        raise TemplateError(f"template: base:{line}: {exc}", "parse") from None
    if standard:
        if len(_PARSED) > 4096:
            _PARSED.clear()
        _PARSED[src] = block
    return block


#: Templates parsed with the standard functions (a parsed template is never changed).
_PARSED: dict[str, Block] = {}


def _parse(src: str, funcs: dict[str, Callable[..., Any]]) -> Block:
    root = Block("root")
    stack: list[Block] = [root]
    in_alt: list[bool] = [False]
    items: list[tuple[str, str, int]] = []
    pos = 0
    while True:
        start = src.find(_OPEN, pos)
        if start < 0:
            items.append(("text", src[pos:], pos))
            break
        text = src[pos:start]
        inner = start + 2
        trim_left = src.startswith("- ", inner) or src.startswith("-\t", inner) or \
            src.startswith("-\n", inner)
        if trim_left:
            text = text.rstrip()
            inner += 1
        if src[inner:].lstrip().startswith("/*"):
            close = src.find("*/", inner)
            end = src.find("}}", close + 2) if close >= 0 else -1
        else:
            end = _find_close(src, inner)
        if end < 0:
            raise _ParseError(start, "unclosed action")
        body = src[inner:end]
        trim_right = body.endswith((" -", "\t-", "\n-"))
        if trim_right:
            body = body[:-1]
        items.append(("text", text, pos))
        items.append(("action", body, inner))
        pos = end + 2
        if trim_right:
            rest = src[pos:]
            pos += len(rest) - len(rest.lstrip())

    def add(node: Any) -> None:
        (stack[-1].alt if in_alt[-1] else stack[-1].body).append(node)

    for kind, value, at in items:
        if kind == "text":
            if value:
                add(value)
            continue
        stripped = value.strip()
        at += len(value) - len(value.lstrip())
        if stripped.startswith("/*"):
            continue
        word = stripped.split(None, 1)[0] if stripped else ""
        rest_at = at + len(word) + (len(stripped[len(word):]) - len(stripped[len(word):].lstrip()))
        rest = stripped[len(word):].strip()
        if word in ("if", "range", "with"):
            if not rest:
                raise _ParseError(at, f"missing value for {word}")
            blk = Block(word, _pipe(rest, rest_at, funcs))
            add(blk)
            stack.append(blk)
            in_alt.append(False)
        elif word == "else":
            if len(stack) == 1:
                raise _ParseError(at, "unexpected {{else}}")
            in_alt[-1] = True
            if rest:
                sub_word = rest.split(None, 1)[0]
                if sub_word not in ("if", "with"):
                    raise _ParseError(at, f"unexpected {rest!r} in else")
                sub_rest = rest[len(sub_word):].strip()
                sub_at = rest_at + rest.index(sub_rest) if sub_rest else rest_at
                blk = Block(sub_word, _pipe(sub_rest, sub_at, funcs))
                add(blk)
                stack.append(blk)
                in_alt.append(False)
                blk.kind = sub_word + "-chained"
        elif word == "end":
            if len(stack) == 1:
                raise _ParseError(at, "unexpected {{end}}")
            while stack[-1].kind.endswith("-chained"):
                stack[-1].kind = stack[-1].kind[: -len("-chained")]
                stack.pop()
                in_alt.pop()
            stack.pop()
            in_alt.pop()
        elif word in ("break", "continue") and not rest:
            add(word)
        elif word in ("define", "template", "block"):
            raise _ParseError(at, f"{{{{{word}}}}} is not supported in ApplicationSet templates")
        elif not stripped:
            raise _ParseError(at, "missing value for command")
        else:
            add(_pipe(stripped, at, funcs))
    if len(stack) > 1:
        raise _ParseError(len(src), "unexpected EOF")
    return root


def _find_close(src: str, pos: int) -> int:
    """The ``}}`` ending the action at ``pos``, skipping quoted strings."""
    i = pos
    while i < len(src):
        c = src[i]
        if c in "\"`'":
            j = i + 1
            while j < len(src) and src[j] != c:
                j += 2 if src[j] == "\\" and c != "`" else 1
            i = j + 1
            continue
        if src.startswith("}}", i):
            return i
        i += 1
    return -1


def _pipe(src: str, at: int, funcs: dict[str, Callable[..., Any]]) -> Pipe:
    toks = _tokens(src, at)
    pipe, rest = _parse_pipe(toks, 0, funcs, top=True)
    if rest != len(toks):
        raise _ParseError(toks[rest][2], f"unexpected {toks[rest][1]!r} in command")
    return pipe


def _parse_pipe(toks: list[Token], i: int, funcs: dict[str, Callable[..., Any]],
                top: bool = False) -> tuple[Pipe, int]:
    decl: list[str] = []
    assign = False
    start_pos = toks[i][2] if i < len(toks) else 0
    if top:
        j = i
        names = []
        while j < len(toks) and toks[j][0] == "var":
            names.append(toks[j][1])
            if j + 1 < len(toks) and toks[j + 1][0] == "comma":
                j += 2
                continue
            break
        if names and j + 1 < len(toks) and toks[j + 1][0] in ("decl", "assign"):
            decl = names
            assign = toks[j + 1][0] == "assign"
            i = j + 2
    cmds: list[Command] = []
    cmd: list[Operand] = []
    while i < len(toks):
        kind, val, pos = toks[i]
        if kind == "rp":
            break
        if kind == "pipe":
            if not cmd:
                raise _ParseError(pos, "missing command before |")
            cmds.append(Command(cmd))
            cmd = []
            i += 1
            continue
        if kind == "lp":
            sub, i = _parse_pipe(toks, i + 1, funcs)
            if i >= len(toks) or toks[i][0] != "rp":
                raise _ParseError(pos, "unclosed left paren")
            i += 1
            op = Operand("pipe", sub, pos, f"({sub})")
            if i < len(toks) and toks[i][0] == "field" and toks[i][1].startswith("."):
                op = Operand("chain", (sub, toks[i][1][1:].split(".")), toks[i][2],
                             f"({sub}){toks[i][1]}")
                i += 1
            cmd.append(op)
            continue
        cmd.append(_operand(kind, val, pos, funcs))
        i += 1
    if cmd:
        cmds.append(Command(cmd))
    if not cmds:
        raise _ParseError(start_pos, "missing value for command")
    return Pipe(decl, cmds, assign, start_pos), i


def _operand(kind: str, val: str, pos: int, funcs: dict[str, Callable[..., Any]]) -> Operand:
    if kind == "str":
        return Operand("lit", json.loads(val), pos, val)
    if kind == "raw":
        return Operand("lit", val[1:-1], pos, val)
    if kind == "char":
        return Operand("lit", ord(json.loads('"' + val[1:-1] + '"')), pos, val)
    if kind == "num":
        if re.match(r"^-?0[xX]", val):
            return Operand("lit", int(val, 16), pos, val)
        return Operand("lit", float(val) if re.search(r"[.eE]", val) else int(val), pos, val)
    if kind == "field":
        if val == ".":
            return Operand("field", ("", []), pos, val)
        var, dot, rest = val.partition(".") if val.startswith("$") else ("", ".", val[1:])
        path = rest.split(".")
        # Go places a chained field (.a.b) at its second element.
        chained = val.find(".", (len(var) + 1) if var else 1)
        where = pos + chained if (len(path) > 1 or var) and chained > 0 else pos
        return Operand("field", (var, path), where, val)
    if kind == "var":
        return Operand("field", (val, []), pos, val)
    if kind == "ident":
        if val in ("true", "false"):
            return Operand("lit", val == "true", pos, val)
        if val == "nil":
            return Operand("lit", None, pos, val)
        if val not in funcs:
            raise _ParseError(pos, f'function "{val}" not defined')
        return Operand("ident", val, pos, val)
    raise _ParseError(pos, f"unexpected {val!r} in command")


# -- evaluation ----------------------------------------------------------------------------
class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def truthy(v: Any) -> bool:
    if v is None or v is _MISSING:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v != 0
    if isinstance(v, (str, list, dict, tuple)):
        return len(v) > 0
    return True


def to_text(v: Any) -> str:
    """Go's ``fmt.Sprint`` of JSON-like values."""
    if v is None or v is _MISSING:
        return "<no value>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v == int(v) and abs(v) < 1e21:
            return str(int(v))
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(to_text(x) if x is not None else "<nil>" for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{to_text(v[k]) if v[k] is not None else '<nil>'}"
                                 for k in sorted(v)) + "]"
    return str(v)


class _At(Exception):
    """An execution error at a node: its offset, its text, Go's message."""

    def __init__(self, pos: int, node: str, message: str) -> None:
        super().__init__(message)
        self.pos, self.node, self.message = pos, node, message


class _Exec:
    def __init__(self, data: Any, funcs: dict[str, Callable[..., Any]], missing_error: bool):
        self.data = data
        self.funcs = funcs
        self.missing_error = missing_error
        self.out: list[str] = []
        self.size = 0  # characters written
        self.steps = 0  # nodes run
        # bounds of one execution in gitplane's own process (Argo CD's controller has its
        # own memory limits; offline, a repository must not exhaust the machine)
        bounds = limits.current()
        self.max_output, self.max_steps = bounds.template_output, bounds.template_steps

    def emit(self, text: str) -> None:
        self.size += len(text)
        if self.size > self.max_output:
            raise TemplateError(f"template output exceeds {self.max_output} characters; "
                                "refused (gitplane's limit, GITPLANE_MAX_TEMPLATE_BYTES)")
        self.out.append(text)

    def run(self, nodes: list[Any], dot: Any, scope: dict[str, Any]) -> None:
        for node in nodes:
            self.steps += 1
            if self.steps > self.max_steps:
                raise TemplateError(f"template runs over {self.max_steps} steps; refused "
                                    "(gitplane's limit, GITPLANE_MAX_TEMPLATE_STEPS)")
            if isinstance(node, str):
                if node == "break":
                    raise _Break()
                if node == "continue":
                    raise _Continue()
                self.emit(node)
            elif isinstance(node, Pipe):
                val = self.pipe(node, dot, scope)
                if not node.decl:
                    self.emit(to_text(val))
            else:
                self.block(node, dot, scope)

    def block(self, b: Block, dot: Any, scope: dict[str, Any]) -> None:
        assert b.pipe is not None
        inner = dict(scope)
        if b.kind == "range":
            val = self.pipe(Pipe([], b.pipe.cmds, pos=b.pipe.pos), dot, inner)
            if isinstance(val, dict):
                pairs = [(k, val[k]) for k in sorted(val)]
            elif isinstance(val, (list, tuple)):
                pairs = list(enumerate(val))
            elif isinstance(val, int) and not isinstance(val, bool):
                if val > self.max_steps:
                    raise TemplateError(f"range over {val} exceeds {self.max_steps} steps; "
                                        "refused (gitplane's limit, "
                                        "GITPLANE_MAX_TEMPLATE_STEPS)")
                pairs = [(i, i) for i in range(val)]
            elif val is None or val is _MISSING:
                pairs = []
            else:
                raise _At(b.pipe.pos, str(b.pipe), f"range can't iterate over {to_text(val)}")
            if not pairs:
                self.run(b.alt, dot, inner)
            for k, v in pairs:
                if len(b.pipe.decl) == 1:
                    inner[b.pipe.decl[0]] = v
                elif len(b.pipe.decl) == 2:
                    inner[b.pipe.decl[0]] = k
                    inner[b.pipe.decl[1]] = v
                try:
                    self.run(b.body, v, inner)
                except _Break:
                    break
                except _Continue:
                    continue
            return
        val = self.pipe(b.pipe, dot, inner)
        if truthy(val):
            self.run(b.body, val if b.kind == "with" else dot, inner)
        else:
            self.run(b.alt, dot, inner)

    def pipe(self, p: Pipe, dot: Any, scope: dict[str, Any]) -> Any:
        val: Any = _MISSING
        for i, cmd in enumerate(p.cmds):
            val = self.command(cmd, dot, scope, val if i else _MISSING)
        if p.decl:
            for name in p.decl:
                if p.assign and name not in scope:
                    raise _At(p.pos, str(p), f"undefined variable: {name}")
                scope[name] = val
        return val

    def command(self, cmd: Command, dot: Any, scope: dict[str, Any], piped: Any) -> Any:
        head = cmd.args[0]
        if head.kind == "ident":
            name = head.value
            fn = self.funcs[name]
            args = [self.arg(a, dot, scope) for a in cmd.args[1:]]
            if piped is not _MISSING:
                args.append(piped)
            try:
                return fn(*args)
            except _At:
                raise
            except TemplateError as exc:
                msg = str(exc)
                raise _At(cmd.pos, str(cmd), msg if msg.startswith("error calling") else
                          f"error calling {name}: {msg}") from None
            except Exception as exc:  # noqa: BLE001 - a function's failure is a template error
                raise _At(cmd.pos, str(cmd), f"error calling {name}: {exc}") from None
        if len(cmd.args) > 1 or piped is not _MISSING:
            raise _At(cmd.pos, str(cmd), f"can't give argument to non-function {head.text}")
        return self.arg(head, dot, scope)

    def arg(self, op: Operand, dot: Any, scope: dict[str, Any]) -> Any:
        if op.kind == "lit":
            return op.value
        if op.kind == "pipe":
            return self.pipe(op.value, dot, dict(scope))
        if op.kind == "chain":
            sub, path = op.value
            return self.walk(self.pipe(sub, dot, dict(scope)), path, op)
        if op.kind == "ident":
            return self.command(Command([op]), dot, scope, _MISSING)
        var, path = op.value
        if var:
            if var == "$":
                base = self.data
            elif var in scope:
                base = scope[var]
            else:
                raise _At(op.pos, op.text, f"undefined variable: {var}")
        else:
            base = dot
        return self.walk(base, [p for p in path if p], op)

    def walk(self, base: Any, path: list[str], op: Operand) -> Any:
        cur = base
        for i, key in enumerate(path):
            if isinstance(cur, dict):
                if key in cur:
                    cur = cur[key]
                elif self.missing_error:
                    raise _At(op.pos, op.text, f'map has no entry for key "{key}"')
                else:
                    return None
            elif cur is None or cur is _MISSING:
                if i == 0 and not self.missing_error:
                    return None
                raise _At(op.pos, op.text, f"nil pointer evaluating interface {{}}.{key}")
            else:
                raise _At(op.pos, op.text, f"can't evaluate field {key} in type interface {{}}")
        return cur


def _gotype(v: Any) -> str:
    return {str: "string", bool: "bool", int: "int", float: "float64", list: "[]interface {}",
            dict: "map[string]interface {}"}.get(type(v), "interface {}")


def execute(src: str, data: Any, options: list[str] | None = None,
            funcs: dict[str, Callable[..., Any]] | None = None) -> str:
    """Render ``src`` with ``data``; ``options`` are Go's (``missingkey=error``)."""
    missing_error = False
    for opt in options or []:
        if opt in ("missingkey=error", "missingkey=zero"):
            missing_error = opt == "missingkey=error"
        elif opt not in ("missingkey=default", "missingkey=invalid"):
            raise TemplateError(f'unrecognized option: {opt}', "parse")
    table = funcs or FUNCS
    ex = _Exec(data, table, missing_error)
    try:
        ex.run(parse(src, table).body, data, {"$": data})
    except _At as at:
        line = src.count("\n", 0, at.pos) + 1
        col = at.pos - (src.rfind("\n", 0, at.pos) + 1)
        raise TemplateError(f'template: base:{line}:{col}: executing "base" at <{at.node}>: '
                            f"{at.message}") from None
    return "".join(ex.out)


# -- functions -----------------------------------------------------------------------------
def normalize(s: str) -> str:
    """Argo CD's normalize: lower case, DNS-1123-ish, at most 253 characters."""
    s = re.sub(r"[^a-z0-9.-]", "-", str(s).lower())
    return s.strip("-.")[:253].strip("-.")


def slugify(*args: Any) -> str:
    """Argo CD's slugify [maxSize=50] [smartTruncate=true] text."""
    if not args:
        raise TemplateError("slugify: missing text")
    text = str(args[-1])
    size = int(args[0]) if len(args) > 1 else 50
    smart = bool(args[1]) if len(args) > 2 else True
    s = re.sub(r"[^a-z0-9-]+", "-", text.lower())
    s = re.sub(r"-+", "-", s).strip("-")
    if size > 0 and len(s) > size:
        if smart:
            cut = s[:size]
            idx = cut.rfind("-")
            s = cut[:idx] if idx > 0 else cut
        else:
            s = s[:size]
    return s.strip("-")


def _to_yaml(v: Any) -> str:
    if v is None:
        return "null"
    return yaml.safe_dump(v, default_flow_style=False, sort_keys=True).rstrip("\n")


def _yaml_value(s: Any, want: type, go_type: str) -> Any:
    try:
        v = yaml_value(to_text(s))
    except yaml.YAMLError as exc:
        raise TemplateError(f"error converting YAML to JSON: {exc}") from None
    if v is None:
        return want()
    if not isinstance(v, want):
        raise TemplateError("error unmarshaling JSON: while decoding JSON: json: cannot "
                            f"unmarshal {_gotype(v).split()[0].strip('[]')} into Go value of "
                            f"type {go_type}")
    return v


def _from_yaml(s: Any) -> Any:
    return _yaml_value(s, dict, "map[string]interface {}")


def _from_yaml_array(s: Any) -> Any:
    return _yaml_value(s, list, "[]interface {}")


def _default(d: Any, v: Any = _MISSING) -> Any:
    if v is _MISSING:
        return d
    return v if truthy(v) else d


def _index(v: Any, *keys: Any) -> Any:
    for k in keys:
        if isinstance(v, dict):
            v = v.get(str(k)) if not isinstance(k, str) else v.get(k)
        elif isinstance(v, (list, tuple, str)):
            if not isinstance(k, int) or not 0 <= k < len(v):
                raise TemplateError(f"error calling index: index out of range: {k}")
            v = v[k]
        elif v is None:
            raise TemplateError("error calling index: index of untyped nil")
        else:
            raise TemplateError(f"can't index item of type {_gotype(v)}")
    return v


def _printf(fmt: str, *args: Any) -> str:
    out: list[str] = []
    it = iter(args)
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%" or i + 1 >= len(fmt):
            out.append(c)
            i += 1
            continue
        j = i + 1
        while j < len(fmt) and fmt[j] in "-+# 0123456789.":
            j += 1
        verb = fmt[j] if j < len(fmt) else ""
        flags = fmt[i + 1:j]
        i = j + 1
        if verb == "%":
            out.append("%")
            continue
        arg = next(it, _MISSING)
        if arg is _MISSING:
            out.append(f"%!{verb}(MISSING)")
        elif verb == "q":
            out.append(json.dumps(to_text(arg)))
        elif verb in "dxXobeEfgG" and isinstance(arg, (int, float)) and verb:
            out.append(("%" + flags + verb) % arg)
        else:
            out.append(("%" + flags + "s") % to_text(arg))
    return "".join(out)


def _cmp(name: str, op: Callable[[Any, Any], bool]) -> Callable[..., bool]:
    def f(a: Any, b: Any) -> bool:
        try:
            return bool(op(a, b))
        except TypeError:
            raise TemplateError(f"error calling {name}: incompatible types for comparison") \
                from None
    return f


def _eq(a: Any, *bs: Any) -> bool:
    return any(a == b for b in bs)


def _and(*args: Any) -> Any:
    for a in args:
        if not truthy(a):
            return a
    return args[-1]


def _or(*args: Any) -> Any:
    for a in args:
        if truthy(a):
            return a
    return args[-1]


def _trunc(n: int, s: str) -> str:
    return s[:n] if n >= 0 else s[n:]


FUNCS: dict[str, Callable[..., Any]] = {
    # Go builtins
    "and": _and, "or": _or, "not": lambda a: not truthy(a), "len": lambda v: len(v),
    "index": _index, "print": lambda *a: "".join(to_text(x) for x in a),
    "println": lambda *a: " ".join(to_text(x) for x in a) + "\n", "printf": _printf,
    "eq": _eq, "ne": _cmp("ne", lambda a, b: a != b), "lt": _cmp("lt", lambda a, b: a < b),
    "le": _cmp("le", lambda a, b: a <= b), "gt": _cmp("gt", lambda a, b: a > b),
    "ge": _cmp("ge", lambda a, b: a >= b),
    "html": lambda s: to_text(s).replace("&", "&amp;").replace("<", "&lt;"),
    "urlquery": lambda s: __import__("urllib.parse").parse.quote_plus(to_text(s)),
    "js": lambda s: json.dumps(to_text(s))[1:-1],
    # Argo CD
    "normalize": normalize, "slugify": slugify, "toYaml": _to_yaml, "fromYaml": _from_yaml,
    "fromYamlArray": _from_yaml_array,
    # Sprig, the subset used in practice
    "default": _default, "empty": lambda v: not truthy(v), "coalesce":
        lambda *a: next((x for x in a if truthy(x)), None),
    "ternary": lambda t, f, c: t if truthy(c) else f,
    "lower": lambda s: to_text(s).lower(), "upper": lambda s: to_text(s).upper(),
    "title": lambda s: to_text(s).title(), "trim": lambda s: to_text(s).strip(),
    "trimAll": lambda c, s: to_text(s).strip(c), "trimPrefix":
        lambda p, s: s[len(p):] if s.startswith(p) else s,
    "trimSuffix": lambda p, s: s[: -len(p)] if p and s.endswith(p) else s,
    "hasPrefix": lambda p, s: to_text(s).startswith(p),
    "hasSuffix": lambda p, s: to_text(s).endswith(p),
    "contains": lambda sub, s: sub in to_text(s), "replace": lambda o, n, s:
        to_text(s).replace(o, n), "repeat": _repeat,
    "trunc": _trunc, "quote": lambda *a: " ".join(json.dumps(to_text(x)) for x in a),
    "squote": lambda *a: " ".join(f"'{to_text(x)}'" for x in a),
    "cat": lambda *a: " ".join(to_text(x) for x in a if x is not None),
    "indent": lambda n, s: "\n".join(" " * n + ln for ln in to_text(s).split("\n")),
    "nindent": lambda n, s: "\n" + "\n".join(" " * n + ln for ln in to_text(s).split("\n")),
    "split": lambda sep, s: {f"_{i}": p for i, p in enumerate(to_text(s).split(sep))},
    "splitList": lambda sep, s: to_text(s).split(sep), "join":
        lambda sep, v: sep.join(to_text(x) for x in v),
    "toString": to_text, "toJson": lambda v: json.dumps(v, separators=(",", ":"),
                                                        sort_keys=True),
    "toPrettyJson": lambda v: json.dumps(v, indent=2, sort_keys=True),
    "fromJson": lambda s: _from_json(s, False), "mustFromJson": lambda s: _from_json(s, True),
    "mustToJson": lambda v: json.dumps(v, separators=(",", ":"), sort_keys=True),
    "int": lambda v: int(float(v)) if v not in (None, "") else 0,
    "int64": lambda v: int(float(v)) if v not in (None, "") else 0,
    "float64": lambda v: float(v) if v not in (None, "") else 0.0,
    "atoi": lambda s: int(s) if re.match(r"^-?\d+$", str(s)) else 0,
    "add": lambda *a: sum(int(x) for x in a), "add1": lambda a: int(a) + 1,
    "sub": lambda a, b: int(a) - int(b), "mul": lambda *a: __import__("math").prod(
        int(x) for x in a), "div": lambda a, b: int(int(a) / int(b)),
    "mod": lambda a, b: int(a) % int(b), "max": lambda *a: max(int(x) for x in a),
    "min": lambda *a: min(int(x) for x in a),
    "list": lambda *a: list(a), "first": lambda v: v[0] if v else None,
    "last": lambda v: v[-1] if v else None, "rest": lambda v: list(v[1:]),
    "initial": lambda v: list(v[:-1]), "append": lambda v, x: [*v, x],
    "prepend": lambda v, x: [x, *v], "concat": lambda *ls: [x for v in ls for x in v],
    "has": lambda x, v: x in v, "uniq": lambda v: list(dict.fromkeys(v)),
    "sortAlpha": lambda v: sorted(to_text(x) for x in v), "reverse": lambda v: v[::-1],
    "compact": lambda v: [x for x in v if truthy(x)],
    "dict": lambda *a: {str(a[i]): (a[i + 1] if i + 1 < len(a) else "")
                        for i in range(0, len(a), 2)},
    "get": lambda d, k: d.get(k, ""), "dig": lambda *a: _dig(*a), "set": lambda d, k, v: {**d, k: v},
    "unset": lambda d, k: {x: y for x, y in d.items() if x != k},
    "hasKey": lambda d, k: k in d, "keys": lambda *ds: sorted(k for d in ds for k in d),
    "values": lambda d: [d[k] for k in d], "pluck": lambda k, *ds: [d[k] for d in ds if k in d],
    "merge": lambda dst, *srcs: _merge(dst, srcs, False),
    "mergeOverwrite": lambda dst, *srcs: _merge(dst, srcs, True),
    "regexMatch": lambda r, s: _regex_match(r, s),
    "mustRegexMatch": lambda r, s: go_regexp(r).search(to_text(s)),
    "regexFind": lambda r, s: go_regexp(r).find(to_text(s)),
    "regexFindAll": lambda r, s, n: go_regexp(r).find_all(to_text(s), n),
    "regexReplaceAll": lambda r, s, rep: go_regexp(r).replace_all(to_text(s), to_text(rep)),
    "regexReplaceAllLiteral": lambda r, s, rep: go_regexp(r).replace_all(
        to_text(s), to_text(rep), literal=True),
    "regexSplit": lambda r, s, n: go_regexp(r).split(to_text(s), n),
    "regexQuoteMeta": lambda s: quote_meta(to_text(s)),
    "b64enc": lambda s: __import__("base64").b64encode(to_text(s).encode()).decode(),
    "b64dec": lambda s: __import__("base64").b64decode(to_text(s)).decode(),
    "sha256sum": lambda s: __import__("hashlib").sha256(to_text(s).encode()).hexdigest(),
    "sha1sum": lambda s: __import__("hashlib").sha1(to_text(s).encode()).hexdigest(),
    "kebabcase": lambda s: re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", to_text(s)).replace(
        "_", "-").lower(),
    "snakecase": lambda s: re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", to_text(s)).lower(),
    "base": lambda p: __import__("posixpath").basename(to_text(p)) or ".",
    "dir": lambda p: __import__("posixpath").dirname(to_text(p)) or ".",
    "ext": lambda p: __import__("posixpath").splitext(to_text(p))[1],
    "clean": lambda p: __import__("posixpath").normpath(to_text(p)) if p else ".",
    "toStrings": lambda v: [to_text(x) for x in v],
    "typeOf": _gotype, "kindIs": lambda k, v: _gotype(v).endswith(k),
    "deepCopy": lambda v: json.loads(json.dumps(v)),
}
# Sprig's non-``must`` regex functions already fail on a pattern that does not compile
FUNCS.update({"must" + name[0].upper() + name[1:]: FUNCS[name] for name in (
    "regexFind", "regexFindAll", "regexReplaceAll", "regexReplaceAllLiteral", "regexSplit")})


def _dig(*args: Any) -> Any:
    """Sprig's dig KEY... DEFAULT DICT."""
    if len(args) < 3:
        raise TemplateError("dig needs at least three arguments")
    *keys, default, data = args
    cur = data
    for k in keys:
        if not isinstance(cur, dict) or k not in cur:
            return default
        cur = cur[k]
    return cur


def _from_json(s: Any, must: bool) -> Any:
    try:
        return json_value(to_text(s))
    except json.JSONDecodeError as exc:
        if must:
            raise TemplateError(f"invalid character in JSON: {exc.msg}") from None
        return {}


def _regex_match(pattern: str, s: Any) -> bool:
    """Sprig's ``regexMatch``: a pattern that does not compile matches nothing."""
    try:
        return go_regexp(pattern).search(to_text(s))
    except PatternError:
        return False


def _merge(dst: dict[str, Any], srcs: tuple[dict[str, Any], ...], overwrite: bool) -> dict[str, Any]:
    for src in srcs:
        for k, v in src.items():
            if k in dst and isinstance(dst[k], dict) and isinstance(v, dict):
                _merge(dst[k], (v,), overwrite)
            elif overwrite or k not in dst or not truthy(dst[k]):
                dst[k] = v
    return dst


for _fn in ("env", "expandenv", "getHostByName"):
    FUNCS.pop(_fn, None)  # not available in Argo CD: the template names them and fails
