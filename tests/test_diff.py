"""`diff` between revisions and `compare` between environments, on real git repositories."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import RunFn, git
from gitplane.diff import DiffResult, Change, mask
from gitplane.report.diff import markdown

WEB = "deployments/domains/applications/apps/web-app"


def _commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def history(platform: Path) -> tuple[Path, str, str]:
    """The reference platform in two commits: the second raises production's replicas and
    adds a Secret to the web-app base."""
    first = _commit(platform, "one")
    prod = platform / WEB / "environments/production/kustomization.yaml"
    prod.write_text(prod.read_text().replace("value: 3", "value: 5"))
    (platform / WEB / "base/manifests/secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: applications\n"
        "stringData:\n  password: hunter2-very-secret\n")
    k = platform / WEB / "base/kustomization.yaml"
    k.write_text(k.read_text() + "  - manifests/secret.yaml\n")
    second = _commit(platform, "two")
    return platform, first, second


def test_diff_lists_exactly_what_changed(run: RunFn, history: tuple[Path, str, str]) -> None:
    repo, first, second = history
    code, out, _ = run("-C", str(repo), "diff", first, second, "-o", "json")
    assert code == 0
    changes = json.loads(out)["changes"]
    assert sorted((c["environment"], c["application"], c["resource"], c["change"])
                  for c in changes) == [
        ("production", "web-app", "/v1/Secret/applications/db", "added"),
        ("production", "web-app", "apps/v1/Deployment/applications/web-app", "modified"),
        ("staging", "web-app", "/v1/Secret/applications/db", "added")]
    dep = next(c for c in changes if c["change"] == "modified")
    assert "-  replicas: 3\n+  replicas: 5" in dep["diff"]


def test_identical_revisions_and_exit_code(run: RunFn, history: tuple[Path, str, str]) -> None:
    repo, first, second = history
    code, out, _ = run("-C", str(repo), "diff", second, second, "--exit-code")
    assert code == 0 and out.startswith("no rendered changes")
    assert run("-C", str(repo), "diff", first, second, "--exit-code")[0] == 1
    # The working tree against HEAD: nothing changed yet.
    code, out, _ = run("-C", str(repo), "diff", "HEAD", "--exit-code", "-o", "json")
    assert code == 0 and json.loads(out)["changes"] == []


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_secret_values_never_shown(run: RunFn, history: tuple[Path, str, str], fmt: str) -> None:
    repo, first, second = history
    code, out, _ = run("-C", str(repo), "diff", first, second, "-o", fmt)
    assert code == 0
    assert "hunter2" not in out
    if fmt != "text":  # text lists added objects without their content
        assert "++++++++" in out


def test_mask_keeps_changes_visible() -> None:
    a = {"apiVersion": "v1", "kind": "Secret", "data": {"k": "b25l", "same": "eA=="}}
    b = {"apiVersion": "v1", "kind": "Secret", "data": {"k": "dHdv", "same": "eA=="}}
    ma, mb = mask(a, b)
    assert ma is not None and mb is not None
    assert ma["data"]["same"] == mb["data"]["same"]
    assert ma["data"]["k"] != mb["data"]["k"] and set(ma["data"]["k"]) == {"+"}


def test_unknown_revision(run: RunFn, history: tuple[Path, str, str]) -> None:
    repo, _, _ = history
    code, _, err = run("-C", str(repo), "diff", "nope")
    assert code == 2 and "unknown revision 'nope'" in err
    code, _, err = run("-C", str(repo), "diff", "--", "--upload-pack=x")
    assert code == 2


def test_markdown_respects_the_size_limit() -> None:
    changes = [Change("staging", f"app-{i}", f"/v1/ConfigMap/x/c{i}", "modified",
                      "--- a\n+++ b\n" + "+x\n" * 400) for i in range(100)]
    text = markdown(DiffResult("a" * 40, "working tree", changes), limit=20_000)
    assert len(text) <= 20_000
    assert text.count("<details>") == text.count("</details>")
    assert "exceeds GitHub's comment limit" in text
    assert text.startswith("### gitplane diff") and "| staging | app-99 |" in text


def test_compare_environments(run: RunFn, platform: Path) -> None:
    code, out, _ = run("-C", str(platform), "compare", "staging", "production", "-o", "json")
    assert code == 0
    rows = json.loads(out)
    got = {(r["application"], r["aspect"], r["resource"], r["a"], r["b"]) for r in rows}
    quota = "/v1/ResourceQuota/applications/compute-resources"
    config = "/v1/ConfigMap/applications/environment-config"
    assert {("web-app", "replicas", "apps/v1/Deployment/applications/web-app", "1", "3"),
            ("web-app", "hosts", "networking.k8s.io/v1/Ingress/applications/web-app",
             "web-app.staging.platform.example.com", "web-app.platform.example.com"),
            ("platform-config", "quota", quota, "hard.limits.cpu: 4", "hard.limits.cpu: 8"),
            ("platform-config", "config", config, "LOG_LEVEL: debug", "LOG_LEVEL: info"),
            ("argo-cd", "helm-values", "",
             "global.domain: argocd.staging.platform.example.com",
             "global.domain: argocd.platform.example.com")} <= got
    # an object that differs in nothing a named aspect covers still shows, by field name
    assert ("platform-config", "fields", "/v1/Namespace//workloads",
            "metadata.labels.gitplane.io/environment",
            "metadata.labels.gitplane.io/environment") in got
    # a chart version and a Helm value of one environment only; a secret-looking value
    # is not shown
    staging = platform / "deployments/domains/infrastructure/apps/networking/environments/" \
                         "staging/kustomization.yaml"
    staging.write_text(staging.read_text() + (
        "patches:\n  - target: {kind: Application, name: traefik}\n    patch: |\n"
        "      - op: replace\n        path: /spec/source/targetRevision\n"
        "        value: 41.4.0\n"
        "      - op: add\n        path: /spec/source/helm/valuesObject/dashboardPassword\n"
        "        value: hunter2\n"))
    code, out, _ = run("-C", str(platform), "compare", "staging", "production", "--app",
                       "traefik", "-o", "json")
    rows = [(r["aspect"], r["a"], r["b"]) for r in json.loads(out)]
    assert ("chart", "traefik@41.4.0 (not cached) (https://traefik.github.io/charts)",
            "traefik@41.3.0 (not cached) (https://traefik.github.io/charts)") in rows
    assert ("helm-values", "dashboardPassword: (hidden)", "-") in rows
    assert "hunter2" not in out
    staging.write_text(staging.read_text().split("patches:")[0])
    dep = platform / WEB / "base/manifests/deployment.yaml"
    staging = platform / WEB / "environments/staging/kustomization.yaml"
    staging.write_text(staging.read_text() + "images:\n  - name: nginxinc/nginx-unprivileged\n"
                       "    newTag: 1.28.0\n")
    assert dep.exists()
    code, out, _ = run("-C", str(platform), "compare", "staging", "production", "-o", "json")
    aspects = {(r["aspect"], r["a"], r["b"]) for r in json.loads(out)}
    assert ("image", "web-app: nginxinc/nginx-unprivileged:1.28.0",
            "web-app: nginxinc/nginx-unprivileged:1.27.3") in aspects
    assert run("-C", str(platform), "compare", "staging", "qa")[0] == 2


def test_only_affected_renders_and_moved_sources(run: RunFn, platform: Path) -> None:
    _commit(platform, "one")
    (platform / "deployments/NOTES.md").write_text("nothing reads me\n")
    code, out, _ = run("-C", str(platform), "diff", "HEAD", "--exit-code", "-o", "json")
    assert code == 0 and json.loads(out)["changes"] == []
    # The overlay's files are unchanged, but the Application now reads them differently.
    appset = platform / "deployments/bootstrap/platform-apps/base/applications.yaml"
    appset.write_text(appset.read_text().replace(
        "        targetRevision: HEAD\n", "        targetRevision: HEAD\n"
        "        kustomize:\n          namePrefix: x-\n"))
    code, out, _ = run("-C", str(platform), "diff", "HEAD", "-o", "json")
    changes = {(c["environment"], c["resource"], c["change"]) for c in json.loads(out)["changes"]}
    assert ("staging", "apps/v1/Deployment/applications/x-web-app", "added") in changes
    assert ("staging", "apps/v1/Deployment/applications/web-app", "removed") in changes


def test_diff_in_a_repository_of_another_layout(run: RunFn, tmp_path: Path) -> None:
    from conftest import write

    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    write(repo / "gitplane.yaml", "repoURLs: [https://example.com/r.git]\n")
    write(repo / "apps/root.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
          "metadata: {name: web, namespace: argocd}\nspec:\n  project: default\n"
          "  source: {repoURL: https://example.com/r.git, path: web}\n"
          "  destination: {server: https://kubernetes.default.svc, namespace: web}\n")
    write(repo / "web/kustomization.yaml", "resources: [cm.yaml]\n")
    write(repo / "web/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, "
          "namespace: web}\ndata: {A: '1'}\n")
    _commit(repo, "one")
    write(repo / "web/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, "
          "namespace: web}\ndata: {A: '2'}\n")
    code, out, _ = run("-C", str(repo), "diff", "HEAD", "-o", "json")
    assert code == 0
    assert [(c["environment"], c["application"], c["change"])
            for c in json.loads(out)["changes"]] == [("default", "web", "modified")]


def test_render_errors_are_reported_with_the_diff(run: RunFn, platform: Path) -> None:
    _commit(platform, "one")
    k = platform / WEB / "base/kustomization.yaml"
    k.write_text(k.read_text() + "  - manifests/nope.yaml\n")
    code, out, err = run("-C", str(platform), "diff", "HEAD", "-o", "json")
    assert code == 0
    problems = json.loads(out)["problems"]
    assert problems and all(p["side"] == "head" and p["rule"] == "kustomize-build"
                            for p in problems)
    assert "head: deployments/domains/applications/apps/web-app/base/kustomization.yaml" in err


def test_new_app_directory_is_added_on_the_head_side_only(run: RunFn, platform: Path) -> None:
    """The head side expands the ApplicationSets with the new folder; the base side, whose
    generator sees other folders, expands them again instead of reusing the head's."""
    _commit(platform, "one")
    code, _, err = run("-C", str(platform), "new", "app", "shop", "--domain", "applications")
    assert code == 0, err
    code, out, _ = run("-C", str(platform), "diff", "HEAD", "-o", "json")
    changes = json.loads(out)["changes"]
    assert changes and {c["application"] for c in changes} == {"shop"}
    assert {c["change"] for c in changes} == {"added"}
    assert {c["environment"] for c in changes} == {"staging", "production"}


