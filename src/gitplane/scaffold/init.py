"""``gitplane init``: the reference platform, from the templates shipped as package data.

Template paths use ``__env__`` for a per-environment folder and ``name.@<env>`` for a file
that replaces ``name`` in that environment only; ``templates/variants/<choice>/`` holds the
files of one choice (the ingress controller) laid over ``templates/platform/``. Text uses
``@@VARIABLE@@`` placeholders (never ``{{ }}``, which ApplicationSets use themselves); the
versions, chart repositories and images come from ``data/versions.json``.
"""
from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from collections.abc import Iterator

from gitplane.config import FILENAME as CONFIG_FILE
from gitplane.errors import GitplaneError
from gitplane import git
from gitplane.repo import NAME_RE
from gitplane.scaffold.files import Plan

DEFAULT_ENVS = ("staging", "production")
DEFAULT_REPO_URL = "https://github.com/your-org/your-repo.git"
#: What only the user knows, until given: ``check`` names each (placeholder-value).
DEFAULT_EMAIL = "admin@example.com"
DEFAULT_DOMAIN = "platform.example.com"
PRODUCTION = {"production", "prod"}
#: Ingress controllers init can write (each also names its IngressClass): the default is
#: maintained; ingress-nginx is retired.
INGRESS = ("traefik", "nginx")
DEFAULT_INGRESS = "traefik"

#: ResourceQuota per environment: the seed's production values, half of them elsewhere.
QUOTAS = {
    True: {"QUOTA_REQUESTS_CPU": "4", "QUOTA_REQUESTS_MEMORY": "8Gi",
           "QUOTA_LIMITS_CPU": "8", "QUOTA_LIMITS_MEMORY": "16Gi"},
    False: {"QUOTA_REQUESTS_CPU": "2", "QUOTA_REQUESTS_MEMORY": "4Gi",
            "QUOTA_LIMITS_CPU": "4", "QUOTA_LIMITS_MEMORY": "8Gi"},
}


#: A repository URL as written into YAML: no whitespace, quotes or control characters.
REPO_URL = re.compile(r"^[^\s\x00-\x1f\x7f\"'#]+$")


def check_name(kind: str, name: str) -> None:
    if not NAME_RE.match(name) or len(name) > 63:
        raise GitplaneError(f"invalid {kind} name '{name}': use lower-case letters, digits "
                            "and '-', starting and ending with a letter or digit (DNS-1123, "
                            "at most 63 characters)")


#: A DNS name (the platform's domain): letters, digits, '-' and dots.
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
#: An e-mail address as ACME accepts a contact.
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,63}$")


def env_vars(env: str, domain: str) -> dict[str, str]:
    """The values of one environment: production gets the production ACME issuer and the
    domain itself, every other environment the staging issuer and ``<env>.<domain>``."""
    prod = env in PRODUCTION
    return {"ENV": env, "LOG_LEVEL": "info" if prod else "debug", **QUOTAS[prod],
            "ISSUER": "letsencrypt-prod" if prod else "letsencrypt-staging",
            "ENV_DOMAIN": domain if prod else f"{env}.{domain}"}


def versions() -> dict[str, dict[str, str]]:
    """The pinned components (``data/versions.json``): key → name, repo, chart, version, …"""
    data = json.loads((resources.files("gitplane") / "data" / "versions.json")
                      .read_text(encoding="utf-8"))
    return dict(data["components"])


def version_values() -> dict[str, str]:
    """``<KEY>_VERSION``, ``_REPO``, ``_CHART``, ``_IMAGE``, ``_PATH``, ``_APP``, ``_NAME``
    of every pinned component, as the templates name them."""
    out: dict[str, str] = {}
    for key, entry in versions().items():
        for field in ("version", "repo", "chart", "image", "path", "app", "name"):
            if field in entry:
                out[f"{key}_{field.upper()}"] = str(entry[field])
    return out


