"""Each rule with a failing and a passing example, on the reference platform."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import RunFn
from gitplane.checks import RULES
from gitplane.checks.image_tag_mutable import mutable

WEB = "deployments/domains/applications/apps/web-app/base/manifests/deployment.yaml"


def _findings(run: RunFn, platform: Path, rule: str) -> list[dict]:
    code, out, _ = run("-C", str(platform), "check", "--format", "json")
    return [f for f in json.loads(out)["findings"] if f["rule"] == rule]


def _edit(platform: Path, rel: str, old: str, new: str) -> None:
    path = platform / rel
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("image, bad", [
    ("nginx", True), ("nginx:latest", True), ("registry:5000/x/y", True), ("x:main", True),
    ("nginx:1.27.3", False), ("registry:5000/x/y:1.0", False),
    ("nginx@sha256:" + "a" * 64, False),
])
def test_mutable(image: str, bad: bool) -> None:
    assert (mutable(image) is not None) == bad


def test_image_tag_mutable(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "image-tag-mutable") == []
    _edit(platform, WEB, "image: nginx:1.27.3", "image: nginx:latest")
    found = _findings(run, platform, "image-tag-mutable")
    assert {f["environment"] for f in found} == {"staging", "production"}
    assert all(f["file"] == WEB and f["line"] == 18 and f["application"] == "web-app" and
               f["resource"] == "apps/v1/Deployment/applications/web-app" for f in found)


def test_schema(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "schema") == []
    _edit(platform, WEB, "          ports:\n", "          port: 80\n          ports:\n")
    _edit(platform, WEB, "  selector:\n    matchLabels:\n      app: web-app\n", "")
    found = _findings(run, platform, "schema")
    msgs = {f["message"] for f in found if f["environment"] == "staging"}
    assert any("'port' was unexpected" in m for m in msgs)
    assert any("spec: \"selector\" is a required property" in m for m in msgs)
    assert all(f["application"] == "web-app" and f["file"] == WEB for f in found)


def test_schema_unknown_kind(run: RunFn, platform: Path) -> None:
    found = _findings(run, platform, "schema-unknown-kind")
    kinds = {re.match(r"no schema for \S+ (\w+)", f["message"]).group(1)  # type: ignore
             for f in found}
    assert {"ClusterIssuer", "TFJob", "Application", "ApplicationSet"} <= kinds
    assert all(f["severity"] == "warning" for f in found)


def test_duplicate_key(run: RunFn, platform: Path) -> None:
    _edit(platform, WEB, "  name: web-app\n", "  name: web-app\n  name: web\n")
    found = _findings(run, platform, "yaml-duplicate-key")
    assert found and all(f["file"] == WEB and f["line"] == 5 for f in found)


def test_generator_error(run: RunFn, platform: Path) -> None:
    _edit(platform, "deployments/bootstrap/platform-apps/base/workloads.yaml",
          "{{ index .path.segments 4 }}", "{{ .path.nope }}")
    found = _findings(run, platform, "argocd-generator")
    assert {f["environment"] for f in found} == {"staging", "production"}
    assert all('map has no entry for key "nope"' in f["message"] for f in found)


def test_duplicate_name(run: RunFn, platform: Path) -> None:
    _edit(platform, "deployments/bootstrap/platform-apps/base/apps.yaml",
          "- name: observability", "- name: observability\n          - name: web-app")
    (platform / "deployments/domains/infrastructure/apps/web-app/environments/staging").mkdir(
        parents=True)
    found = _findings(run, platform, "argocd-duplicate-name")
    assert found and all(f["application"] == "web-app" for f in found)


def test_every_rule_is_documented() -> None:
    for rid, mod in RULES.items():
        doc = mod.__doc__ or ""
        assert mod.ID == rid and mod.SEVERITY in ("error", "warning")
        assert "Failing" in doc and "Passing" in doc, rid


def test_source_not_rendered(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "source-not-rendered") == []
    _edit(platform, "deployments/bootstrap/platform-apps/base/applications.yaml",
          "        targetRevision: HEAD\n",
          "        targetRevision: v1.0.0\n        kustomize:\n          namePrefix: x-\n")
    found = _findings(run, platform, "source-not-rendered")
    web = [f for f in found if f["application"] == "web-app" and f["environment"] == "staging"]
    assert len(web) == 2
    assert any("targetRevision 'v1.0.0'" in f["message"] for f in web)
    assert any("kustomize settings" in f["message"] for f in web)
    chart = platform / "deployments/domains/applications/apps/web-app/environments/staging"
    for f in chart.iterdir():
        f.unlink()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n")
    found = _findings(run, platform, "source-not-rendered")
    assert any("local Helm chart" in f["message"] for f in found)
