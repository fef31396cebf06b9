"""Local Helm charts rendered with Helm's own engine (helm-python-sdk), with Argo CD's
semantics: the order of value sources, release name and namespace, the switches, and errors
as findings. Real charts written by the tests, real git repositories, no mock."""
from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import RunFn, git, write

helm = pytest.importorskip("helm_python", reason="helm-python-sdk is not installed")

URL = "https://example.com/acme/charts.git"
KUBE = __import__("gitplane.config", fromlist=["Config"]).Config().kubernetes_version

CHART = {
    "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "charts/web/values.yaml": "a: chart\nb: chart\nc: chart\nd: chart\ne: chart\nf: chart\n"
                              "port: 80\nnested: {keep: chart, over: chart}\n",
    "charts/web/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        "  namespace: {{ .Release.Namespace }}\ndata:\n"
        "{{- range $k, $v := .Values }}\n"
        "{{- if not (kindIs \"map\" $v) }}\n  {{ $k }}: {{ $v | toString | quote }}\n{{- end }}\n"
        "{{- end }}\n"
        "  keep: {{ .Values.nested.keep | quote }}\n  over: {{ .Values.nested.over | quote }}\n"
        "  portType: {{ kindOf .Values.port | quote }}\n"
        "  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n"),
    "charts/web/templates/tests/test.yaml": (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-test\n"
        "  annotations: {helm.sh/hook: test}\nspec:\n  containers: [{name: t, image: "
        "busybox:1.36}]\n"),
    "charts/web/crds/widget.yaml": (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: widgets.example.com}\nspec:\n  group: example.com\n"
        "  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n"
        "  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: "
        "{type: object, properties: {spec: {type: object, properties: {size: {type: integer}}}}}}}]\n"),
    "values/one.yaml": "b: one\nc: one\nd: one\ne: one\nf: one\nnested: {over: one}\n",
    "values/two.yaml": "c: two\nd: two\ne: two\nf: two\n",
    "files/motd.txt": "hello, world",
}


def _application(name: str, source: dict[str, Any], namespace: str = "apps") -> str:
    """An Application of ``source`` into ``namespace`` of the local cluster."""
    return yaml.safe_dump({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {"project": "default", "source": source,
                 "destination": {"server": "https://kubernetes.default.svc",
                                 "namespace": namespace}}})


def _app(helm_spec: dict[str, Any], name: str = "web") -> str:
    return _application(name, {"repoURL": URL, "path": "charts/web", "targetRevision": "HEAD",
                               "helm": helm_spec})


def _repo(tmp_path: Path, helm_spec: dict[str, Any], extra: dict[str, str] | None = None,
          config: str = "") -> Path:
    root = tmp_path / "r"
    for rel, text in {**CHART, "argocd/web.yaml": _app(helm_spec), **(extra or {})}.items():
        write(root / rel, text)
    write(root / "gitplane.yaml", f"repoURLs: [{URL}]\nroots: [argocd]\n{config}")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def _objects(run: RunFn, root: Path) -> dict[tuple[str, str], dict[str, Any]]:
    code, out, err = run("-C", str(root), "--no-cache", "render")
    assert code == 0, err
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out) if d}


def _findings(run: RunFn, root: Path, rule: str) -> list[dict[str, Any]]:
    code, out, _ = run("-C", str(root), "--no-cache", "check", "--format", "json")
    return [f for f in json.loads(out)["findings"] if f["rule"] == rule]


def test_values_in_argo_cds_order(run: RunFn, tmp_path: Path) -> None:
    """Chart defaults < valueFiles in order < values < valuesObject (which replaces values) <
    parameters < fileParameters; forceString keeps a string."""
    root = _repo(tmp_path, {
        "valueFiles": ["../../values/one.yaml", "../../values/two.yaml"],
        "values": "d: values\ne: values\nf: values\n",
        "valuesObject": {"e": "object", "f": "object"},
        "parameters": [{"name": "f", "value": "param"},
                       {"name": "port", "value": "8080", "forceString": True},
                       {"name": "a", "value": "x,y"}],
        "fileParameters": [{"name": "motd", "path": "../../files/motd.txt"}]})
    data = _objects(run, root)[("ConfigMap", "web")]["data"]
    assert data["a"] == "x,y"          # a comma in a parameter is escaped, as Argo CD does
    assert data["b"] == "one" and data["c"] == "two"
    assert data["d"] == "two"          # valuesObject replaces values: its d is not applied
    assert data["e"] == "object" and data["f"] == "param"
    assert data["keep"] == "chart" and data["over"] == "one"
    assert data["portType"] == "string" and data["port"] == "8080"
    assert data["motd"] == "hello, world"
    assert data["kube"] == "v1.37.0"   # the environment's Kubernetes version (default 1.37)