def test_a_link_out_of_the_repository_at_the_base_is_refused(run: RunFn, platform: Path,
                                                             tmp_path: Path) -> None:
    secret = tmp_path / "outside.yaml"
    secret.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leaked}\n"
                      "data: {token: do-not-read-me}\n")
    (platform / WEB / "base/manifests/link.yaml").symlink_to(secret)
    k = platform / WEB / "base/kustomization.yaml"
    original = k.read_text()
    k.write_text(original + "  - manifests/link.yaml\n")
    first = _commit(platform, "link out")
    (platform / WEB / "base/manifests/link.yaml").unlink()
    k.write_text(original)
    second = _commit(platform, "no link")
    code, out, _ = run("-C", str(platform), "diff", first, second, "-o", "json")
    data = json.loads(out)
    assert "do-not-read-me" not in out and "leaked" not in out
    assert any(p["side"] == "base" and "outside" in p["message"] for p in data["problems"])


def test_a_kustomization_file_removed_beside_another_is_seen(run: RunFn,
                                                              platform: Path) -> None:
    """At the base, web-app's base folder has two kustomization files (kustomize refuses
    it); the head removes one. The head reads none of the changed files, yet the base must
    not borrow the head's decision: it reports its own failure, and the objects appear."""
    extra = platform / WEB / "base/kustomization.yml"
    extra.write_text((platform / WEB / "base/kustomization.yaml").read_text())
    first = _commit(platform, "two kustomization files")
    extra.unlink()
    second = _commit(platform, "one")
    code, out, _ = run("-C", str(platform), "diff", first, second, "-o", "json")
    data = json.loads(out)
    assert any(p["side"] == "base" and "multiple kustomization files" in p["message"]
               for p in data["problems"])
    assert {(c["application"], c["change"]) for c in data["changes"]} == {("web-app", "added")}
