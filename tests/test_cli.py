"""The command line against golden output, exit codes and hostile input."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from conftest import SHARED, RunFn, git, write

GOLDEN = Path(__file__).parent / "golden"


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("GITPLANE_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_version_and_help(run: RunFn) -> None:
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("gitplane, version ")
    code, out, _ = run("--help")
    assert code == 0 and "check" in out


def test_apps_table_and_json(run: RunFn, platform: Path) -> None:
    code, out, _ = run("-C", str(platform), "apps")
    assert code == 0
    _golden("apps.txt", out)
    code, out, _ = run("-C", str(platform), "apps", "-o", "json")
    assert code == 0
    _golden("apps.json", out)
    data = json.loads(out)
    for app in data:
        assert {"name", "environment", "project", "origin", "source", "destination"} <= set(app)
        assert {"file", "generator"} <= set(app["origin"])


def test_check_reference_platform_is_clean(run: RunFn, platform: Path) -> None:
    code, out, _ = run("-C", str(platform), "check", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["summary"]["errors"] == 0
    assert data["summary"]["environments"] == 2
    # the values only the user knows are named: the repository URL, the ACME e-mail and
    # the domain (warnings), and the settings to fill in (info: SSO, alerts, backups); the
    # charts of Helm repositories, not fetched (no network here), are said to be not rendered
    assert {f["rule"] for f in data["findings"]} == {"placeholder-value", "setting-unfilled",
                                                     "source-not-rendered"}
    unfetched = [f for f in data["findings"] if f["rule"] == "source-not-rendered"]
    assert len(unfetched) == 20 and all(
        "not in gitplane's cache" in f["message"] and "gitplane charts pull" in f["message"]
        for f in unfetched)
    placeholders = [f for f in data["findings"] if f["rule"] == "placeholder-value"]
    assert {f["message"].split("'")[1] for f in placeholders} == {
        "https://github.com/your-org/your-repo.git", "admin@example.com",
        "argocd.platform.example.com", "argocd.staging.platform.example.com",
        "web-app.platform.example.com", "web-app.staging.platform.example.com"}
    unfilled = [f for f in data["findings"] if f["rule"] == "setting-unfilled"]
    assert len(unfilled) == 6 and all(f["severity"] == "info" for f in unfilled)
    assert data["summary"]["info"] == 6
    _golden("check.json", out)
    code, text, _ = run("-C", str(platform), "check")
    assert code == 0 and text.endswith(
        f"0 errors, {len(placeholders) + len(unfetched)} warnings, 6 info\n")
    _golden("check.txt", text)
    code, _, _ = run("-C", str(platform), "check", "--strict")
    assert code == 1


def test_init_with_what_only_the_user_knows_passes_strict(run: RunFn, tmp_path: Path) -> None:
    """The reference platform with its repository URL, ACME e-mail and domain given has
    nothing to warn about but the charts it could not fetch offline: with those said to be
    known-unrendered (a rule severity of gitplane.yaml), --strict passes (info never fails)."""
    code, out, _ = run("init", str(tmp_path / "p"), "--repo-url",
                       "https://github.com/acme/platform.git", "--email", "ops@acme.io",
                       "--domain", "acme.io")
    assert code == 0 and "placeholders left" not in out
    code, out, _ = run("-C", str(tmp_path / "p"), "check", "--strict", "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert {f["rule"] for f in data["findings"] if f["severity"] != "info"} == {
        "source-not-rendered"}
    cfg = tmp_path / "p/gitplane.yaml"
    cfg.write_text(cfg.read_text() + "rules:\n  source-not-rendered: info\n")
    code, out, _ = run("-C", str(tmp_path / "p"), "check", "--strict", "--format", "json")
    data = json.loads(out)
    assert code == 0, [f for f in data["findings"] if f["severity"] != "info"]
    assert {f["rule"] for f in data["findings"]} == {"setting-unfilled", "source-not-rendered"}
    code, out, _ = run("-C", str(tmp_path / "p"), "render", "--env", "staging", "--app",
                       "web-app")
    ingress = next(d for d in yaml.safe_load_all(out) if d and d["kind"] == "Ingress")
    assert ingress["spec"]["rules"][0]["host"] == "web-app.staging.acme.io"
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == \
        "letsencrypt-staging"
    code, out, _ = run("-C", str(tmp_path / "p"), "render", "--env", "production", "--app",
                       "security")
    issuers = {d["metadata"]["name"]: d for d in yaml.safe_load_all(out)
               if d and d["kind"] == "ClusterIssuer"}
    assert {i["spec"]["acme"]["email"] for i in issuers.values()} == {"ops@acme.io"}


@pytest.mark.parametrize("args, says", [
    (["--email", "not-an-address"], "invalid e-mail address"),
    (["--domain", "acme .io"], "invalid domain"),
    (["--ingress", "haproxy"], "Invalid value for '--ingress'"),
])
def test_init_refuses_bad_values(run: RunFn, tmp_path: Path, args: list[str],
                                 says: str) -> None:
    code, _, err = run("init", str(tmp_path / "p"), *args)
    assert code == 2 and says in err and not (tmp_path / "p").exists()


def test_init_with_retired_ingress_nginx(run: RunFn, tmp_path: Path) -> None:
    """ingress-nginx stays an explicit choice, pinned to its final release and reported."""
    code, out, _ = run("init", str(tmp_path / "p"), "--ingress", "nginx")
    assert code == 0 and "retired" in out
    code, out, _ = run("-C", str(tmp_path / "p"), "check", "--format", "json")
    retired = [f for f in json.loads(out)["findings"] if f["rule"] == "component-retired"]
    assert retired and all("ingress-nginx is retired" in f["message"] and
                           "older than" not in f["message"] for f in retired)
    assert "traefik" not in (tmp_path / "p/deployments/bootstrap/argocd/base/projects.yaml"
                             ).read_text().split("sourceRepos")[0]


def test_output_is_deterministic(run: RunFn, platform: Path) -> None:
    first = run("-C", str(platform), "check", "--format", "json")[1]
    assert run("-C", str(platform), "check", "--format", "json")[1] == first


def test_render_to_directory_holds_every_seed_object(run: RunFn, platform: Path,
                                                     tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    code, _, err = run("-C", str(platform), "render", "-o", str(out_dir))
    assert code == 0, err
    for env in ("staging", "production"):
        objs = {}
        for f in sorted((out_dir / env).glob("*.yaml")):
            for d in yaml.safe_load_all(f.read_text()):
                objs[(d["kind"], d["metadata"]["name"])] = d
        assert objs[("IngressClass", "traefik")]["spec"]["controller"] == \
            "traefik.io/ingress-controller"
        issuer = objs[("ClusterIssuer", "letsencrypt-prod")]["spec"]["acme"]
        assert issuer["server"] == "https://acme-v02.api.letsencrypt.org/directory"
        assert issuer["solvers"][0]["http01"]["ingress"]["ingressClassName"] == "traefik"
        assert ("ClusterIssuer", "letsencrypt-staging") in objs
        assert ("TFJob", "tensorflow-training") in objs
        assert ("Application", "argocd") in objs
        assert ("ApplicationSet", "infrastructure-apps") in objs
        quota = objs[("ResourceQuota", "compute-resources")]
        config = objs[("ConfigMap", "environment-config")]["data"]
        for name in ("kube-prometheus-stack", "grafana", "loki", "opentelemetry-operator",
                     "spark-operator", "cert-manager", "traefik", "sealed-secrets", "velero"):
            assert ("Application", name) in objs
        assert objs[("Deployment", "web-app")]["spec"]["template"]["spec"]["containers"][0][
            "image"] == "nginxinc/nginx-unprivileged:1.27.3"
        if env == "production":
            assert quota["spec"]["hard"] == {"requests.cpu": "4", "requests.memory": "8Gi",
                                             "limits.cpu": "8", "limits.memory": "16Gi"}
            assert config == {"ENV": "production", "LOG_LEVEL": "info"}
            assert objs[("Deployment", "web-app")]["spec"]["replicas"] == 3
        else:
            assert config == {"ENV": "staging", "LOG_LEVEL": "debug"}


def test_render_stdout_one_app(run: RunFn, platform: Path) -> None:
    code, out, _ = run("-C", str(platform), "render", "--env", "staging", "--app", "web-app")
    assert code == 0
    assert out.startswith("# environment: staging, application: web-app\n---\n")
    kinds = [d["kind"] for d in yaml.safe_load_all(out) if d]
    assert kinds == ["Service", "Deployment", "Ingress"]


def test_init_refuses_second_time_and_changes_nothing(run: RunFn, tmp_path: Path) -> None:
    code, _, _ = run("init", str(tmp_path / "x"))
    assert code == 0
    assert (tmp_path / "x/.git").is_dir()
    before = {p: p.read_bytes() for p in (tmp_path / "x").rglob("*") if p.is_file()
              and ".git/" not in str(p)}
    code, _, err = run("init", str(tmp_path / "x"))
    assert code == 2 and "refusing to overwrite" in err
    after = {p: p.read_bytes() for p in (tmp_path / "x").rglob("*") if p.is_file()
             and ".git/" not in str(p)}
    assert before == after
    (tmp_path / "x/deployments/environments/staging/platform-config/limits.yaml").write_text("x")
    code, _, _ = run("init", str(tmp_path / "x"), "--force")
    assert code == 0
    assert "ResourceQuota" in (tmp_path / "x/deployments/environments/staging/"
                               "platform-config/limits.yaml").read_text()


def test_init_in_existing_repository_uses_origin_and_prefix(run: RunFn, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "remote", "add", "origin", "git@github.com:acme/platform.git")
    code, _, _ = run("init", str(repo / "infra"), "--env", "dev", "--env", "prod")
    assert code == 0
    app = (repo / "infra/deployments/bootstrap/argocd/environments/dev/kustomization.yaml")
    assert "infra/deployments/bootstrap/argocd/environments/dev" in app.read_text()
    assert "git@github.com:acme/platform.git" in (
        repo / "infra/deployments/bootstrap/argocd/base/install.yaml").read_text()
    code, out, _ = run("-C", str(repo / "infra"), "check", "--format", "json")
    assert code == 0, out
    data = json.loads(out)
    assert data["summary"]["environments"] == 2 and data["summary"]["errors"] == 0
    code, out, _ = run("-C", str(repo / "infra"), "apps", "-o", "json")
    assert any(a["name"] == "web-app" and a["environment"] == "dev" for a in json.loads(out))


def test_bad_input_exits_2_with_one_line(run: RunFn, tmp_path: Path) -> None:
    code, _, err = run("-C", str(tmp_path / "missing"), "apps")
    assert code == 2 and err.count("\n") == 1 and "no such directory" in err
    code, _, err = run("-C", str(tmp_path), "check")
    assert code == 2 and "no platform here" in err
    code, _, err = run("init", str(tmp_path / "y"), "--env", "Bad_Env")
    assert code == 2 and "invalid environment name" in err
    assert not (tmp_path / "y").exists()
    code, _, err = run("check", "--format", "xml")
    assert code == 2


def test_unknown_env_and_app(run: RunFn, platform: Path) -> None:
    code, _, err = run("-C", str(platform), "apps", "--env", "qa")
    assert code == 2 and "unknown environment 'qa'" in err
    code, _, err = run("-C", str(platform), "check", "--app", "nope")
    assert code == 2 and "unknown application 'nope'" in err


def test_bad_config_is_refused_with_key(run: RunFn, platform: Path) -> None:
    (platform / "gitplane.yaml").write_text("repoURLs: [x]\nfoo: 1\n")
    code, _, err = run("-C", str(platform), "check")
    assert code == 2 and "gitplane.yaml:2: unknown key 'foo'" in err


def test_yaml_error_is_a_finding_with_file_and_line(run: RunFn, platform: Path) -> None:
    base = platform / "deployments/domains/applications/apps/web-app/base"
    (base / "manifests/service.yaml").write_text("apiVersion: v1\nkind: Service\n"
                                                 "metadata: {name: [web\n")
    code, out, _ = run("-C", str(platform), "check", "--format", "json")
    assert code == 1
    found = [f for f in json.loads(out)["findings"] if f["rule"] == "yaml-syntax"]
    assert {f["environment"] for f in found} == {"staging", "production"}
    assert all(f["file"].endswith("web-app/base/manifests/service.yaml") and f["line"] == 4
               and f["application"] == "web-app" for f in found)


def test_missing_resource_breaks_only_that_app(run: RunFn, platform: Path) -> None:
    k = platform / "deployments/domains/workloads/apps/ml-pipeline/base/kustomization.yaml"
    k.write_text(k.read_text() + "  - manifests/nope.yaml\n")
    code, out, _ = run("-C", str(platform), "check", "--format", "json")
    assert code == 1
    data = json.loads(out)
    errors = [f for f in data["findings"] if f["severity"] == "error"]
    assert {(f["environment"], f["application"], f["rule"]) for f in errors} == {
        ("staging", "ml-pipeline", "kustomize-build"),
        ("production", "ml-pipeline", "kustomize-build")}
    assert all(f["line"] == 6 and "manifests/nope.yaml' not found" in f["message"]
               for f in errors)
    code, out, _ = run("-C", str(platform), "apps", "-o", "json")
    assert code == 0 and any(a["name"] == "web-app" for a in json.loads(out))


def test_path_missing_and_orphan(run: RunFn, platform: Path) -> None:
    apps = platform / "deployments/domains/applications/apps"
    (apps / "web-app/environments/qa").mkdir()
    (apps / "web-app/environments/qa/kustomization.yaml").write_text(
        "resources: [../../base]\n")
    code, out, _ = run("-C", str(platform), "check", "--format", "json")
    data = json.loads(out)
    [orphan] = [f for f in data["findings"] if f["rule"] == "orphan-overlay"]
    assert orphan["environment"] == "qa" and orphan["application"] == "web-app"
    assert orphan["file"].endswith("web-app/environments/qa/kustomization.yaml")
    # An Application pointing at a folder that does not exist.
    inst = platform / "deployments/bootstrap/argocd/base/platform-apps.yaml"
    write(platform / "deployments/bootstrap/argocd/base/extra.yaml",
          inst.read_text().replace("name: platform-apps", "name: extra").replace(
              "bootstrap/platform-apps/base", "does/not/exist"))
    k = platform / "deployments/bootstrap/argocd/base/kustomization.yaml"
    k.write_text(k.read_text() + "  - extra.yaml\n")
    code, out, _ = run("-C", str(platform), "check", "--format", "json")
    assert code == 1
    missing = [f for f in json.loads(out)["findings"] if f["rule"] == "argocd-path-missing"]
    assert {(f["environment"], f["application"]) for f in missing} == {
        ("staging", "extra"), ("production", "extra")}
    assert missing[0]["file"] == "deployments/bootstrap/argocd/base/extra.yaml"


def test_rules_lists_every_rule(run: RunFn) -> None:
    code, out, _ = run("rules", "-o", "json")
    ids = {r["id"] for r in json.loads(out)}
    assert {"yaml-syntax", "yaml-duplicate-key", "kustomize-build", "schema",
            "schema-unknown-kind", "argocd-path-missing", "orphan-overlay",
            "image-tag-mutable"} <= ids


def test_envs(run: RunFn, platform: Path) -> None:
    code, out, _ = run("-C", str(platform), "envs", "-o", "json")
    assert code == 0
    assert [e["name"] for e in json.loads(out)] == ["production", "staging"]


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/ not present")
def test_shared_is_not_required_for_the_cli(run: RunFn) -> None:
    assert run("--version")[0] == 0


def test_types() -> None:
    """mypy over the package, as STYLE asks; skipped when mypy is not installed."""
    api = pytest.importorskip("mypy.api")
    out, err, code = api.run(["--config-file", str(Path(__file__).parents[1] /
                                                   "pyproject.toml")])
    assert code == 0, out + err


def test_init_into_ignored_folder_makes_its_own_repository(run: RunFn, tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "-q")
    git(outer, "remote", "add", "origin", "https://example.com/tool.git")
    (outer / ".gitignore").write_text("demo/\n")
    code, out, _ = run("init", str(outer / "demo"))
    assert code == 0 and "your-org/your-repo" in out
    assert (outer / "demo/.git").is_dir()
    assert "path: deployments/bootstrap" in (
        outer / "demo/deployments/bootstrap/argocd/base/install.yaml").read_text()


def test_render_output_folder_safety(run: RunFn, platform: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out / "mine.txt", "keep me")
    code, _, err = run("-C", str(platform), "render", "-o", str(out))
    assert code == 2 and "not empty" in err
    assert (out / "mine.txt").read_text() == "keep me"
    out2 = tmp_path / "out2"
    assert run("-C", str(platform), "render", "-o", str(out2))[0] == 0
    assert "kustomize: v5.8.1" in (out2 / ".gitplane-render").read_text()
    # a file an earlier render wrote (listed in the marker) for an Application since removed
    # is deleted; a file gitplane did not write is never deleted
    write(out2 / "staging/gone.yaml", "stale: true\n")
    write(out2 / "staging/users.yaml", "mine: true\n")
    marker = out2 / ".gitplane-render"
    marker.write_text(marker.read_text() + "file: staging/gone.yaml\n")
    assert run("-C", str(platform), "render", "-o", str(out2), "--env", "staging")[0] == 0
    assert not (out2 / "staging/gone.yaml").exists()
    assert (out2 / "staging/users.yaml").read_text() == "mine: true\n"
    assert "file: staging/web-app.yaml" in marker.read_text()
    assert (out2 / "staging/web-app.yaml").is_file()
    assert (out2 / "production/web-app.yaml").is_file()


def test_appset_generate_errors(run: RunFn, tmp_path: Path) -> None:
    code, _, err = run("appset", "generate", str(tmp_path / "nope.yaml"))
    assert code == 2 and "no such file" in err
    f = write(tmp_path / "x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    code, _, err = run("appset", "generate", str(f))
    assert code == 2 and "no ApplicationSet" in err
    appset = write(tmp_path / "a.yaml", """apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: a, namespace: argocd}
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators:
    - clusters: {}
    - list: {elements: [{n: one}]}
  template:
    metadata: {name: '{{ .name }}{{ .n }}'}
    spec:
      project: default
      source: {repoURL: https://example.com/r.git, path: x}
      destination: {server: '{{ .server }}', namespace: x}
""")
    code, out, err = run("appset", "generate", str(appset))
    assert code == 1
    assert 'a.yaml:8: generators[0].clusters: failed to execute go template {{ .name }}{{ .n }}' \
        in err and 'map has no entry for key "n"' in err
    clusters = write(tmp_path / "c.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: c\n"
                     "  labels: {argocd.argoproj.io/secret-type: cluster}\n"
                     "stringData: {name: prod, server: https://prod.example.com}\n")
    bad = write(tmp_path / "bad.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: c}\n"
                "stringData: {server: x}\n")
    code, _, err = run("appset", "generate", str(appset), "--clusters", str(bad))
    assert code == 2 and "bad.yaml:1: Secret 'c' is not labelled" in err
    only_clusters = write(tmp_path / "b.yaml", appset.read_text().replace(
        "    - list: {elements: [{n: one}]}\n", "").replace("{{ .n }}", ""))
    code, out, _ = run("appset", "generate", str(only_clusters), "--clusters", str(clusters),
                       "-o", "json")
    assert code == 0
    assert sorted(a["metadata"]["name"] for a in json.loads(out)) == ["in-cluster", "prod"]


@pytest.mark.parametrize("args", [["check"], ["diff", "HEAD"]])
def test_progress_on_a_terminal_only(platform: Path, args: list[str]) -> None:
    """A terminal's stderr shows the renders' progress; CI and pipes get none, and stdout
    never does."""
    import pty
    import subprocess
    import sys

    from conftest import git

    git(platform, "add", "-A")
    git(platform, "commit", "-qm", "one")
    cmd = [sys.executable, "-m", "gitplane", "-C", str(platform), *args]
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_ACTIONS")}
    import threading

    leader, follower = pty.openpty()
    chunks: list[bytes] = []

    def read() -> None:  # drained while the command runs: a full terminal would block it
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=follower, env=env)
        os.close(follower)
        out, _ = proc.communicate(timeout=300)
    finally:
        reader.join(timeout=10)
        os.close(leader)
    assert b"rendering" in b"".join(chunks)
    assert b"rendering" not in out and b"\x1b" not in out
    quiet = subprocess.run(cmd, capture_output=True, env={**env, "CI": "1"}, timeout=300)
    assert b"rendering" not in quiet.stderr + quiet.stdout


def test_output_is_the_same_without_cache_and_with_any_worker_count(
        run: RunFn, platform: Path) -> None:
    """Same input, same bytes: cold or warm, one render at a time or many."""
    import os

    from gitplane import api, cache
    from gitplane.report import to_json

    warm = run("-C", str(platform), "check", "--format", "json")[1]
    assert run("-C", str(platform), "--no-cache", "check", "--format", "json")[1] == warm
    assert os.environ.get("GITPLANE_NO_CACHE") == "0"  # --no-cache changed nothing lasting
    outputs = set()
    off = cache.Options(cache.folder(), enabled=False)  # the library takes it as a value
    for jobs in (1, 3, 8):
        p = api.load(platform, jobs=jobs, cache_options=off)
        outputs.add((to_json(api.check(p).to_json()), repr(sorted(api.rendered(p).items()))))
    assert len(outputs) == 1 and next(iter(outputs))[0] == warm
