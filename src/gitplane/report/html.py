"""``gitplane report``: one self-contained HTML page of a platform.

Everything the page shows comes from the repository, and so from pull requests: it is text,
escaped by Jinja2's autoescape, never markup. The page loads nothing (a Content-Security-Policy
allows only its own style and script, by hash), works without JavaScript (the script only
adds the matrix filter), and is the same bytes for the same input (no time unless asked).

Sizes are budgeted: an object's diff is cut after ``OBJECT_DIFF_LINES`` lines, the diffs
together after ``DIFF_BUDGET`` characters, long tables after their row caps; an identical
diff in a second place links to the first rather than repeating it. A page over
``WARN_BYTES`` is said; over ``HARD_CAP`` it is made again without diffs and object lists.
"""
from __future__ import annotations

import base64
import difflib
import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from importlib import resources as package_files
from typing import TYPE_CHECKING, Any

from gitplane import __version__
from gitplane.argocd.sync import sync_order

if TYPE_CHECKING:
    from gitplane.checks import Result
    from gitplane.diff import DiffResult
    from gitplane.platform import AppResult, EnvResult

OBJECT_DIFF_LINES = 300
DIFF_BUDGET = 4_000_000
OBJECT_ROWS = 1_000
FINDING_ROWS = 5_000
GRAPH_NODES = 400
WARN_BYTES = 5 * 1024 * 1024
HARD_CAP = 20 * 1024 * 1024
SEVERITIES = ("error", "warning", "info")
_RANK = {"error": 3, "warning": 2, "info": 1, "": 0}
#: findings that say a source did not render at all
_RENDER_RULES = {"kustomize-build", "helm-template", "yaml-syntax", "yaml-duplicate-key"}


@dataclass
class Segment:
    text: str
    mark: bool = False


@dataclass
class DiffLine:
    kind: str  # add | del | ctx | hunk | file
    segments: list[Segment]


@dataclass
class ObjectDiff:
    resource: str
    change: str
    lines: list[DiffLine] = field(default_factory=list)
    cut: int = 0  # lines left out by the per-object cap
    same_as: tuple[str, str] | None = None  # (anchor, label) of the identical diff shown
    left_out: bool = False  # the page's diff budget was spent


@dataclass
class Row:
    phase: str
    wave: int
    kind: str
    name: str
    namespace: str
    hook: bool


@dataclass
class Cell:
    env: str
    app: str
    anchor: str
    sources: list[str]
    project: str
    destination: str
    sync_policy: str
    origin: str
    status: str  # rendered | failed | not rendered
    objects: int
    rows: list[Row]
    rows_cut: int
    findings: list[Any]
    counts: dict[str, int]
    worst: str
    changed: bool | None  # None: no base given
    diffs: list[ObjectDiff] = field(default_factory=list)


@dataclass
class Node:
    id: str
    label: str
    kind: str  # root | appset | app
    x: int = 0
    y: int = 0
    anchor: str = ""
    children: list[Node] = field(default_factory=list)


@dataclass
class Graph:
    env: str
    nodes: list[Node]
    edges: list[tuple[Node, Node]]
    roots: list[Node]
    width: int
    height: int
    drawn: bool  # False: too many nodes; the list only


def slug(*parts: str) -> str:
    """An id for ``parts`` (names from the repository): letters, digits and dashes, made
    unique by a short hash of the exact names."""
    text = "--".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-")[:40] for p in parts)
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:8]
    return f"{text or 'x'}-{digest}"


_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


