"""Each rule against objects put straight into a platform, in milliseconds: no repository
render, no engine (yamllint's style). Edge cases of one rule belong here; whole-pipeline
behaviour stays in test_checks.py."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitplane.checks import RULES, Context
from gitplane.config import Config
from gitplane.model import Application, Environment, Finding, Origin, Resource, Source
from gitplane.platform import AppResult, EnvResult, Platform
from gitplane.repo import Repository


def judge(rule: str, manifests: str, tmp_path: Path, namespace: str = "web",
          doc: dict[str, Any] | None = None, origin: Origin | None = None) -> list[Finding]:
    """The findings of ``rule`` on ``manifests`` (YAML documents), deployed by one rendered
    Application ``app`` (written as ``doc``) to ``namespace`` in environment ``default``."""
    objs: list[dict[str, Any]] = [d for d in yaml.safe_load_all(manifests) if d]
    resources = [Resource(o, "app/manifests.yaml", i + 1) for i, o in enumerate(objs)]
    app = Application("app", "argocd", "default",
                      [Source("https://example.com/r.git", "app", "HEAD")],
                      {"server": "https://kubernetes.default.svc", "namespace": namespace},
                      origin or Origin("apps/app.yaml", 1), doc=doc or {}, kinds=["kustomize"])
    er = EnvResult(Environment("default", []),
                   apps=[AppResult(app, resources=resources, rendered=True)])
    repo = Repository(root=tmp_path, top=tmp_path, config=Config())
    return list(RULES[rule].check(Context(Platform(repo, [er], "test"))))


POD = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: web}}
spec:
  template:
    spec:
      containers:
        - name: web
          image: {image}
"""


@pytest.mark.parametrize("image, flagged", [
    ("nginx:1.27.3", False),
    ("nginx@sha256:" + "a" * 64, False),
    ("nginx:1.27.3@sha256:" + "b" * 64, False),
    ("nginx", True),                       # no tag: latest
    ("nginx:latest", True),
    ("registry.local:5000/team/app", True),  # a port is not a tag
    ("registry.local:5000/team/app:2.1", False),
])
def test_image_tag_mutable(tmp_path: Path, image: str, flagged: bool) -> None:
    found = judge("image-tag-mutable", POD.format(image=image), tmp_path)
    assert bool(found) is flagged, found


@pytest.mark.parametrize("secret, flagged", [
    ("apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: web}\n"
     "stringData: {password: x}\n", True),
    ("apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: web}\n"
     "data: {password: eA==}\n", True),
    ("apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: web}\n", False),  # empty
    ("apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: web}\ntype: "
     "kubernetes.io/service-account-token\n", False),
    ("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: s, namespace: web}"
     "\nspec: {encryptedData: {password: AgB=}}\n", False),
    ("apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n"
     "    metadata: {name: s, namespace: web}\n    stringData: {a: b}\n", True),
])
def test_plaintext_secret(tmp_path: Path, secret: str, flagged: bool) -> None:
    found = judge("plaintext-secret", secret, tmp_path)
    assert bool(found) is flagged, found


def test_reference_missing_knows_secrets_operators_make(tmp_path: Path) -> None:
    pod = POD.format(image="nginx:1.27.3") + (
        "          envFrom: [{secretRef: {name: db-app}}, {secretRef: {name: tls}}]\n")
    made = ("apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: db, namespace: "
            "web}\n---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: "
            "{name: c, namespace: web}\nspec: {secretName: tls}\n")
    assert judge("reference-missing", pod + "---\n" + made, tmp_path) == []
    found = judge("reference-missing", pod, tmp_path)
    assert {f.message.split("'")[1] for f in found} == {"db-app", "tls"}, found


HOOK = """apiVersion: batch/v1
kind: Job
metadata:
  name: init
  namespace: web
  annotations: {{"{hook_key}": "{hook}"}}
spec:
  template:
    spec:
      serviceAccountName: init
      containers: [{{name: c, image: "tool:1.0"}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {role_kind}
metadata: {{name: init, namespace: web}}
rules: [{{apiGroups: [""], resources: [secrets], verbs: [{verb}]}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: init, namespace: web}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {role_kind}, name: init}}
subjects: [{{kind: ServiceAccount, name: init, namespace: web}}]
"""


@pytest.mark.parametrize("hook_key, hook, role_kind, verb, reported", [
    ("helm.sh/hook", "pre-install,pre-upgrade", "Role", "create", False),
    ("argocd.argoproj.io/hook", "PreSync", "ClusterRole", "'*'", False),
    ("helm.sh/hook", "post-install", "Role", "create", True),  # runs after the pods
    ("helm.sh/hook", "pre-install", "Role", "get", True),  # may not create Secrets
    ("x.example.com/not-a-hook", "pre-install", "Role", "create", True)])