def test_release_namespace_crds_and_tests(run: RunFn, tmp_path: Path) -> None:
    root = _repo(tmp_path, {"releaseName": "shop"}, config="kubernetesVersion: '1.33'\n")
    objs = _objects(run, root)
    cm = objs[("ConfigMap", "shop")]
    assert cm["metadata"]["namespace"] == "apps" and cm["data"]["kube"] == "v1.33.0"
    assert ("CustomResourceDefinition", "widgets.example.com") in objs
    # Argo CD's sync ignores Helm hooks it does not map to its own (test among them):
    # rendered, never applied, so not shown or checked
    assert ("Pod", "shop-test") not in objs
    root2 = _repo(tmp_path / "2", {"skipCrds": True, "skipTests": True})
    objs = _objects(run, root2)
    assert ("ConfigMap", "web") in objs
    assert ("CustomResourceDefinition", "widgets.example.com") not in objs
    assert ("Pod", "web-test") not in objs


@pytest.mark.parametrize("annotations, applied", [
    ({"helm.sh/hook": "test"}, False), ({"helm.sh/hook": "pre-delete,post-rollback"}, False),
    ({"helm.sh/hook": "pre-install,pre-upgrade"}, True), ({"helm.sh/hook": "post-install"}, True),
    ({"helm.sh/hook": "test", "argocd.argoproj.io/hook": "PostSync"}, True), ({}, True)])
def test_helm_hooks_argo_cd_applies(annotations: dict[str, str], applied: bool) -> None:
    from gitplane.render.helm import applied_by_argo_cd

    obj = {"kind": "Pod", "metadata": {"name": "p", "annotations": annotations}}
    assert applied_by_argo_cd(obj) is applied


def test_a_separator_without_a_newline_splits_as_helm_splits(run: RunFn,
                                                             tmp_path: Path) -> None:
    """``{{- end }}`` before ``---`` leaves ``---# comment``: Helm still splits there."""
    template = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n"
                "{{- if true }}\n---{{- end }}# second\napiVersion: v1\nkind: ConfigMap\n"
                "metadata: {name: two}\n")
    root = _repo(tmp_path, {}, {"charts/web/templates/two.yaml": template})
    objs = _objects(run, root)
    assert ("ConfigMap", "one") in objs and ("ConfigMap", "two") in objs


def test_render_equals_helms_own(run: RunFn, tmp_path: Path) -> None:
    """The objects are what Helm's engine renders for the same inputs."""
    root = _repo(tmp_path, {"valuesObject": {"a": "direct"}})
    ours = [o for k, o in sorted(_objects(run, root).items())
            if k[0] != "CustomResourceDefinition"]
    with helm.Chart.load(str(root / "charts/web")) as chart:
        rendered = chart.render({"a": "direct"}, name="web", namespace="apps", is_install=True)
    # (less the test hook, which Argo CD's sync ignores)
    theirs = sorted((d for text in rendered.values() for d in yaml.safe_load_all(text)
                     if d and "helm.sh/hook" not in d["metadata"].get("annotations", {})),
                    key=lambda d: (d["kind"], d["metadata"]["name"]))
    for d in theirs:  # the SDK's default Kubernetes version is its own; gitplane passes 1.37
        d.get("data", {}).pop("kube", None)
        # Argo CD applies namespaced objects without a namespace into the destination's
        d["metadata"].setdefault("namespace", "apps")
    for d in ours:
        d.get("data", {}).pop("kube", None)
    assert ours == theirs


def test_schema_violation_and_template_error_are_findings(run: RunFn, tmp_path: Path) -> None:
    schema = {"charts/web/values.schema.json": json.dumps({
        "type": "object", "properties": {"port": {"type": "integer"}}})}
    root = _repo(tmp_path, {"valuesObject": {"port": "eighty"}}, schema)
    found = _findings(run, root, "helm-values")
    assert len(found) == 1 and "value 'port': got string, want integer" in \
        found[0]["message"] and found[0]["file"] == "argocd/web.yaml" and \
        found[0]["severity"] == "error" and "set by helm.valuesObject" in found[0]["message"]
    # each rejected value on the line that set it, in Argo CD's precedence
    schema2 = {"charts/web/values.schema.json": json.dumps({
        "type": "object", "properties": {
            "port": {"type": "integer"}, "b": {"enum": ["chart", "one"]},
            "a": {"type": "integer"}, "nested": {"type": "object", "properties": {
                "over": {"type": "integer"}}}}}),
        "values/two.yaml": "c: two\nd: two\nnested:\n  over: two\n"}
    root4 = _repo(tmp_path / "4", {"valueFiles": ["../../values/one.yaml",
                                                  "../../values/two.yaml"],
                                   "valuesObject": {"port": "eighty"},
                                   "parameters": [{"name": "b", "value": "three"}]}, schema2)
    found = {(f["file"], f["line"], f["message"].split(":")[0])
             for f in _findings(run, root4, "helm-values")}
    assert found == {("argocd/web.yaml", 1, "value 'port'"),
                     ("argocd/web.yaml", 1, "value 'b'"),
                     ("values/two.yaml", 4, "value 'nested.over'"),
                     ("charts/web/values.yaml", 1, "value 'a'")}, found
    root2 = _repo(tmp_path / "2", {"valuesObject": {"port": "eighty"},
                                   "skipSchemaValidation": True}, schema)
    assert _findings(run, root2, "helm-values") == []
    broken = {"charts/web/templates/need.yaml":
              "{{ required \"image.tag is required\" .Values.image }}\n"}
    root3 = _repo(tmp_path / "3", {}, broken)
    found = _findings(run, root3, "helm-template")
    assert len(found) == 1 and "image.tag is required" in found[0]["message"]
    assert str(root3) not in found[0]["message"]


