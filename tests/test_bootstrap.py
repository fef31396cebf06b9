"""gitplane bootstrap --dry-run: the plan and its exact manifests, offline. The reference
platform's argo-cd chart is replaced in gitplane's cache by a small stand-in chart of the
same name and version (CRDs, a ServiceAccount, a Deployment, a StatefulSet), rendered by the
real Helm engine; the kubectl boundary is the recorded command sequence."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import RunFn, application, kubeconfig, write
from gitplane.render import charts

ARGO_REPO = "https://argoproj.github.io/argo-helm"
CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.argoproj.io
spec:
  group: argoproj.io
  names: {{kind: {kind}, plural: {plural}}}
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}
"""


def _stand_in_chart() -> None:
    """argo-cd 10.1.1 in gitplane's cache: the objects an Argo CD install has, in small."""
    entry = charts._entry(ARGO_REPO, "argo-cd", "10.1.1")
    chart = entry / "argo-cd-10.1.1"
    write(chart / "Chart.yaml", "apiVersion: v2\nname: argo-cd\nversion: 10.1.1\n"
          "appVersion: v3.4.4\n")
    write(chart / "values.yaml", "global: {domain: argocd.example.com}\n")
    for kind, plural in (("Application", "applications"), ("AppProject", "appprojects")):
        write(chart / f"templates/crd-{plural}.yaml", CRD.format(kind=kind, plural=plural))
    write(chart / "templates/sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n"
          "  name: argocd-server\n  namespace: {{ .Release.Namespace }}\n")
    pod = ("  selector: {matchLabels: {app: NAME}}\n  template:\n    metadata: {labels: "
           "{app: NAME}}\n    spec:\n      containers:\n        - name: NAME\n"
           "          image: quay.io/argoproj/argocd:v3.4.4\n")
    write(chart / "templates/server.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
          "  name: argocd-server\n  namespace: {{ .Release.Namespace }}\nspec:\n" +
          pod.replace("NAME", "argocd-server"))
    write(chart / "templates/controller.yaml", "apiVersion: apps/v1\nkind: StatefulSet\n"
          "metadata:\n  name: argocd-application-controller\n  namespace: "
          "{{ .Release.Namespace }}\nspec:\n  serviceName: controller\n" +
          pod.replace("NAME", "argocd-application-controller"))
    (entry / charts.META).write_text(json.dumps({"repo": ARGO_REPO, "chart": "argo-cd",
                                                 "version": "10.1.1", "digest": ""}))


def _plan(run: RunFn, platform: Path, *args: str) -> dict[str, Any]:
    code, out, err = run("-C", str(platform), "bootstrap", "--dry-run", "-o", "json", *args)
    assert code == 0, err
    return json.loads(out)


def _commands(plan: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(p["name"], s["kubectl"]) for p in plan["phases"] for s in p["steps"]]


def test_bootstrap_plan_orders_and_commands(run: RunFn, platform: Path) -> None:
    _stand_in_chart()
    plan = _plan(run, platform, "--env", "staging", "--context", "kind-staging")
    assert plan["blockers"] == [] and plan["namespace"] == "argocd"
    phases = [p["name"] for p in plan["phases"]]
    assert phases == ["preflight", "crds", "namespace", "argo-cd", "credentials", "wait",
                      "handover", "verify"]
    commands = _commands(plan)
    assert all(c[:2] == ["--context", "kind-staging"] for _, c in commands)
    # the recorded kubectl sequence
    apply = ["apply", "--server-side", "--field-manager=gitplane-bootstrap",
             "--force-conflicts", "-f", "-"]
    review = ["create", "--raw", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
              "-f", "-"]
    crd = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
    assert [(p, c[2:]) for p, c in commands] == [
        ("preflight", ["get", "--raw", "/version"]),
        ("preflight", review), ("preflight", review),
        ("preflight", ["get", "--raw", "/api/v1/namespaces/argocd"]),
        ("preflight", ["get", "--raw", "/api/v1/namespaces/argocd/configmaps/"
                       "gitplane-bootstrap"]),
        ("preflight", ["get", "--raw", crd + "applications.argoproj.io"]),
        ("preflight", ["get", "--raw", crd + "appprojects.argoproj.io"]),
        ("crds", apply), ("namespace", apply), ("argo-cd", apply),
        ("wait", ["wait", "--for=condition=Established", "--timeout=120s",
                  "customresourcedefinition/applications.argoproj.io"]),
        ("wait", ["wait", "--for=condition=Established", "--timeout=120s",
                  "customresourcedefinition/appprojects.argoproj.io"]),
        ("wait", ["-n", "argocd", "rollout", "status",
                  "statefulset/argocd-application-controller", "--timeout=300s"]),
        ("wait", ["-n", "argocd", "rollout", "status", "deployment/argocd-server",
                  "--timeout=300s"]),
        ("handover", apply),
        ("verify", ["-n", "argocd", "wait", "--for=jsonpath={.status.sync.status}=Synced",
                    "--timeout=600s", "applications.argoproj.io/argocd"])]
    manifests = {p["name"]: [d for s in p["steps"] if "apply" in s["kubectl"]
                             for d in yaml.safe_load_all(s["manifest"]) if d]
                 for p in plan["phases"]}
    assert [d["kind"] for d in manifests["crds"]] == ["CustomResourceDefinition"] * 2
    # Argo CD's own objects in Argo CD's sync order, in its namespace
    assert [d["kind"] for d in manifests["argo-cd"]] == ["ServiceAccount", "Deployment",
                                                         "StatefulSet"]
    assert {d["metadata"]["namespace"] for d in manifests["argo-cd"]} == {"argocd"}
    # the hand-over: the environment's root, never the namespace twice
    kinds = {(d["kind"], d["metadata"]["name"]) for d in manifests["handover"]}
    assert ("Application", "argocd") in kinds and ("Application", "platform-apps") in kinds
    assert ("Namespace", "argocd") not in kinds
    root = next(d for d in manifests["handover"] if d["metadata"]["name"] == "argocd")
    assert root["spec"]["source"]["path"] == "deployments/bootstrap/argocd/environments/staging"


