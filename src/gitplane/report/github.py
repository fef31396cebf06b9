"""GitHub Actions workflow commands: one annotation per finding, on its file and line."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gitplane.checks import Result


def _escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


#: GitHub shows at most this many annotations of each level per step
SHOWN = 10


def render(result: Result) -> str:
    lines = []
    emitted: dict[str, int] = {}
    held = 0
    for f in result.findings:
        level = {"error": "error", "info": "notice"}.get(f.severity, "warning")
        if emitted.get(level, 0) >= SHOWN:
            held += 1
            continue
        emitted[level] = emitted.get(level, 0) + 1
        title = f"{f.rule} ({f.environment}/{f.application})" if f.application else f.rule
        props = f"file={_escape(f.file, True)},line={max(f.line, 1)},title={_escape(title, True)}"
        lines.append(f"::{level} {props}::{_escape(f.message)}")
    if held:
        lines.append(f"gitplane: {held} more findings not annotated (GitHub shows {SHOWN} "
                     "annotations of each level per step): see the SARIF results or "
                     "'gitplane check' output")
    s = result.summary()
    lines.append(f"gitplane: {s['environments']} environments, {s['applications']} "
                 f"applications, {s['resources']} resources: {s['errors']} errors, "
                 f"{s['warnings']} warnings")
    return "\n".join(lines) + "\n"