def test_reference_missing_secret_a_sync_hook_makes(tmp_path: Path, hook_key: str, hook: str,
                                                    role_kind: str, verb: str,
                                                    reported: bool) -> None:
    """Argo CD's chart makes its Redis password, kube-prometheus-stack its webhook
    certificate, with a Job that runs before the pods and may create Secrets."""
    pod = POD.format(image="nginx:1.27.3") + \
        "          envFrom: [{secretRef: {name: redis}}]\n"
    hook_objs = HOOK.format(hook_key=hook_key, hook=hook, role_kind=role_kind, verb=verb)
    found = judge("reference-missing", pod + "---\n" + hook_objs, tmp_path)
    assert bool([f for f in found if "'redis'" in f.message]) is reported, found


@pytest.mark.parametrize("level, severity", [
    ("privileged", "warning"), ("", "warning"), ("baseline", "error"), ("restricted", "error")])
def test_host_namespaces_judged_by_the_namespaces_pod_security(tmp_path: Path, level: str,
                                                               severity: str) -> None:
    """A node agent (node exporter, log collector, CNI) needs the host's namespaces: where
    its namespace enforces 'privileged' that is a deliberate choice, where it enforces
    baseline or restricted the API server rejects the pod."""
    labels = f"labels: {{pod-security.kubernetes.io/enforce: {level}}}" if level else ""
    namespace = f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n  {labels}\n"
    pod = POD.format(image="nginx:1.27.3").replace("    spec:\n", "    spec:\n"
                                                    "      hostNetwork: true\n", 1)
    found = [f for f in judge("security-context", namespace + "---\n" + pod, tmp_path)
             if "hostNetwork" in f.message]
    assert [f.severity for f in found] == [severity], found


def test_every_rule_finishes_on_an_empty_platform(tmp_path: Path) -> None:
    for rid in RULES:
        judge(rid, "", tmp_path)


SAFE_POD = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
        - name: web
          image: nginx:1.27.3
          securityContext: {allowPrivilegeEscalation: false}
          resources:
            requests: {cpu: 10m, memory: 16Mi}
            limits: {cpu: 100m, memory: 64Mi}
          readinessProbe: {tcpSocket: {port: 80}}
          livenessProbe: {tcpSocket: {port: 80}}
"""


@pytest.mark.parametrize("rule", ["security-context", "resources-missing", "probes-missing"])
def test_a_careful_workload_passes_the_workload_rules(tmp_path: Path, rule: str) -> None:
    assert judge(rule, SAFE_POD, tmp_path) == []


@pytest.mark.parametrize("rule, change", [
    ("security-context", ("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true")),
    ("security-context", ("securityContext: {runAsNonRoot: true}", "hostNetwork: true")),
    ("resources-missing", ("limits: {cpu: 100m, memory: 64Mi}", "limits: {cpu: 100m}")),
    ("probes-missing", ("readinessProbe: {tcpSocket: {port: 80}}", "ports: [{containerPort: 80}]")),
])
def test_each_workload_rule_sees_its_defect(tmp_path: Path, rule: str,
                                            change: tuple[str, str]) -> None:
    assert SAFE_POD.count(change[0]) == 1
    assert judge(rule, SAFE_POD.replace(*change), tmp_path)


SERVICE = ("apiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: web}}\n"
           "spec:\n  selector: {{app: {app}}}\n  ports: [{{port: 80}}]\n")


def test_service_selector_matches_pods_of_the_environment(tmp_path: Path) -> None:
    assert judge("service-selector", SAFE_POD + "---\n" + SERVICE.format(app="web"),
                 tmp_path) == []
    assert judge("service-selector", SAFE_POD + "---\n" + SERVICE.format(app="api"), tmp_path)


def test_service_selector_knows_operator_pods_and_the_clusters_own(tmp_path: Path) -> None:
    """kube-prometheus-stack's Services select pods its operator makes from a Prometheus
    resource (labelled with its name), and the cluster's own CoreDNS and etcd."""
    prometheus = ("apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: "
                  "{name: main, namespace: web}\nspec: {}\n")
    operator_svc = ("apiVersion: v1\nkind: Service\nmetadata: {name: p, namespace: web}\n"
                    "spec:\n  selector: {operator.prometheus.io/name: main, "
                    "app.kubernetes.io/name: prometheus}\n")
    assert judge("service-selector", prometheus + "---\n" + operator_svc, tmp_path) == []
    coredns = ("apiVersion: v1\nkind: Service\nmetadata: {name: dns, namespace: kube-system}\n"
               "spec:\n  selector: {k8s-app: kube-dns}\n")
    assert judge("service-selector", coredns, tmp_path) == []
    # the same selector in another namespace selects nothing there
    assert judge("service-selector", coredns.replace("kube-system", "web"), tmp_path)