def _words(old: str, new: str) -> tuple[list[Segment], list[Segment]]:
    """The two lines as segments, the words that differ marked."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    left: list[Segment] = []
    right: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if i2 > i1:
            left.append(Segment("".join(a[i1:i2]), op != "equal"))
        if j2 > j1:
            right.append(Segment("".join(b[j1:j2]), op != "equal"))
    return left, right


def diff_lines(text: str) -> list[DiffLine]:
    """A unified diff as lines; a run of removed lines followed by added ones is paired
    line by line and the words that changed are marked."""
    raw = text.splitlines()
    out: list[DiffLine] = []
    i = 0
    while i < len(raw):
        line = raw[i]
        if line.startswith(("---", "+++")):
            out.append(DiffLine("file", [Segment(line)]))
            i += 1
        elif line.startswith("@@"):
            out.append(DiffLine("hunk", [Segment(line)]))
            i += 1
        elif line.startswith("-"):
            dels = []
            while i < len(raw) and raw[i].startswith("-") and not raw[i].startswith("---"):
                dels.append(raw[i])
                i += 1
            adds = []
            while i < len(raw) and raw[i].startswith("+") and not raw[i].startswith("+++"):
                adds.append(raw[i])
                i += 1
            pairs = min(len(dels), len(adds))
            left = [DiffLine("del", [Segment(d)]) for d in dels]
            right = [DiffLine("add", [Segment(a)]) for a in adds]
            for k in range(pairs):
                if max(len(dels[k]), len(adds[k])) <= 2_000:  # long lines: whole-line marks
                    lseg, rseg = _words(dels[k][1:], adds[k][1:])
                    left[k] = DiffLine("del", [Segment("-"), *lseg])
                    right[k] = DiffLine("add", [Segment("+"), *rseg])
            out.extend(left + right)
        elif line.startswith("+"):
            out.append(DiffLine("add", [Segment(line)]))
            i += 1
        else:
            out.append(DiffLine("ctx", [Segment(line)]))
            i += 1
    return out


def _policy(doc: dict[str, Any]) -> str:
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    policy = spec.get("syncPolicy") if isinstance(spec, dict) else None
    if not isinstance(policy, dict):
        return "manual"
    parts = []
    auto = policy.get("automated")
    if isinstance(auto, dict) or auto is True:
        flags = [name for key, name in (("prune", "prune"), ("selfHeal", "self-heal"),
                                        ("allowEmpty", "allow empty"))
                 if isinstance(auto, dict) and auto.get(key) is True]
        enabled = not (isinstance(auto, dict) and auto.get("enabled") is False)
        parts.append(("automated" if enabled else "automation disabled") +
                     (f" ({', '.join(flags)})" if flags else ""))
    else:
        parts.append("manual")
    options = policy.get("syncOptions")
    if isinstance(options, list) and options:
        parts.append(", ".join(str(o) for o in options[:12]))
    return "; ".join(parts)


def _destination(dest: dict[str, Any]) -> str:
    where = str(dest.get("name") or dest.get("server") or "")
    ns = str(dest.get("namespace") or "")
    return f"{where} / {ns}" if ns else where


def _sources(ar: AppResult, repo: Any) -> list[str]:
    """Each source: a chart with its version, a path with its revision, and the repository
    when it is another than the platform's own."""
    out = []
    for s, version in zip(ar.app.sources, ar.app.resolved(), strict=True):
        text = s.describe()
        if version and version != s.target_revision:
            text += f" (resolved {version})"
        if not s.chart and s.repo_url and not repo.is_self(s.repo_url):
            text += f" ({s.repo_url})"
        out.append(text)
    return out


class _Budget:
    def __init__(self, chars: int) -> None:
        self.left = chars
        self.spent = False
        self.seen: dict[str, tuple[str, str]] = {}
        self.left_out = 0


def _object_diffs(changes: list[Any], anchor: str, label: str, budget: _Budget
                  ) -> list[ObjectDiff]:
    out = []
    for c in changes:
        od = ObjectDiff(c.resource, c.change)
        key = hashlib.sha256(f"{c.resource}\0{c.change}\0{c.diff}".encode()).hexdigest()
        if key in budget.seen:
            od.same_as = budget.seen[key]
        elif budget.left <= 0:
            od.left_out = True
            budget.left_out += 1
        else:
            budget.seen[key] = (anchor, label)
            lines = diff_lines(c.diff) if c.diff else []
            od.cut = max(0, len(lines) - OBJECT_DIFF_LINES)
            od.lines = lines[:OBJECT_DIFF_LINES]
            budget.left -= sum(len(s.text) for ln in od.lines for s in ln.segments)
        out.append(od)
    return out


def _cell(er: EnvResult, ar: AppResult, findings: list[Any], changes: list[Any] | None,
          budget: _Budget, details: bool, er_repo: Any) -> Cell:
    env, app = er.env.name, ar.app.name
    anchor = slug(env, app)
    counts = Counter(f.severity for f in findings)
    worst = max((f.severity for f in findings), key=_RANK.__getitem__, default="")
    if any(f.rule in _RENDER_RULES and f.severity == "error" for f in findings):
        status = "failed"
    elif not ar.fully_rendered:
        status = "not rendered"
    else:
        status = "rendered"
    steps = sync_order(ar.resources) if details else []
    rows = [Row(s.phase, s.wave, s.resource.kind, s.resource.name, s.resource.namespace,
                s.hook) for s in steps[:OBJECT_ROWS]]
    origin = ar.app.origin
    where = f"{origin.file}:{origin.line}" if origin.line else origin.file
    if origin.applicationset:
        where += f" (ApplicationSet {origin.applicationset}"
        where += f", {origin.generator} generator)" if origin.generator else ")"
    cell = Cell(env, app, anchor, _sources(ar, er_repo), ar.app.project,
                _destination(ar.app.destination), _policy(ar.app.doc), where, status,
                len(ar.resources), rows, max(0, len(steps) - OBJECT_ROWS), findings,
                {s: counts.get(s, 0) for s in SEVERITIES}, worst,
                None if changes is None else bool(changes))
    if changes and details:
        cell.diffs = _object_diffs(changes, anchor, f"{env} / {app}", budget)
    return cell


