from __future__ import annotations

import difflib
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


def test_new_infrastructure_app_is_permitted_by_its_project(run: RunFn, platform: Path) -> None:
    """A new infrastructure app makes its own namespace; the infrastructure project (limited
    to its namespaces) gets it as a destination, by a round-trip edit of one item."""
    projects = platform / "deployments/bootstrap/argocd/base/projects.yaml"
    before = projects.read_text()
    code, _, err = run("-C", str(platform), "new", "app", "edge", "--domain", "infrastructure",
                       "--image", "ghcr.io/acme/edge:1.0.0")
    assert code == 0, err
    added = [line for line in difflib.ndiff(before.splitlines(), projects.read_text()
                                            .splitlines()) if line.startswith(("+", "-"))]
    assert added == ["+     - server: https://kubernetes.default.svc", "+       namespace: edge"]
    assert (platform / "deployments/domains/infrastructure/apps/edge/README.md").is_file()
    _clean(run, platform)
    code, out, _ = run("-C", str(platform), "check", "--format", "json")
    assert not [f for f in json.loads(out)["findings"] if f["rule"] == "argocd-project"]


def test_new_env_moves_hosts_to_its_own_name(run: RunFn, platform: Path) -> None:
    code, _, err = run("-C", str(platform), "new", "env", "qa")
    assert code == 0, err
    ingress = (platform / "deployments/domains/applications/apps/web-app/environments/qa/"
               "ingress.yaml").read_text()
    assert "web-app.qa.platform.example.com" in ingress and ".staging." not in ingress
