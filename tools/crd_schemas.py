"""Build gitplane's bundled schemas of the custom resources the reference platform pins.

    python tools/crd_schemas.py MIRRORS

MIRRORS is a folder of git repositories named ``owner+name`` (bare, or with the git
directory in ``owner+name/repo``), as gitplane's maintainers fetch them. For each component
in ``SOURCES`` the CRD files are read at the pinned tag (``git show``: nothing checked out),
Helm template lines of a chart's templated CRDs are dropped, and every served version
becomes a strict JSON schema (the same conversion as CRDs rendered in a platform). The
result is written to ``src/gitplane/schemas/crds.zip``: ``index.json`` (each CRD's scope
and where it came from) and one member per schema, so a run reads only the schemas it
needs. The projects' licences (Apache-2.0) allow this; the
schemas are derived from their CRDs. Re-run after an upgrade in ``data/versions.json``.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import zipfile

import yaml

from gitplane.checks.schema import crd_schema

#: component → (repository, tag, folder of its CRD files, file name prefix)
SOURCES: dict[str, tuple[str, str, str, str]] = {
    "Argo CD": ("argoproj/argo-helm", "argo-cd-10.1.1", "charts/argo-cd/templates/crds", ""),
    "cert-manager": ("cert-manager/cert-manager", "v1.21.1", "deploy/crds", ""),
    "Sealed Secrets": ("bitnami-labs/sealed-secrets", "helm-v2.18.5",
                       "helm/sealed-secrets/crds", ""),
    "Prometheus operator": ("prometheus-community/helm-charts",
                            "kube-prometheus-stack-88.5.3",
                            "charts/kube-prometheus-stack/charts/crds/crds", ""),
    "Gateway API": ("kubernetes-sigs/gateway-api", "v1.6.1", "config/crd/standard",
                    "gateway.networking.k8s.io_"),
    "Kubeflow training operator": ("kubeflow/trainer", "v1.9.4", "manifests/base/crds", ""),
    "Spark operator": ("kubeflow/spark-operator", "v2.5.2", "charts/spark-operator-chart/crds",
                       ""),
    "OpenTelemetry operator": ("open-telemetry/opentelemetry-helm-charts",
                               "opentelemetry-operator-0.122.0",
                               "charts/opentelemetry-operator/conf/crds", ""),
    "Velero": ("vmware-tanzu/velero", "v1.17.1", "config/crd/v1/bases", ""),
    "Traefik": ("traefik/traefik-helm-chart", "v41.3.0", "traefik/crds", "traefik.io_"),
}


class _Loader(yaml.SafeLoader):
    """YAML 1.1 without its ``=`` value tag (a CRD's enum may hold a bare ``=``)."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:value"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _git_dir(mirrors: Path, repo: str) -> Path:
    base = mirrors / repo.replace("/", "+")
    return base / "repo" if (base / "repo").exists() else base


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(git_dir), *args], check=True,
                          capture_output=True, text=True).stdout


def main(mirrors: str) -> None:
    schemas: dict[str, Any] = {}
    scopes: dict[str, str] = {}
    sources = []
    for component, (repo, tag, folder, prefix) in SOURCES.items():
        git_dir = _git_dir(Path(mirrors), repo)
        names = [n for n in _git(git_dir, "ls-tree", "--name-only", f"{tag}:{folder}").split()
                 if n.endswith((".yaml", ".yml")) and n.startswith(prefix)]
        kinds = []
        for name in sorted(names):
            text = _git(git_dir, "show", f"{tag}:{folder}/{name}")
            text = "\n".join(line for line in text.splitlines() if "{{" not in line)
            for crd in yaml.load_all(text, Loader=_Loader):
                if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
                    continue
                spec = crd["spec"]
                group, kind = spec["group"], spec["names"]["kind"]
                scopes[f"{group}|{kind}"] = spec.get("scope", "Namespaced")
                kinds.append(kind)
                for version in spec["versions"]:
                    if version.get("served", True) and "schema" in version:
                        schemas[f"{group}/{version['name']}|{kind}"] = crd_schema(
                            version["schema"]["openAPIV3Schema"])
        sources.append({"component": component, "repository": repo, "tag": tag,
                        "folder": folder, "kinds": sorted(set(kinds))})
        print(f"{component}: {repo}@{tag}: {len(set(kinds))} kinds")
    index = {"sources": sources, "scopes": scopes, "schemas": sorted(schemas)}
    target = Path(__file__).parents[1] / "src/gitplane/schemas/crds.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, value in [("index.json", index),
                            *((f"{k.replace('|', '_')}.json", v)
                              for k, v in sorted(schemas.items()))]:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, json.dumps(value, sort_keys=True, separators=(",", ":")))
    print(f"wrote {target}: {len(schemas)} schemas, {target.stat().st_size} bytes")


if __name__ == "__main__":
    main(*sys.argv[1:2])