def _templates(variants: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    yield from _tree(resources.files("gitplane") / "templates" / "platform")
    for variant in variants:
        yield from _tree(resources.files("gitplane") / "templates" / "variants" / variant)


def _tree(root: object) -> Iterator[tuple[str, str]]:
    def walk(node: object, prefix: str) -> Iterator[tuple[str, str]]:
        for child in sorted(node.iterdir(), key=lambda c: c.name):  # type: ignore[attr-defined]
            rel = f"{prefix}/{child.name}" if prefix else child.name
            if child.is_dir():
                yield from walk(child, rel)
            else:
                yield rel, child.read_text(encoding="utf-8")

    yield from walk(root, "")


def substitute(text: str, values: dict[str, str], where: str) -> str:
    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            raise GitplaneError(f"template {where}: unknown placeholder @@{key}@@")
        return values[key]
    return re.sub(r"@@([A-Z_]+)@@", sub, text)


def plan_platform(target: Path, envs: list[str], values: dict[str, str],
                  only: set[str] | None = None, variants: tuple[str, ...] = (DEFAULT_INGRESS,)
                  ) -> Plan:
    """Every file of the reference platform for ``envs``; ``only`` keeps matching prefixes."""
    plan = Plan(target)
    templates = dict(_templates(variants))
    values = {**version_values(), **values}
    domain = values.get("DOMAIN", DEFAULT_DOMAIN)
    for rel, text in templates.items():
        if ".@" in rel.rsplit("/", 1)[-1]:
            continue
        targets = [(rel.replace("__env__", e), e) for e in envs] if "__env__" in rel \
            else [(rel, None)]
        for out, env in targets:
            if only is not None and not any(out.startswith(p) for p in only):
                continue
            src = templates.get(f"{rel}.@{env}", text) if env else text
            plan.add(out, substitute(src, {**values, **(env_vars(env, domain) if env else {})},
                                     rel))
    return plan


#: the GitHub Action a platform's workflow uses (this repository's action.yml, published)
ACTION = "gitplane/gitplane@v1"
WORKFLOW = ".github/workflows/gitplane.yml"
#: the GitLab CI/CD component (this repository's templates/gitplane.yml, published)
COMPONENT = "$CI_SERVER_FQDN/gitplane/gitplane/gitplane@1"
GITLAB_CI = ".gitlab-ci.yml"
CI_FILES = {"github": WORKFLOW, "gitlab": GITLAB_CI}


def workflow_text(envs: list[str], working_directory: str = ".") -> str:
    """The pull-request workflow ``init`` writes: per environment (a matrix job each), the
    rendered diff as one comment, the head checked, SARIF, a job summary (see action.yml)."""
    matrix = ", ".join(envs)
    return f"""# gitplane on every pull request, one job per environment: the rendered diff as one
# comment per environment (updated on later pushes), the head checked, SARIF in code
# scanning, a job summary. A pull request from a fork (read-only token) gets the summary;
# the comment is skipped with a warning.
name: gitplane
on:
  pull_request:
permissions:
  contents: read
  pull-requests: write
  security-events: write
jobs:
  gitplane:
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix:
        environment: [{matrix}]
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: {ACTION}
        with:
          working-directory: "{working_directory}"
          environment: ${{{{ matrix.environment }}}}
          # allow-network: "true"  # fetch the platform's Helm charts, so they are checked
"""


def gitlab_ci_text(envs: list[str], working_directory: str = ".") -> str:
    """The merge-request pipeline ``init --ci gitlab`` writes: the component once per
    environment (see templates/gitplane.yml)."""
    includes = "".join(f"""  - component: {COMPONENT}
    inputs:
      job-name: gitplane-{env}
      environment: {env}
      working-directory: "{working_directory}"
""" for env in envs)
    return f"""# gitplane on every merge request, one job per environment: the rendered diff as one
# note per environment (updated on later pushes; needs a project access token with the api
# scope in the masked CI/CD variable GITPLANE_GITLAB_TOKEN), the head checked (Code Quality
# and JUnit reports), and the HTML report as an artifact.
include:
{includes}"""


def init(directory: Path, envs: list[str] | None = None, repo_url: str | None = None,
         force: bool = False, email: str | None = None, domain: str | None = None,
         ingress: str = DEFAULT_INGRESS, ci: str = "github") -> tuple[Path, list[Path], str]:
    """Write the reference platform into ``directory/deployments`` (and, with ``ci``
    ``github`` or ``gitlab``, a pull-request pipeline when ``directory`` is the repository's
    top);
    returns (dir, files, url)."""
    if ci not in ("github", "gitlab", "none"):
        raise GitplaneError(f"unknown CI '{ci}' (known: github, gitlab, none)")
    envs = list(dict.fromkeys(envs or DEFAULT_ENVS))
    for env in envs:
        check_name("environment", env)
    if ingress not in INGRESS:
        raise GitplaneError(f"unknown ingress controller '{ingress}' (known: "
                            f"{', '.join(sorted(INGRESS))})")
    if email is not None and not EMAIL.match(email):
        raise GitplaneError(f"invalid e-mail address {email!r} for the ACME account")
    if domain is not None:
        domain = domain.strip().lower().rstrip(".")
        if not DOMAIN.match(domain):
            raise GitplaneError(f"invalid domain {domain!r}: a DNS name such as "
                                "platform.acme.io")
    if directory.exists() and not directory.is_dir():
        raise GitplaneError(f"{directory}: exists and is not a directory")
    probe = directory if directory.exists() else next(
        (p for p in directory.absolute().parents if p.exists()), Path("/"))
    top = git.toplevel(probe)
    if top is not None and _ignored(directory, top):
        top = None  # a git-ignored folder is not part of that repository: give it its own
    url = repo_url or (git.origin_url(top) if top else None) or DEFAULT_REPO_URL
    if not REPO_URL.match(url):
        raise GitplaneError(f"invalid repository URL {url!r}: no spaces, quotes or control "
                            "characters")
    absolute = directory.absolute()
    prefix = "deployments"
    if top is not None:
        rel = absolute.resolve().relative_to(top.resolve()) if absolute.exists() else \
            _relative_missing(absolute, top)
        if str(rel) not in ("", "."):
            prefix = f"{rel.as_posix()}/deployments"
    values = {"REPO_URL": url, "PREFIX": prefix,
              "APP_SEGMENT": str(len(prefix.split("/")) + 3),
              "ACME_EMAIL": email or DEFAULT_EMAIL, "DOMAIN": domain or DEFAULT_DOMAIN,
              "INGRESS_CLASS": ingress}
    plan = plan_platform(directory, envs, values, variants=(ingress,))
    plan.add(CONFIG_FILE, _config_text(url))
    plan.add(f"deployments/{VERSIONS_FILE}", versions_text(plan))
    if ci != "none" and (top is None or top.resolve() == absolute.resolve()):
        plan.add(CI_FILES[ci], workflow_text(envs) if ci == "github" else gitlab_ci_text(envs))
    written = plan.commit(force=force)
    if top is None:
        git.init(directory)
    return directory, written, url


VERSIONS_FILE = "versions.yaml"


def versions_text(plan: Plan) -> str:
    """``deployments/versions.yaml``: every chart the planned platform installs, with its
    repository and version (what ``gitplane upgrade`` keeps in step with the manifests)."""
    texts = [t if isinstance(t, str) else t.decode("utf-8", "replace")
             for t in plan.files.values()]
    lines = ["# Every chart version this platform pins, in one place. `gitplane upgrade CHART",
             "# --to VERSION` changes it here and in every Application that installs the chart",
             "# in one edit, shows the rendered difference and the upgrade notes crossed;",
             "# `gitplane upgrade` lists them.", "charts:"]
    for entry in sorted(versions().values(), key=lambda e: str(e.get("chart", ""))):
        chart = entry.get("chart")
        if chart and any(f"chart: {chart}\n" in t for t in texts):
            lines += [f"  {chart}:", f"    repoURL: {entry['repo']}",
                      f"    version: {json.dumps(str(entry['version']))}"]
    return "\n".join(lines) + "\n"


def _ignored(directory: Path, top: Path) -> bool:
    return git.ignored(directory, top)


def _relative_missing(absolute: Path, top: Path) -> Path:
    try:
        return absolute.relative_to(top.resolve())
    except ValueError:
        return absolute.relative_to(top)


def _config_text(url: str) -> str:
    return ('# gitplane settings; see "Configuration" in the gitplane README.\n'
            "# URLs that mean this repository in Applications and ApplicationSets, besides\n"
            "# the Git remote 'origin'.\n"
            f"repoURLs:\n  - {url}\n")
