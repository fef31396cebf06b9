"""gitplane doctor: every check with its status and fix, exit codes, a check that crashes or
hangs, the support bundle, and the cluster side through the real kubectl against a fake
Kubernetes API served on 127.0.0.1."""
from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import RunFn, application, git, kubeconfig, read_body, send
from gitplane import api
from gitplane.operate import doctor as doc

ARGO = "deployments/bootstrap/argocd/base/argo-cd.yaml"


def _pem() -> str:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealed-secret")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _statuses(out: str) -> dict[str, dict[str, Any]]:
    return {o["id"]: o for o in json.loads(out)}


def test_doctor_offline_on_the_reference_platform(run: RunFn, platform: Path,
                                                  tmp_path: Path) -> None:
    code, out, err = run("-C", str(platform), "doctor")
    assert code == 0, err
    for mark in ("✔ Sync issues: YAML syntax", "! Bootstrap: certificate validity",
                 "- Cluster: API server version: needs a cluster",
                 "- Bootstrap: network connectivity: needs the network"):
        assert mark in out
    assert "fix: kubeseal --fetch-cert" in out
    code, out, _ = run("-C", str(platform), "doctor", "--json")
    got = _statuses(out)
    assert set(got) >= {"yaml", "render", "bootstrap", "overlays", "config-secrets", "quotas",
                        "permissions", "tools", "certificates", "credentials", "network",
                        "api-server", "applications", "controller-certificate",
                        "quota-usage", "cluster-permissions"}
    assert got["tools"]["status"] == "ok" and got["network"]["status"] == "skipped"
    # --strict: the warnings fail
    assert run("-C", str(platform), "doctor", "--strict")[0] == 1
    # an error in the repository is a ✗ of its category, exit 1
    web = platform / "deployments/domains/applications/apps/web-app/base/manifests/deployment.yaml"
    web.write_text(web.read_text().replace("replicas: 1", "replicas: 1\n  replicas: 2"))
    code, out, _ = run("-C", str(platform), "doctor", "--json")
    assert code == 1 and _statuses(out)["yaml"]["status"] == "fail"


def test_doctor_survives_a_check_that_crashes_or_hangs(platform: Path) -> None:
    def crash() -> doc.Outcome:
        raise RuntimeError("boom")

    def hang() -> doc.Outcome:
        time.sleep(30)
        return doc.Outcome("hang", "Hangs", "ok", "never")

    start = time.monotonic()
    outcomes, result, _ = api.doctor(platform, extra=[
        doc.Check("crash", "Crashes", crash), doc.Check("hang", "Hangs", hang, timeout=1)])
    by = {o.id: o for o in outcomes}
    assert by["crash"].status == "fail" and "RuntimeError: boom" in by["crash"].summary
    assert by["hang"].status == "fail" and "did not finish within 1 s" in by["hang"].summary
    assert by["yaml"].status == "ok" and result is not None  # the others ran
    assert time.monotonic() - start < 25
    assert doc.exit_code(outcomes, strict=False) == 1


def test_doctor_plain_credentials_fail(run: RunFn, platform: Path) -> None:
    creds = platform / "deployments/bootstrap/argocd/base/repo.yaml"
    creds.write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: repo\n"
                     "  namespace: argocd\n  labels:\n"
                     "    argocd.argoproj.io/secret-type: repository\n"
                     "stringData:\n  url: https://github.com/acme/p.git\n"
                     "  password: ghp_notarealtoken\n")
    k = platform / "deployments/bootstrap/argocd/base/kustomization.yaml"
    k.write_text(k.read_text().replace("resources:\n", "resources:\n  - repo.yaml\n", 1))
    code, out, _ = run("-C", str(platform), "doctor", "--json")
    got = _statuses(out)["credentials"]
    assert code == 1 and got["status"] == "fail" and "Secret/repo" in got["details"][0]
    assert "ghp_notarealtoken" not in out


def test_doctor_bundle_is_redacted(run: RunFn, platform: Path, tmp_path: Path) -> None:
    git(platform, "init", "-q")
    git(platform, "remote", "add", "origin", "https://user:s3cr3t@example.com/acme/p.git")
    out_dir = tmp_path / "bundle"
    code, _, err = run("-C", str(platform), "doctor", "--bundle", str(out_dir))
    assert code == 0 and "support bundle" in err
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["applications.json", "doctor.json", "environment.json", "findings.json",
                     "git.json", "gitplane.yaml"]
    text = "".join(p.read_text() for p in out_dir.iterdir())
    assert "s3cr3t" not in text and "//****@example.com" in text
    code, _, err = run("-C", str(platform), "doctor", "--bundle", str(out_dir))
    assert code == 2 and "not empty" in err