def test_bootstrap_manifests_match_their_schemas(run: RunFn, platform: Path,
                                                 tmp_path: Path) -> None:
    """The manifests of the plan, written into a repository of their own, pass gitplane's
    schema rule (Kubernetes' schemas and Argo CD's CRDs)."""
    _stand_in_chart()
    plan = _plan(run, platform, "--env", "production", "--context", "prod")
    out = tmp_path / "applied"
    docs = [s["manifest"] for p in plan["phases"] for s in p["steps"]
            if "apply" in s["kubectl"]]
    write(out / "manifests/all.yaml", "".join(docs))
    write(out / "apps/applied.yaml", application("applied", "manifests", "argocd",
                                                 "https://example.com/applied.git"))
    write(out / "gitplane.yaml", "roots: [apps]\nrepoURLs: [https://example.com/applied.git]\n")
    code, text, _ = run("-C", str(out), "check", "--format", "json")
    data = json.loads(text)
    assert data["summary"]["resources"] >= 10  # the plan's objects were all validated
    found = [f for f in data["findings"] if f["rule"].startswith("schema")]
    assert found == []


def test_bootstrap_refusals_and_blockers(run: RunFn, platform: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run("-C", str(platform), "bootstrap", "--env", "production", "--dry-run")
    assert code == 2 and "needs an explicit --context" in err
    code, _, err = run("-C", str(platform), "bootstrap", "--env", "qa", "--context", "x",
                       "--dry-run")
    assert code == 2 and "unknown environment 'qa'" in err
    # the chart not cached: the plan says what blocks it, exit 1
    code, out, _ = run("-C", str(platform), "bootstrap", "--env", "staging", "--context", "x",
                       "--dry-run")
    assert code == 1 and "# blocked: the argo-cd chart 10.1.1 is not rendered" in out
    # without --dry-run nothing touches a cluster while it is blocked
    code, _, err = run("-C", str(platform), "bootstrap", "--env", "staging", "--context", "x")
    assert code == 2 and "cannot bootstrap" in err


def test_bootstrap_credentials_come_from_the_environment_and_are_never_printed(
        run: RunFn, platform: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _stand_in_chart()
    monkeypatch.setenv("GITPLANE_REPO_USERNAME", "bot")
    monkeypatch.setenv("GITPLANE_REPO_PASSWORD", "pw-never-printed")
    code, out, _ = run("-C", str(platform), "bootstrap", "--env", "staging", "--context",
                       "x", "--dry-run")
    assert code == 0 and "pw-never-printed" not in out
    assert "# credentials 1: repository credentials" in out and "not shown" in out
    plan = _plan(run, platform, "--env", "staging", "--context", "x")
    assert "pw-never-printed" not in json.dumps(plan)


def test_bootstrap_against_a_cluster_that_does_not_answer(run: RunFn, platform: Path,
                                                          tmp_path: Path) -> None:
    """The first preflight step fails: nothing is applied, the error names the step."""
    _stand_in_chart()
    config = kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:9", "gone")
    code, _, err = run("-C", str(platform), "bootstrap", "--env", "staging", "--context",
                       "gone", "--kubeconfig", str(config))
    assert code == 2 and "preflight: the API server answers: kubectl failed" in err


def test_progress_is_recorded_and_read_back() -> None:
    """What --resume reads: the ConfigMap each phase writes, as kubectl returns it."""
    from gitplane.operate import bootstrap as boot

    plan = boot.Plan("staging", "ctx", "argocd")
    doc = yaml.safe_load(boot.progress_manifest(plan, "argo-cd", "abc123"))
    assert doc["metadata"] == {"name": "gitplane-bootstrap", "namespace": "argocd"}
    assert doc["data"] == {"environment": "staging", "phase": "argo-cd", "commit": "abc123"}
    assert boot.done_phases(json.dumps(doc)) == ["preflight", "crds", "namespace", "argo-cd"]
    assert boot.done_phases("") == []
    assert boot.done_phases(json.dumps({"data": {"phase": "unknown"}})) == []


# -- the preflight against a Kubernetes API on 127.0.0.1, through the real kubectl -----------
@pytest.fixture
def kube(tmp_path: Path) -> Any:
    from test_doctor import FakeKube

    fake = FakeKube("")
    server, url = fake.serve()
    yield fake, kubeconfig(tmp_path / "kubeconfig", url, "test")
    server.shutdown()


def test_bootstrap_preflight_refuses_before_applying_anything(run: RunFn, platform: Path,
                                                               kube: Any) -> None:
    _stand_in_chart()
    fake, kubeconfig = kube
    base = ["-C", str(platform), "bootstrap", "--env", "staging", "--context", "test",
            "--kubeconfig", str(kubeconfig)]
    # the environment's inventory names its cluster: a context pointing elsewhere is refused
    inventory = platform / "deployments/environments/staging/clusters.yaml"
    original = inventory.read_text()
    inventory.write_text(original + """---
apiVersion: v1
kind: Secret
metadata:
  name: staging-east
  namespace: argocd
  labels: {argocd.argoproj.io/secret-type: cluster, gitplane.io/environment: staging}
stringData: {name: staging-east, server: "https://staging-east.k8s.example.com"}
""")
    code, _, err = run(*base)
    assert code == 2 and "points at http://127.0.0.1" in err and "staging-east" in err
    inventory.write_text(original)
    # a permission the context lacks
    fake.denied = {"clusterroles"}
    code, _, err = run(*base)
    assert code == 2 and "may create what Argo CD needs cluster-wide: no" in err
    fake.denied = set()
    # the namespace belongs to something else
    fake.objects["/api/v1/namespaces/argocd"] = {"metadata": {"name": "argocd"}}
    code, _, err = run(*base)
    assert code == 2 and "neither Argo CD's nor an earlier bootstrap's" in err
    fake.objects["/api/v1/namespaces/argocd"] = {"metadata": {
        "name": "argocd", "managedFields": [{"manager": "gitplane-bootstrap"}]}}
    # a CRD version the cluster serves that the pinned chart no longer does
    crd = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/applications.argoproj.io"
    fake.objects[crd] = {"spec": {"versions": [{"name": "v1alpha1", "served": True},
                                               {"name": "v1beta1", "served": True}]}}
    code, _, err = run(*base)
    assert code == 2 and "serves v1beta1" in err and "a downgrade" in err
    del fake.objects[crd]
    # an earlier run stopped: only --resume continues it
    progress = "/api/v1/namespaces/argocd/configmaps/gitplane-bootstrap"
    fake.objects[progress] = {"data": {"environment": "staging", "phase": "argo-cd"}}
    code, _, err = run(*base)
    assert code == 2 and "stopped after 'argo-cd': --resume continues it" in err
    # every refusal came before any write: the cluster saw reads and access reviews only
    assert all(not p.startswith("/api/v1/namespaces/argocd/configmaps?") for p in fake.paths)
    # with --resume the recorded phases are skipped; the next write (the progress record
    # after the credentials phase) is the first command this API, which serves no
    # discovery, cannot answer
    code, _, err = run(*base, "--resume")
    assert "crds: done in an earlier run" in err and "argo-cd: done in an earlier run" in err
    assert code == 2 and "credentials: record progress: kubectl failed" in err


@pytest.mark.parametrize("env, context", [("staging", "kind-staging"),
                                          ("production", "prod-admin")])
def test_bootstrap_dry_run_golden(run: RunFn, platform: Path, env: str, context: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole printed plan of each environment, commands and manifests, as golden files
    (GITPLANE_UPDATE_GOLDEN=1 writes them); the same bytes on a second run."""
    for name in ("GITPLANE_REPO_USERNAME", "GITPLANE_REPO_PASSWORD",
                 "GITPLANE_REPO_SSH_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    _stand_in_chart()
    code, out, err = run("-C", str(platform), "bootstrap", "--env", env, "--context", context,
                         "--dry-run")
    assert code == 0, err
    assert run("-C", str(platform), "bootstrap", "--env", env, "--context", context,
               "--dry-run")[1] == out
    golden = Path(__file__).parent / "golden" / f"bootstrap-{env}.txt"
    if os.environ.get("GITPLANE_UPDATE_GOLDEN"):
        golden.write_text(out)
    assert out == golden.read_text()
    phases = [line.split()[1] for line in out.splitlines()
              if line.startswith("# ") and line.split()[1] in (
                  "preflight", "crds", "namespace", "argo-cd", "credentials", "wait",
                  "handover", "verify")]
    order = ["preflight", "crds", "namespace", "argo-cd", "credentials", "wait", "handover",
             "verify"]
    assert phases == sorted(phases, key=order.index)  # phases never interleave
