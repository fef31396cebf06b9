from __future__ import annotations

import json
from pathlib import Path

from conftest import RunFn


def _apps(run: RunFn, platform: Path) -> dict[str, set[str]]:
    code, out, _ = run("-C", str(platform), "apps", "-o", "json")
    assert code == 0
    envs: dict[str, set[str]] = {}
    for a in json.loads(out):
        envs.setdefault(a["name"], set()).add(a["environment"])
    return envs


def _clean(run: RunFn, platform: Path) -> None:
    code, out, _ = run("-C", str(platform), "check", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["summary"]["errors"] == 0, data["findings"]
    assert not [f for f in data["findings"] if f["rule"] == "orphan-overlay"]


def test_new_app_in_each_domain(run: RunFn, platform: Path) -> None:
    for name, domain in (("api", "applications"), ("etl", "workloads"),
                         ("edge", "infrastructure")):
        code, out, err = run("-C", str(platform), "new", "app", name, "--domain", domain,
                             "--image", "ghcr.io/acme/api:1.4.0", "--port", "8080")
        assert code == 0, err
    apps = _apps(run, platform)
    for name in ("api", "etl", "edge"):
        assert apps[name] == {"staging", "production"}
    _clean(run, platform)
    text = (platform / "deployments/bootstrap/platform-apps/base/apps.yaml").read_text()
    assert "          - name: backup\n          - name: edge\n" in text
    assert text.startswith("# The infrastructure domain")


def test_new_app_refusals(run: RunFn, platform: Path) -> None:
    base = ["-C", str(platform), "new", "app"]
    assert run(*base, "web-app", "--domain", "applications")[0] == 2
    assert run(*base, "Web_App", "--domain", "applications")[0] == 2
    assert run(*base, "x", "--domain", "nope")[0] == 2
    code, _, err = run(*base, "y", "--domain", "applications", "--image", "nginx:latest")
    assert code == 2 and "moving tag" in err
    assert run(*base, "z", "--domain", "applications", "--image", "nginx")[0] == 2
    assert not (platform / "deployments/domains/applications/apps/y").exists()


def test_new_component(run: RunFn, platform: Path) -> None:
    code, _, err = run("-C", str(platform), "new", "component", "metrics", "--app", "web-app",
                       "--domain", "applications")
    assert code == 0, err
    code, _, err = run("-C", str(platform), "new", "component", "gateway", "--app",
                       "networking", "--domain", "infrastructure")
    assert code == 0, err
    kust = (platform / "deployments/domains/applications/apps/web-app/base/"
            "kustomization.yaml").read_text()
    assert kust.endswith("  - manifests/service.yaml\n  - metrics\n")
    _clean(run, platform)
    code, out, _ = run("-C", str(platform), "render", "--env", "staging", "--app", "web-app")
    assert "name: metrics-config" in out
    assert run("-C", str(platform), "new", "component", "metrics", "--app", "web-app",
               "--domain", "applications")[0] == 2
    assert run("-C", str(platform), "new", "component", "x", "--app", "nope",
               "--domain", "applications")[0] == 2


def test_new_env(run: RunFn, platform: Path) -> None:
    code, _, err = run("-C", str(platform), "new", "env", "qa", "--from", "production")
    assert code == 0, err
    apps = _apps(run, platform)
    assert all("qa" in envs for envs in apps.values())
    _clean(run, platform)
    code, out, _ = run("-C", str(platform), "render", "--env", "qa", "--app", "web-app")
    assert "replicas: 3" in out
    code, out, _ = run("-C", str(platform), "render", "--env", "qa", "--app", "platform-config")
    assert "ENV: qa" in out and "LOG_LEVEL: info" in out
    assert run("-C", str(platform), "new", "env", "qa")[0] == 2
    assert run("-C", str(platform), "new", "env", "uat", "--from", "nope")[0] == 2
    assert run("-C", str(platform), "new", "env", "UAT")[0] == 2
