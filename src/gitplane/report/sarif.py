"""SARIF 2.1.0: findings on the lines they concern, for GitHub code scanning and others."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitplane import __version__

if TYPE_CHECKING:
    from gitplane.checks import Result

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


#: SARIF levels of gitplane severities (SARIF has no "info": it is "note").
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}

def render(result: Result) -> dict[str, Any]:
    from gitplane.checks import RULES

    ids = sorted(RULES)
    rules = []
    for rid in ids:
        doc = (RULES[rid].__doc__ or "").strip()
        rules.append({
            "id": rid,
            "name": "".join(w.capitalize() for w in rid.split("-")),
            "shortDescription": {"text": doc.splitlines()[0] if doc else rid},
            "fullDescription": {"text": doc or rid},
            "defaultConfiguration": {"level": _LEVEL.get(RULES[rid].SEVERITY, "warning")},
        })
    index = {rid: i for i, rid in enumerate(ids)}
    results = []
    for f in result.findings:
        location: dict[str, Any] = {"physicalLocation": {
            "artifactLocation": {"uri": f.file or ".", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": max(f.line, 1)}}}
        if f.resource:
            location["logicalLocations"] = [{"fullyQualifiedName": f.resource,
                                             "kind": "resource"}]
        results.append({
            "ruleId": f.rule,
            "ruleIndex": index.get(f.rule, 0),
            "level": _LEVEL.get(f.severity, "warning"),
            "message": {"text": f"{f.message} ({f.environment or 'all environments'}"
                                f"{'/' + f.application if f.application else ''})"},
            "locations": [location],
            "properties": {"environment": f.environment, "application": f.application,
                           "resource": f.resource},
        })
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "gitplane", "version": __version__, "rules": rules}},
            "results": results,
            "properties": {"summary": result.summary()},
        }],
    }
