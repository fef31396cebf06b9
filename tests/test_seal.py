"""gitplane seal: the tests generate a key pair, seal with its certificate, and decrypt what
gitplane wrote following the controller's documented format (RSA-OAEP SHA-256 session key,
AES-256-GCM with a zero nonce, label by scope) to get the values back."""
from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from conftest import RunFn, git

WEB = "deployments/domains/applications/apps/web-app/environments"
SECRET = "correct-horse-battery-staple"


def _cert(days: int = 3650) -> tuple[Any, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealed-secret")])
    now = datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(days=max(0, -days) + 1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(start)
            .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


def _repo(platform: Path, days: int = 3650) -> Any:
    key, pem = _cert(days)
    for env in ("staging", "production"):
        (platform / f"deployments/environments/{env}/sealed-secrets.pem").write_bytes(pem)
    git(platform, "init", "-q")
    git(platform, "add", "-A")
    git(platform, "commit", "-qm", "platform")
    return key


def unseal(key: Any, value: str, label: bytes) -> bytes:
    """The controller's HybridDecrypt, from its documentation."""
    raw = base64.b64decode(value)
    n = int.from_bytes(raw[:2], "big")
    session = key.decrypt(raw[2:2 + n], padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=label))
    return AESGCM(session).decrypt(b"\0" * 12, raw[2 + n:], None)


def _sealed(platform: Path, env: str, name: str) -> dict[str, Any]:
    docs = list(yaml.safe_load_all((platform / f"{WEB}/{env}/sealed-{name}.yaml").read_text()))
    return next(d for d in docs if d)


def test_seal_strict_decrypts_with_the_rendered_name(run: RunFn, platform: Path,
                                                     tmp_path: Path) -> None:
    key = _repo(platform)
    value = tmp_path / "password"
    value.write_text(SECRET)
    env_file = tmp_path / "db.env"
    env_file.write_text("# comment\nUSER=app\n")
    kust = platform / f"{WEB}/staging/kustomization.yaml"
    before = kust.read_text()
    code, out, err = run("-C", str(platform), "seal", "db", "--app", "web-app", "--env",
                         "staging", "--from-file", f"password={value}", "--from-env-file",
                         str(env_file), "--commit")
    assert code == 0, err
    assert SECRET not in out + err and "USER=app" not in out + err
    assert "applications/db (strict)" in out and "1 intended, 0 collateral" in out
    obj = _sealed(platform, "staging", "db")
    assert obj["metadata"]["annotations"]["gitplane.io/sealed-for"] == "applications/db"
    assert obj["spec"]["template"]["metadata"] == {"name": "db", "namespace": "applications"}
    data = obj["spec"]["encryptedData"]
    assert unseal(key, data["password"], b"applications/db").decode() == SECRET
    assert unseal(key, data["USER"], b"applications/db") == b"app"
    with pytest.raises(ValueError):  # another name cannot decrypt it
        unseal(key, data["password"], b"applications/other")
    # the kustomization gained one line, the commit has both files and trailers
    import difflib
    changed = [ln for ln in difflib.unified_diff(before.splitlines(), kust.read_text()
                                                 .splitlines(), n=0, lineterm="")
               if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert changed == ["+  - sealed-db.yaml"]
    message = git(platform, "log", "-1", "--format=%B")
    assert "Gitplane-Sealed-For: applications/db (strict)" in message
    assert "Gitplane-Keys: USER, password" in message
    assert git(platform, "status", "--porcelain") == ""
    # the check passes on it, and renders it
    code, out, _ = run("-C", str(platform), "check", "--env", "staging", "--format", "json")
    assert not [f for f in json.loads(out)["findings"] if f["rule"] == "sealed-secret-scope"]


def test_seal_honours_the_overlays_name_prefix(run: RunFn, platform: Path,
                                               tmp_path: Path) -> None:
    """An overlay's namePrefix and namespace: sealed for what renders, not the file's name
    (the usual 'no key could decrypt secret')."""
    key = _repo(platform)
    kust = platform / f"{WEB}/production/kustomization.yaml"
    kust.write_text(kust.read_text() + "namePrefix: prod-\n")
    git(platform, "commit", "-qam", "prefix")
    value = tmp_path / "v"
    value.write_text(SECRET)
    code, out, err = run("-C", str(platform), "seal", "db", "--app", "web-app", "--env",
                         "production", "--from-file", f"password={value}")
    assert code == 0, err
    assert "applications/prod-db" in out
    obj = _sealed(platform, "production", "db")
    assert unseal(key, obj["spec"]["encryptedData"]["password"],
                  b"applications/prod-db").decode() == SECRET
    git(platform, "add", "-A")
    git(platform, "commit", "-qm", "sealed")
    code, out, _ = run("-C", str(platform), "check", "--env", "production", "--format", "json")
    assert not [f for f in json.loads(out)["findings"] if f["rule"] == "sealed-secret-scope"]
    # a later rename breaks it, and check says so
    kust.write_text(kust.read_text().replace("namePrefix: prod-", "namePrefix: live-"))
    code, out, _ = run("-C", str(platform), "check", "--env", "production", "--format", "json")
    found = [f for f in json.loads(out)["findings"] if f["rule"] == "sealed-secret-scope"]
    assert code == 1 and found and "applications/prod-db" in found[0]["message"]


@pytest.mark.parametrize("scope, label", [("namespace-wide", b"applications"),
                                          ("cluster-wide", b"")])
def test_seal_scopes(run: RunFn, platform: Path, tmp_path: Path, scope: str,
                     label: bytes) -> None:
    key = _repo(platform)
    value = tmp_path / "v"
    value.write_text(SECRET)
    code, _, err = run("-C", str(platform), "seal", "api", "--app", "web-app", "--env",
                       "staging", "--from-file", f"token={value}", "--scope", scope)
    assert code == 0, err
    obj = _sealed(platform, "staging", "api")
    assert obj["metadata"]["annotations"][f"sealedsecrets.bitnami.com/{scope}"] == "true"
    assert unseal(key, obj["spec"]["encryptedData"]["token"], label).decode() == SECRET


def test_seal_from_stdin(run: RunFn, platform: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    key = _repo(platform)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SECRET.encode())))
    code, out, err = run("-C", str(platform), "seal", "db", "--app", "web-app", "--env",
                         "staging", "--from-stdin", "password", "--dry-run")
    assert code == 0 and "dry run" in err, err
    assert not (platform / f"{WEB}/staging/sealed-db.yaml").exists()
    assert SECRET not in out + err
    assert "applications/db" in out
    del key


