"""Correct manifests of real-world shapes (operators, CRDs, other tools' conventions) get no
error-level finding; the defect next to each still does. Each repository is small and written
for the test, in the shape the rule was seen to misjudge."""
from __future__ import annotations

import base64
import json
from pathlib import Path

from conftest import RunFn, git, write
from gitplane.checks.context import counterpart_key, without_env

URL = "https://example.com/acme/gitops.git"


def _app(name: str, path: str, namespace: str = "web", server: str =
         "https://kubernetes.default.svc", extra: str = "") -> str:
    return (f"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n"
            f"  namespace: argocd\nspec:\n  project: default\n  source:\n"
            f"    repoURL: {URL}\n    path: {path}\n    targetRevision: HEAD\n"
            f"  destination:\n    server: {server}\n    namespace: {namespace}\n"
            f"  syncPolicy:\n    syncOptions: [CreateNamespace=true]\n{extra}")


def check(tmp_path: Path, run: RunFn, files: dict[str, str]) -> list[dict[str, object]]:
    root = tmp_path / "r"
    for rel, text in files.items():
        write(root / rel, text)
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", URL)
    code, out, err = run("-C", str(root), "check", "-o", "json")
    assert code in (0, 1), err
    found: list[dict[str, object]] = json.loads(out)["findings"]
    return found


def rules(found: list[dict[str, object]], rule: str) -> list[tuple[object, object]]:
    return [(f["severity"], f["resource"]) for f in found if f["rule"] == rule]


POD = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: web}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: c
          image: {image}
          envFrom: [{{secretRef: {{name: {secret}}}}}]
"""


def test_secrets_made_by_operators(tmp_path: Path, run: RunFn) -> None:
    objs = "\n---\n".join([
        POD.format(name="a", image="nginx:1.27.3", secret="from-eso"),
        POD.format(name="b", image="nginx:1.27.3", secret="eso-default-name"),
        POD.format(name="c", image="nginx:1.27.3", secret="tls-web"),
        POD.format(name="d", image="nginx:1.27.3", secret="pg-app"),
        POD.format(name="e", image="nginx:1.27.3", secret="serving-cert"),
        POD.format(name="f", image="nginx:1.27.3", secret="everywhere"),
        POD.format(name="g", image="nginx:1.27.3", secret="nobody-makes-this"),
        """apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: eso, namespace: web}
spec: {target: {name: from-eso}}""",
        """apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: eso-default-name, namespace: web}
spec: {secretStoreRef: {name: vault}}""",
        """apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web, namespace: web}
spec: {secretName: tls-web, dnsNames: [web.example.com], issuerRef: {name: x}}""",
        """apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: pg, namespace: web}
spec: {instances: 1}""",
        """apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: web
  annotations: {service.beta.openshift.io/serving-cert-secret-name: serving-cert}
spec: {selector: {app: a}, ports: [{port: 80}]}""",
        """apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata: {name: everywhere}
spec: {externalSecretSpec: {secretStoreRef: {name: vault}}}"""])
    found = check(tmp_path, run, {"boot/web.yaml": _app("web", "m"), "m/objs.yaml": objs})
    assert rules(found, "reference-missing") == [
        ("error", "apps/v1/Deployment/web/g")]  # the one Secret nothing makes


def test_scope_of_objects_without_namespace(tmp_path: Path, run: RunFn) -> None:
    objs = """apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gw}
spec: {controllerName: example.com/gw}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {name: kargo-demo}
---
apiVersion: example.com/v1
kind: Unknown
metadata: {name: u}
"""
    files = {"boot/cluster.yaml": _app("cluster", "m", namespace="").replace(
        "    namespace: \n", ""), "m/objs.yaml": objs,
        # Argo CD's own namespace exists on the in-cluster destination
        "boot/self.yaml": _app("self", "n", namespace="argocd").replace(
            "  syncPolicy:\n    syncOptions: [CreateNamespace=true]\n", ""),
        "n/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n"}
    found = check(tmp_path, run, files)
    assert rules(found, "argocd-destination") == []
    files["m/objs.yaml"] = objs + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    found = check(tmp_path / "2", run, files)
    assert [m for f in found if f["rule"] == "argocd-destination"
            for m in [f["message"]]] == ["ConfigMap 'c' has no namespace and the destination "
                                         "sets none"]


CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"""