@pytest.mark.parametrize("api, flagged", [
    ("policy/v1beta1", True), ("policy/v1", False)])
def test_deprecated_api(tmp_path: Path, api: str, flagged: bool) -> None:
    pdb = (f"apiVersion: {api}\nkind: PodDisruptionBudget\nmetadata: {{name: p, namespace: web}}"
           "\nspec: {minAvailable: 1, selector: {matchLabels: {app: web}}}\n")
    assert bool(judge("deprecated-api", pdb, tmp_path)) is flagged


@pytest.mark.parametrize("policy, flagged", [
    ({"automated": {"prune": True}}, True),
    ({"automated": {}}, True),
    ({"automated": None}, True),                     # `automated:` with nothing under it
    ({"automated": {}, "retry": {}}, True),          # no limit: Go's zero, no retry
    ({"automated": {}, "retry": {"limit": 0}}, True),
    ({"automated": {}, "retry": {"limit": 5, "backoff": {"duration": "10s"}}}, False),
    ({"automated": {}, "retry": {"limit": -1}}, False),  # forever
    ({"automated": {"enabled": False}}, False),      # switched off
    ({}, False),                                      # manual sync
])
def test_argocd_sync_retry(tmp_path: Path, policy: dict[str, Any], flagged: bool) -> None:
    found = judge("argocd-sync-retry", "", tmp_path, doc={"spec": {"syncPolicy": policy}})
    assert bool(found) is flagged, found


def test_argocd_sync_retry_names_the_applicationset_once(tmp_path: Path) -> None:
    doc = {"spec": {"syncPolicy": {"automated": {}}}}
    found = judge("argocd-sync-retry", "", tmp_path, doc=doc,
                  origin=Origin("sets.yaml", 4, "generators[0]", "apps"))
    assert len(found) == 1 and "ApplicationSet 'apps'" in found[0].message


ISSUER = ("apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata: {{name: le}}\n"
          "spec:\n  acme:\n    email: {email}\n    server: https://acme-v02.api.letsencrypt.org"
          "/directory\n    privateKeySecretRef: {{name: le}}\n"
          "    solvers: [{{http01: {{ingress: {{ingressClassName: nginx}}}}}}]\n")
APP = ("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: a, namespace: "
       "argocd}}\nspec:\n  project: default\n  source: {{repoURL: '{url}', path: x}}\n"
       "  destination: {{server: 'https://kubernetes.default.svc', namespace: a}}\n")


@pytest.mark.parametrize("manifest, flagged", [
    (ISSUER.format(email="admin@example.com"), True),
    (ISSUER.format(email="ops@mail.example.org"), True),
    (ISSUER.format(email="platform@acme.io"), False),
    (APP.format(url="https://github.com/your-org/your-repo.git"), True),
    (APP.format(url="https://github.com/acme/deployments.git"), False),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: web}\n"
     "data: {DOMAIN: REPLACEME}\n", True),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: web}\n"
     "data: {NOTE: 'replace me when the domain is known'}\n", False),  # prose is not a marker
    ("apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: web}\n"
     "stringData: {password: CHANGEME}\n", False),  # Secrets' values are plaintext-secret's
])
def test_placeholder_value(tmp_path: Path, manifest: str, flagged: bool) -> None:
    found = judge("placeholder-value", manifest, tmp_path)
    assert bool(found) is flagged, found


@pytest.mark.parametrize("chart, version, flagged, older", [
    ("ingress-nginx", "4.12.1", True, True),
    ("ingress-nginx", "4.15.1", True, False),
    ("gateway-helm", "1.6.0", False, False),
])
def test_component_retired_by_chart(tmp_path: Path, chart: str, version: str, flagged: bool,
                                    older: bool) -> None:
    from gitplane.checks.context import Context as Ctx
    from gitplane.checks import component_retired

    app = Application("edge", "argocd", "default",
                      [Source("https://kubernetes.github.io/ingress-nginx/", None, version, chart)],
                      {"server": "https://kubernetes.default.svc", "namespace": "edge"},
                      Origin("apps/edge.yaml", 1), kinds=["external"])
    er = EnvResult(Environment("default", []), apps=[AppResult(app, rendered=True)])
    repo = Repository(root=tmp_path, top=tmp_path, config=Config())
    found = list(component_retired.check(Ctx(Platform(repo, [er], "test"))))
    assert bool(found) is flagged, found
    assert all(("older than its final release" in f.message) is older for f in found)


