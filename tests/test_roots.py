"""Repositories in other layouts, in the shapes real Argo CD repositories have: roots found
from what renders read, never a silent zero, pull-request checkouts, names that are paths,
Argo CD's explicit source types. Each repository here is small and written for the test."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import RunFn, git, write
from gitplane import api
from gitplane.argocd import roots as root_finder
from gitplane.errors import GitplaneError

URL = "https://example.com/acme/gitops.git"


def app(name: str, path: str, revision: str = "HEAD", namespace: str = "web",
        extra: str = "") -> str:
    return (f"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n"
            f"  namespace: argocd\nspec:\n  project: default\n  source:\n"
            f"    repoURL: {URL}\n    path: {path}\n    targetRevision: {revision}\n{extra}"
            f"  destination:\n    server: https://kubernetes.default.svc\n"
            f"    namespace: {namespace}\n")


CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: \"{value}\"\n"


def repo(tmp_path: Path, files: dict[str, str], commit: bool = True) -> Path:
    root = tmp_path / "r"
    for rel, text in files.items():
        write(root / rel, text)
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", URL)
    if commit:
        git(root, "add", "-A")
        git(root, "commit", "-qm", "init")
    return root


def names(root: Path, *roots: str) -> list[str]:
    return sorted(a.app.name for er in api.load(root, roots=list(roots) or None).envs
                  for a in er.apps)


def roots_of(root: Path) -> list[str]:
    from gitplane.proc import Engine
    from gitplane.repo import Repository

    repository = Repository.find(root, layout=False)
    engine = Engine()
    try:
        return root_finder.find(repository, engine).roots
    finally:
        engine.close()


# -- roots ----------------------------------------------------------------------------------
KARGO_APPSET = f"""apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: guestbook
  namespace: argocd
