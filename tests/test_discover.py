from __future__ import annotations

from pathlib import Path

from conftest import write
from gitplane import api

DOMAIN_APPS = {"networking", "security", "observability", "backup", "ml-pipeline",
               "data-processing", "web-app", "platform-config"}
CHARTS = {"argo-cd", "traefik", "cert-manager", "sealed-secrets", "kube-prometheus-stack",
          "grafana", "loki", "opentelemetry-operator", "spark-operator", "velero"}


def test_reference_platform_applications(platform: Path) -> None:
    p = api.load(platform)
    assert [er.env.name for er in p.envs] == ["production", "staging"]
    for er in p.envs:
        names = {a.app.name for a in er.apps}
        assert names == DOMAIN_APPS | CHARTS | {"argocd", "platform-apps", "training-operator"}
        by_name = {a.app.name: a.app for a in er.apps}
        web = by_name["web-app"]
        assert web.source is not None
        assert web.source.path == \
            f"deployments/domains/applications/apps/web-app/environments/{er.env.name}"
        assert web.origin.file == "deployments/bootstrap/platform-apps/base/applications.yaml"
        assert web.origin.generator == "generators[0].git"
        assert by_name["networking"].origin.file == "deployments/bootstrap/platform-apps/base/apps.yaml"
        assert by_name["networking"].origin.generator == "generators[0].list"
        assert by_name["argocd"].origin.generator is None
        assert by_name["traefik"].kinds == ["external"]
        assert by_name["traefik"].origin.file.endswith("traefik/manifests/controller.yaml")
        assert by_name["training-operator"].source.target_revision == "v1.9.4"  # type: ignore
        assert er.findings == [] or all(f.severity == "warning" for f in er.findings)


def test_production_web_app_has_three_replicas(platform: Path) -> None:
    p = api.load(platform, env="production")
    [web] = [a for a in p.envs[0].apps if a.app.name == "web-app"]
    [dep] = [r for r in web.resources if r.kind == "Deployment"]
    assert dep.obj["spec"]["replicas"] == 3
    staging = api.load(platform, env="staging")
    [web] = [a for a in staging.envs[0].apps if a.app.name == "web-app"]
    assert [r.obj["spec"]["replicas"] for r in web.resources if r.kind == "Deployment"] == [1]


def test_app_of_apps_cycle_and_foreign_repo(tmp_path: Path) -> None:
    root = tmp_path / "r"
    app = ("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n"
           "  namespace: argocd\nspec:\n  project: default\n  source:\n"
           "    repoURL: https://example.com/me.git\n    path: {path}\n"
           "  destination:\n    server: https://kubernetes.default.svc\n    namespace: x\n")
    write(root / "gitplane.yaml", "repoURLs: [https://example.com/me.git]\n")
    (root / "deployments/environments/dev").mkdir(parents=True)
    write(root / "deployments/bootstrap/root/environments/dev/app.yaml",
          app.format(name="a", path="apps/a"))
    write(root / "apps/a/b.yaml", app.format(name="b", path="apps/b"))
    write(root / "apps/b/a.yaml", app.format(name="a-again", path="apps/a"))
    write(root / "apps/b/missing.yaml", app.format(name="m", path="apps/nope"))
    p = api.load(root)
    names = sorted(a.app.name for a in p.envs[0].apps)
    assert names == ["a", "a-again", "b", "m"]
    [f] = p.findings
    assert (f.rule, f.application, f.file) == ("argocd-path-missing", "m", "apps/b/missing.yaml")


def test_revisions_are_read_from_git(platform: Path) -> None:
    from conftest import git

    git(platform, "add", "-A")
    git(platform, "commit", "-qm", "one")
    git(platform, "tag", "v1.0.0")
    dep = platform / "deployments/domains/applications/apps/web-app/base/manifests/deployment.yaml"
    dep.write_text(dep.read_text().replace("nginx-unprivileged:1.27.3", "nginx-unprivileged:1.28.0"))
    apps = platform / "deployments/bootstrap/platform-apps/base/applications.yaml"
    # The applications domain pinned to the tag; its generator reads the tag too.
    apps.write_text(apps.read_text().replace("targetRevision: HEAD", "targetRevision: v1.0.0")
                    .replace("revision: HEAD", "revision: v1.0.0"))
    p = api.load(platform, env="staging")
    [web] = [a for a in p.envs[0].apps if a.app.name == "web-app"]
    [d] = [r for r in web.resources if r.kind == "Deployment"]
    assert d.obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginxinc/nginx-unprivileged:1.27.3"
    assert d.file.endswith("web-app/base/manifests/deployment.yaml")
    assert not [f for f in p.findings if f.severity == "error"]
    # HEAD (the working tree) sees the change.
    apps.write_text(apps.read_text().replace("targetRevision: v1.0.0", "targetRevision: HEAD"))
    p = api.load(platform, env="staging")
    [web] = [a for a in p.envs[0].apps if a.app.name == "web-app"]
    [d] = [r for r in web.resources if r.kind == "Deployment"]
    assert d.obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginxinc/nginx-unprivileged:1.28.0"
    # An app folder that exists only in the working tree is missing at the tag.
    new = platform / "deployments/domains/applications/apps/api/environments/staging"
    new.mkdir(parents=True)
    (new / "kustomization.yaml").write_text("resources: []\n")
    apps.write_text(apps.read_text().replace("targetRevision: HEAD", "targetRevision: v1.0.0"))
    p = api.load(platform, env="staging")
    names = {a.app.name for a in p.envs[0].apps}
    assert "api" not in names  # the generator lists the tag's folders


def test_multi_source_with_ref(platform: Path) -> None:
    inst = platform / "deployments/bootstrap/argocd/base/argo-cd.yaml"
    inst.write_text("""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: argo-cd
  namespace: argocd
spec:
  project: default
  sources:
    - repoURL: https://argoproj.github.io/argo-helm
      chart: argo-cd
      targetRevision: 10.1.1
      helm:
        valueFiles:
          - $values/deployments/bootstrap/argocd/values.yaml
    - repoURL: https://github.com/your-org/your-repo.git
      targetRevision: HEAD
      ref: values
  destination:
    server: https://kubernetes.default.svc
    namespace: argocd
""")
    for env in ("staging", "production"):  # the overlays patch the inline values it no longer has
        k = platform / f"deployments/bootstrap/argocd/environments/{env}/kustomization.yaml"
        k.write_text(k.read_text().split("  - target:\n      group: argoproj.io\n      kind: "
                                          "Application\n      name: argo-cd\n")[0])
    p = api.load(platform, env="staging")
    [app] = [a.app for a in p.envs[0].apps if a.app.name == "argo-cd"]
    assert app.kinds == ["external", "ref"]
    assert not [f for f in p.findings if f.severity == "error"]