def test_component_retired_by_image(tmp_path: Path) -> None:
    image = "registry.k8s.io/ingress-nginx/controller:v1.12.1@sha256:" + "c" * 64
    assert judge("component-retired", POD.format(image=image), tmp_path)
    assert not judge("component-retired", POD.format(image="nginx:1.27.3"), tmp_path)


@pytest.mark.parametrize("namespace, flagged", [
    ("apiVersion: v1\nkind: Namespace\nmetadata: {name: payments}\n", True),
    ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: payments\n  labels: "
     "{pod-security.kubernetes.io/enforce: restricted}\n", False),
    ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: payments\n  labels: "
     "{pod-security.kubernetes.io/enforce: strict}\n", True),        # not a level
    ("apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n", False),
    ("apiVersion: v1\nkind: Namespace\nmetadata: {name: openshift-gitops}\n", False),
    ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n  labels: "
     "{security.openshift.io/scc.podSecurityLabelSync: 'true'}\n", False),
])
def test_pod_security_labels(tmp_path: Path, namespace: str, flagged: bool) -> None:
    found = judge("pod-security-labels", namespace, tmp_path)
    assert bool(found) is flagged, found


TFJOB = """apiVersion: kubeflow.org/v1
kind: TFJob
metadata: {name: train, namespace: web}
spec:
  tfReplicaSpecs:
    Chief:
      template:
        spec:
          containers: [{name: tf, image: 'tensorflow/tensorflow:2.18.0'}]
    Worker:
      template:
        spec:
          containers: [{name: tf, image: 'tensorflow/tensorflow:latest'}]
"""


def test_pod_rules_read_pod_templates_of_custom_resources(tmp_path: Path) -> None:
    """Kubeflow jobs and Argo Rollouts hold pod templates: the pod rules judge them."""
    mutable = judge("image-tag-mutable", TFJOB, tmp_path)
    assert len(mutable) == 1 and mutable[0].line >= 1
    assert judge("security-context", TFJOB, tmp_path)   # both roles may run as root
    rollout = SAFE_POD.replace("apiVersion: apps/v1\nkind: Deployment",
                               "apiVersion: argoproj.io/v1alpha1\nkind: Rollout")
    assert judge("security-context", rollout, tmp_path) == []
    assert judge("probes-missing", rollout.replace(
        "          livenessProbe: {tcpSocket: {port: 80}}\n", ""), tmp_path)  # long-running


PROJECT = """apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {{name: default, namespace: argocd}}
spec:
  sourceRepos: ["*"]
  destinations: [{{server: https://kubernetes.default.svc, namespace: web}}]
{extra}
---
"""
CLUSTER_ROLE = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n" \
    "metadata: {name: r}\nrules: []\n"
CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: {ns}}}\n"
WIDGET = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"


@pytest.mark.parametrize("extra, obj, says", [
    ("", CLUSTER_ROLE, "allows no cluster-scoped kinds"),
    ("  clusterResourceWhitelist: [{group: '', kind: Namespace}]", CLUSTER_ROLE,
     "not in clusterResourceWhitelist"),
    ("  clusterResourceWhitelist: [{group: '*', kind: '*'}]", CLUSTER_ROLE, None),
    ("  clusterResourceWhitelist: [{group: 'rbac.*', kind: '*'}]\n"
     "  clusterResourceBlacklist: [{group: '*', kind: ClusterRole}]", CLUSTER_ROLE,
     "in clusterResourceBlacklist"),
    ("", CONFIG_MAP.format(ns="kube-system"), "namespace 'kube-system' is not a destination"),
    ("", CONFIG_MAP.format(ns="web"), None),
    ("  namespaceResourceWhitelist: [{group: apps, kind: '*'}]", CONFIG_MAP.format(ns="web"),
     "not in namespaceResourceWhitelist"),
    ("  namespaceResourceBlacklist: [{group: '', kind: Config*}]", CONFIG_MAP.format(ns="web"),
     "in namespaceResourceBlacklist"),
    # empty: Argo CD releases differ (an older one allows all kinds, a newer one none)
    ("  namespaceResourceWhitelist: []", CONFIG_MAP.format(ns="web"), None),
    ("", WIDGET, None),  # unknown scope: never judged
])
def test_argocd_project_kinds_and_namespaces(tmp_path: Path, extra: str, obj: str,
                                             says: str | None) -> None:
    """Argo CD's own permission check of each object a project's Application syncs."""
    found = [f for f in judge("argocd-project", PROJECT.format(extra=extra) + obj, tmp_path)
             if f.resource and "AppProject" not in f.resource]
    if says is None:
        assert found == []
    else:
        assert len(found) == 1 and says in found[0].message and found[0].severity == "error"
        assert found[0].file == "app/manifests.yaml"


