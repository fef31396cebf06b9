"""``gitplane doctor``: the seed's troubleshooting list as independent checks.

Each check has a time limit and ends as ✔ (ok), ! (warn), ✗ (fail) or skipped, with one line
of fix; a check that raises or hangs is one ✗ and the others still run. Offline: the
repository (what ``check`` finds, by the seed's categories), the tools, the sealing
certificates, the cluster inventory and repository credentials; the reachability of the
source and chart repositories only with the network allowed. With a kube context (through
``kubectl get --raw``, nothing applied): the API server's version against the platform's,
Argo CD's Applications (sync, health, last errors, repository-server errors), the
sealed-secrets controller's certificate against the repository's copy, and quotas in use.
"""
from __future__ import annotations

import hashlib
import json
import platform as host
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitplane import __version__, limits, proc
from gitplane.errors import GitplaneError

SYMBOL = {"ok": "✔", "warn": "!", "fail": "✗", "skipped": "-"}
DEFAULT_TIMEOUT = 60.0

#: the seed's troubleshooting categories, and the check rules that tell of each
CATEGORIES: dict[str, tuple[str, ...]] = {
    "yaml": ("yaml-syntax", "yaml-duplicate-key", "yaml-ambiguous"),
    "render": ("kustomize-build", "kustomize-deprecated", "helm-template", "helm-values",
               "source-not-rendered", "schema", "schema-unknown-kind", "deprecated-api",
               "crd-order", "duplicate-resource", "service-selector", "ingress-backend",
               "ingress-class", "issuer-missing"),
    "overlays": ("env-missing-overlay", "env-config-drift", "orphan-overlay",
                 "placeholder-value", "setting-unfilled", "component-retired"),
    "config-secrets": ("reference-missing", "plaintext-secret", "sealed-secret-scope"),
    "quotas": ("quota-exceeded", "resources-missing"),
    "bootstrap": ("argocd-no-applications", "argocd-invalid", "argocd-path-missing",
                  "argocd-generator", "argocd-duplicate-name", "argocd-unpinned",
                  "argocd-sync-retry"),
    "permissions": ("argocd-project", "argocd-destination", "namespace-missing",
                    "pod-security-labels", "security-context"),
}


@dataclass
class Outcome:
    id: str
    title: str
    status: str  # ok | warn | fail | skipped
    summary: str
    fix: str = ""
    details: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": self.status,
                "summary": self.summary, "fix": self.fix, "details": self.details,
                "seconds": round(self.seconds, 2)}


@dataclass
class Check:
    id: str
    title: str
    run: Callable[[], Outcome]
    timeout: float = DEFAULT_TIMEOUT


def _run_one(c: Check, box: dict[str, Any]) -> None:
    try:
        box["outcome"] = c.run()
    except Exception as exc:  # noqa: BLE001 - one broken check must not stop the others
        box["error"] = exc


def run_checks(checks: list[Check], progress: Callable[[int, int], None] | None = None
               ) -> list[Outcome]:
    """Every check in its own thread under its time limit: one that raises or hangs is a
    failure of its own, never of the others."""
    out = []
    for n, c in enumerate(checks):
        box: dict[str, Any] = {}
        start = time.monotonic()
        thread = threading.Thread(target=_run_one, args=(c, box), daemon=True,
                                  name=f"doctor-{c.id}")
        thread.start()
        thread.join(c.timeout)
        took = time.monotonic() - start
        if thread.is_alive():
            o = Outcome(c.id, c.title, "fail", f"did not finish within {c.timeout:g} s",
                        "run it again with a longer --timeout, or report it (it is left "
                        "running in the background)")
        elif "error" in box:
            exc = box["error"]
            o = Outcome(c.id, c.title, "fail", f"the check broke: {type(exc).__name__}: "
                        f"{str(exc)[:300]}", "report it with the command you ran")
        else:
            o = box["outcome"]
        o.seconds = took
        out.append(o)
        if progress is not None:
            progress(n + 1, len(checks))
    return out


