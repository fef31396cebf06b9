"""Renderings of a diff: text for a terminal, Markdown for a pull-request comment."""
from __future__ import annotations

import html
from itertools import groupby
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gitplane.diff import DiffResult

#: GitHub's limit for a comment body.
MARKDOWN_LIMIT = 65_536
_SIGN = {"added": "+", "removed": "-", "modified": "~"}


def _unseen(result: DiffResult) -> list[str]:
    return [f"not rendered: {env} / {app}: {why}" for env, app, why in result.not_rendered]


def text(result: DiffResult, colour: bool) -> str:
    if not result.changes:
        return "\n".join([f"no rendered changes ({result.base[:12]} → {result.head[:12]})",
                          *_unseen(result)]) + "\n"
    lines = []
    key = (lambda c: (c.environment, c.application))
    for (env, app), items in groupby(result.changes, key=key):
        lines.append(click.style(f"{env} / {app}", bold=True) if colour else f"{env} / {app}")
        for c in items:
            lines.append(f"  {_SIGN[c.change]} {c.resource} ({c.change})")
            if c.change == "modified":
                for ln in c.diff.splitlines()[2:]:
                    if colour and ln.startswith(("+", "-")):
                        ln = click.style(ln, fg="green" if ln.startswith("+") else "red")
                    lines.append(f"      {ln}")
    lines.append(_summary(result))
    lines.extend(_unseen(result))
    return "\n".join(lines) + "\n"


def _summary(result: DiffResult) -> str:
    counts = {k: sum(1 for c in result.changes if c.change == k)
              for k in ("added", "removed", "modified")}
    apps = len({(c.environment, c.application) for c in result.changes})
    return (f"{counts['added']} added, {counts['removed']} removed, {counts['modified']} "
            f"modified in {apps} applications ({result.base[:12]} → {result.head[:12]})")


FENCE = "````"


def _cell(value: str) -> str:
    """A table cell: HTML escaped, ``|`` and backticks neutralised, one line (names come from
    the repository)."""
    return html.escape(value).replace("|", "\\|").replace("`", "&#96;").replace("\n", " ")


def markdown(result: DiffResult, limit: int = MARKDOWN_LIMIT) -> str:
    """A summary table first, each Application's diff folded; over ``limit`` characters the
    details are summarised rather than cut."""
    head = [f"### gitplane diff: {result.base[:12]} → {result.head[:12]}", ""]
    unseen = [f"> **Not rendered**: {_cell(env)} / {_cell(app)}: {_cell(why)}"
              for env, app, why in result.not_rendered[:50]]
    if len(result.not_rendered) > 50:
        unseen.append(f"> … and {len(result.not_rendered) - 50} more Applications not rendered")
    unseen = [line + "  " for line in unseen] + ([""] if unseen else [])
    if not result.changes:
        return "\n".join(head + ["No rendered changes.", "", *unseen])
    head += ["| environment | application | added | removed | modified |",
             "|---|---|---:|---:|---:|"]
    key = (lambda c: (c.environment, c.application))
    groups = [(k, list(v)) for k, v in groupby(result.changes, key=key)]
    rows = []
    for (env, app), items in groups:
        n = {k: sum(1 for c in items if c.change == k) for k in ("added", "removed", "modified")}
        rows.append(f"| {_cell(env)} | {_cell(app)} | {n['added']} | {n['removed']} | "
                    f"{n['modified']} |")
    # the table itself is summarised when it alone would not leave room for the rest
    budget = limit // 2
    shown: list[str] = []
    for row in rows:
        if sum(len(r) + 1 for r in shown) + len(row) > budget:
            shown.append(f"| … | {len(rows) - len(shown)} more Applications | | | |")
            break
        shown.append(row)
    head += shown
    head += ["", _summary(result), "", *unseen]
    if result.problems:
        head += [f"> **{len(result.problems)} render error(s)**: the changes of the Applications "
                 "they concern are incomplete; run `gitplane diff` locally.", ""]
    body: list[str] = []
    for (env, app), items in groups:
        block = [f"<details><summary>{html.escape(env)} / {html.escape(app)}</summary>", "",
                 f"{FENCE}diff"]
        for c in items:
            text_ = c.diff.rstrip("\n") if c.diff else f"{_SIGN[c.change]} {c.resource}"
            block.append(text_.replace(FENCE, "` ` `"))  # a fence in content cannot close ours
        block += [FENCE, "</details>", ""]
        body.append("\n".join(block))
    out = "\n".join(head)
    note = ("\n_Details left out: the full diff exceeds GitHub's comment limit; run "
            "`gitplane diff` locally._\n")
    kept: list[str] = []
    size = len(out) + len(note)
    for text_block in body:
        if size + len(text_block) + 1 > limit:
            return out + "\n".join(kept) + note
        kept.append(text_block)
        size += len(text_block) + 1
    return out + "\n".join(kept)