def test_capabilities_api_versions_are_the_environments(run: RunFn, tmp_path: Path) -> None:
    """Argo CD gives Helm the cluster's API versions; gitplane gives the environment's:
    Kubernetes' own plus every CRD the environment renders (here the chart's own crds/,
    and a CRD another Application installs)."""
    cap = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caps\ndata:\n"
           "  widget: {{ .Capabilities.APIVersions.Has \"example.com/v1/Widget\" | quote }}\n"
           "  monitor: {{ .Capabilities.APIVersions.Has \"monitoring.coreos.com/v1\" | quote }}\n"
           "  gadget: {{ .Capabilities.APIVersions.Has \"example.com/v2\" | quote }}\n"
           "  apps: {{ .Capabilities.APIVersions.Has \"apps/v1\" | quote }}\n")
    crd = ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
           "metadata: {name: servicemonitors.monitoring.coreos.com}\nspec:\n"
           "  group: monitoring.coreos.com\n  names: {kind: ServiceMonitor, plural: "
           "servicemonitors}\n  scope: Namespaced\n  versions: [{name: v1, served: true, "
           "storage: true, schema: {openAPIV3Schema: {type: object}}}]\n")
    other = _application("monitoring-crds", {"repoURL": URL, "path": "crds",
                                             "targetRevision": "HEAD"}, "monitoring")
    root = _repo(tmp_path, {}, {"charts/web/templates/caps.yaml": cap,
                                "crds/servicemonitor.yaml": crd,
                                "argocd/crds.yaml": other})
    data = _objects(run, root)[("ConfigMap", "caps")]["data"]
    assert data == {"widget": "true", "monitor": "true", "gadget": "false", "apps": "true"}
    (root / "argocd/crds.yaml").unlink()
    data = _objects(run, root)[("ConfigMap", "caps")]["data"]
    assert data["monitor"] == "false" and data["widget"] == "true"


def test_chart_crds_feed_the_schema_rule(run: RunFn, tmp_path: Path) -> None:
    extra = {"charts/web/templates/widget.yaml":
             "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: big\n"}
    root = _repo(tmp_path, {}, extra)
    found = _findings(run, root, "schema")
    assert found and all("Widget" in f["resource"] for f in found), found


def test_a_link_out_of_the_repository_is_refused(run: RunFn, tmp_path: Path) -> None:
    root = _repo(tmp_path, {})
    (root / "charts/web/templates/secret.yaml").symlink_to("/etc/passwd")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "link")
    code, out, _ = run("-C", str(root), "--no-cache", "check", "--format", "json")
    found = json.loads(out)["findings"]
    assert any("link out of the repository" in f["message"] for f in found)
    assert "root:" not in out


def test_a_value_file_outside_the_repository_is_refused(run: RunFn, tmp_path: Path) -> None:
    root = _repo(tmp_path, {"valueFiles": ["../../../outside.yaml"]})
    write(tmp_path / "outside.yaml", "a: stolen\n")
    found = _findings(run, root, "helm-values")
    assert [(f["file"], f["message"]) for f in found] == [
        ("argocd/web.yaml", "helm.valueFiles[0] '../../../outside.yaml': leaves the "
                            "repository; refused")]
    # a value file that does not exist: the same rule, unless ignoreMissingValueFiles
    root2 = _repo(tmp_path / "2", {"valueFiles": ["values-prod.yaml"]})
    found = _findings(run, root2, "helm-values")
    assert [f["message"] for f in found] == ["helm.valueFiles[0] 'values-prod.yaml': not found"]
    root3 = _repo(tmp_path / "3", {"valueFiles": ["values-prod.yaml"],
                                   "ignoreMissingValueFiles": True})
    assert _findings(run, root3, "helm-values") == []


def test_diff_and_cache_see_a_template_change(run: RunFn, tmp_path: Path) -> None:
    root = _repo(tmp_path, {})
    assert run("-C", str(root), "check")[0] == 0  # fills the cache
    tpl = root / "charts/web/templates/cm.yaml"
    tpl.write_text(tpl.read_text().replace("  keep:", "  added: \"yes\"\n  keep:"))
    git(root, "commit", "-qam", "change")
    code, out, _ = run("-C", str(root), "diff", "HEAD~1", "HEAD")
    assert code == 0 and "+  added: 'yes'" in out, out
    code, out, _ = run("-C", str(root), "render")  # the cache serves the new render
    assert "added: 'yes'" in out