def _graph(er: EnvResult, anchors: dict[str, str]) -> Graph:
    """The environment's roots, ApplicationSets and Applications as a tree laid out left to
    right: an Application under the Application that renders it (app of apps), a generated
    one under its ApplicationSet, the rest under the root that holds them."""
    nodes: dict[str, Node] = {}

    def node(nid: str, label: str, kind: str) -> Node:
        if nid not in nodes:
            nodes[nid] = Node(nid, label, kind, anchor=anchors.get(label, "")
                              if kind == "app" else "")
        return nodes[nid]

    roots = [node(f"root:{r}", r, "root") for r in er.env.roots] or \
        [node("root:", "(roots)", "root")]
    holder: dict[tuple[str, str], str] = {}  # (kind, name) → the app whose render holds it
    for ar in er.apps:
        for r in ar.resources:
            if r.kind in ("Application", "ApplicationSet") and \
                    r.api_version.startswith("argoproj.io/"):
                holder.setdefault((r.kind, r.name), ar.app.name)
    in_root: dict[tuple[str, str], str] = {}
    for path, rendered in sorted(er.roots.items()):
        for r in rendered.resources:
            in_root.setdefault((r.kind, r.name), path)
    edges: list[tuple[Node, Node]] = []
    parent_of: dict[str, Node] = {}

    def parent(kind: str, name: str) -> Node:
        owner = holder.get((kind, name))
        if owner and owner != name:
            return node(f"app:{owner}", owner, "app")
        path = in_root.get((kind, name))
        return nodes.get(f"root:{path}", roots[0]) if path is not None else roots[0]

    for ar in sorted(er.apps, key=lambda a: a.app.name):
        child = node(f"app:{ar.app.name}", ar.app.name, "app")
        appset = ar.app.origin.applicationset
        if appset:
            up = node(f"appset:{appset}", appset, "appset")
            if up.id not in parent_of:
                parent_of[up.id] = parent("ApplicationSet", appset)
        else:
            up = parent("Application", ar.app.name)
        parent_of.setdefault(child.id, up)
    # a cycle (an app rendering its own ancestor) is cut where it closes
    for nid, up in sorted(parent_of.items()):
        seen = {nid}
        walk: Node | None = up
        while walk is not None and walk.id not in seen:
            seen.add(walk.id)
            walk = parent_of.get(walk.id)
        if walk is not None:
            parent_of[nid] = roots[0]
    for nid, up in sorted(parent_of.items()):
        up.children.append(nodes[nid])
        edges.append((up, nodes[nid]))
    for n in nodes.values():
        n.children.sort(key=lambda c: (c.kind != "appset", c.label))
    drawn = len(nodes) <= GRAPH_NODES
    row = [0]

    def place(n: Node, depth: int) -> int:
        """Lay ``n`` and its subtree out; the deepest level reached."""
        n.x = 12 + depth * 250
        if not n.children:
            n.y = 12 + row[0] * 36
            row[0] += 1
            return depth
        deepest = max(place(c, depth + 1) for c in n.children)
        n.y = n.children[0].y
        return deepest

    width = 24 + (max((place(top, 0) for top in roots), default=0) + 1) * 250
    height = 24 + max(row[0], 1) * 36
    return Graph(er.env.name, sorted(nodes.values(), key=lambda n: n.id), edges, roots,
                 width, height, drawn)


def _docs(rules: set[str]) -> list[tuple[str, str, str]]:
    from gitplane.checks import RULES

    out = []
    for rid in sorted(rules):
        module = RULES.get(rid)
        doc = (module.__doc__ or "").strip() if module is not None else ""
        first, _, rest = doc.partition("\n")
        out.append((rid, first or rid, " ".join(rest.split())))
    return out


