"""A component whose project no longer maintains it: no releases, no security fixes.

It keeps running, but nothing will fix the next vulnerability in it; on the cluster's edge
(an ingress controller) that is a matter of time. Found by the Helm chart an Application
installs and by the container images rendered workloads run, against the table of retired
components in ``gitplane/data/lifecycle.json`` (each entry names its source; the README
says how to add one). A pin older than the final release is named too: it misses the last
fixes.

Failing: an Application installing the ``ingress-nginx`` chart from
``https://kubernetes.github.io/ingress-nginx`` (maintenance ended in March 2026).

Passing: a maintained controller, for example a Gateway API implementation.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitplane.checks.context import Context, pods, resource_finding
from gitplane.k8s import containers
from gitplane.model import Finding
from gitplane.repo import normalize_url

ID = "component-retired"
SEVERITY = "warning"
TABLE = Path(__file__).resolve().parents[1] / "data" / "lifecycle.json"


@functools.lru_cache(maxsize=1)
def components() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(TABLE.read_text())["components"])


def _older(version: str, final: str) -> bool:
    def parts(v: str) -> tuple[int, ...]:
        try:
            return tuple(int(p) for p in v.lstrip("v").split("-")[0].split("."))
        except ValueError:
            return ()
    a, b = parts(version), parts(final)
    return bool(a and b) and a < b


def _message(c: dict[str, Any], version: str = "") -> str:
    pin = (f"; {version} is older than its final release {c['final']} and misses its last "
           "fixes" if version and _older(version, c["final"]) else "")
    return (f"{c['name']} is retired: no releases or security fixes since {c['ended']} "
            f"({c['source'].split(',')[0]}){pin}; move to {c['instead']}")


def check(ctx: Context) -> Iterator[Finding]:
    table = components()
    charts = {(normalize_url(ch["repo"]), ch["chart"]): c for c in table for ch in c["charts"]}
    images = [(img, c) for c in table for img in c["images"]]
    for er, ar in ctx.apps():
        app = ar.app
        for src in app.sources:
            c = charts.get((normalize_url(src.repo_url), src.chart or ""))
            if c is not None:
                yield Finding(er.env.name, app.name, app.origin.file, app.origin.line, ID, "",
                              SEVERITY, _message(c, src.target_revision))
    for unit, res, path, spec in pods(ctx):
        for field, i, container in containers(spec):
            image = str(container.get("image") or "")
            for prefix, c in images:
                if image == prefix or image.startswith((prefix + ":", prefix + "@")):
                    yield resource_finding(ID, SEVERITY, unit, res, _message(c), *path, field,
                                           i, "image")