# -- the repository -------------------------------------------------------------------------
def _category(result: Any, cid: str, title: str, rules: tuple[str, ...], fix: str) -> Outcome:
    found = [f for f in result.findings if f.rule in rules]
    errors = [f for f in found if f.severity == "error"]
    warnings = [f for f in found if f.severity == "warning"]
    details = [_short(f"{f.severity} {f.file}:{f.line} {f.environment}/{f.application}: "
                      f"{f.message} ({f.rule})") for f in sorted(errors + warnings, key=lambda f: (
                          f.severity != "error", f))[:20]]
    if errors:
        return Outcome(cid, title, "fail", f"{len(errors)} errors, {len(warnings)} warnings",
                       fix, details)
    if warnings:
        return Outcome(cid, title, "warn", f"{len(warnings)} warnings", fix, details)
    return Outcome(cid, title, "ok", "nothing found")


def repository_checks(load: Callable[[], Any]) -> tuple[list[Check], Callable[[], Any]]:
    """The seed's categories, from one render and check of the repository (made once, by
    the first of them), and the function that gives that check's result."""
    memo: dict[str, Any] = {}
    lock = threading.Lock()

    def result() -> Any:
        with lock:
            if "result" not in memo and "error" not in memo:
                try:
                    memo["result"] = load()
                except GitplaneError as exc:
                    memo["error"] = exc
            if "error" in memo:
                raise memo["error"]
            return memo["result"]

    def category(cid: str, title: str, fix: str) -> Outcome:
        try:
            found = result()
        except GitplaneError as exc:
            return Outcome(cid, title, "fail", f"the repository cannot be read: {exc}",
                           "fix what the message names; gitplane check says the same")
        return _category(found, cid, title, CATEGORIES[cid], fix)

    def cat(cid: str, title: str, fix: str) -> Check:
        return Check(cid, title, lambda: category(cid, title, fix), timeout=600)

    return [
        cat("yaml", "Sync issues: YAML syntax", "fix the files named; gitplane check shows "
            "each on its line"),
        cat("render", "Sync issues: every Application renders and validates",
            "gitplane check --app APP; gitplane render --app APP"),
        cat("bootstrap", "Bootstrap: roots, Applications and ApplicationSets",
            "gitplane apps shows what Argo CD finds; fix the Applications named"),
        cat("overlays", "Environment misconfiguration: overlays and settings",
            "gitplane compare ENV_A ENV_B shows how environments differ"),
        cat("config-secrets", "Environment misconfiguration: ConfigMaps and Secrets",
            "seal secrets (gitplane seal); create what pods reference"),
        cat("quotas", "Environment misconfiguration: resource quotas",
            "set requests and limits within the namespace's ResourceQuota"),
        cat("permissions", "Bootstrap: permissions (projects, destinations, Pod Security)",
            "allow the destination in the AppProject; label namespaces for Pod Security"),
    ], result


def applied_memory_limit(mib: int) -> str:
    """What a render process gets as its address-space limit, read back from one."""
    code = ("import resource, time; time.sleep(0.3); "
            "print(resource.getrlimit(resource.RLIMIT_AS)[0])")
    res = proc.run([sys.executable, "-I", "-c", code], timeout=20, memory=mib * 2**20)
    got = res.stdout.decode().strip()
    if not got.lstrip("-").isdigit() or int(got) < 0:
        return f"render memory limit {mib} MiB: not applied on this system"
    return f"render memory limit {mib} MiB: applied ({int(got) // 2**20} MiB read back)"