@dataclass
class Page:
    """What the template shows."""

    title: str
    revision: str
    generated: str
    version: str
    engine: str
    envs: list[str]
    apps: list[str]
    cells: dict[tuple[str, str], Cell]
    totals: dict[str, int]
    findings: list[Any]
    findings_cut: int
    rule_docs: list[tuple[str, str, str]]
    graphs: list[Graph]
    base: str
    head: str
    change_counts: dict[str, int]
    not_rendered: list[tuple[str, str, str]]
    diff_problems: int
    compact: bool
    notes: list[str]


def build(result: Result, diff: DiffResult | None = None, title: str = "",
          revision: str = "", generated: str = "", compact: bool = False) -> Page:
    platform = result.platform
    by_app: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for f in result.findings:
        by_app[(f.environment, f.application)].append(f)
    changes: dict[tuple[str, str], list[Any]] = defaultdict(list)
    if diff is not None:
        for c in diff.changes:
            changes[(c.environment, c.application)].append(c)
    budget = _Budget(DIFF_BUDGET)
    cells: dict[tuple[str, str], Cell] = {}
    for er in platform.envs:
        for ar in er.apps:
            key = (er.env.name, ar.app.name)
            cells[key] = _cell(er, ar, sorted(by_app.get(key, [])),
                               None if diff is None else changes.get(key, []), budget,
                               not compact, platform.repo)
    graphs = [_graph(er, {a: cells[(er.env.name, a)].anchor for _, a in cells
                          if (er.env.name, a) in cells}) for er in platform.envs]
    ordered = sorted(result.findings, key=lambda f: (-_RANK.get(f.severity, 0), f))
    notes = []
    if budget.left_out:
        notes.append(f"{budget.left_out} object diffs left out: the page's diff budget "
                     f"({DIFF_BUDGET:,} characters) was spent; run gitplane diff for them.")
    counts = Counter(c.change for c in diff.changes) if diff is not None else Counter()
    return Page(
        title=title or platform.repo.top.name, revision=revision, generated=generated,
        version=__version__, engine=platform.engine_version,
        envs=[er.env.name for er in platform.envs],
        apps=sorted({a for _, a in cells}), cells=cells,
        totals={"applications": result.applications, "resources": result.resources,
                "notRendered": result.not_rendered,
                **{s: sum(1 for f in result.findings if f.severity == s)
                   for s in SEVERITIES}},
        findings=ordered[:FINDING_ROWS], findings_cut=max(0, len(ordered) - FINDING_ROWS),
        rule_docs=_docs({f.rule for f in result.findings}), graphs=graphs,
        base=diff.base if diff is not None else "", head=diff.head if diff is not None else "",
        change_counts={k: counts.get(k, 0) for k in ("added", "removed", "modified")},
        not_rendered=list(diff.not_rendered) if diff is not None else [],
        diff_problems=len(diff.problems) if diff is not None else 0,
        compact=compact, notes=notes)


def _asset(name: str) -> str:
    return (package_files.files("gitplane.report") / "assets" / name).read_text("utf-8")


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def render_page(page: Page) -> str:
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gitplane.report", "assets"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True, extensions=["jinja2.ext.do"])
    css, js = _asset("report.css"), _asset("report.js")
    csp = (f"default-src 'none'; style-src '{_hash(css)}'; script-src '{_hash(js)}'; "
           "img-src 'none'; base-uri 'none'; form-action 'none'")
    return env.get_template("report.html.j2").render(
        page=page, css=Markup(css), js=Markup(js), csp=Markup(csp), severities=SEVERITIES)


def report(result: Result, diff: DiffResult | None = None, title: str = "",
           revision: str = "", generated: str = "") -> tuple[str, list[str]]:
    """The page and what to tell the user about its size."""
    page = build(result, diff, title, revision, generated)
    text = render_page(page)
    warnings = list(page.notes)
    if len(text.encode()) > HARD_CAP:
        page = build(result, diff, title, revision, generated, compact=True)
        page.notes.append(f"The full page would exceed {HARD_CAP // 2**20} MiB: object lists "
                          "and diffs are left out; run gitplane report --env or gitplane "
                          "diff for them.")
        warnings = list(page.notes)
        text = render_page(page)
    size = len(text.encode())
    if size > WARN_BYTES:
        warnings.append(f"the report is {size / 2**20:.1f} MiB (over "
                        f"{WARN_BYTES // 2**20} MiB): a browser may be slow to open it")
    return text, warnings


__all__ = ["report", "build", "render_page", "diff_lines", "slug", "Page"]
