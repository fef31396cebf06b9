"""JUnit XML: one test case per Application per environment, failing on its errors."""
from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

if TYPE_CHECKING:
    from gitplane.checks import Result
    from gitplane.model import Finding


def render(result: Result) -> str:
    cases: dict[tuple[str, str], list[Finding]] = {}
    for er in result.platform.envs:
        for ar in er.apps:
            cases.setdefault((er.env.name, ar.app.name), [])
    for f in result.findings:
        cases.setdefault((f.environment, f.application or "(environment)"), []).append(f)
    suites = ET.Element("testsuites", name="gitplane check")
    total = failures = 0
    for env in sorted({e for e, _ in cases}):
        apps = sorted(a for e, a in cases if e == env)
        suite = ET.SubElement(suites, "testsuite", name=env or "(all environments)")
        suite_failures = 0
        for app in apps:
            case = ET.SubElement(suite, "testcase", classname=env or "gitplane", name=app)
            findings = cases[(env, app)]
            errors = [f for f in findings if f.severity == "error"]
            if errors:
                suite_failures += 1
                failure = ET.SubElement(case, "failure", type=errors[0].rule,
                                        message=f"{len(errors)} error(s): {errors[0].message}")
                failure.text = "\n".join(f"{f.file}:{f.line}: {f.message} ({f.rule})"
                                         for f in errors)
            warnings = [f for f in findings if f.severity == "warning"]
            if warnings:
                out = ET.SubElement(case, "system-out")
                out.text = "\n".join(f"warning {f.file}:{f.line}: {f.message} ({f.rule})"
                                     for f in warnings)
        suite.set("tests", str(len(apps)))
        suite.set("failures", str(suite_failures))
        suite.set("errors", "0")
        total += len(apps)
        failures += suite_failures
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") \
        + "\n"