def test_seal_refuses(run: RunFn, platform: Path, tmp_path: Path) -> None:
    _repo(platform, days=-1)  # an expired certificate
    value = tmp_path / "v"
    value.write_text(SECRET)
    base = ["-C", str(platform), "seal", "db", "--from-file", f"password={value}"]
    code, _, err = run(*base, "--app", "web-app", "--env", "staging")
    assert code == 2 and "expired" in err
    _, pem = _cert()
    (platform / "deployments/environments/staging/sealed-secrets.pem").write_bytes(pem)
    git(platform, "commit", "-qam", "new cert")
    code, _, err = run(*base, "--app", "nope", "--env", "staging")
    assert code == 2 and "unknown application 'nope'" in err
    code, _, err = run(*base, "--app", "web-app", "--env", "qa")
    assert code == 2 and "unknown environment 'qa'" in err
    code, _, err = run(*base, "--app", "web-app", "--env", "production")
    assert code == 2 and "expired" in err  # production still has the expired one
    code, _, err = run("-C", str(platform), "seal", "db", "--app", "web-app", "--env",
                       "staging")
    assert code == 2 and "no values to seal" in err
    code, _, err = run("-C", str(platform), "seal", "Bad_Name", "--app", "web-app", "--env",
                       "staging", "--from-file", f"password={value}")
    assert code == 2 and "not a valid Secret name" in err
    kust = platform / f"{WEB}/staging/kustomization.yaml"
    kust.write_text(kust.read_text() + "# local change\n")
    code, _, err = run(*base, "--app", "web-app", "--env", "staging")
    assert code == 2 and "uncommitted changes" in err
    assert not (platform / f"{WEB}/staging/sealed-db.yaml").exists()
    git(platform, "checkout", "-q", "--", ".")
    assert run(*base, "--app", "web-app", "--env", "staging")[0] == 0
    code, _, err = run(*base, "--app", "web-app", "--env", "staging")
    assert code == 2 and "exists" in err


def test_seal_warns_of_a_certificate_about_to_expire(run: RunFn, platform: Path,
                                                     tmp_path: Path) -> None:
    _repo(platform, days=10)
    value = tmp_path / "v"
    value.write_text(SECRET)
    code, _, err = run("-C", str(platform), "seal", "db", "--app", "web-app", "--env",
                       "staging", "--from-file", f"password={value}", "--dry-run")
    assert code == 0 and "warning:" in err and "expires on" in err


def test_seal_in_another_layout(run: RunFn, tmp_path: Path) -> None:
    """A repository with its roots in gitplane.yaml and the certificate where it says."""
    from conftest import application, write

    root = tmp_path / "r"
    write(root / "gitplane.yaml", "roots: [argocd]\nrepoURLs: [https://example.com/r.git]\n"
          "sealingCertificate: certs/{env}.pem\n")
    write(root / "argocd/web.yaml", application("web", "web", "shop"))
    write(root / "web/kustomization.yaml", "resources: [cm.yaml]\n")
    write(root / "web/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n")
    key, pem = _cert()
    (root / "certs").mkdir()
    (root / "certs/default.pem").write_bytes(pem)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "web")
    value = tmp_path / "v"
    value.write_text(SECRET)
    code, out, err = run("-C", str(root), "seal", "db", "--app", "web", "--env", "default",
                         "--from-file", f"password={value}")
    assert code == 0, err
    assert "shop/db" in out  # no namespace in the overlay: the destination's
    obj = next(d for d in yaml.safe_load_all((root / "web/sealed-db.yaml").read_text()) if d)
    assert unseal(key, obj["spec"]["encryptedData"]["password"], b"shop/db").decode() == SECRET
    assert "sealed-db.yaml" in (root / "web/kustomization.yaml").read_text()
