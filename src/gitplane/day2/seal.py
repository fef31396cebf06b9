"""``gitplane seal``: a SealedSecret for one Application in one environment.

The sealed-secrets controller's wire format: each value is encrypted with a fresh AES-256-GCM
session key (zero nonce, used once), the session key with RSA-OAEP (SHA-256) under the
environment's public certificate, with a label that binds it to where it may be decrypted
(strict: ``namespace/name``; namespace-wide: ``namespace``; cluster-wide: empty); the value
is ``uint16 length of the RSA part ‖ RSA part ‖ AES-GCM ciphertext``, base64.

The name and namespace it is sealed for are the ones the *rendered* Application gives the
object (an overlay's ``namePrefix``/``namespace``, else the destination namespace): the file
is rendered once with placeholders in a scratch copy to learn them. gitplane records them in
the annotation ``gitplane.io/sealed-for`` (the ``sealed-secret-scope`` rule compares it with
what renders later). Values never reach any output.
"""
from __future__ import annotations

import base64
import datetime
import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from gitplane.day2 import Edit, Effect, check_minimal, effect, load, parsed, read_inside, \
    require_clean, scratch_platform
from gitplane.errors import GitplaneError
from gitplane.repo import NAME_RE, Repository
from gitplane.scaffold.edit import append_item, edit
from gitplane.yamlio import dump_all, read_regular

SCOPES = ("strict", "namespace-wide", "cluster-wide")
NS_WIDE = "sealedsecrets.bitnami.com/namespace-wide"
CLUSTER_WIDE = "sealedsecrets.bitnami.com/cluster-wide"
SEALED_FOR = "gitplane.io/sealed-for"
KEY = re.compile(r"^[-._a-zA-Z0-9]+$")  # a Secret data key
EXPIRY_WARNING_DAYS = 30


@dataclass
class Sealed:
    name: str
    namespace: str
    scope: str
    keys: list[str]
    file: str
    certificate: str
    expires: str
    edits: list[Edit] = field(default_factory=list)
    effect: Effect = field(default_factory=Effect)
    warnings: list[str] = field(default_factory=list)
    written: bool = False
    commit: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "namespace": self.namespace, "scope": self.scope,
                "keys": self.keys, "file": self.file, "certificate": self.certificate,
                "certificateExpires": self.expires,
                "edits": [{"file": e.path, "what": e.what, "created": e.old is None}
                          for e in self.edits],
                "effect": {"intended": [c.resource for c in self.effect.intended],
                           "collateral": [c.to_json() for c in self.effect.collateral]},
                "warnings": self.warnings, "written": self.written,
                "commit": self.commit or None}


def label(namespace: str, name: str, scope: str) -> bytes:
    if scope == "cluster-wide":
        return b""
    if scope == "namespace-wide":
        return namespace.encode()
    return f"{namespace}/{name}".encode()


def encrypt(public_key: Any, value: bytes, label_: bytes) -> str:
    """One value in the controller's format, base64."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    session = os.urandom(32)
    wrapped = public_key.encrypt(session, padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=label_))
    body = AESGCM(session).encrypt(b"\0" * 12, value, None)
    return base64.b64encode(len(wrapped).to_bytes(2, "big") + wrapped + body).decode()


def certificate(repo: Repository, env: str, path: str | None = None
                ) -> tuple[str, Any, datetime.datetime]:
    """(path, RSA public key, expiry) of the environment's sealing certificate; an expired
    one, or one that is not an RSA certificate, is refused."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

    rel = path or repo.config.sealing_certificate.replace("{env}", env)
    rel = posixpath.normpath(rel.replace("\\", "/"))
    if rel.startswith(("/", "../")) or rel == "..":
        raise GitplaneError(f"{rel}: the certificate must be inside the repository")
    full = repo.top / rel
    try:
        repo.boundary.check(full, rel)
        raw = read_regular(full)
    except OSError:
        raise GitplaneError(
            f"{rel}: no sealing certificate for environment '{env}'; fetch the controller's "
            "public certificate once (kubeseal --fetch-cert) and commit it there, or set "
            "sealingCertificate in gitplane.yaml") from None
    except GitplaneError as exc:
        raise GitplaneError(f"{rel}: {exc}") from None
    try:
        cert = x509.load_pem_x509_certificate(raw)
    except ValueError:
        raise GitplaneError(f"{rel}: not a PEM certificate") from None
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise GitplaneError(f"{rel}: not an RSA certificate (sealed-secrets uses RSA)")
    expires = cert.not_valid_after_utc
    if expires <= datetime.datetime.now(datetime.UTC):
        raise GitplaneError(f"{rel}: the certificate expired on {expires:%Y-%m-%d}; fetch the "
                            "controller's current certificate (kubeseal --fetch-cert)")
    return rel, key, expires


def _kustomization(repo: Repository, folder: str) -> str:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if (repo.top / folder / name).is_file():
            return f"{folder}/{name}"
    raise GitplaneError(f"{folder}: no kustomization to add the SealedSecret to")


def _document(name: str, namespace: str, scope: str, sealed_for: tuple[str, str],
              data: dict[str, str], secret_type: str) -> dict[str, Any]:
    annotations = {SEALED_FOR: f"{sealed_for[0]}/{sealed_for[1]}"}
    if scope == "namespace-wide":
        annotations[NS_WIDE] = "true"
    elif scope == "cluster-wide":
        annotations[CLUSTER_WIDE] = "true"
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["annotations"] = annotations
    template_meta: dict[str, Any] = {"name": sealed_for[1]}
    if sealed_for[0]:
        template_meta["namespace"] = sealed_for[0]
    if scope != "strict":
        template_meta["annotations"] = {k: v for k, v in annotations.items() if k != SEALED_FOR}
    return {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": meta,
            "spec": {"encryptedData": dict(sorted(data.items())),
                     "template": {"metadata": template_meta, "type": secret_type}}}


