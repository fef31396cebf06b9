"""A value only the user can know, still a placeholder.

The reference platform (and many templates) ship values the user must fill in: the
repository URL (``your-org/your-repo``), the ACME account e-mail (an address at a domain
reserved for examples, which Let's Encrypt refuses), the platform's domain (an Ingress host
or Argo CD's ``global.domain`` under ``example.com``/``.org``/``.net``: no certificate, no
DNS), and ``REPLACEME``/``CHANGEME`` markers.
Left as they are, Argo CD reads a repository that does not exist and cert-manager registers
no ACME account, so no certificate is ever issued. Checked where they matter: the sources
of Applications, ApplicationSet git generators and AppProjects, and the e-mail of ACME
issuers; and any string value that is exactly a marker.

Failing: ``repoURL: https://github.com/your-org/your-repo.git``; ``email:
admin@example.com`` in a ClusterIssuer's ``spec.acme``.

Passing: the repository's real URL and an address the user reads.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from gitplane.checks.context import Context, resource_finding
from gitplane.k8s import dig
from gitplane.model import Finding

ID = "placeholder-value"
SEVERITY = "warning"

#: Repository URLs of templates, never of a real repository.
PLACEHOLDER_URL = re.compile(r"your-org/your-repo|<your[-_ ]|/YOUR[-_]", re.I)
#: Domains reserved for examples (RFC 2606, RFC 6761): Let's Encrypt refuses them as contacts.
EXAMPLE_MAIL = re.compile(r"@(?:[\w-]+\.)*example\.(?:com|org|net)$|@example$", re.I)
#: Host names under domains reserved for examples.
EXAMPLE_HOST = re.compile(r"(?:^|\.)example\.(?:com|org|net)$", re.I)
#: A whole value that says "fill me in".
MARKER = re.compile(r"^(?:REPLACE[-_]?ME|CHANGE[-_]?ME|TODO|FIXME|<[A-Z][A-Z0-9_]*>)$")


def _strings(value: Any, path: tuple[str | int, ...] = ()
             ) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, (*path, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*path, i))
    elif isinstance(value, str):
        yield path, value


def _urls(obj: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, URL) of the repository URLs an Argo CD object names."""
    for path, value in _strings(obj.get("spec")):
        if path and path[-1] in ("repoURL",) or (len(path) >= 2 and path[-2] == "sourceRepos"):
            yield ("spec", *path), value


def _hosts(obj: dict[str, Any], group: str, kind: str
           ) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, host) of an Ingress's rules and TLS, and of Argo CD's chart ``global.domain``."""
    if group == "networking.k8s.io" and kind == "Ingress":
        for i, rule in enumerate(dig(obj, "spec", "rules") or []):
            if isinstance(rule, dict) and isinstance(rule.get("host"), str):
                yield ("spec", "rules", i, "host"), rule["host"]
    if group == "argoproj.io" and kind == "Application":
        source = dig(obj, "spec", "source")
        domain = dig(source, "helm", "valuesObject", "global", "domain")
        if isinstance(source, dict) and source.get("chart") == "argo-cd" and \
                isinstance(domain, str):
            yield ("spec", "source", "helm", "valuesObject", "global", "domain"), domain


def check(ctx: Context) -> Iterator[Finding]:
    for unit in ctx.units():
        for res in unit.resources:
            obj = res.obj
            group = res.api_version.rpartition("/")[0]
            if group == "argoproj.io":
                for path, url in _urls(obj):
                    if PLACEHOLDER_URL.search(url):
                        yield resource_finding(ID, SEVERITY, unit, res,
                                               f"repository URL '{url}' is a placeholder: use "
                                               "your repository's URL (gitplane init "
                                               "--repo-url)", *path)
            if group == "cert-manager.io" and res.kind in ("ClusterIssuer", "Issuer"):
                email = dig(obj, "spec", "acme", "email")
                if isinstance(email, str) and EXAMPLE_MAIL.search(email.strip()):
                    yield resource_finding(ID, SEVERITY, unit, res,
                                           f"ACME e-mail '{email}' is at a domain reserved for "
                                           "examples, which Let's Encrypt refuses: no account, "
                                           "no certificate", "spec", "acme", "email")
            for path, host in _hosts(obj, group, res.kind):
                if EXAMPLE_HOST.search(host.strip()):
                    yield resource_finding(ID, SEVERITY, unit, res,
                                           f"host '{host}' is under a domain reserved for "
                                           "examples: no DNS, no certificate; use your "
                                           "platform's domain (gitplane init --domain)", *path)
            if res.kind in ("Secret", "SealedSecret"):
                continue  # values of Secrets are never quoted, markers or not
            for path, value in _strings(obj):
                if MARKER.match(value.strip()):
                    yield resource_finding(ID, SEVERITY, unit, res,
                                           f"'{value.strip()}' at {'.'.join(map(str, path))} "
                                           "is a placeholder to fill in", *path)