@pytest.mark.parametrize("manifests, flagged", [
    (CONFIG_MAP.format(ns="elsewhere"), True),
    (CONFIG_MAP.format(ns="web"), False),  # the destination's: argocd-destination's to judge
    (CONFIG_MAP.format(ns="kube-system"), False),
    ("apiVersion: v1\nkind: Namespace\nmetadata: {name: elsewhere}\n---\n" +
     CONFIG_MAP.format(ns="elsewhere"), False),
    (CLUSTER_ROLE, False),
])
def test_namespace_missing(tmp_path: Path, manifests: str, flagged: bool) -> None:
    found = judge("namespace-missing", manifests, tmp_path)
    assert bool(found) is flagged, found
    assert all(f.severity == "warning" and "namespace 'elsewhere'" in f.message for f in found)


def _chart_app(chart: str, helm: str) -> str:
    return ("apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
            "metadata: {name: x, namespace: argocd}\nspec:\n  source:\n"
            f"    repoURL: https://charts.example.org\n    chart: {chart}\n"
            f"    targetRevision: 1.0.0\n    helm:\n{helm}")


@pytest.mark.parametrize("chart, helm, says", [
    ("argo-cd", "      valuesObject: {configs: {cm: {admin.enabled: true}}}\n", "no SSO"),
    ("argo-cd", "      valuesObject:\n        configs:\n          cm:\n"
                "            oidc.config: 'issuer: https://sso.acme.io'\n", None),
    ("argo-cd", "      valuesObject: {}\n      valueFiles: [values.yaml]\n", None),
    ("kube-prometheus-stack", "      valuesObject: {grafana: {enabled: false}}\n", "'null'"),
    ("kube-prometheus-stack", "      valuesObject:\n        alertmanager:\n          config:\n"
                              "            route: {receiver: team}\n"
                              "            receivers: [{name: team}]\n", "no integration"),
    ("kube-prometheus-stack", "      valuesObject:\n        alertmanager:\n          config:\n"
                              "            route: {receiver: team}\n            receivers:\n"
                              "              - name: team\n"
                              "                slack_configs: [{channel: '#ops'}]\n", None),
    ("velero", "      values: |\n        configuration:\n          backupStorageLocation:\n"
               "            - {provider: aws, bucket: ''}\n", "no bucket"),
    ("velero", "      valuesObject: {configuration: {backupStorageLocation: "
               "[{provider: aws, bucket: acme-backups}]}}\n", None),
    ("grafana", "      valuesObject: {}\n", None),
])
def test_setting_unfilled(tmp_path: Path, chart: str, helm: str, says: str | None) -> None:
    found = judge("setting-unfilled", _chart_app(chart, helm), tmp_path, namespace="argocd")
    if says is None:
        assert found == []
    else:
        assert len(found) == 1 and says in found[0].message and found[0].severity == "info"


@pytest.mark.parametrize("host, flagged", [
    ("web.example.com", True), ("example.org", True), ("web.acme.io", False),
    ("example.com.acme.io", False), ("web.notexample.com", False),
])
def test_placeholder_hosts(tmp_path: Path, host: str, flagged: bool) -> None:
    ingress = ("apiVersion: networking.k8s.io/v1\nkind: Ingress\n"
               "metadata: {name: i, namespace: web}\n"
               f"spec:\n  rules:\n    - host: {host}\n")
    found = judge("placeholder-value", ingress, tmp_path)
    assert bool(found) is flagged, found


def test_service_selector_sees_pod_templates_of_rollouts(tmp_path: Path) -> None:
    """An Argo Rollout's pod template serves a Service like a Deployment's (seen on
    argoproj/argocd-example-apps' blue-green chart)."""
    rollout = ("apiVersion: argoproj.io/v1alpha1\nkind: Rollout\n"
               "metadata: {name: r, namespace: web}\nspec:\n  selector: {matchLabels: {app: r}}\n"
               "  template:\n    metadata: {labels: {app: r}}\n"
               "    spec: {containers: [{name: c, image: 'nginx:1.27.3'}]}\n---\n")
    service = ("apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: web}\n"
               "spec: {selector: {app: r}, ports: [{port: 80}]}\n")
    assert judge("service-selector", rollout + service, tmp_path) == []
    assert judge("service-selector", service, tmp_path)
