"""``gitplane new app|component|env``: the seed's "Usage" steps as commands."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gitplane.errors import GitplaneError
from gitplane.repo import Repository
from gitplane.scaffold.edit import append_item, edit, edit_all
from gitplane.scaffold.files import Plan
from gitplane.scaffold.init import check_name
from gitplane.yamlio import read_regular

DOMAIN_NAMESPACE = {"applications": "applications", "workloads": "workloads"}
IN_CLUSTER = "https://kubernetes.default.svc"
KUSTOMIZATION_HEAD = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"


def _domain(repo: Repository, domain: str) -> Path:
    check_name("domain", domain)  # a name, never a path
    path = repo.deployments / "domains" / domain
    if not (path / "apps").is_dir():
        known = sorted(p.name for p in (repo.deployments / "domains").glob("*") if p.is_dir())
        raise GitplaneError(f"unknown domain '{domain}' (known: {', '.join(known) or 'none'})")
    return path


def _namespace(domain: str, app: str) -> str:
    return DOMAIN_NAMESPACE.get(domain, app)


def _check_image(image: str) -> None:
    from gitplane.checks.image_tag_mutable import mutable

    why = mutable(image)
    if why or not re.match(r"^[\w.\-/:@]+$", image):
        raise GitplaneError(f"image '{image}' {why or 'is not a valid image reference'}; "
                            "give a pinned tag, e.g. nginx:1.27.3")


DEFAULT_IMAGE = "nginxinc/nginx-unprivileged:1.27.3"
DEFAULT_PORT = 8080


def new_app(repo: Repository, name: str, domain: str, image: str = DEFAULT_IMAGE,
            port: int = DEFAULT_PORT) -> list[Path]:
    check_name("app", name)
    _check_image(image)
    if not 1 <= port <= 65535:
        raise GitplaneError(f"invalid port {port}: use 1-65535")
    dom = _domain(repo, domain)
    for _, existing in repo.apps():
        if existing == name:
            raise GitplaneError(f"app '{name}' already exists "
                                f"({repo.rel(next(repo.deployments.glob('domains/*/apps/' + name)))})")
    ns = _namespace(domain, name)
    app_dir = dom / "apps" / name
    plan = Plan(app_dir)
    resources = ["manifests/deployment.yaml", "manifests/service.yaml"]
    if domain not in DOMAIN_NAMESPACE:
        resources.insert(0, "manifests/namespace.yaml")
        plan.add("base/manifests/namespace.yaml", _namespace_manifest(ns))
    plan.add("base/kustomization.yaml", KUSTOMIZATION_HEAD + (
        "labels:\n  - pairs:\n"
        f"      app.kubernetes.io/name: {name}\n"
        f"      app.kubernetes.io/part-of: {domain}\n"
        "resources:\n" + "".join(f"  - {r}\n" for r in resources)))
    plan.add("README.md", _readme(name, domain, ns, image, port))
    plan.add("base/manifests/deployment.yaml", _deployment(name, ns, image, port))
    plan.add("base/manifests/service.yaml", _service(name, ns, port))
    for env in repo.environments():
        plan.add(f"environments/{env.name}/kustomization.yaml",
                 KUSTOMIZATION_HEAD + "resources:\n  - ../../base\n")
    if domain == "infrastructure":
        plan.edit(*_add_list_element(repo, name))
    permit = _permit_namespace(repo, domain, ns)
    if permit is not None:
        plan.edit(*permit)
    return plan.commit()


def _permit_namespace(repo: Repository, domain: str, ns: str
                      ) -> tuple[Path, bytes, bytes, str] | None:
    """The domain's AppProject (bootstrap/argocd/base/projects.yaml) gets ``ns`` as a
    destination when it lists destinations and none permits it; None when nothing changes
    (no such file or project: a repository laid out otherwise)."""
    from gitplane.checks.argocd_project import permits_destination

    path = repo.deployments / "bootstrap" / "argocd" / "base" / "projects.yaml"
    shown = repo.rel(path)
    if not path.is_file() or path.is_symlink():
        return None
    before = read_regular(path)
    changed = False

    def change(docs: list[Any]) -> None:
        nonlocal changed
        from ruamel.yaml.comments import CommentedMap

        for doc in docs:
            if not isinstance(doc, dict) or doc.get("kind") != "AppProject" or \
                    (doc.get("metadata") or {}).get("name") != domain:
                continue
            dests = (doc.get("spec") or {}).get("destinations")
            if not isinstance(dests, list) or not dests or \
                    permits_destination(list(dests), IN_CLUSTER, "in-cluster", ns):
                return
            item = CommentedMap()
            item["server"] = IN_CLUSTER
            item["namespace"] = ns
            append_item(dests, item)
            changed = True

    after = edit_all(path, change, shown)
    return (path, before, after, shown) if changed else None


def _add_list_element(repo: Repository, name: str) -> tuple[Path, bytes, bytes, str]:
    """The infrastructure ApplicationSet's list generator gets ``- name: NAME``."""
    path = repo.deployments / "bootstrap" / "platform-apps" / "base" / "apps.yaml"
    shown = repo.rel(path)
    if not path.is_file():
        raise GitplaneError(f"{shown}: not found; cannot register the infrastructure app")
    before = read_regular(path)

    def change(doc: Any) -> None:
        try:
            elements = doc["spec"]["generators"][0]["list"]["elements"]
        except (KeyError, IndexError, TypeError):
            raise GitplaneError(f"{shown}: has no list generator at "
                                "spec.generators[0].list.elements") from None
        from ruamel.yaml.comments import CommentedMap

        if any(isinstance(e, dict) and e.get("name") == name for e in elements):
            raise GitplaneError(f"{shown}: the list generator already has '{name}'")
        item = CommentedMap()
        item["name"] = name
        elements.append(item)

    return path, before, edit(path, change, shown), shown