def tools_check(engine_version: Callable[[], str], memory_mib: int = 2048) -> Check:
    def run() -> Outcome:
        details = [f"gitplane {__version__} on Python {host.python_version()}"]
        status = "ok"
        try:
            details.append(f"kustomize {engine_version()}")
        except GitplaneError as exc:
            return Outcome("tools", "Tools", "fail", f"the kustomize engine: {exc}",
                           "reinstall gitplane (pip install gitplane)", details)
        try:
            from importlib.metadata import version

            details.append(f"Helm engine: helm-python-sdk {version('helm-python-sdk')}")
        except Exception:  # noqa: BLE001 - any import or metadata problem is the finding
            status = "warn"
            details.append("Helm engine: not installed (charts are not rendered)")
        res = proc.git(["--version"], cwd=Path.cwd(), timeout=10)
        details.append(res.stdout.decode(errors="replace").strip() or "git: not found")
        lim = limits.current()
        details.append(f"limits: {lim.file_bytes // 2**20} MiB per file")
        details.append(applied_memory_limit(memory_mib))
        kubectl = proc.kubectl_binary()
        details.append(f"kubectl: {kubectl or 'not found'}")
        return Outcome("tools", "Tools", status, "; ".join(details[1:3]),
                       "" if status == "ok" else "pip install helm-python-sdk", details)

    return Check("tools", "Tools", run, timeout=60)


def uses_sealing(result: Any) -> bool:
    """Whether the platform installs the sealed-secrets controller or holds a
    SealedSecret."""
    for er in result.platform.envs:
        for ar in er.apps:
            if any(s.chart == "sealed-secrets" for s in ar.app.sources):
                return True
            if any(r.kind == "SealedSecret" for r in ar.resources):
                return True
    return False


def certificates_check(repo: Any, envs: list[str], sealing: Callable[[], bool]) -> Check:
    def run() -> Outcome:
        import datetime

        from gitplane.day2.seal import certificate

        details, worst = [], "ok"
        if not envs:
            return Outcome("certificates", "Bootstrap: certificate validity", "skipped",
                           "no environment")
        if not sealing():
            return Outcome("certificates", "Bootstrap: certificate validity", "skipped",
                           "the platform neither installs sealed-secrets nor holds a "
                           "SealedSecret")
        for env in envs:
            try:
                rel, _, expires = certificate(repo, env)
            except GitplaneError as exc:
                text = str(exc)
                missing = "no sealing certificate" in text
                worst = "fail" if not missing else ("warn" if worst == "ok" else worst)
                details.append(f"{env}: {text}")
                continue
            days = (expires - datetime.datetime.now(datetime.UTC)).days
            if days < 30:
                worst = "warn" if worst == "ok" else worst
            details.append(f"{env}: {rel} expires {expires:%Y-%m-%d} ({days} days)")
        summary = {"ok": "every environment's sealing certificate is valid",
                   "warn": "a sealing certificate is missing or expires within 30 days",
                   "fail": "a sealing certificate is expired or unreadable"}[worst]
        return Outcome("certificates", "Bootstrap: certificate validity", worst, summary,
                       "" if worst == "ok" else "kubeseal --fetch-cert > the path named, "
                       "then commit it", details)

    return Check("certificates", "Bootstrap: certificate validity", run, timeout=30)


def credentials_check(result_of: Callable[[], Any]) -> Check:
    """Repository credentials and cluster Secrets among the rendered objects: never in
    plain text."""
    def run() -> Outcome:
        result = result_of()
        kinds: dict[str, int] = {}
        plain = []
        for er in result.platform.envs:
            for ar in er.apps:
                for r in ar.resources:
                    labels = (r.obj.get("metadata") or {}).get("labels") or {}
                    kind = labels.get("argocd.argoproj.io/secret-type") if \
                        isinstance(labels, dict) else None
                    if kind not in ("repository", "repo-creds", "cluster"):
                        continue
                    kinds[str(kind)] = kinds.get(str(kind), 0) + 1
                    if r.kind == "Secret" and any(
                            k in (r.obj.get("stringData") or {}) or k in (r.obj.get("data")
                                                                          or {})
                            for k in ("password", "sshPrivateKey", "githubAppPrivateKey",
                                      "config", "bearerToken")):
                        plain.append(f"{er.env.name}/{ar.app.name}: {r.file}:{r.line} "
                                     f"Secret/{r.name} ({kind})")
        inventory = [f for f in result.findings if f.rule == "plaintext-secret" and
                     "clusters" in f.file]
        plain += [f"{f.file}:{f.line}: {f.message}" for f in inventory]
        if plain:
            return Outcome("credentials", "Repository credentials and cluster inventory",
                           "fail", f"{len(plain)} credentials in plain text",
                           "seal them (gitplane seal) or use an external secret store",
                           plain[:20])
        shown = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none rendered"
        return Outcome("credentials", "Repository credentials and cluster inventory", "ok",
                       f"nothing in plain text ({shown})")

    return Check("credentials", "Repository credentials and cluster inventory", run,
                 timeout=600)