def seal(repo: Repository, name: str, app: str, env: str, values: dict[str, bytes],
         scope: str = "strict", secret_type: str = "Opaque", cert_path: str | None = None,
         force: bool = False, roots: list[str] | None = None, progress: Any = None) -> Sealed:
    """The SealedSecret planned and rendered (not written)."""
    if not NAME_RE.match(name) or len(name) > 253:
        raise GitplaneError(f"'{name}' is not a valid Secret name")
    if scope not in SCOPES:
        raise GitplaneError(f"unknown scope '{scope}' (known: {', '.join(SCOPES)})")
    if not values:
        raise GitplaneError("no values to seal: give --from-file, --from-env-file, "
                            "--from-stdin or --prompt")
    for k in values:
        if not KEY.match(k):
            raise GitplaneError(f"'{k}' is not a valid Secret key")
    before = load(repo, roots, progress)
    envs = {er.env.name: er for er in before.envs}
    if env not in envs:
        raise GitplaneError(f"unknown environment '{env}' (known: {', '.join(sorted(envs))})")
    ar = envs[env].by_name.get(app)
    if ar is None:
        known = sorted(a.app.name for a in envs[env].apps)
        raise GitplaneError(f"unknown application '{app}' in {env} (known: "
                            f"{', '.join(known)})")
    folder = next((posixpath.normpath(s.path) for s, k in zip(ar.app.sources, ar.app.kinds,
                                                               strict=False)
                   if k == "kustomize" and s.path is not None and repo.is_self(s.repo_url)),
                  None)
    if folder is None:
        raise GitplaneError(f"{app}: its source in {env} is not a kustomize folder of this "
                            "repository; nowhere to add the SealedSecret")
    cert_rel, key, expires = certificate(repo, env, cert_path)
    warnings = []
    left = expires - datetime.datetime.now(datetime.UTC)
    if left.days < EXPIRY_WARNING_DAYS:
        warnings.append(f"{cert_rel}: the certificate expires on {expires:%Y-%m-%d} "
                        f"({left.days} days)")
    kust = _kustomization(repo, folder)
    file = f"{folder}/sealed-{name}.yaml"
    target = repo.top / file
    if target.is_symlink() or (target.exists() and not force):
        raise GitplaneError(f"{file}: exists; nothing written (--force seals it again)")
    old_file = read_inside(repo, file) if target.exists() else None
    kust_old = read_inside(repo, kust)
    listed = [False]

    def add(data: Any) -> None:
        from ruamel.yaml.comments import CommentedSeq

        resources = data.get("resources")
        if resources is None:
            resources = data["resources"] = CommentedSeq()
        entry = posixpath.basename(file)
        if entry in [str(r) for r in resources]:
            listed[0] = True
            return
        append_item(resources, entry)

    kust_new = edit(repo.top / kust, add, kust)
    kust_edit = Edit(kust, kust_old, kust_new, f"resources: + {posixpath.basename(file)}")
    # one line added (or, for a flow sequence, its one line rewritten); nothing else
    check_minimal(kust_edit, replaced=1, inserted=2)
    want = parsed(kust_old, kust)[0] or {}
    if not listed[0]:
        want["resources"] = [*(want.get("resources") or []), posixpath.basename(file)]
    if parsed(kust_new, kust)[0] != want:
        raise GitplaneError(f"{kust}: the edit cannot be made exactly; add "
                            f"{posixpath.basename(file)} to its resources by hand")
    # the name and namespace the Application renders the object with
    placeholder = Edit(file, old_file, dump_all([_document(
        name, "", scope, ("", name), {k: "AA==" for k in values}, secret_type)]).encode(),
        "placeholder")
    probe = scratch_platform(repo, [placeholder] + ([] if listed[0] else [kust_edit]), roots)
    rendered = next((r for r in {er.env.name: er for er in probe.envs}[env].by_name[app]
                     .resources if r.kind == "SealedSecret" and r.file == file), None)
    if rendered is None:
        raise GitplaneError(f"{file}: the SealedSecret does not render in {app} ({env}); "
                            "nothing written")
    namespace = rendered.namespace or str(ar.app.destination.get("namespace") or "")
    if scope != "cluster-wide" and not namespace:
        raise GitplaneError(f"{app} ({env}) gives the object no namespace; seal with "
                            "--scope cluster-wide or set the overlay's namespace")
    tag = label(namespace, rendered.name, scope)
    data = {k: encrypt(key, v, tag) for k, v in sorted(values.items())}
    text = ("# Sealed by gitplane for " + (f"{namespace}/{rendered.name}" if scope == "strict"
                                           else namespace or "any namespace") +
            f" ({scope}) with {cert_rel}\n")
    text += dump_all([_document(name, "", scope, (namespace, rendered.name), data,
                                secret_type)])
    sealed_edit = Edit(file, old_file, text.encode(), f"SealedSecret {rendered.name}: "
                       f"{', '.join(sorted(values))} ({scope})")
    edits = [sealed_edit] + ([] if listed[0] else [kust_edit])
    result = Sealed(rendered.name, namespace, scope, sorted(values), file, cert_rel,
                    f"{expires:%Y-%m-%d}", edits, warnings=warnings)
    require_clean(repo, [e.path for e in edits])
    after = scratch_platform(repo, edits, roots)
    result.effect = effect(before, after, lambda c, a, b: c.environment == env and
                           c.application == app and (a or b or {}).get("kind") ==
                           "SealedSecret")
    return result


__all__ = ["seal", "Sealed", "label", "encrypt", "certificate", "SCOPES", "SEALED_FOR"]
