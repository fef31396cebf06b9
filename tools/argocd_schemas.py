"""Build gitplane's bundled schemas of Argo CD's own kinds from Argo CD's CRDs.

    python tools/argocd_schemas.py ARGO_CD_CHECKOUT TAG

reads ``manifests/crds/{application,applicationset,appproject}-crd.yaml`` at ``TAG`` (git
show, nothing checked out) and writes ``src/gitplane/schemas/argocd.json.gz``: the strict
JSON schema of each served version (the same conversion as CRDs rendered in a platform), and
the release they came from. Argo CD is Apache-2.0; the schemas are derived from its CRDs.
"""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import yaml

from gitplane.checks.schema import crd_schema

CRDS = ("application", "applicationset", "appproject")


def main(checkout: str, tag: str) -> None:
    out: dict[str, object] = {"release": tag, "source": "argoproj/argo-cd manifests/crds",
                              "schemas": {}}
    schemas = out["schemas"]
    assert isinstance(schemas, dict)
    for name in CRDS:
        text = subprocess.run(["git", "-C", checkout, "show",
                               f"{tag}:manifests/crds/{name}-crd.yaml"],
                              check=True, capture_output=True, text=True).stdout
        crd = yaml.safe_load(text)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served", True):
                schemas[f"{group}/{version['name']}|{kind}"] = crd_schema(
                    version["schema"]["openAPIV3Schema"])
    target = Path(__file__).parents[1] / "src/gitplane/schemas/argocd.json.gz"
    target.parent.mkdir(exist_ok=True)
    data = json.dumps(out, sort_keys=True, separators=(",", ":")).encode()
    target.write_bytes(gzip.compress(data, mtime=0))
    print(f"wrote {target} ({len(data)} bytes of JSON, {len(schemas)} schemas, {tag})")


if __name__ == "__main__":
    main(*sys.argv[1:3])