def test_crd_order_only_on_the_same_cluster(tmp_path: Path, run: RunFn) -> None:
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: web}\n"
    files = {"boot/crds.yaml": _app("crds", "crds", server="https://a.example.com"),
             "boot/widgets.yaml": _app("widgets", "w"),
             "crds/crd.yaml": CRD, "w/w.yaml": widget,
             "clusters.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n"
                              "  labels: {argocd.argoproj.io/secret-type: cluster}\n"
                              "stringData: {name: a, server: 'https://a.example.com'}\n",
             "gitplane.yaml": "clusters: clusters.yaml\n"}
    assert rules(check(tmp_path, run, files), "crd-order") == []
    files["boot/crds.yaml"] = _app("crds", "crds")
    assert rules(check(tmp_path / "2", run, files), "crd-order") == [
        ("warning", "example.com/v1/Widget/web/w")]


def test_images_of_containers_only(tmp_path: Path, run: RunFn) -> None:
    objs = """apiVersion: tekton.dev/v1
kind: Task
metadata: {name: build, namespace: web}
spec:
  params: [{name: image}]
  steps: [{name: s, image: $(params.image)}]
---
apiVersion: nvidia.com/v1
kind: ClusterPolicy
metadata: {name: gpu}
spec: {driver: {repository: nvcr.io/nvidia, image: driver, version: latest}}
---
apiVersion: example.com/v1
kind: Pipeline
metadata: {name: p, namespace: web}
spec: {image: "${{ inputs.image }}"}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r, namespace: web}
spec:
  selector: {matchLabels: {app: r}}
  template:
    metadata: {labels: {app: r}}
    spec:
      containers: [{name: c, image: "nginx:latest"}]
"""
    found = check(tmp_path, run, {"boot/web.yaml": _app("web", "m"), "m/objs.yaml": objs})
    assert rules(found, "image-tag-mutable") == [("error", "argoproj.io/v1alpha1/Rollout/web/r")]


def test_secrets_without_values(tmp_path: Path, run: RunFn) -> None:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    objs = f"""apiVersion: v1
kind: Secret
metadata: {{name: avp, namespace: web}}
stringData: {{password: "<path:secret/data/db#password>"}}
---
apiVersion: v1
kind: Secret
metadata:
  name: repo
  namespace: web
  labels: {{argocd.argoproj.io/secret-type: repository}}
data: {{url: {b64("https://github.com/acme/x.git")}, type: {b64("git")}}}
---
apiVersion: v1
kind: Secret
metadata:
  name: repo-with-token
  namespace: web
  labels: {{argocd.argoproj.io/secret-type: repository}}
stringData: {{url: "https://github.com/acme/x.git", password: hunter2}}
"""
    found = check(tmp_path, run, {"boot/web.yaml": _app("web", "m"), "m/objs.yaml": objs})
    assert rules(found, "plaintext-secret") == [("error", "/v1/Secret/web/repo-with-token")]


def test_service_of_operator_made_pods(tmp_path: Path, run: RunFn) -> None:
    objs = """apiVersion: v1
kind: Service
metadata: {name: pg-rw, namespace: web}
spec: {selector: {cnpg.io/cluster: pg}, ports: [{port: 5432}]}
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: pg, namespace: web}
spec: {instances: 1}
---
apiVersion: v1
kind: Service
metadata: {name: orphan, namespace: other}
spec: {selector: {app: nothing}, ports: [{port: 80}]}
"""
    found = check(tmp_path, run, {"boot/web.yaml": _app("web", "m"), "m/objs.yaml": objs})
    # CloudNativePG labels its pods with the Cluster's name: the selector names it
    assert sorted(rules(found, "service-selector")) == [("error", "/v1/Service/other/orphan")]


def test_yaml_hazards_where_readers_disagree(tmp_path: Path, run: RunFn) -> None:
    cm = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: web}\n"
          "data:\n  FLAG: On\n")
    pod = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: web}\nspec:\n"
           "  containers: [{name: c, image: 'nginx:1.27.3'}]\n"
           "  volumes: [{name: v, secret: {secretName: s, defaultMode: 0440}}]\n")
    files = {"boot/k.yaml": _app("k", "k"), "k/kustomization.yaml": "resources: [cm.yaml, "
             "pod.yaml]\n", "k/cm.yaml": cm, "k/pod.yaml": pod,
             "boot/d.yaml": _app("d", "d", namespace="other"),
             "d/cm.yaml": cm.replace("namespace: web", "namespace: other")}
    found = check(tmp_path, run, files)
    hazards = [(f["file"], f["line"]) for f in found if f["rule"] == "yaml-ambiguous"]
    # `On` reaches the API server as a string after kustomize; 0440 is octal for every
    # reader on Argo CD's path; a plain folder is read as YAML 1.1: `On` is true there.
    assert hazards == [("d/cm.yaml", 5)]