def reachability_check(result_of: Callable[[], Any], allowed: bool,
                       self_urls: Callable[[str], bool]) -> Check:
    def run() -> Outcome:
        if not allowed:
            return Outcome("network", "Bootstrap: network connectivity", "skipped",
                           "needs the network", "run with --allow-network")
        result = result_of()
        urls: dict[str, str] = {}
        for er in result.platform.envs:
            for ar in er.apps:
                for s in ar.app.sources:
                    if s.repo_url and not self_urls(s.repo_url) and "{{" not in s.repo_url:
                        urls[s.repo_url] = "chart" if s.chart else "git"
        details, failed = [], 0
        for url, kind in sorted(urls.items())[:50]:
            probe = url.rstrip("/") + ("/index.yaml" if kind == "chart" else "/info/refs"
                                                                          "?service=git-upload-pack")
            if not probe.startswith(("https://", "http://")):
                details.append(f"{url}: not HTTP(S), not probed")
                continue
            try:
                req = urllib.request.Request(probe, method="GET",
                                             headers={"User-Agent": "gitplane-doctor"})
                with urllib.request.urlopen(req, timeout=10) as answer:
                    details.append(f"{_redact(url)}: {answer.status}")
            except urllib.error.HTTPError as exc:
                details.append(f"{_redact(url)}: HTTP {exc.code}")
                failed += exc.code not in (401, 403)
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                details.append(f"{_redact(url)}: {exc}")
                failed += 1
        if failed:
            return Outcome("network", "Bootstrap: network connectivity", "fail",
                           f"{failed} of {len(urls)} repositories unreachable",
                           "check the URL, DNS and proxy; Argo CD's repo-server needs them",
                           details)
        return Outcome("network", "Bootstrap: network connectivity", "ok",
                       f"{len(urls)} repositories reachable", details=details)

    return Check("network", "Bootstrap: network connectivity", run, timeout=300)


_USERINFO = re.compile(r"//[^/@\s]+@")


def _short(text: str, width: int = 200) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _redact(text: str) -> str:
    return _USERINFO.sub("//****@", text)


