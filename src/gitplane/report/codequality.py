"""GitLab Code Quality: findings as the Code Climate subset GitLab reads
(``artifacts:reports:codequality``), shown in the merge request's widget and diff."""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitplane.checks import Result

#: GitLab's severities (info, minor, major, critical, blocker) of gitplane's
_SEVERITY = {"error": "critical", "warning": "minor", "info": "info"}


def render(result: Result) -> list[dict[str, Any]]:
    out = []
    seen: dict[str, int] = {}
    for f in result.findings:
        where = f"{f.environment or 'all environments'}{'/' + f.application if f.application else ''}"
        # the same finding keeps its fingerprint when lines move above it
        identity = "\0".join([f.rule, f.file, f.environment, f.application, f.resource,
                              f.message])
        n = seen[identity] = seen.get(identity, -1) + 1  # a repeat gets its own fingerprint
        if n:
            identity += f"\0{n}"
        out.append({
            "type": "issue",
            "check_name": f.rule,
            "description": f"{f.message} ({where})",
            "categories": ["Bug Risk" if f.severity == "error" else "Style"],
            "severity": _SEVERITY.get(f.severity, "minor"),
            "fingerprint": hashlib.sha256(identity.encode()).hexdigest(),
            "location": {"path": f.file or ".", "lines": {"begin": max(f.line, 1)}},
        })
    return out