def test_offline_generators_are_warnings(tmp_path: Path, run: RunFn) -> None:
    appset = f"""apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {{name: previews, namespace: argocd}}
spec:
  generators:
    - pullRequest: {{github: {{owner: acme, repo: web}}}}
    - git:
        repoURL: https://example.com/other/repo.git
        revision: HEAD
        directories: [{{path: apps/*}}]
  template:
    metadata: {{name: 'preview-{{{{branch}}}}'}}
    spec:
      project: default
      source: {{repoURL: {URL}, path: m, targetRevision: HEAD}}
      destination: {{server: https://kubernetes.default.svc, namespace: web}}
"""
    found = check(tmp_path, run, {"boot/previews.yaml": appset, "boot/web.yaml":
                                  _app("web", "m"), "m/cm.yaml": "apiVersion: v1\n"
                                  "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n"})
    gen = [(f["severity"], f["message"]) for f in found if f["rule"] == "argocd-generator"]
    assert len(gen) == 2 and all(s == "warning" for s, _ in gen)
    assert any("needs a live service" in m for _, m in gen)


def test_argo_cd_kinds_are_validated(tmp_path: Path, run: RunFn) -> None:
    files = {"boot/web.yaml": _app("web", "m"), "boot/typo.yaml": _app(
        "typo", "m", extra="  ignoreDiferences: []\n"),
        "m/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n"}
    found = check(tmp_path, run, files)
    assert [(f["severity"], f["file"]) for f in found if f["rule"] == "schema"] == [
        ("error", "boot/typo.yaml")]
    assert not [f for f in found if f["rule"] == "schema-unknown-kind"]


def test_counterparts_match_by_what_is_deployed() -> None:
    class Src:
        def __init__(self, path: str) -> None:
            self.path, self.chart, self.repo_url = path, None, URL

    class App:
        def __init__(self, name: str, path: str) -> None:
            self.app = type("A", (), {"name": name, "sources": [Src(path)]})()

    staging = counterpart_key(App("svc-a-staging", "apps/svc-a/overlays/staging"), "staging")
    production = counterpart_key(App("svc-a-production", "apps/svc-a/overlays/production"),
                                 "production")
    other = counterpart_key(App("svc-b-production", "apps/svc-b/overlays/production"),
                            "production")
    assert staging == production != other
    assert without_env("svc-a-staging", "staging") == "svc-a"
    assert without_env("stagingx", "staging") == "stagingx"


def test_remote_bases_and_projects_from_unrendered_sources(tmp_path: Path,
                                                           run: RunFn) -> None:
    files = {
        "boot/remote.yaml": _app("remote", "remote"),
        "remote/kustomization.yaml": "resources:\n  - https://github.com/acme/base//x?ref=v1\n",
        "boot/web.yaml": _app("web", "m").replace("project: default", "project: team"),
        "m/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n",
        # the OpenShift GitOps operator's ArgoCD resource enables Helm in kustomize
        "argocd/argocd.yaml": "apiVersion: argoproj.io/v1beta1\nkind: ArgoCD\nmetadata:\n"
                              "  name: gitops\nspec:\n  kustomizeBuildOptions: --enable-helm\n",
        "boot/charts.yaml": _app("charts", "charts"),
        "charts/kustomization.yaml": "helmCharts:\n  - name: x\n    repo: https://c.example.com\n"
                                     "    releaseName: x\n"}
    found = check(tmp_path, run, files)
    assert not [f for f in found if f["severity"] == "error"], found
    by_app = {(f["application"], f["rule"]): f for f in found}
    assert "is remote" in str(by_app[("remote", "source-not-rendered")]["message"])
    assert "is neither vendored" in str(by_app[("charts", "source-not-rendered")]["message"])
    project = by_app[("web", "argocd-project")]
    assert project["severity"] == "warning" and "may come from charts, remote" in \
        str(project["message"])
