"""Each rule with a failing and a passing example, on the reference platform."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import SHARED, RunFn
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
    _edit(platform, WEB, "image: nginxinc/nginx-unprivileged:1.27.3", "image: nginx:latest")
    found = _findings(run, platform, "image-tag-mutable")
    assert {f["environment"] for f in found} == {"staging", "production"}
    assert all(f["file"] == WEB and f["line"] == 23 and f["application"] == "web-app" and
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
    # The kinds of every pinned component are known: validated against their releases' CRDs
    assert _findings(run, platform, "schema-unknown-kind") == []
    _add_manifest(platform, "widget.yaml", "apiVersion: example.com/v1\nkind: Widget\n"
                  "metadata: {name: w, namespace: applications}\n")
    found = _findings(run, platform, "schema-unknown-kind")
    kinds = {re.match(r"no schema for \S+ (\w+)", f["message"]).group(1)  # type: ignore
             for f in found}
    assert kinds == {"Widget"}
    assert all(f["severity"] == "warning" for f in found)


@pytest.mark.parametrize("rel, old, new, says", [
    ("deployments/domains/workloads/apps/ml-pipeline/base/manifests/training-operator.yaml",
     "      replicas: 1\n", "      replicas: one\n", "is not of type"),
    ("deployments/domains/infrastructure/apps/security/base/cert-manager/manifests/"
     "cluster-issuer.yaml", "    privateKeySecretRef:", "    privateKeySecret:", "privateKey"),
    ("deployments/domains/infrastructure/apps/observability/base/prometheus/manifests/"
     "alerts.yaml", "      rules:\n", "      rulez:\n", "unexpected"),
])
def test_bundled_crd_schemas(run: RunFn, platform: Path, rel: str, old: str, new: str,
                             says: str) -> None:
    """Custom resources of the pinned components are validated offline, without
    configuration, from the CRDs gitplane ships."""
    text = (platform / rel).read_text()
    (platform / rel).write_text(text.replace(old, new, 1))
    found = _findings(run, platform, "schema")
    assert found and all(f["file"] == rel and says in f["message"] for f in found), found


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
        assert rid == mod.ID and mod.SEVERITY in ("error", "warning", "info")
        assert "Failing" in doc and "Passing" in doc, rid


def test_source_not_rendered(run: RunFn, platform: Path) -> None:
    # the reference platform's charts of Helm repositories are not cached here (no network)
    assert {f["message"].split(": ", 1)[1].split(" ", 2)[1]
            for f in _findings(run, platform, "source-not-rendered")} == {
        "'argo-cd'", "'traefik'", "'cert-manager'", "'sealed-secrets'", "'grafana'", "'loki'",
        "'kube-prometheus-stack'", "'opentelemetry-operator'", "'spark-operator'", "'velero'"}
    _edit(platform, "deployments/bootstrap/platform-apps/base/applications.yaml",
          "        targetRevision: HEAD\n",
          "        targetRevision: v1.0.0\n        kustomize:\n          namePrefix: x-\n"
          "          commonAnnotationsEnvsubst: true\n")
    # A revision not in this clone is not rendered, and said so (it may exist upstream).
    unresolved = _findings(run, platform, "source-not-rendered")
    assert any("targetRevision 'v1.0.0' is not in this clone" in f["message"]
               for f in unresolved)
    assert not _findings(run, platform, "argocd-path-missing")
    _edit(platform, "deployments/bootstrap/platform-apps/base/applications.yaml",
          "targetRevision: v1.0.0", "targetRevision: HEAD")
    found = _findings(run, platform, "source-not-rendered")
    web = [f for f in found if f["application"] == "web-app" and f["environment"] == "staging"]
    assert len(web) == 1
    assert "kustomize settings commonAnnotationsEnvsubst" in web[0]["message"]
    code, out, _ = run("-C", str(platform), "render", "--env", "staging", "--app", "web-app")
    assert "name: x-web-app" in out  # the Application's namePrefix is applied
    # An explicit kustomize: section makes the source kustomize (Argo CD's ExplicitType);
    # without it, a folder holding Chart.yaml is a Helm chart.
    _edit(platform, "deployments/bootstrap/platform-apps/base/applications.yaml",
          "        kustomize:\n          namePrefix: x-\n"
          "          commonAnnotationsEnvsubst: true\n", "")
    chart = platform / "deployments/domains/applications/apps/web-app/environments/staging"
    for f in chart.iterdir():
        f.unlink()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n")
    (chart / "templates").mkdir()
    (chart / "templates/cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\n")
    # rendered by the Helm engine (helm-python-sdk), release named after the Application
    assert not [f for f in _findings(run, platform, "source-not-rendered")
                if f["application"] == "web-app" and f["environment"] == "staging"]
    code, out, _ = run("-C", str(platform), "render", "--env", "staging", "--app", "web-app")
    assert code == 0 and "name: web-app-cm" in out


APPSETS = "deployments/bootstrap/platform-apps/base/applications.yaml"
PROJECTS = "deployments/bootstrap/argocd/base/projects.yaml"


def test_argocd_project(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "argocd-project") == []
    _edit(platform, APPSETS, "namespace: applications\n      syncPolicy",
          "namespace: payments\n      syncPolicy")
    found = _findings(run, platform, "argocd-project")
    assert {(f["environment"], f["application"]) for f in found} == {
        ("staging", "web-app"), ("production", "web-app")}
    assert all("does not permit destination" in f["message"] and f["file"] == APPSETS
               for f in found)
    _edit(platform, APPSETS, "      project: applications", "      project: nope")
    found = _findings(run, platform, "argocd-project")
    assert all("project 'nope' is not defined" in f["message"] for f in found)


def test_argocd_project_source_repos(run: RunFn, platform: Path) -> None:
    _edit(platform, PROJECTS, "  sourceRepos:\n    - https://github.com/your-org/your-repo.git\n"
          "  destinations:\n    - server: https://kubernetes.default.svc\n"
          "      namespace: applications",
          "  sourceRepos:\n    - https://github.com/other/repo.git\n"
          "  destinations:\n    - server: https://kubernetes.default.svc\n"
          "      namespace: applications")
    found = _findings(run, platform, "argocd-project")
    assert found and all("does not permit source repository" in f["message"] for f in found)


def test_argocd_destination(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "argocd-destination") == []
    _edit(platform, APPSETS, "        server: https://kubernetes.default.svc\n        namespace: "
          "applications", "        name: prod-eu\n        namespace: applications")
    found = _findings(run, platform, "argocd-destination")
    assert {f["application"] for f in found} == {"web-app"}
    assert all("'prod-eu' is not in this environment's cluster inventory" in f["message"]
               for f in found)
    inv = platform / "deployments/environments/staging/clusters.yaml"
    inv.write_text(inv.read_text() + "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: eu\n"
                   "  labels: {argocd.argoproj.io/secret-type: cluster}\n"
                   "stringData: {name: prod-eu, server: https://eu.example.com}\n")
    found = _findings(run, platform, "argocd-destination")
    assert {f["environment"] for f in found} == {"production"}


def test_argocd_destination_namespace_never_created(run: RunFn, platform: Path) -> None:
    ns = platform / "deployments/environments/staging/platform-config/namespaces.yaml"
    ns.write_text(ns.read_text().split("---\n")[1])  # the applications namespace goes
    found = _findings(run, platform, "argocd-destination")
    assert found and all(f["severity"] == "warning" and f["application"] == "web-app"
                         and "namespace 'applications' is not created" in f["message"]
                         for f in found)
    # A source of another repository may make its own namespace: not judged
    assert "CreateNamespace" not in (platform / "deployments/domains/workloads/apps/"
                                     "ml-pipeline/base/manifests/operator.yaml").read_text()


@pytest.mark.parametrize("rev, chart, bad", [
    ("HEAD", False, True), ("", False, True), ("main", False, True), ("v1.9.2", False, False),
    ("*", True, True), ("^1.2.0", True, True), ("1.x", True, True), (">=1.0 <2", True, True),
    ("4.12.1", True, False), ("a" * 40, False, False),
])
def test_unpinned_revisions(rev: str, chart: bool, bad: bool) -> None:
    from gitplane.checks.argocd_unpinned import moving

    assert moving(rev, chart) == bad


def test_argocd_unpinned(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "argocd-unpinned") == []
    _edit(platform, "deployments/domains/infrastructure/apps/security/base/cert-manager/"
          "manifests/controller.yaml", "targetRevision: v1.21.1", "targetRevision: '*'")
    found = _findings(run, platform, "argocd-unpinned")
    assert {(f["environment"], f["application"]) for f in found} == {
        ("staging", "cert-manager"), ("production", "cert-manager")}


OVERLAY = "deployments/domains/applications/apps/web-app/environments/staging/kustomization.yaml"
BASE_K = "deployments/domains/applications/apps/web-app/base/kustomization.yaml"


def _add_manifest(platform: Path, name: str, text: str) -> str:
    rel = f"deployments/domains/applications/apps/web-app/base/manifests/{name}"
    (platform / rel).write_text(text)
    k = platform / BASE_K
    if f"  - manifests/{name}\n" not in k.read_text():
        k.write_text(k.read_text() + f"  - manifests/{name}\n")
    return rel


def test_resources_and_probes_missing(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "resources-missing") == []
    assert _findings(run, platform, "probes-missing") == []
    text = (platform / WEB).read_text()
    start, end = text.index("          resources:"), text.index("          readinessProbe:")
    (platform / WEB).write_text(text[:start] + text[end:].split("          livenessProbe:")[0])
    res = _findings(run, platform, "resources-missing")
    assert res and all("has no requests.cpu, requests.memory, limits.cpu, limits.memory" in
                       f["message"] and f["file"] == WEB for f in res)
    probes = _findings(run, platform, "probes-missing")
    assert probes and all("has no livenessProbe" in f["message"] for f in probes)


def test_security_context(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "security-context") == []
    _edit(platform, WEB, "      securityContext:\n        runAsNonRoot: true\n",
          "      hostNetwork: true\n      securityContext:\n        runAsNonRoot: false\n")
    _edit(platform, WEB, "            allowPrivilegeEscalation: false\n",
          "            privileged: true\n")
    found = [f for f in _findings(run, platform, "security-context")
             if f["environment"] == "staging"]
    errors = sorted(f["message"] for f in found if f["severity"] == "error")
    warnings = sorted(f["message"] for f in found if f["severity"] == "warning")
    rejected = "; the namespace enforces Pod Security 'restricted', so the pod is rejected"
    assert errors == [f"container 'web-app' is privileged{rejected}",
                      f"hostNetwork: true shares the node's namespace{rejected}"]
    assert len(warnings) == 2


def test_plaintext_secret(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "plaintext-secret") == []
    _add_manifest(platform, "secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n"
                  "  name: db\n  namespace: applications\nstringData:\n  password: hunter2\n")
    _add_manifest(platform, "list.yaml", "apiVersion: v1\nkind: List\nitems:\n"
                  "  - apiVersion: v1\n    kind: Secret\n    metadata: {name: x, namespace: a}\n"
                  "    data: {k: dg==}\n")
    _add_manifest(platform, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                  "  name: c\n  namespace: applications\n  annotations:\n"
                  "    kubectl.kubernetes.io/last-applied-configuration: '{\"apiVersion\":\"v1\","
                  "\"kind\":\"Secret\",\"data\":{\"k\":\"dg==\"}}'\n")
    found = [f for f in _findings(run, platform, "plaintext-secret")
             if f["environment"] == "staging"]
    msgs = " | ".join(f["message"] for f in found)
    assert len(found) == 3, msgs
    assert "Secret holds password in plain text" in msgs
    assert "last-applied-configuration" in msgs
    assert "hunter2" not in msgs


def test_sealed_secret_scope(run: RunFn, platform: Path) -> None:
    sealed = ("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db\n"
              "  namespace: applications\n{ann}spec:\n  encryptedData:\n    password: AgB3xyz\n")
    _add_manifest(platform, "sealed.yaml", sealed.format(ann=""))
    assert _findings(run, platform, "sealed-secret-scope") == []
    k = platform / OVERLAY
    k.write_text(k.read_text() + "namePrefix: prod-\n")
    found = _findings(run, platform, "sealed-secret-scope")
    assert [f["environment"] for f in found] == ["staging"]
    assert "rendered applications/prod-db ≠ sealed applications/db (strict scope)" in \
        found[0]["message"]
    _add_manifest(platform, "sealed.yaml", sealed.format(
        ann="  annotations:\n    sealedsecrets.bitnami.com/namespace-wide: \"true\"\n"))
    assert _findings(run, platform, "sealed-secret-scope") == []
    assert not [f for f in _findings(run, platform, "kustomize-build")]


def test_deprecated_api(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "deprecated-api") == []
    rel = _add_manifest(platform, "cron.yaml", "apiVersion: batch/v1beta1\nkind: CronJob\n"
                        "metadata:\n  name: c\n  namespace: applications\nspec:\n"
                        "  schedule: '* * * * *'\n  jobTemplate: {spec: {template: {spec: "
                        "{containers: []}}}}\n")
    found = _findings(run, platform, "deprecated-api")
    assert found and all(f["file"] == rel and f["line"] == 1 and
                         "removed in Kubernetes 1.25; use batch/v1" in f["message"] for f in found)


def test_kustomize_deprecated(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "kustomize-deprecated") == []
    k = platform / OVERLAY
    k.write_text(k.read_text().replace("resources:", "bases:") + "commonLabels: {team: web}\n")
    found = [f for f in _findings(run, platform, "kustomize-deprecated")
             if f["environment"] == "staging"]
    assert sorted((f["line"], f["message"]) for f in found) == [
        (3, "'bases' is deprecated; use 'resources'"),
        (6, "'commonLabels' is deprecated; use 'labels'")]


CATALOG = SHARED / "schemas" / "crds-catalog"


@pytest.mark.skipif(not CATALOG.is_dir(), reason=f"CRD schema catalog not found at {CATALOG}")
def test_schema_location(run: RunFn, platform: Path) -> None:
    code, out, _ = run("-C", str(platform), "check", "--format", "json",
                       "--schema-location", str(CATALOG))
    data = json.loads(out)
    assert code == 0 and data["summary"]["errors"] == 0
    unknown = {re.match(r"no schema for \S+ (\w+)", f["message"]).group(1)  # type: ignore
               for f in data["findings"] if f["rule"] == "schema-unknown-kind"}
    assert unknown == set()  # the bundled schemas know every kind of the platform
    # A location in gitplane.yaml is a folder of the repository (one outside is refused:
    # a repository's settings never read outside it).
    shutil.copytree(CATALOG / "cert-manager.io", platform / "schemas/cert-manager.io")
    (platform / "gitplane.yaml").write_text((platform / "gitplane.yaml").read_text() +
                                            "schemaLocations: [schemas]\n")
    _edit(platform, "deployments/domains/infrastructure/apps/security/base/cert-manager/"
          "manifests/cluster-issuer.yaml", "spec:\n", "spec:\n  acmee: {}\n")
    found = _findings(run, platform, "schema")
    assert found and all("'acmee' was unexpected" in f["message"] and
                         f["file"].endswith("cert-manager/manifests/cluster-issuer.yaml")
                         for f in found)
    (platform / "gitplane.yaml").write_text((platform / "gitplane.yaml").read_text().replace(
        "schemaLocations: [schemas]", f"schemaLocations: [{CATALOG}]"))
    code, _, err = run("-C", str(platform), "check")
    assert code == 2 and "leaves the repository" in err


CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {x-kubernetes-int-or-string: true}
                note: {type: string, nullable: true}
                extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""


def test_crd_schemas_from_rendered_output(run: RunFn, platform: Path) -> None:
    _add_manifest(platform, "crd.yaml", CRD)
    _add_manifest(platform, "widget.yaml", "apiVersion: example.com/v1\nkind: Widget\n"
                  "metadata: {name: w, namespace: applications}\n"
                  "spec: {size: 3, note: null, extra: {anything: [1]}}\n---\n"
                  "apiVersion: example.com/v1\nkind: Widget\n"
                  "metadata: {name: v, namespace: applications}\n"
                  "spec: {size: '50%', colour: red}\n")
    found = [f for f in _findings(run, platform, "schema") if f["environment"] == "staging"]
    assert len(found) == 1
    assert "'colour' was unexpected" in found[0]["message"]
    assert found[0]["resource"] == "example.com/v1/Widget/applications/v"
    assert not [f for f in _findings(run, platform, "schema-unknown-kind")
                if "Widget" in f["message"]]


def test_kubernetes_version(run: RunFn, platform: Path) -> None:
    assert run("-C", str(platform), "check", "--kubernetes-version", "1.25")[0] == 0
    code, _, err = run("-C", str(platform), "check", "--kubernetes-version", "1.20")
    assert code == 2 and "1.25 to 1.37" in err
    (platform / "gitplane.yaml").write_text((platform / "gitplane.yaml").read_text() +
                                            "schemaLocations: ['https://example.com/{group}.json']\n")
    code, _, err = run("-C", str(platform), "check")
    assert code == 2 and "allowNetwork: true" in err


def test_reference_missing(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "reference-missing") == []
    _edit(platform, WEB, "          resources:\n",
          "          envFrom:\n            - configMapRef: {name: web-config}\n"
          "            - secretRef: {name: db}\n            - secretRef: {name: opt, "
          "optional: true}\n          resources:\n")
    found = [f for f in _findings(run, platform, "reference-missing")
             if f["environment"] == "staging"]
    assert sorted(f["message"] for f in found) == [
        "ConfigMap 'web-config' does not exist in namespace 'applications' in this environment",
        "Secret 'db' does not exist in namespace 'applications' in this environment"]
    # A generator-made ConfigMap (hash suffix) and a SealedSecret satisfy them.
    k = platform / BASE_K
    k.write_text(k.read_text() + "configMapGenerator:\n  - name: web-config\n"
                 "    namespace: applications\n    literals: [A=1]\n")
    _add_manifest(platform, "sealed.yaml", "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n"
                  "metadata: {name: db, namespace: applications}\n"
                  "spec: {encryptedData: {p: AgBx}}\n")
    assert _findings(run, platform, "reference-missing") == []


def test_service_selector_and_ingress(run: RunFn, platform: Path) -> None:
    for rule in ("service-selector", "ingress-backend", "ingress-class", "issuer-missing"):
        assert _findings(run, platform, rule) == []
    _add_manifest(platform, "ingress.yaml", """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: applications
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt
spec:
  ingressClassName: contour
  rules:
    - host: web.acme.io
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service: {name: web-app, port: {number: 8080}}
          - path: /api
            pathType: Prefix
            backend:
              service: {name: api, port: {name: http}}
