"""Output formats (SARIF validated against the official schema, JUnit parsed as XML, GitHub
annotations) and rule configuration (severities, exclusions, inline suppressions)."""
from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from conftest import RunFn

SARIF_SCHEMA = Path(__file__).resolve().parents[1] / ".venv" / "sarif" / "package" / "lib" / \
    "schemas" / "sarif-2.1.0-rtm.5.json"
WEB = "deployments/domains/applications/apps/web-app/base/manifests/deployment.yaml"


def _break(platform: Path) -> None:
    f = platform / WEB
    f.write_text(f.read_text().replace("nginxinc/nginx-unprivileged:1.27.3", "nginx:latest"))


@pytest.mark.skipif(not SARIF_SCHEMA.is_file(),
                    reason="the SARIF 2.1.0 schema is installed by 'make test' (npm)")
def test_sarif_is_valid(run: RunFn, platform: Path) -> None:
    _break(platform)
    code, out, _ = run("-C", str(platform), "check", "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    # The official schema holds a regex jsonschema-rs rejects; the reference validator reads it.
    validator = jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text()))
    errors = [e.message for e in validator.iter_errors(log)]
    assert errors == []
    results = log["runs"][0]["results"]
    bad = [r for r in results if r["ruleId"] == "image-tag-mutable"]
    assert len(bad) == 2 and bad[0]["level"] == "error"
    loc = bad[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == WEB and loc["region"]["startLine"] == 23


def test_junit_parses(run: RunFn, platform: Path) -> None:
    _break(platform)
    code, out, _ = run("-C", str(platform), "check", "--format", "junit")
    assert code == 1
    root = ET.fromstring(out.split("\n", 1)[1])
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"production", "staging"}
    for suite in suites.values():
        cases = {c.get("name"): c for c in suite.findall("testcase")}
        assert len(cases) == 21 == int(suite.get("tests", 0))
        assert cases["web-app"].find("failure") is not None
        assert cases["platform-config"].find("failure") is None
        assert suite.get("failures") == "1"


def test_github_annotations(run: RunFn, platform: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _break(platform)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, out, _ = run("-C", str(platform), "check")
    assert code == 1
    line = next(ln for ln in out.splitlines() if ln.startswith("::error "))
    assert line.startswith(f"::error file={WEB},line=23,title=image-tag-mutable (")
    assert "nginx%3Alatest" not in line.split("::")[2] and "nginx:latest" in line


def _config(platform: Path, text: str) -> None:
    cfg = platform / "gitplane.yaml"
    cfg.write_text(cfg.read_text() + text)


def test_rule_severity_and_exclusions(run: RunFn, platform: Path) -> None:
    _break(platform)
    _config(platform, "rules:\n  image-tag-mutable: warning\n  schema-unknown-kind: off\n"
                      "  placeholder-value: off\n  setting-unfilled: off\n"
                      "  source-not-rendered: off\n")
    code, out, _ = run("-C", str(platform), "check", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["summary"]["errors"] == 0
    assert {f["rule"] for f in data["findings"]} == {"image-tag-mutable"}
    assert all(f["severity"] == "warning" for f in data["findings"])
    (platform / "gitplane.yaml").write_text("repoURLs: [https://github.com/your-org/your-repo.git]\n"
                                            "rules:\n  schema-unknown-kind: off\n"
                                            "  placeholder-value: off\n"
                                            "  setting-unfilled: off\n"
                                            "  source-not-rendered: off\n"
                                            "  image-tag-mutable:\n    exclude:\n"
                                            "      - environment: staging\n"
                                            "      - path: deployments/domains/workloads/**\n")
    code, out, _ = run("-C", str(platform), "check", "--format", "json")
    found = json.loads(out)["findings"]
    assert code == 1 and {f["environment"] for f in found} == {"production"}


def test_inline_suppression(run: RunFn, platform: Path) -> None:
    _break(platform)
    f = platform / WEB
    f.write_text(f.read_text().replace(
        "  namespace: applications\n",
        "  namespace: applications\n  annotations:\n"
        "    gitplane.io/suppress: \"image-tag-mutable: pinned by digest at deploy time\"\n", 1))
    code, out, _ = run("-C", str(platform), "check", "--format", "json")
    assert code == 0
    assert not [x for x in json.loads(out)["findings"] if x["rule"] == "image-tag-mutable"]
    # No reason given: the annotation does not silence anything.
    f.write_text(f.read_text().replace(": pinned by digest at deploy time", ""))
    code, _, _ = run("-C", str(platform), "check", "--format", "json")
    assert code == 1


@pytest.mark.parametrize("text, message", [
    ("rules:\n  nope: error\n", "gitplane.yaml:7: rules: unknown rule id 'nope' (valid: "),
    ("rules:\n  schema: loud\n", "gitplane.yaml:7: rules.schema.severity: 'loud' is not one of"),
    ("rules:\n  schema: {exclude: [{branch: x}]}\n", "rules.schema.exclude[0]"),
    ("rules:\n  schema: {when: x}\n", "rules.schema: unknown key 'when'"),
])
def test_bad_rule_config(run: RunFn, platform: Path, text: str, message: str) -> None:
    _config(platform, text)
    code, _, err = run("-C", str(platform), "check")
    assert code == 2 and message in err, err