spec:
  generators:
    - git:
        repoURL: {URL}
        revision: HEAD
        directories:
          - path: env/*
  template:
    metadata:
      name: guestbook-{{{{path.basename}}}}
    spec:
      project: guestbook
      source:
        repoURL: {URL}
        path: ./
        targetRevision: env/{{{{path.basename}}}}
      destination:
        server: https://kubernetes.default.svc
        namespace: guestbook-{{{{path.basename}}}}
"""
PROJECT = """apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: guestbook
  namespace: argocd
spec:
  sourceRepos: ['*']
  destinations: [{server: '*', namespace: 'guestbook-*'}]
  clusterResourceWhitelist: [{group: '', kind: Namespace}]
"""


def _kargo(tmp_path: Path) -> Path:
    files = {"argocd/appset.yaml": KARGO_APPSET, "argocd/appproj.yaml": PROJECT,
             "base/kustomization.yaml": "resources: [cm.yaml]\n",
             "base/cm.yaml": CM.format(name="guestbook", value="base")}
    for stage in ("dev", "prod"):
        files[f"env/{stage}/kustomization.yaml"] = (
            f"resources: [../../base]\nnamespace: guestbook-{stage}\n")
    return repo(tmp_path, files)


def test_kargo_rendered_branches(tmp_path: Path, run: RunFn) -> None:
    """``path: ./`` on another branch deploys that branch, not this tree: the ApplicationSet
    is still a root; a branch not in the clone is not rendered, said as a warning."""
    root = _kargo(tmp_path)
    assert roots_of(root) == ["argocd/appset.yaml"]
    code, out, err = run("-C", str(root), "check", "-o", "json")
    data = json.loads(out)
    assert code == 0, out
    assert data["summary"]["applications"] == 2
    assert data["summary"]["notRendered"] == 2
    rules = {(f["rule"], f["severity"]) for f in data["findings"]}
    assert ("source-not-rendered", "warning") in rules
    # the AppProject beside the root is part of the environment; nothing is an error
    assert not [f for f in data["findings"] if f["severity"] == "error"]
    # the rendered branch, once fetched, is what the Application deploys
    git(root, "checkout", "-q", "-b", "env/dev")
    write(root / "kustomization.yaml", "resources: [cm.yaml]\n")
    write(root / "cm.yaml", CM.format(name="rendered", value="dev"))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "rendered dev")
    git(root, "checkout", "-q", "main")
    code, out, _ = run("-C", str(root), "render", "--app", "guestbook-dev")
    assert "name: rendered" in out and "namespace: guestbook-dev" in out


def test_self_managing_root(tmp_path: Path) -> None:
    """A root Application deploying the folder that holds its own file is the entry of a
    cycle: a root, not 'deployed by another Application'."""
    root = repo(tmp_path, {
        "apps/root.yaml": app("root", "apps", namespace="argocd"),
        "apps/web.yaml": app("web", "manifests/web"),
        "manifests/web/cm.yaml": CM.format(name="web", value="1")})
    assert roots_of(root) == ["apps/root.yaml"]
    assert names(root) == ["root", "web"]


def test_two_file_cycle_has_one_entry(tmp_path: Path) -> None:
    root = repo(tmp_path, {
        "a/a.yaml": app("a", "b/"),
        "b/b.yaml": app("b", "a")})
    assert roots_of(root) == ["a/a.yaml"]
    assert names(root) == ["a", "b"]


def test_root_beside_an_unlisting_kustomization(tmp_path: Path) -> None:
    """A file inside a deployed folder that the folder's kustomization does not list is not
    deployed by it (applied once by a bootstrap script): a root."""
    root = repo(tmp_path, {
        "bootstrap/root.yaml": app("root", "bootstrap", namespace="argocd"),
        "bootstrap/kustomization.yaml": "resources: [apps.yaml]\n",
        "bootstrap/apps.yaml": app("web", "manifests/web"),
        "manifests/web/cm.yaml": CM.format(name="web", value="1")})
    assert roots_of(root) == ["bootstrap/root.yaml"]
    assert names(root) == ["root", "web"]


def test_other_tools_templates_are_not_roots(tmp_path: Path, run: RunFn) -> None:
    root = repo(tmp_path, {
        # Backstage software template
        "skeleton/app.yaml": app("${{ values.name }}", "x"),
        # placeholders a script replaces
        "clusters/template.yaml": app("<CLUSTER_NAME>-web", "x"),
        # a Helm chart of Applications: the chart is the root (rendered with a Helm engine)
        "charts/apps/Chart.yaml": "apiVersion: v2\nname: apps\nversion: 0.1.0\n",
        "charts/apps/templates/apps.yaml": "{{- range .Values.apps }}\n" + app("{{ . }}", "x")
                                           + "---\n{{- end }}\n",
        "charts/apps/values.yaml": "apps: [web]\n"})
    found = scan(root)
    assert found.files == [] and found.charts == ["charts/apps"]
    assert sorted(found.templates) == ["clusters/template.yaml", "skeleton/app.yaml"]
    code, out, err = run("-C", str(root), "apps")
    # the chart is rendered by the Helm engine: its Application is found
    assert code == 0 and "web" in out, err


def scan(root: Path) -> root_finder.Candidates:
    from gitplane.repo import Repository

    r = Repository.find(root, layout=False)
    return root_finder.scan(r.top, r.rel)


# -- never a silent zero --------------------------------------------------------------------
CLUSTER_APPSET = f"""apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: addons
  namespace: argocd
spec:
  generators:
    - clusters:
        selector:
          matchLabels: {{enable_metrics: 'true'}}
  template:
    metadata:
      name: 'metrics-{{{{name}}}}'
    spec:
      project: default
      source: {{repoURL: {URL}, path: addons/metrics, targetRevision: HEAD}}
      destination: {{server: '{{{{server}}}}', namespace: kube-system}}
"""


def test_zero_applications_is_an_error_naming_the_fix(tmp_path: Path, run: RunFn) -> None:
    root = repo(tmp_path, {"bootstrap/addons.yaml": CLUSTER_APPSET,
                           "addons/metrics/cm.yaml": CM.format(name="m", value="1")})
    code, out, err = run("-C", str(root), "check", "-o", "json")
    assert code == 1
    [f] = [f for f in json.loads(out)["findings"] if f["rule"] == "argocd-no-applications"]
    assert f["severity"] == "error" and f["file"] == "bootstrap/addons.yaml"
    assert "add clusters: to gitplane.yaml" in f["message"]
    code, out, err = run("-C", str(root), "apps")
    assert code == 1 and "0 Applications in environment 'default'" in err
    code, out, err = run("-C", str(root), "render")
    assert code == 1 and "argocd-no-applications" in err
    # a change to what the clusters would deploy fails a diff gate instead of passing it
    write(root / "addons/metrics/cm.yaml", CM.format(name="m", value="2"))
    code, out, err = run("-C", str(root), "diff", "HEAD", "--exit-code")
    assert code == 1 and "argocd-no-applications" in err
    # with the inventory, the Applications appear and the gate judges them
    write(root / "clusters.yaml", """apiVersion: v1
kind: Secret
metadata:
  name: prod
  namespace: argocd
  labels: {argocd.argoproj.io/secret-type: cluster, enable_metrics: 'true'}
stringData: {name: prod, server: 'https://prod.example.com'}
""")
    write(root / "gitplane.yaml", "clusters: clusters.yaml\nroots: [bootstrap/addons.yaml]\n")
    code, out, err = run("-C", str(root), "apps", "-o", "json")
    assert code == 0 and [a["name"] for a in json.loads(out)] == ["metrics-prod"]


def test_no_argo_cd_objects_is_a_warning(tmp_path: Path, run: RunFn) -> None:
    root = repo(tmp_path, {"base/kustomization.yaml": "resources: [cm.yaml]\n",
                           "base/cm.yaml": CM.format(name="c", value="1")})
    code, out, err = run("-C", str(root), "apps")
    assert code == 0 and "no Argo CD Application or ApplicationSet" in err
    code, out, err = run("-C", str(root), "check", "--root", "base", "-o", "json")
    assert code == 0, out + err
    assert json.loads(out)["summary"]["resources"] == 1


def test_diff_and_compare_take_root(tmp_path: Path, run: RunFn) -> None:
    root = repo(tmp_path, {"boot/web.yaml": app("web", "manifests/web"),
                           "boot/other.yaml": app("other", "manifests/other"),
                           "manifests/web/cm.yaml": CM.format(name="web", value="1"),
                           "manifests/other/cm.yaml": CM.format(name="other", value="1")})
    write(root / "manifests/web/cm.yaml", CM.format(name="web", value="2"))
    write(root / "manifests/other/cm.yaml", CM.format(name="other", value="2"))
    code, out, _ = run("-C", str(root), "diff", "HEAD", "--root", "boot/web.yaml", "-o", "json")
    assert code == 0
    assert {c["application"] for c in json.loads(out)["changes"]} == {"web"}
    code, out, _ = run("-C", str(root), "compare", "default", "default", "--root",
                       "boot/web.yaml", "-o", "json")
    assert code == 0 and json.loads(out) == []


# -- nothing written outside the output folder ----------------------------------------------
def test_application_names_that_are_paths(tmp_path: Path, run: RunFn) -> None:
    root = repo(tmp_path, {"boot/evil.yaml": app("../../escape", "manifests/web"),
                           "boot/abs.yaml": app("/tmp/abs", "manifests/web"),
                           "boot/web.yaml": app("web", "manifests/web"),
                           "manifests/web/cm.yaml": CM.format(name="web", value="1")})
    out_dir = tmp_path / "out"
    code, out, err = run("-C", str(root), "render", "-o", str(out_dir))
    assert sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*.yaml")) == \
        ["default/web.yaml"]
    assert not (tmp_path / "escape.yaml").exists()
    code, out, _ = run("-C", str(root), "check", "-o", "json")
    invalid = [f for f in json.loads(out)["findings"] if f["rule"] == "argocd-invalid"]
    assert sorted(f["file"] for f in invalid) == ["boot/abs.yaml", "boot/evil.yaml"]
    assert all("not a valid Kubernetes name" in f["message"] for f in invalid)


def test_output_paths_are_checked_before_writing(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    with pytest.raises(GitplaneError, match="cannot be a file name"):
        api.write_rendered({("staging", "a"): "x: 1\n", ("../x", "b"): "y: 1\n"}, out_dir, "v")
    assert not out_dir.exists()  # nothing written: every path is checked first
    (tmp_path / "elsewhere").mkdir()
    out_dir.mkdir()
    (out_dir / "staging").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(GitplaneError, match="leaves the output folder"):
        api.write_rendered({("staging", "a"): "x: 1\n"}, out_dir, "v", force=True)
    assert not list((tmp_path / "elsewhere").iterdir())


# -- pull-request checkouts -----------------------------------------------------------------
def _pr_checkout(tmp_path: Path) -> Path:
    """main has value 1; the pull request (checked out detached, as CI does) has value 2."""
    root = repo(tmp_path, {"boot/web.yaml": app("web", "manifests/web", revision="main"),
                           "manifests/web/cm.yaml": CM.format(name="web", value="1")})
    git(root, "checkout", "-q", "-b", "feature")
    write(root / "manifests/web/cm.yaml", CM.format(name="web", value="2"))
    git(root, "commit", "-qam", "change")
    git(root, "checkout", "-q", "--detach", "feature")
    return root


def test_detached_pull_request_stands_for_its_target_branch(
        tmp_path: Path, run: RunFn, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _pr_checkout(tmp_path)
    code, out, _ = run("-C", str(root), "render")
    assert "k: '1'" in out  # no CI variable: main is read from Git (the base)
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    code, out, _ = run("-C", str(root), "render")
    assert "k: '2'" in out  # the pull request, as it will be once merged
    monkeypatch.delenv("GITHUB_BASE_REF")
    monkeypatch.setenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main")
    code, out, _ = run("-C", str(root), "render")
    assert "k: '2'" in out
    monkeypatch.delenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME")
    code, out, _ = run("-C", str(root), "--branch", "main", "render")
    assert "k: '2'" in out
    write(root / "gitplane.yaml", "repoURLs: []\nbranch: main\n")
    code, out, _ = run("-C", str(root), "render")
    assert "k: '2'" in out
    # diff's head side follows the same rule: the change shows
    code, out, _ = run("-C", str(root), "diff", "main", "-o", "json")
    [change] = json.loads(out)["changes"]
    assert change["application"] == "web" and "+  k: '2'" in change["diff"]


# -- sources as Argo CD classifies them -----------------------------------------------------
def test_explicit_source_types(tmp_path: Path, run: RunFn) -> None:
    root = repo(tmp_path, {
        "boot/plugin.yaml": app("cmp", "manifests/kust", extra="    plugin:\n      name: x\n"),
        "boot/dir.yaml": app("dir", "manifests/kust", extra="    directory:\n      recurse: true\n"),
        "boot/both.yaml": app("both", "manifests/kust",
                              extra="    directory: {}\n    helm: {}\n"),
        "manifests/kust/kustomization.yaml": "resources: [cm.yaml]\nnamePrefix: k-\n",
        "manifests/kust/cm.yaml": CM.format(name="c", value="1")})
    code, out, _ = run("-C", str(root), "apps", "-o", "json")
    kinds = {a["name"]: a["sourceTypes"] for a in json.loads(out)}
    assert kinds == {"cmp": ["plugin"], "dir": ["directory"], "both": ["invalid"]}
    code, out, err = run("-C", str(root), "render")
    assert "name: c\n" in out and "k-c" not in out  # directory: the kustomization is skipped
    assert "default/cmp: not rendered: a config-management plugin" in err
    code, out, _ = run("-C", str(root), "check", "-o", "json")
    found = {(f["rule"], f["application"]) for f in json.loads(out)["findings"]}
    assert ("source-not-rendered", "cmp") in found
    assert ("argocd-invalid", "both") in found
    assert any("multiple application sources defined: Helm,Directory" in f["message"] or
               "multiple application sources defined: Directory" in f["message"]
               for f in json.loads(out)["findings"])


def test_helm_charts_in_kustomize(tmp_path: Path, run: RunFn) -> None:
    files = {"boot/web.yaml": app("web", "manifests/web"),
             "manifests/web/kustomization.yaml": "helmCharts:\n  - name: web\n    repo: "
                                                 "https://charts.example.com\n    version: 1.0.0\n"
                                                 "    releaseName: web\n"}
    root = repo(tmp_path, files)
    code, out, _ = run("-C", str(root), "check", "-o", "json")
    [f] = [f for f in json.loads(out)["findings"] if f["application"] == "web" and
           f["file"] == "manifests/web/kustomization.yaml"]
    assert (f["rule"], f["severity"]) == ("kustomize-build", "error")  # Argo CD fails too
    write(root / "argocd/argocd-cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
          "  name: argocd-cm\ndata:\n  kustomize.buildOptions: --enable-helm\n")
    code, out, _ = run("-C", str(root), "check", "-o", "json")
    [f] = [f for f in json.loads(out)["findings"] if f["application"] == "web" and
           f["file"] == "manifests/web/kustomization.yaml"]
    assert (f["rule"], f["severity"]) == ("source-not-rendered", "warning")
    assert "is neither vendored under manifests/web/charts/ nor in gitplane's cache" in f["message"]


def test_destination_namespace_applied_by_scope(tmp_path: Path, run: RunFn) -> None:
    root = repo(tmp_path, {
        "boot/web.yaml": app("web", "manifests/web", namespace="web"),
        "manifests/web/objs.yaml": CM.format(name="c", value="1") +
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n"
        "  name: reader\nrules: []\n---\napiVersion: example.com/v1\nkind: Widget\n"
        "metadata:\n  name: w\n"})
    code, out, _ = run("-C", str(root), "render", "--app", "web")
    docs = {d["metadata"]["name"]: d["metadata"] for d in yaml.safe_load_all(out) if d}
    assert docs["c"].get("namespace") == "web"
    assert "namespace" not in docs["reader"]  # cluster-scoped
    assert "namespace" not in docs["w"]  # unknown scope: left as it is