def _readme(name: str, domain: str, ns: str, image: str, port: int) -> str:
    return (f"# {name}\n\nAn app of the {domain} domain: `{image}` listening on port {port}, "
            f"in the namespace `{ns}`.\n\n"
            "* `base/` — what every environment deploys (a Deployment and its Service).\n"
            "* `environments/<env>/` — what differs in one environment (an overlay).\n\n"
            "To change it: edit `base/` for every environment, an overlay for one; "
            "`gitplane diff` shows what each environment gets, `gitplane check` what is "
            "wrong.\n")


def _namespace_manifest(ns: str) -> str:
    """A namespace for a new app: Pod Security ``restricted`` (the Deployment ``new app``
    writes complies: non-root, no escalation, no capabilities, RuntimeDefault seccomp)."""
    return (f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n"
            "    pod-security.kubernetes.io/enforce: restricted\n"
            "    pod-security.kubernetes.io/warn: restricted\n"
            "    pod-security.kubernetes.io/audit: restricted\n")


def _deployment(name: str, ns: str, image: str, port: int) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: {name}
          image: {image}
          ports:
            - name: http
              containerPort: {port}
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: [ALL]
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              cpu: 500m
              memory: 256Mi
          readinessProbe:
            tcpSocket:
              port: http
          livenessProbe:
            tcpSocket:
              port: http
"""


def _service(name: str, ns: str, port: int) -> str:
    return f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
spec:
  selector:
    app: {name}
  ports:
    - name: http
      port: {port}
      targetPort: http
"""


def new_component(repo: Repository, name: str, app: str, domain: str) -> list[Path]:
    check_name("component", name)
    check_name("app", app)
    dom = _domain(repo, domain)
    base = dom / "apps" / app / "base"
    kfile = base / "kustomization.yaml"
    if not kfile.is_file():
        raise GitplaneError(f"app '{app}' has no base in domain '{domain}' "
                            f"({repo.rel(kfile)} not found)")
    target = base / name
    if target.exists():
        raise GitplaneError(f"{repo.rel(target)}: already exists")
    shown = repo.rel(kfile)
    before = read_regular(kfile)

    def change(doc: Any) -> None:
        res = doc.get("resources")
        if res is None:
            from ruamel.yaml.comments import CommentedSeq

            res = CommentedSeq()
            doc["resources"] = res
        if not isinstance(res, list):
            raise GitplaneError(f"{shown}: 'resources' is not a list")
        if name in res:
            raise GitplaneError(f"{shown}: already lists '{name}'")
        res.append(name)

    after = edit(kfile, change, shown)
    own_ns = domain not in DOMAIN_NAMESPACE
    ns = name if own_ns else DOMAIN_NAMESPACE[domain]
    plan = Plan(target)
    resources = (["manifests/namespace.yaml"] if own_ns else []) + ["manifests/config.yaml"]
    plan.add("kustomization.yaml", KUSTOMIZATION_HEAD + "resources:\n" +
             "".join(f"  - {r}\n" for r in resources))
    if own_ns:
        plan.add("manifests/namespace.yaml", _namespace_manifest(ns))
    plan.add("manifests/config.yaml",
             f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config\n"
             f"  namespace: {ns}\n  labels:\n    app.kubernetes.io/component: {name}\n"
             f"data:\n  COMPONENT: {name}\n")
    plan.edit(kfile, before, after, shown)
    permit = _permit_namespace(repo, domain, ns)
    if permit is not None:
        plan.edit(*permit)
    return plan.commit()


def new_env(repo: Repository, name: str, source: str | None = None) -> list[Path]:
    check_name("environment", name)
    envs = [e.name for e in repo.environments()]
    if name in envs:
        raise GitplaneError(f"environment '{name}' already exists")
    src = source or ("staging" if "staging" in envs else envs[0])
    if src not in envs:
        raise GitplaneError(f"unknown environment '{src}' (known: {', '.join(envs)})")
    d = repo.deployments
    plan = Plan(d)
    folders = [p for p in (d / "environments" / src, *d.glob(f"bootstrap/*/environments/{src}"),
                           *d.glob(f"domains/*/apps/*/environments/{src}")) if p.is_dir()]
    for folder in folders:
        for f in sorted(folder.rglob("*")):
            if f.is_symlink():
                raise GitplaneError(f"{repo.rel(f)}: is a symlink; copy it by hand")
            if not f.is_file():
                continue
            rel = f.relative_to(d).as_posix()
            out = re.sub(rf"(^|/)environments/{re.escape(src)}(/|$)",
                         rf"\1environments/{name}\2", rel, count=1)
            try:
                text = f.read_text(encoding="utf-8")
            except UnicodeDecodeError:  # not text (a certificate, an image): copied as it is
                plan.add(out, read_regular(f))
                continue
            text = re.sub(rf"/environments/{re.escape(src)}(?=[/'\"\s]|$)",
                          f"/environments/{name}", text, flags=re.M)
            if f.name.endswith((".yaml", ".yml")):
                text = re.sub(rf"^(\s*ENV:\s*)([\"']?){re.escape(src)}\2\s*$",
                              rf"\g<1>\g<2>{name}\g<2>", text, flags=re.M)
                text = re.sub(rf"^(\s*gitplane\.io/environment:\s*){re.escape(src)}\s*$",
                              rf"\g<1>{name}", text, flags=re.M)
                # host names of the source environment (web-app.staging.acme.io)
                text = re.sub(rf"(?<=[\w-]\.){re.escape(src)}(?=\.[\w-]+\.)", name, text)
            plan.add(out, text)
    if not plan.files:
        raise GitplaneError(f"environment '{src}' has nothing to copy")
    return plan.commit()
