"""Argo CD Application documents parsed into the model, with the file and field named on error."""
from __future__ import annotations

import re
from typing import Any

from gitplane.errors import GitplaneError
from gitplane.model import Application, Origin, Source

APPLICATION = "Application"
APPLICATIONSET = "ApplicationSet"
GROUP = "argoproj.io/"
#: A Kubernetes object name (DNS-1123 subdomain), as the API server validates Applications.
NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def is_kind(obj: Any, kind: str) -> bool:
    return isinstance(obj, dict) and obj.get("kind") == kind and \
        str(obj.get("apiVersion") or "").startswith(GROUP)


def sync_policy(doc: Any) -> dict[str, Any]:
    spec = doc.get("spec") if isinstance(doc, dict) else None
    policy = spec.get("syncPolicy") if isinstance(spec, dict) else None
    return policy if isinstance(policy, dict) else {}


def creates_namespace(doc: Any) -> bool:
    """Whether Argo CD creates the destination namespace (``CreateNamespace=true``)."""
    options = sync_policy(doc).get("syncOptions")
    return isinstance(options, list) and "CreateNamespace=true" in options


def automated(doc: Any) -> bool:
    """Whether Argo CD syncs the Application on its own: ``syncPolicy.automated`` present
    (an empty mapping too) and not switched off with ``enabled: false``."""
    policy = sync_policy(doc)
    if "automated" not in policy:
        return False
    auto = policy.get("automated")
    return not (isinstance(auto, dict) and auto.get("enabled") is False)


def retries(doc: Any) -> bool:
    """Whether a failed sync is tried again: ``syncPolicy.retry`` with a ``limit`` other than
    0 (a negative limit retries forever; a missing one is 0, Go's zero value: no retry)."""
    retry = sync_policy(doc).get("retry")
    if not isinstance(retry, dict):
        return False
    limit = retry.get("limit", 0)
    return isinstance(limit, int) and not isinstance(limit, bool) and limit != 0


class InvalidApplication(GitplaneError):
    """The document is an Application but misses what Argo CD needs; message names the field."""


def _source(raw: Any, where: str) -> Source:
    if not isinstance(raw, dict):
        raise InvalidApplication(f"{where} must be an object")
    repo_url = raw.get("repoURL")
    if not isinstance(repo_url, str) or not repo_url:
        raise InvalidApplication(f"{where}.repoURL is required")
    rev = raw.get("targetRevision")
    directory = raw.get("directory") if isinstance(raw.get("directory"), dict) else {}
    path = raw.get("path")
    chart = raw.get("chart")
    return Source(repo_url=repo_url, path=str(path) if path is not None else None,
                  target_revision=str(rev) if rev not in (None, "") else "HEAD",
                  chart=str(chart) if chart else None, directory=directory or {}, raw=raw)


def from_doc(doc: dict[str, Any], origin: Origin, environment: str) -> Application:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    spec = doc.get("spec")
    assert isinstance(meta, dict)
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidApplication("metadata.name is required")
    if not NAME.match(name):
        shown = name if len(name) <= 80 else name[:77] + "..."
        raise InvalidApplication(f"Application name '{shown}' is not a valid Kubernetes name "
                                 "(lowercase letters, digits, '-' and '.', starting and "
                                 "ending with a letter or digit, at most 253 characters)")
    if not isinstance(spec, dict):
        raise InvalidApplication(f"Application '{name}': spec is required")
    sources: list[Source] = []
    if spec.get("sources"):
        if not isinstance(spec["sources"], list):
            raise InvalidApplication(f"Application '{name}': spec.sources must be a list")
        sources = [_source(s, f"spec.sources[{i}]") for i, s in enumerate(spec["sources"])]
    elif spec.get("source") is not None:
        sources = [_source(spec["source"], "spec.source")]
    else:
        raise InvalidApplication(f"Application '{name}': spec.source or spec.sources is "
                                 "required")
    dest = spec.get("destination") if isinstance(spec.get("destination"), dict) else {}
    assert isinstance(dest, dict)
    return Application(
        name=name, namespace=str(meta.get("namespace") or ""),
        project=str(spec.get("project") or "default"), sources=sources,
        destination={str(k): str(v) for k, v in dest.items() if isinstance(v, (str, int))},
        origin=origin, doc=doc, environment=environment)