# -- the cluster ----------------------------------------------------------------------------
class Kube:
    """``kubectl --context CONTEXT get --raw PATH``: reads only."""

    def __init__(self, context: str, kubeconfig: str | None = None, timeout: float = 20.0):
        if context.startswith("-") or not context:
            raise GitplaneError(f"'{context}' is not a kube context")
        self.context = context
        self.kubeconfig = kubeconfig
        self.timeout = timeout

    def allowed(self, verb: str, group: str, resource: str, namespace: str) -> bool:
        """A SelfSubjectAccessReview, as ``kubectl auth can-i`` makes it (sent as JSON with
        ``create --raw``: no discovery needed)."""
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                  "spec": {"resourceAttributes": {
                      "verb": verb, "group": group, "resource": resource,
                      **({"namespace": namespace} if namespace else {})}}}
        answer = self.raw("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                          json.dumps(review))
        return bool(isinstance(answer, dict) and (answer.get("status") or {}).get("allowed"))

    def raw(self, path: str, body: str | None = None) -> Any:
        binary = proc.kubectl_binary()
        if binary is None:
            raise GitplaneError("kubectl is not installed")
        args = [binary, "--context", self.context, "--request-timeout",
                f"{int(self.timeout)}s", "get", "--raw", path]
        if body is not None:
            args[-3:] = ["create", "--raw", path, "-f", "-"]
        if self.kubeconfig:
            args[1:1] = ["--kubeconfig", self.kubeconfig]
        import os

        env = {k: v for k, v in os.environ.items() if k in ("HOME", "PATH", "KUBECONFIG")}
        res = proc.run(args, timeout=self.timeout + 10, env=env,
                       stdin=body.encode() if body is not None else None)
        if res.returncode != 0:
            raise GitplaneError(f"kubectl get --raw {path}: {res.stderr.strip()[:300]}")
        text = res.stdout.decode("utf-8", "replace")
        try:
            return json.loads(text)
        except ValueError:
            return text


def cluster_checks(kube: Kube | None, result_of: Callable[[], Any], kubernetes_version: str,
                   sealing: Callable[[], list[tuple[str, str]]]) -> list[Check]:
    skip = "needs a cluster: run with --context CONTEXT"

    def skipped(cid: str, title: str) -> Check:
        return Check(cid, title, lambda: Outcome(cid, title, "skipped", skip), timeout=5)

    if kube is None:
        return [skipped("api-server", "Cluster: API server version"),
                skipped("applications", "Sync issues: Applications' sync, health and errors"),
                skipped("controller-certificate", "Bootstrap: sealed-secrets certificate"),
                skipped("quota-usage", "Environment misconfiguration: quotas in use"),
                skipped("cluster-permissions", "Bootstrap: permissions in the cluster")]
    assert kube is not None

    def api_server() -> Outcome:
        v = kube.raw("/version")
        got = f"{v.get('major', '?')}.{str(v.get('minor', '?')).rstrip('+')}"
        want = kubernetes_version
        try:
            ok = tuple(int(x) for x in got.split(".")) >= tuple(int(x) for x in want.split("."))
        except ValueError:
            ok = False
        if ok:
            return Outcome("api-server", "Cluster: API server version", "ok",
                           f"Kubernetes {got} (the platform is checked against {want})")
        return Outcome("api-server", "Cluster: API server version", "warn",
                       f"Kubernetes {got} is older than {want}, the version the platform's "
                       "manifests are checked against",
                       f"set kubernetesVersion: \"{got}\" in gitplane.yaml and run check")

    def applications() -> Outcome:
        data = kube.raw("/apis/argoproj.io/v1alpha1/applications")
        items = data.get("items", []) if isinstance(data, dict) else []
        bad, repo_errors = [], []
        for app in items:
            meta, status = app.get("metadata") or {}, app.get("status") or {}
            name = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
            sync = (status.get("sync") or {}).get("status", "Unknown")
            health = (status.get("health") or {}).get("status", "Unknown")
            errors = [str(c.get("message", ""))[:200] for c in status.get("conditions") or []
                      if str(c.get("type", "")).endswith("Error")]
            op = (status.get("operationState") or {})
            if op.get("phase") in ("Failed", "Error"):
                errors.append(str(op.get("message", ""))[:200])
            if any("repo-server" in e or "rpc error" in e for e in errors):
                repo_errors.append(name)
            if sync != "Synced" or health not in ("Healthy",) or errors:
                bad.append(f"{name}: {sync}, {health}" + (f": {errors[0]}" if errors else ""))
        if not items:
            return Outcome("applications", "Sync issues: Applications' sync, health and "
                           "errors", "warn", "no Application in the cluster",
                           "bootstrap Argo CD (gitplane bootstrap) or check the context")
        status = "fail" if any(": " in b.split(", ", 1)[1] for b in bad) or repo_errors \
            else "warn" if bad else "ok"
        summary = f"{len(items) - len(bad)} of {len(items)} Synced and Healthy"
        if repo_errors:
            summary += f"; repository-server errors in {len(repo_errors)}"
        return Outcome("applications", "Sync issues: Applications' sync, health and errors",
                       status, summary, "" if status == "ok" else
                       "argocd app get APP; kubectl -n argocd logs deploy/argocd-repo-server",
                       bad[:20])

    def controller_certificate() -> Outcome:
        pairs = sealing()
        if not pairs:
            return Outcome("controller-certificate", "Bootstrap: sealed-secrets certificate",
                           "skipped", "no sealing certificate in the repository")
        details, worst = [], "ok"
        for service, local_pem in pairs:
            ns, name = service.split("/", 1)
            remote = kube.raw(f"/api/v1/namespaces/{ns}/services/{name}:8080/proxy/v1/cert.pem")
            same = _fingerprint(str(remote)) == _fingerprint(local_pem)
            details.append(f"{service}: {'matches' if same else 'differs from'} the "
                           "repository's copy")
            worst = worst if same else "fail"
        return Outcome("controller-certificate", "Bootstrap: sealed-secrets certificate", worst,
                       "the controller's certificate is the repository's" if worst == "ok"
                       else "the controller's certificate is not the repository's: secrets "
                       "sealed with it will not decrypt",
                       "" if worst == "ok" else "kubeseal --fetch-cert > the repository's "
                       "copy, commit, and seal again", details)

    def quota_usage() -> Outcome:
        data = kube.raw("/api/v1/resourcequotas")
        details, worst = [], "ok"
        for q in data.get("items", []) if isinstance(data, dict) else []:
            hard = (q.get("status") or {}).get("hard") or {}
            used = (q.get("status") or {}).get("used") or {}
            ns = (q.get("metadata") or {}).get("namespace", "")
            for key, limit in sorted(hard.items()):
                try:
                    ratio = _quantity(str(used.get(key, "0"))) / max(_quantity(str(limit)),
                                                                      1e-9)
                except ValueError:
                    continue
                if ratio >= 0.9:
                    worst = "fail" if ratio >= 1 else ("warn" if worst == "ok" else worst)
                    details.append(f"{ns}: {key} {used.get(key)} of {limit} "
                                   f"({ratio:.0%})")
        return Outcome("quota-usage", "Environment misconfiguration: quotas in use", worst,
                       "every quota below 90 %" if worst == "ok" else
                       f"{len(details)} quotas at 90 % or more", "" if worst == "ok" else
                       "raise the ResourceQuota in platform-config or lower requests",
                       details)

    def permissions() -> Outcome:
        from gitplane import k8s

        result = result_of()
        objects = [r.obj for er in result.platform.envs for ar in er.apps for r in ar.resources]
        crds = k8s.crd_scopes(objects)
        plurals = {(str((o.get("spec") or {}).get("group")),
                    str(((o.get("spec") or {}).get("names") or {}).get("kind"))):
                   str(((o.get("spec") or {}).get("names") or {}).get("plural"))
                   for o in objects if o.get("kind") == "CustomResourceDefinition"}
        wanted: set[tuple[str, str, str]] = set()
        for er in result.platform.envs:
            for ar in er.apps:
                dest = str(ar.app.destination.get("namespace") or "")
                for r in ar.resources:
                    group = k8s.group_of(r.api_version)
                    resource = plurals.get((group, r.kind)) or _plural(r.kind)
                    ns = (r.namespace or dest) if k8s.namespaced(r.api_version, r.kind, crds) \
                        else ""
                    wanted.add((group, resource, ns))
        denied, asked = [], 0
        for group, resource, ns in sorted(wanted)[:80]:
            asked += 1
            if not kube.allowed("create", group, resource, ns):
                denied.append(f"create {resource}{'.' + group if group else ''}"
                              f"{' in ' + ns if ns else ' (cluster-wide)'}")
        more = f" (the first 80 of {len(wanted)})" if len(wanted) > 80 else ""
        if denied:
            return Outcome("cluster-permissions", "Bootstrap: permissions in the cluster",
                           "fail", f"{len(denied)} of {asked} denied{more}",
                           "grant the context's user what is denied, or bootstrap with a "
                           "context that has it", denied[:20])
        return Outcome("cluster-permissions", "Bootstrap: permissions in the cluster", "ok",
                       f"the context may create all {asked} kinds and namespaces the "
                       f"platform applies{more}")

    return [Check("api-server", "Cluster: API server version", api_server, 30),
            Check("applications", "Sync issues: Applications' sync, health and errors",
                  applications, 60),
            Check("controller-certificate", "Bootstrap: sealed-secrets certificate",
                  controller_certificate, 60),
            Check("quota-usage", "Environment misconfiguration: quotas in use", quota_usage,
                  60),
            Check("cluster-permissions", "Bootstrap: permissions in the cluster", permissions,
                  300)]


def _plural(kind: str) -> str:
    """A kind's resource name, as Kubernetes forms it for the kinds it serves."""
    low = kind.lower()
    if low in ("endpoints",):
        return low
    if low.endswith("y") and low[-2:-1] not in ("a", "e", "o", "u"):
        return low[:-1] + "ies"
    if low.endswith(("s", "x", "ch", "sh")):
        return low + "es"
    return low + "s"


def _fingerprint(pem: str) -> str:
    body = "".join(line.strip() for line in pem.strip().splitlines()
                   if line.strip() and not line.startswith("-----"))
    return hashlib.sha256(body.encode()).hexdigest()


_UNITS = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10,
          "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def _quantity(text: str) -> float:
    m = re.match(r"^([0-9.]+)([a-zA-Z]*)$", text.strip())
    if not m or m.group(2) not in _UNITS:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def exit_code(outcomes: list[Outcome], strict: bool) -> int:
    if any(o.status == "fail" for o in outcomes):
        return 1
    if strict and any(o.status == "warn" for o in outcomes):
        return 1
    return 0


def bundle(directory: Path, outcomes: list[Outcome], result: Any | None, repo: Any) -> list[Path]:
    """A support bundle: the doctor's results, the check's findings (already redacted), the
    Applications, the versions of everything, gitplane.yaml and Git facts with credentials
    cut from URLs. No object's values, no secret."""
    from gitplane.scaffold.files import write_all

    directory = directory.absolute()
    if directory.exists() and any(directory.iterdir()):
        raise GitplaneError(f"{directory}: exists and is not empty; give a new folder")
    files: dict[Path, bytes] = {}

    def put(name: str, data: Any) -> None:
        files[directory / name] = (json.dumps(data, indent=2, ensure_ascii=False,
                                              sort_keys=True) + "\n").encode()

    put("doctor.json", [o.to_json() for o in outcomes])
    if result is not None:
        put("findings.json", result.to_json())
        put("applications.json", [a.app.to_json() for er in result.platform.envs
                                  for a in er.apps])
    git = {}
    for key, args in (("head", ["rev-parse", "HEAD"]), ("branch", ["branch", "--show-current"]),
                      ("status", ["status", "--porcelain"]),
                      ("remote", ["config", "--get", "remote.origin.url"])):
        res = proc.git(args, cwd=repo.top, timeout=20)
        git[key] = _redact(res.stdout.decode("utf-8", "replace").strip())
    put("git.json", git)
    put("environment.json", {"gitplane": __version__, "python": sys.version.split()[0],
                             "platform": host.platform()})
    cfg = repo.root / "gitplane.yaml"
    if cfg.is_file() and not cfg.is_symlink():
        files[directory / "gitplane.yaml"] = _redact(cfg.read_text("utf-8")).encode()
    write_all(files)
    return sorted(files)


__all__ = ["Check", "Outcome", "run_checks", "repository_checks", "tools_check",
           "certificates_check", "credentials_check", "reachability_check", "cluster_checks",
           "Kube", "exit_code", "bundle", "SYMBOL"]