# -- the cluster side ------------------------------------------------------------------------
class FakeKube:
    def __init__(self, pem: str) -> None:
        self.pem = pem
        self.paths: list[str] = []
        self.apps: list[dict[str, Any]] = []
        self.quotas: list[dict[str, Any]] = []
        self.minor = "37"
        self.denied: set[str] = set()
        self.objects: dict[str, Any] = {}  # path → object, served as they are
        self.reviews: list[dict[str, Any]] = []

    def serve(self) -> tuple[http.server.ThreadingHTTPServer, str]:
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.paths.append(self.path)
                path = self.path.split("?")[0]
                ctype, body = "application/json", None
                if path in fake.objects:
                    body = fake.objects[path]
                elif path == "/version":
                    body = {"major": "1", "minor": fake.minor, "gitVersion": "v1.x"}
                elif path == "/apis/argoproj.io/v1alpha1/applications":
                    body = {"kind": "ApplicationList", "items": fake.apps}
                elif path == "/api/v1/resourcequotas":
                    body = {"kind": "ResourceQuotaList", "items": fake.quotas}
                elif path.endswith("/services/sealed-secrets-controller:8080/proxy/v1/cert.pem"):
                    ctype, body = "text/plain", fake.pem
                if body is None:
                    send(self, 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                     "reason": "NotFound", "code": 404,
                                     "message": f"{path} not found"})
                    return
                send(self, 200, body, content_type=ctype)

            def do_POST(self) -> None:
                review = json.loads(read_body(self))
                attrs = review["spec"]["resourceAttributes"]
                fake.reviews.append(attrs)
                review["status"] = {"allowed": attrs["resource"] not in fake.denied}
                send(self, 201, review)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[FakeKube, Path, str]]:
    pem = _pem()
    fake = FakeKube(pem)
    server, url = fake.serve()
    yield fake, kubeconfig(tmp_path / "kubeconfig", url, "test"), pem
    server.shutdown()


def _app(name: str, sync: str, health: str, error: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {"sync": {"status": sync}, "health": {"status": health}}
    if error:
        status["conditions"] = [{"type": "ComparisonError", "message": error}]
    return {"metadata": {"name": name, "namespace": "argocd"}, "status": status}


def test_doctor_cluster_checks_through_kubectl(run: RunFn, platform: Path,
                                               cluster: tuple[FakeKube, Path, str]) -> None:
    fake, kubeconfig, pem = cluster
    for env in ("staging", "production"):
        (platform / f"deployments/environments/{env}/sealed-secrets.pem").write_text(pem)
    fake.apps = [_app("web-app", "Synced", "Healthy"), _app("backup", "Synced", "Healthy")]
    fake.quotas = [{"metadata": {"namespace": "applications"},
                    "status": {"hard": {"requests.cpu": "4", "requests.memory": "8Gi"},
                               "used": {"requests.cpu": "1500m", "requests.memory": "2Gi"}}}]
    base = ["-C", str(platform), "doctor", "--json", "--context", "test", "--kubeconfig",
            str(kubeconfig)]
    code, out, err = run(*base)
    got = _statuses(out)
    assert got["api-server"]["status"] == "ok", got["api-server"]
    assert got["applications"]["status"] == "ok"
    assert got["applications"]["summary"] == "2 of 2 Synced and Healthy"
    assert got["controller-certificate"]["status"] == "ok"
    assert got["quota-usage"]["status"] == "ok"
    assert got["cluster-permissions"]["status"] == "ok", got["cluster-permissions"]
    asked = {(a["group"], a["resource"], a.get("namespace", "")) for a in fake.reviews}
    assert ("apps", "deployments", "applications") in asked
    assert ("", "namespaces", "") in asked and ("", "resourcequotas", "applications") in asked
    assert "/api/v1/namespaces/kube-system/services/sealed-secrets-controller:8080/proxy/v1/" \
           "cert.pem" in [p.split("?")[0] for p in fake.paths]
    # what goes wrong in a cluster
    fake.minor = "30"
    fake.apps.append(_app("traefik", "OutOfSync", "Degraded",
                          "rpc error: code = Unknown desc = repo-server: manifest failed"))
    fake.quotas[0]["status"]["used"]["requests.cpu"] = "4"
    fake.pem = _pem()  # the controller's key was rotated
    fake.denied = {"namespaces"}
    code, out, _ = run(*base)
    got = _statuses(out)
    assert code == 1
    assert got["api-server"]["status"] == "warn" and "1.30" in got["api-server"]["summary"]
    assert got["applications"]["status"] == "fail"
    assert "repository-server errors in 1" in got["applications"]["summary"]
    assert got["controller-certificate"]["status"] == "fail"
    assert got["quota-usage"]["status"] == "fail"
    assert "requests.cpu 4 of 4 (100%)" in got["quota-usage"]["details"][0]
    assert got["cluster-permissions"]["status"] == "fail"
    assert "create namespaces (cluster-wide)" in got["cluster-permissions"]["details"]


def test_doctor_unreachable_cluster_is_one_failure_each(run: RunFn, platform: Path,
                                                        tmp_path: Path) -> None:
    config = kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:9", "gone")
    code, out, err = run("-C", str(platform), "doctor", "--json", "--context", "gone",
                         "--kubeconfig", str(config), "--timeout", "20")
    got = _statuses(out)
    assert code == 1 and got["api-server"]["status"] == "fail"
    assert got["yaml"]["status"] == "ok"  # the repository side still ran


def test_doctor_skips_sealing_where_the_platform_does_not_seal(run: RunFn,
                                                              tmp_path: Path) -> None:
    from conftest import write

    root = tmp_path / "r"
    write(root / "gitplane.yaml", "roots: [argocd]\n")
    write(root / "argocd/web.yaml", application("web", "web", "web",
                                                "https://example.com/other.git"))
    code, out, _ = run("-C", str(root), "doctor", "--json")
    got = _statuses(out)
    assert got["certificates"]["status"] == "skipped"
    assert "neither installs sealed-secrets" in got["certificates"]["summary"]