def test_diff_of_a_value_the_application_changes(run: RunFn, tmp_path: Path) -> None:
    """The Application itself changes (a Helm value): its chart is rendered on both sides."""
    root = _repo(tmp_path, {"valuesObject": {"a": "before"}})
    app = root / "argocd/web.yaml"
    app.write_text(app.read_text().replace("a: before", "a: after"))
    code, out, _ = run("-C", str(root), "diff", "HEAD")
    assert "-  a: before" in out and "+  a: after" in out, out


def test_engine_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    from gitplane.render import helm as engine

    assert engine.engine_name() == "sdk"
    monkeypatch.setenv("GITPLANE_HELM", "/nonexistent/helm")
    assert engine.engine_name() == "binary:/nonexistent/helm"
    assert os.environ["GITPLANE_HELM"]


# -- charts of a Helm repository, served on 127.0.0.1 by the test ------------------------
@pytest.fixture
def chart_repo(tmp_path: Path) -> Any:
    """An HTTP chart repository on 127.0.0.1: index.yaml and two packaged versions of
    ``web`` (made with Helm's engine), served while the test runs."""
    import hashlib
    import http.server
    import threading

    served = tmp_path / "served"
    served.mkdir()
    entries = []
    for version, replicas in (("0.1.0", 1), ("0.2.0", 2)):
        src = tmp_path / f"src-{version}" / "web"
        write(src / "Chart.yaml", f"apiVersion: v2\nname: web\nversion: {version}\n")
        write(src / "values.yaml", f"replicas: {replicas}\n")
        write(src / "templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
              "  name: {{ .Release.Name }}\ndata:\n  replicas: {{ .Values.replicas | quote }}\n"
              "  chart: {{ .Chart.Version | quote }}\n")
        write(src / "templates/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n"
              "  name: {{ .Release.Name }}\nstringData:\n  made: chart-made-token\n"
              "  password: {{ .Values.password | default \"\" | quote }}\n")
        archive = Path(helm.package(str(src), destination=str(served)))
        entries.append({"name": "web", "version": version, "apiVersion": "v2",
                        "urls": [archive.name],
                        "digest": hashlib.sha256(archive.read_bytes()).hexdigest()})
    (served / "index.yaml").write_text(yaml.safe_dump(
        {"apiVersion": "v1", "entries": {"web": entries}}))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **k: Any) -> None:
            super().__init__(*a, directory=str(served), **k)

        def log_message(self, *a: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()


def _chart_app_repo(tmp_path: Path, url: str, revision: str) -> Path:
    root = tmp_path / "p"
    write(root / "argocd/web.yaml", _application(
        "web", {"repoURL": url, "chart": "web", "targetRevision": revision,
                "helm": {"valuesObject": {"replicas": 5}}}, "web"))
    write(root / "gitplane.yaml", "roots: [argocd]\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def test_charts_of_a_helm_repository_are_pulled_then_rendered_offline(
        run: RunFn, tmp_path: Path, chart_repo: Any) -> None:
    url, _ = chart_repo
    root = _chart_app_repo(tmp_path, url, "^0.1")
    # not cached, and the network not allowed: nothing is fetched, and it says how
    code, out, _ = run("-C", str(root), "charts", "pull")
    assert code == 1 and "not cached (fetching needs the network" in out
    code, out, _ = run("-C", str(root), "render")
    assert "kind: ConfigMap" not in out
    unfetched = _findings(run, root, "source-not-rendered")
    assert len(unfetched) == 1 and unfetched[0]["severity"] == "warning"
    assert "chart 'web' ^0.1 of" in unfetched[0]["message"]
    assert "gitplane charts pull --allow-network" in unfetched[0]["message"]
    code, out, err = run("-C", str(root), "charts", "pull", "--allow-network")
    assert code == 0 and "pulled" in out and "0.1.0" in out, err
    code, out, _ = run("-C", str(root), "charts", "pull")  # offline now: found in the cache
    assert code == 0 and "cached" in out
    objs = _objects(run, root)
    assert objs[("ConfigMap", "web")]["data"] == {"replicas": "5", "chart": "0.1.0"}
    code, out, _ = run("-C", str(root), "check", "--format", "json")
    assert json.loads(out)["summary"]["notRendered"] == 0
    assert not _findings(run, root, "source-not-rendered")
    # the chart's Secret holds what its template makes: not the repository's secret
    assert not _findings(run, root, "plaintext-secret")
    app = root / "argocd/web.yaml"
    doc = yaml.safe_load(app.read_text())
    doc["spec"]["source"]["helm"]["valuesObject"]["password"] = "hunter22"
    app.write_text(yaml.safe_dump(doc))
    found = _findings(run, root, "plaintext-secret")
    assert [f["message"].split(" in plain")[0] for f in found] == ["Secret holds password"]
    del doc["spec"]["source"]["helm"]["valuesObject"]["password"]
    app.write_text(yaml.safe_dump(doc))
    # apps says which version the range resolved to
    code, out, _ = run("-C", str(root), "apps")
    assert f"web@^0.1=0.1.0 ({url})" in out
    code, out, _ = run("-C", str(root), "apps", "--format", "json")
    assert json.loads(out)[0]["sources"][0]["chartVersion"] == "0.1.0"


def test_a_chart_whose_digest_differs_from_the_index_is_refused(
        run: RunFn, tmp_path: Path, chart_repo: Any) -> None:
    url, served = chart_repo
    index = yaml.safe_load((served / "index.yaml").read_text())
    index["entries"]["web"][0]["digest"] = "0" * 64
    (served / "index.yaml").write_text(yaml.safe_dump(index))
    root = _chart_app_repo(tmp_path, url, "0.1.0")
    code, out, _ = run("-C", str(root), "charts", "pull", "--allow-network")
    assert code == 1 and "does not match the index" in out


@pytest.mark.parametrize("spec, want", [
    ("0.2.0", "0.2.0"), ("*", "0.2.0"), ("0.1.x", "0.1.0"), ("~0.1", "0.1.0"),
    ("^0.2", "0.2.0"), (">=0.1 <0.2", "0.1.0"), ("<0.1 || >=0.2", "0.2.0"), ("3.x", None)])
def test_version_ranges_resolve_as_argo_cd_resolves_them(spec: str, want: str | None) -> None:
    from gitplane.render.charts import resolve

    assert resolve(spec, ["0.1.0", "0.2.0", "0.3.0-rc.1"]) == want


def test_a_dependency_not_vendored_is_said_not_an_error(run: RunFn, tmp_path: Path) -> None:
    """Argo CD builds a chart's dependencies; gitplane renders offline and says so."""
    chart = CHART["charts/web/Chart.yaml"] + (
        "dependencies:\n  - name: redis\n    version: 1.0.0\n"
        "    repository: https://charts.example.org\n")
    root = _repo(tmp_path, {}, {"charts/web/Chart.yaml": chart})
    code, out, _ = run("-C", str(root), "--no-cache", "check", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["summary"]["errors"] == 0
    said = [f for f in data["findings"] if f["rule"] == "source-not-rendered"]
    assert said and "dependency 'redis' 1.0.0 of https://charts.example.org is neither " \
        "vendored under charts/ nor in gitplane's cache" in said[0]["message"] and \
        said[0]["line"] == 5


def test_dependencies_argo_cd_builds_come_from_the_cache_or_the_repository(
        run: RunFn, tmp_path: Path, chart_repo: Any) -> None:
    """An umbrella chart of the repository: its dependencies are what 'helm dependency
    build' would fetch (a chart repository's, from gitplane's cache) or copy (file://)."""
    url, _ = chart_repo
    chart = CHART["charts/web/Chart.yaml"] + (
        f"dependencies:\n  - name: web\n    alias: upstream\n    version: ^0.1\n"
        f"    repository: {url}\n  - name: common\n    version: 1.0.0\n"
        "    repository: file://../common\n")
    common = {"charts/common/Chart.yaml": "apiVersion: v2\nname: common\nversion: 1.0.0\n",
              "charts/common/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                                 "  name: common-{{ .Release.Name }}\n"}
    root = _repo(tmp_path, {}, {"charts/web/Chart.yaml": chart, **common})
    said = _findings(run, root, "source-not-rendered")
    assert len(said) == 1 and "dependency 'web' ^0.1" in said[0]["message"]
    code, out, _ = run("-C", str(root), "charts", "pull", "--allow-network")
    assert code == 0 and "pulled" in out and "0.1.0" in out
    code, out, err = run("-C", str(root), "--no-cache", "render")
    docs = [d for d in yaml.safe_load_all(out) if d]
    assert any(d["metadata"]["name"] == "common-web" for d in docs), err  # the file:// one
    # the cached one, under its alias (its ConfigMap has the umbrella's name: both render)
    assert any((d.get("data") or {}).get("chart") == "0.1.0" for d in docs), out
    assert not (root / "charts/web/charts").exists()  # nothing written in the repository
    assert not _findings(run, root, "source-not-rendered")


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil.txt", "web/../../evil.txt"])
def test_an_archive_member_leaving_the_chart_is_refused(tmp_path: Path, name: str) -> None:
    import io
    import tarfile

    from gitplane.errors import GitplaneError
    from gitplane.render.charts import _unpack

    archive = tmp_path / "bad.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    with pytest.raises(GitplaneError, match="leaves the chart"):
        _unpack(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


# -- kustomize's helmCharts, where the repository's Argo CD builds with --enable-helm ------
def _kustomize_repo(tmp_path: Path, kustomization: str, extra: dict[str, str] | None = None,
                    options: str = "kustomizeBuildOptions: --enable-helm\n") -> Path:
    root = tmp_path / "k"
    app = _application("web", {"repoURL": URL, "path": "app", "targetRevision": "HEAD"})
    files = {"argocd/web.yaml": app, "app/kustomization.yaml": kustomization,
             **{f"app/{k}": v for k, v in CHART.items() if k.startswith("charts/")},
             **(extra or {})}
    for rel, text in files.items():
        write(root / rel, text)
    write(root / "gitplane.yaml", f"repoURLs: [{URL}]\nroots: [argocd]\n{options}")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


HELM_CHARTS = ("helmCharts:\n- name: web\n  releaseName: site\n  namespace: apps\n"
               "  includeCRDs: true\n  valuesInline: {a: inline, b: inline}\n"
               "  additionalValuesFiles: [extra.yaml]\n")


def test_kustomize_helm_charts_render_with_helms_engine(run: RunFn, tmp_path: Path) -> None:
    root = _kustomize_repo(tmp_path, HELM_CHARTS + "commonLabels: {team: web}\n",
                           {"app/extra.yaml": "b: extra\nport: 8080\n"})
    objs = _objects(run, root)
    cm = objs[("ConfigMap", "site")]
    # the chart's defaults, valuesInline, then additionalValuesFiles (kustomize's order)
    assert cm["data"]["a"] == "inline" and cm["data"]["b"] == "extra"
    assert cm["data"]["c"] == "chart" and cm["data"]["portType"] == "float64"
    assert cm["metadata"]["labels"] == {"team": "web"}  # kustomize's transformers apply
    assert ("CustomResourceDefinition", "widgets.example.com") in objs  # includeCRDs
    assert not _findings(run, root, "source-not-rendered")
    # Helm's own render of the same inputs gives the same ConfigMap data
    with helm.Chart.load(str(root / "app/charts/web")) as chart:
        own = yaml.safe_load(chart.render(
            {"a": "inline", "b": "extra", "port": 8080},
            name="site", namespace="apps", is_install=True)["web/templates/cm.yaml"])
    # (Helm's own default Kubernetes version aside: gitplane gives the environment's)
    assert {**own["data"], "kube": ""} == {**cm["data"], "kube": ""}
    assert cm["data"]["kube"] == f"v{KUBE}.0"


def test_kustomize_helm_charts_findings(run: RunFn, tmp_path: Path) -> None:
    schema = {"app/charts/web/values.schema.json": json.dumps({
        "type": "object", "properties": {"port": {"type": "integer"}}}),
        "app/extra.yaml": "port: eighty\n"}
    root = _kustomize_repo(tmp_path, HELM_CHARTS, schema)
    found = _findings(run, root, "helm-values")
    assert len(found) == 1 and "at '/port': got string, want integer" in found[0]["message"]
    assert found[0]["file"] == "app/kustomization.yaml"
    # no releaseName: Helm (and Argo CD) make one up on each render; said, rendered stably
    root2 = _kustomize_repo(tmp_path / "2", "helmCharts:\n- name: web\n")
    said = _findings(run, root2, "source-not-rendered")
    assert len(said) == 1 and "no releaseName" in said[0]["message"]
    assert ("ConfigMap", "release-name") in _objects(run, root2)
    # a chart home outside the repository is refused before kustomize runs
    root3 = _kustomize_repo(tmp_path / "3", "helmCharts:\n- name: web\n  releaseName: x\n"
                                            "  chartHome: ../../outside\n")
    found = _findings(run, root3, "kustomize-build")
    assert any("chartHome leaves the repository" in f["message"] for f in found)
    # without --enable-helm, Argo CD fails on it too
    root4 = _kustomize_repo(tmp_path / "4", HELM_CHARTS, options="")
    found = _findings(run, root4, "kustomize-build")
    assert any("needs --enable-helm" in f["message"] for f in found)


def test_kustomize_helm_chart_of_a_repository_comes_from_the_cache_or_is_vendored(
        run: RunFn, tmp_path: Path, chart_repo: Any) -> None:
    """kustomize pulls a chart it does not find into the chart home, inside the repository:
    gitplane writes nothing there. A chart of gitplane's cache stands for it (its Helm
    command finds it there), when the kustomization names its values file; else gitplane
    says how to vendor it."""
    url, _ = chart_repo
    text = (f"helmCharts:\n- name: web\n  repo: {url}\n  version: 0.2.0\n"
            "  releaseName: site\n  valuesFile: site-values.yaml\n")
    root = _kustomize_repo(tmp_path, text, {"app/site-values.yaml": "replicas: 7\n"})
    said = _findings(run, root, "source-not-rendered")
    assert len(said) == 1 and "nor in gitplane's cache" in said[0]["message"]
    assert "--untardir app/charts/web-0.2.0" in said[0]["message"]
    code, out, _ = run("-C", str(root), "charts", "pull", "--allow-network")
    assert code == 0 and "pulled" in out and "0.2.0" in out
    objs = _objects(run, root)
    assert objs[("ConfigMap", "site")]["data"] == {"replicas": "7", "chart": "0.2.0"}
    assert not _findings(run, root, "source-not-rendered")
    assert not (root / "app/charts/web-0.2.0").exists()  # nothing written in the repository
    # without valuesFile kustomize reads the chart's values.yaml from the chart home
    (root / "app/kustomization.yaml").write_text(text.replace(
        "  valuesFile: site-values.yaml\n", ""))
    said = _findings(run, root, "source-not-rendered")
    assert len(said) == 1 and "without valuesFile" in said[0]["message"]
    # vendored where kustomize looks (chart home / name-version / name), it renders
    for rel, body in CHART.items():
        if rel.startswith("charts/web/"):
            write(root / "app/charts/web-0.2.0/web" / rel[len("charts/web/"):], body)
    assert ("ConfigMap", "site") in _objects(run, root)


# -- charts of an OCI registry, served on 127.0.0.1 by the test ---------------------------
@pytest.fixture
def oci_registry(tmp_path: Path) -> Any:
    """A read-only OCI registry (the distribution API's GET/HEAD of manifests, blobs and
    tags) holding ``charts/web`` 0.3.0 as Helm pushes it: a config blob of the chart's
    metadata and one layer, the packaged chart."""
    import hashlib
    import http.server
    import re
    import threading

    src = tmp_path / "oci-src" / "web"
    write(src / "Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.3.0\n")
    write(src / "values.yaml", "replicas: 3\n")
    write(src / "templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
          "  name: {{ .Release.Name }}\ndata:\n  replicas: {{ .Values.replicas | quote }}\n"
          "  chart: {{ .Chart.Version | quote }}\n")
    archive = Path(helm.package(str(src), destination=str(tmp_path)))
    blobs: dict[str, bytes] = {}

    def blob(data: bytes, media: str) -> dict[str, Any]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"mediaType": media, "digest": digest, "size": len(data)}

    config = json.dumps({"apiVersion": "v2", "name": "web", "version": "0.3.0"}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob(config, "application/vnd.cncf.helm.config.v1+json"),
        "layers": [blob(archive.read_bytes(),
                        "application/vnd.cncf.helm.chart.content.v1.tar+gzip")]}).encode()
    manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    seen: list[str] = []

    class Registry(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def _send(self, code: int, body: bytes, media: str, digest: str = "") -> None:
            self.send_response(code)
            self.send_header("Content-Type", media)
            self.send_header("Content-Length", str(len(body)))
            if digest:
                self.send_header("Docker-Content-Digest", digest)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            seen.append(path)
            m = re.match(r"^/v2/charts/web/(manifests|blobs)/([^/]+)$", path)
            if path.rstrip("/") == "/v2":
                self._send(200, b"{}", "application/json")
            elif m and m.group(1) == "manifests" and m.group(2) in ("0.3.0", manifest_digest):
                self._send(200, manifest, "application/vnd.oci.image.manifest.v1+json",
                           manifest_digest)
            elif m and m.group(1) == "blobs" and m.group(2) in blobs:
                self._send(200, blobs[m.group(2)], "application/octet-stream", m.group(2))
            else:
                self._send(404, b'{"errors":[{"code":"NOT_FOUND"}]}', "application/json")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}/charts", seen
    server.shutdown()


@pytest.mark.parametrize("scheme", ["oci://", ""])
def test_charts_of_an_oci_registry_are_pulled_then_rendered_offline(
        run: RunFn, tmp_path: Path, oci_registry: Any, monkeypatch: pytest.MonkeyPatch,
        scheme: str) -> None:
    """``oci://host/path`` or Argo CD's ``host/path`` with ``chart``: pulled by exact
    version through Helm's registry client (plain HTTP because the user says so), cached,
    rendered offline."""
    registry, seen = oci_registry
    root = _chart_app_repo(tmp_path, f"{scheme}{registry}", "0.3.0")
    said = _findings(run, root, "source-not-rendered")
    assert len(said) == 1 and "not in gitplane's cache" in said[0]["message"]
    monkeypatch.setenv("GITPLANE_HELM_PLAIN_HTTP", "1")
    code, out, err = run("-C", str(root), "charts", "pull", "--allow-network")
    assert code == 0 and "pulled" in out, (out, err)
    assert "/v2/charts/web/manifests/0.3.0" in seen
    objs = _objects(run, root)
    assert objs[("ConfigMap", "web")]["data"] == {"replicas": "5", "chart": "0.3.0"}
    assert not _findings(run, root, "source-not-rendered")


def test_an_oci_chart_range_is_said_not_resolved(run: RunFn, tmp_path: Path) -> None:
    root = _chart_app_repo(tmp_path, "oci://ghcr.example.com/charts", "^0.3")
    said = _findings(run, root, "source-not-rendered")
    assert len(said) == 1 and "exact version only" in said[0]["message"]
    code, out, _ = run("-C", str(root), "charts", "pull", "--allow-network")
    assert code == 1 and "version ranges of OCI charts are not resolved" in out


def test_diff_of_a_chart_version_bump_shows_the_objects_that_change(
        run: RunFn, tmp_path: Path, chart_repo: Any) -> None:
    url, _ = chart_repo
    root = _chart_app_repo(tmp_path, url, "0.1.0")
    app = root / "argocd/web.yaml"
    app.write_text(app.read_text().replace("targetRevision: 0.1.0", "targetRevision: 0.2.0"))
    code, out, _ = run("-C", str(root), "charts", "pull", "--allow-network")
    assert code == 0 and "0.2.0" in out
    git(root, "stash", "-q")
    code, out, _ = run("-C", str(root), "charts", "pull", "--allow-network")
    assert code == 0 and "0.1.0" in out
    git(root, "stash", "pop", "-q")
    code, out, err = run("-C", str(root), "diff", "HEAD", "-o", "json")
    changes = {(c["resource"], c["change"]) for c in json.loads(out)["changes"]}
    assert ("/v1/ConfigMap/web/web", "modified") in changes, (out, err)
    code, out, _ = run("-C", str(root), "diff", "HEAD")
    assert '-  chart: "0.1.0"' in out or "-  chart: 0.1.0" in out, out


@pytest.mark.parametrize("dependency", [
    "  - name: ../../escape\n    version: 1.0.0\n    repository: file://../common\n",
    "  - name: common\n    version: 1.0.0\n    repository: file://../../../outside\n",
    "  - name: common\n    version: 1.0.0\n    repository: file://../linked\n"])
def test_a_dependency_cannot_reach_outside_the_repository(run: RunFn, tmp_path: Path,
                                                         dependency: str) -> None:
    write(tmp_path / "outside/Chart.yaml", "apiVersion: v2\nname: common\nversion: 1.0.0\n")
    write(tmp_path / "outside/templates/stolen.yaml",
          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stolen}\n")
    chart = CHART["charts/web/Chart.yaml"] + "dependencies:\n" + dependency
    root = _repo(tmp_path, {}, {"charts/web/Chart.yaml": chart,
                                "charts/common/Chart.yaml":
                                    "apiVersion: v2\nname: common\nversion: 1.0.0\n"})
    (root / "charts/linked").symlink_to(tmp_path / "outside")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "link")
    said = _findings(run, root, "source-not-rendered")
    assert said and all("not rendered" in f["message"] for f in said)
    code, out, _ = run("-C", str(root), "--no-cache", "render")
    assert "stolen" not in out


def test_upgrade_of_a_chart_shows_its_rendered_difference(
        run: RunFn, tmp_path: Path, chart_repo: Any) -> None:
    """gitplane upgrade in a repository of another layout (no versions file): the newest
    version the cached index knows, the Application's pin edited, the chart's objects that
    change rendered from the cache."""
    url, _ = chart_repo
    root = _chart_app_repo(tmp_path, url, "0.1.0")
    app = root / "argocd/web.yaml"
    code, out, err = run("-C", str(root), "upgrade", "web")
    assert code == 2 and "give --to VERSION" in err  # no index cached: nothing known offline
    app.write_text(app.read_text().replace("targetRevision: 0.1.0", "targetRevision: 0.2.0"))
    assert run("-C", str(root), "charts", "pull", "--allow-network")[0] == 0
    git(root, "checkout", "-q", "--", ".")
    assert run("-C", str(root), "charts", "pull", "--allow-network")[0] == 0
    code, out, _ = run("-C", str(root), "upgrade", "-o", "json")
    assert json.loads(out) == [{"chart": "web", "repoURL": url, "pinned": ["0.1.0"],
                                "versionsFile": None, "newest": "0.2.0",
                                "applications": ["web"]}]
    before = app.read_text()
    code, out, err = run("-C", str(root), "upgrade", "web", "-o", "json", "--commit")
    assert code == 0, err
    data = json.loads(out)
    assert data["from"] == "0.1.0" and data["to"] == "0.2.0" and data["rendered"]
    assert ("/v1/ConfigMap/web/web", "modified") in {
        (c["resource"], c["change"]) for c in data["effect"]["intended"]}
    assert data["effect"]["collateral"] == []
    changed = [ln for ln in difflib.unified_diff(before.splitlines(),
                                                  app.read_text().splitlines(), n=0,
                                                  lineterm="")
               if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert changed == ["-    targetRevision: 0.1.0", "+    targetRevision: 0.2.0"]
    assert "Gitplane-Upgraded: web 0.1.0 → 0.2.0" in git(root, "log", "-1", "--format=%B")
