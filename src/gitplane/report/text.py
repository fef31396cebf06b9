"""Text reports: findings grouped by environment and Application, tables for listings."""
from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from gitplane.platform import Platform
    from gitplane.checks import Result

_COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}


def findings(result: Result, colour: bool) -> str:
    lines: list[str] = []
    for env, by_env in groupby(result.findings, key=lambda f: f.environment):
        lines.append(click.style(env or "(all environments)", bold=True) if colour
                     else (env or "(all environments)"))
        for app, by_app in groupby(by_env, key=lambda f: f.application):
            lines.append(f"  {app or '(environment)'}")
            for f in by_app:
                sev = f.severity.ljust(7)
                if colour:
                    sev = click.style(sev, fg=_COLOURS.get(f.severity))
                where = f"{f.file}:{f.line}" if f.line else f.file
                lines.append(f"    {sev} {where}{_short(f.resource)}: {f.message} ({f.rule})")
    s = result.summary()
    unrendered = f" ({s['notRendered']} not rendered)" if s.get("notRendered") else ""
    summary = (f"{s['environments']} environments, {s['applications']} applications"
               f"{unrendered}, {s['resources']} resources: {s['errors']} errors, "
               f"{s['warnings']} warnings" + (f", {s['info']} info" if s.get("info") else ""))
    if colour:
        summary = click.style(summary, fg="red" if s["errors"] else "green", bold=True)
    if lines:
        lines.append("")
    lines.append(summary)
    return "\n".join(lines) + "\n"


def _short(resource: str) -> str:
    """`` Kind/name`` of a ``group/version/Kind/namespace/name`` id (the JSON has it whole)."""
    parts = resource.split("/")
    return f" {parts[-3]}/{parts[-1]}" if len(parts) >= 5 else ""


def apps_rows(platform: Platform) -> tuple[list[str], list[list[str]]]:
    """Rows of Applications × environments: project, source, and ✓ per environment."""
    envs = [er.env.name for er in platform.envs]
    table: dict[str, dict[str, Any]] = {}
    for er in platform.envs:
        for ar in er.apps:
            row = table.setdefault(ar.app.name, {"project": set(), "source": set(),
                                                 "envs": set()})
            row["project"].add(ar.app.project)
            src = ar.app.source
            if src is not None:
                if src.chart:
                    version = ar.app.resolved()[0]
                    row["source"].add(src.describe() if not version else
                                      f"{src.chart}@{version} ({src.repo_url})"
                                      if version == src.target_revision else
                                      f"{src.chart}@{src.target_revision}={version} "
                                      f"({src.repo_url})")
                elif not platform.repo.is_self(src.repo_url):
                    row["source"].add(f"{src.repo_url} {src.path or ''}@{src.target_revision}")
                else:
                    path = src.path or "."
                    row["source"].add(path.replace(f"/environments/{er.env.name}",
                                                   "/environments/<env>"))
            row["envs"].add(er.env.name)
    header = ["APPLICATION", "PROJECT", "SOURCE", *[e.upper() for e in envs]]
    rows = []
    for name in sorted(table):
        row = table[name]
        rows.append([name, ",".join(sorted(row["project"])), " | ".join(sorted(row["source"])),
                     *["✓" if e in row["envs"] else "—" for e in envs]])
    return header, rows


def table(header: list[str], rows: list[list[str]], colour: bool) -> str:
    """A plain, aligned table (rich draws it on a terminal)."""
    if colour:
        from rich.console import Console
        from rich.table import Table

        t = Table(show_edge=False, header_style="bold")
        for h in header:
            t.add_column(h, overflow="fold")
        for r in rows:
            t.add_row(*r)
        console = Console(force_terminal=True)
        with console.capture() as cap:
            console.print(t)
        return cap.get()
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=False)).rstrip()]
    for r in rows:
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip())
    return "\n".join(out) + "\n"