""")
    _edit(platform, "deployments/domains/applications/apps/web-app/base/manifests/service.yaml",
          "  selector:\n    app: web-app\n", "  selector:\n    app: web\n")

    def msgs(rule: str) -> list[str]:
        return sorted(f["message"] for f in _findings(run, platform, rule)
                      if f["environment"] == "staging")

    assert msgs("service-selector") == [
        "selector app=web matches no pod template in namespace 'applications'"]
    assert msgs("ingress-backend") == [
        "Service 'web-app' has no port 8080",
        "backend Service 'api' does not exist in namespace 'applications'"]
    assert len(msgs("ingress-class")) == 1 and "IngressClass 'contour'" in msgs("ingress-class")[0]
    assert msgs("issuer-missing") == ["ClusterIssuer 'letsencrypt' does not exist in this "
                                      "environment"]


def test_duplicate_resource(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "duplicate-resource") == []
    _add_manifest(platform, "dup.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                  "  name: environment-config\n  namespace: applications\ndata: {ENV: x}\n")
    found = [f for f in _findings(run, platform, "duplicate-resource")
             if f["environment"] == "staging"]
    assert sorted((f["application"], f["message"]) for f in found) == [
        ("platform-config", "also deployed by web-app"),
        ("web-app", "also deployed by platform-config")]


def test_crd_order(run: RunFn, platform: Path) -> None:
    net = "deployments/domains/infrastructure/apps/networking/base"
    (platform / net / "crd.yaml").write_text(CRD)
    k = platform / net / "kustomization.yaml"
    k.write_text(k.read_text() + "  - crd.yaml\n")
    rel = _add_manifest(platform, "widget.yaml", "apiVersion: example.com/v1\nkind: Widget\n"
                        "metadata: {name: w, namespace: applications}\nspec: {size: 1}\n")
    # the reference platform's Applications retry a failed sync: the Widget's first sync
    # fails, the retry succeeds once the CRD exists; it converges
    assert _findings(run, platform, "crd-order") == []
    appset = platform / "deployments/bootstrap/platform-apps/base/applications.yaml"
    text = appset.read_text()
    appset.write_text(re.sub(r"(?m)^ *# Argo CD never tries.*\n *retry:\n(?: {10,}.*\n)+", "",
                             text))
    assert "retry:" not in appset.read_text()
    found = [f for f in _findings(run, platform, "crd-order") if f["environment"] == "staging"]
    assert len(found) == 1 and found[0]["file"] == rel and "'networking'" in found[0]["message"]
    _add_manifest(platform, "widget.yaml", "apiVersion: example.com/v1\nkind: Widget\n"
                  "metadata:\n  name: w\n  namespace: applications\n  annotations:\n"
                  "    argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true\n"
                  "spec: {size: 1}\n")
    assert _findings(run, platform, "crd-order") == []
    assert not [f for f in _findings(run, platform, "kustomize-build")]


@pytest.mark.parametrize("text, value", [
    ("100m", 0.1), ("2", 2.0), ("1.5", 1.5), ("128Mi", 128 * 2 ** 20), ("1Gi", 2 ** 30),
    ("1G", 1e9), ("1e3", 1000.0), (3, 3.0), ("x", None),
])
def test_quantity(text: object, value: object) -> None:
    from gitplane.checks.quota_exceeded import quantity

    assert quantity(text) == value


def test_quota_exceeded(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "quota-exceeded") == []
    prod = "deployments/domains/applications/apps/web-app/environments/production/kustomization.yaml"
    _edit(platform, prod, "value: 3", "value: 20")
    found = _findings(run, platform, "quota-exceeded")
    assert [(f["environment"], f["application"]) for f in found] == [
        ("production", "platform-config")]
    assert found[0]["message"] == ("limits.cpu: workloads in namespace 'applications' need 10, "
                                   "the quota allows 8 (web-app 20×500m)")
    assert all(f["file"].endswith("platform-config/limits.yaml") for f in found)
    # A container without requests in a quota'd namespace, then a LimitRange default.
    _edit(platform, prod, "value: 20", "value: 3")
    text = (platform / WEB).read_text()
    start, end = text.index("          resources:"), text.index("          readinessProbe:")
    (platform / WEB).write_text(text[:start] + text[end:])
    found = _findings(run, platform, "quota-exceeded")
    assert {f["application"] for f in found} == {"web-app"}
    assert all("sets no" in f["message"] and "no LimitRange default" in f["message"]
               for f in found)
    lr = platform / "deployments/environments/production/platform-config/limitrange.yaml"
    lr.write_text("apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: defaults\n"
                  "  namespace: applications\nspec:\n  limits:\n    - type: Container\n"
                  "      default: {cpu: 500m, memory: 256Mi}\n"
                  "      defaultRequest: {cpu: 100m, memory: 128Mi}\n")
    k = platform / "deployments/environments/production/platform-config/kustomization.yaml"
    k.write_text(k.read_text() + "  - limitrange.yaml\n")
    found = _findings(run, platform, "quota-exceeded")
    assert {f["environment"] for f in found} == {"staging"}  # production has the defaults


def test_env_missing_overlay_and_config_drift(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "env-missing-overlay") == []
    assert _findings(run, platform, "env-config-drift") == []
    _edit(platform, "deployments/environments/staging/platform-config/env-config.yaml",
          "  LOG_LEVEL: debug\n", "  LOG_LEVEL: debug\n  FEATURE_X: \"on\"\n")
    found = _findings(run, platform, "env-config-drift")
    assert [(f["environment"], f["message"]) for f in found] == [
        ("production", "ConfigMap applications/environment-config lacks FEATURE_X that "
                       "staging has")]
    import shutil

    shutil.rmtree(platform / "deployments/domains/workloads/apps/ml-pipeline/environments/"
                  "production")
    found = _findings(run, platform, "env-missing-overlay")
    assert [(f["environment"], f["application"]) for f in found] == [
        ("production", "ml-pipeline"), ("production", "training-operator")]
    assert found[0]["file"] == \
        "deployments/domains/workloads/apps/ml-pipeline/environments/production"


def test_yaml_ambiguous(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "yaml-ambiguous") == []
    rel = _add_manifest(platform, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                        "  name: c\n  namespace: applications\ndata:\n  COUNTRY: NO\n"
                        "  QUOTED: \"on\"\n  TIME: 1:20\n  MODE: 0755\n  1: one\n")
    found = sorted({(f["line"], f["message"].split(";")[0]) for f in
                    _findings(run, platform, "yaml-ambiguous") if f["file"] == rel})
    # In a kustomize source `NO` reaches the API server quoted (kyaml writes it so), and a
    # leading-zero octal is octal for every reader on Argo CD's path: neither is reported.
    assert found == [
        (9, "unquoted '1:20' is the number 80 in YAML 1.1 and a string in YAML 1.2"),
        (11, "key '1' is not a string (YAML reads it as int)")]


def test_argocd_invalid(run: RunFn, platform: Path) -> None:
    assert _findings(run, platform, "argocd-invalid") == []
    extra = platform / "deployments/bootstrap/argocd/base/broken.yaml"
    extra.write_text("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n"
                     "  name: broken\n  namespace: argocd\nspec:\n  project: default\n")
    k = platform / "deployments/bootstrap/argocd/base/kustomization.yaml"
    k.write_text(k.read_text() + "  - broken.yaml\n")
    found = _findings(run, platform, "argocd-invalid")
    assert {(f["environment"], f["application"], f["file"]) for f in found} == {
        ("staging", "broken", "deployments/bootstrap/argocd/base/broken.yaml"),
        ("production", "broken", "deployments/bootstrap/argocd/base/broken.yaml")}
    assert all("spec.source or spec.sources is required" in f["message"] for f in found)


def test_malformed_objects_never_crash(platform: Path) -> None:
    """Objects kustomize would refuse, put straight into the rendered output: every rule
    still finishes (bad shapes are the schema rule's to report)."""
    import yaml as _yaml

    from gitplane import api, checks
    from gitplane.model import Resource

    weird = list(_yaml.safe_load_all("""apiVersion: apps/v1
kind: Deployment
metadata: {name: weird, namespace: applications}
spec:
  replicas: many
  selector: {matchLabels: {app: weird}}
  template:
    metadata: {labels: {app: weird}}
    spec:
      securityContext: nope
      volumes: [{configMap: x}, 3]
      containers:
        - name: a
          image: x:1
          resources: [1, 2]
          securityContext: [true]
          envFrom: [7]
          env: [{valueFrom: 3}]
        - just-a-string
---
apiVersion: v1
kind: Service
metadata: {name: weird, namespace: applications}
spec: {selector: [1], ports: oops}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: weird, namespace: applications, annotations: [1]}
spec: {rules: [{http: {paths: [{backend: {service: {name: web-app, port: 7}}}]}}]}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: q, namespace: applications}
spec: {hard: [1]}
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: s, namespace: applications}
spec: {template: 5}
"""))
    p = api.load(platform, env="staging")
    [web] = [a for a in p.envs[0].apps if a.app.name == "web-app"]
    web.resources.extend(Resource(o, "weird.yaml", 1) for o in weird)
    result = checks.run(p)
    broken = [f.message for f in result.findings if "could not finish" in f.message]
    assert broken == []
    assert any(f.rule == "schema" for f in result.findings)


OBS = "deployments/domains/infrastructure/apps/observability/base/kustomization.yaml"
SEC = "deployments/domains/infrastructure/apps/security/base/cert-manager/manifests/"


@pytest.mark.parametrize("rel, old, new, rule, says", [
    # the namespace the observability Application's own objects need, made only by children
    (OBS, "  - namespace.yaml\n", "", "namespace-missing", "created only by"),
    # a team folder reaching out of its project
    (BASE_K, "  - manifests/service.yaml\n",
     "  - manifests/service.yaml\n  - manifests/role.yaml\n", "argocd-project",
     "allows no cluster-scoped kinds"),
    # an automated sync without retry
    (SEC + "controller.yaml", "    retry:\n      limit: 5\n", "    retryy:\n      limit: 5\n",
     "argocd-sync-retry", "retry"),
    # the ACME e-mail left at its placeholder
    (SEC + "cluster-issuer.yaml", "email: admin@example.com", "email: admin@example.com",
     "placeholder-value", "admin@example.com"),
    # a namespace without Pod Security labels
    ("deployments/environments/staging/platform-config/namespaces.yaml",
     "    pod-security.kubernetes.io/enforce: restricted\n", "", "pod-security-labels",
     "enforce"),
])
def test_planted_defects_in_the_reference_platform(run: RunFn, platform: Path, rel: str,
                                                   old: str, new: str, rule: str,
                                                   says: str) -> None:
    (platform / "deployments/domains/applications/apps/web-app/base/manifests/role.yaml"
     ).write_text("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
                  "metadata: {name: web-admin}\nrules: []\n")
    if old != new:
        assert _findings(run, platform, rule) == [] or rule == "placeholder-value"
        _edit(platform, rel, old, new)
    found = _findings(run, platform, rule)
    assert found and any(says in f["message"] for f in found), found
