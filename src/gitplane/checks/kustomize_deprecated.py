"""A kustomization field kustomize deprecated: it still builds today, and will not tomorrow.

``bases`` → ``resources``; ``patchesStrategicMerge`` and ``patchesJson6902`` → ``patches``;
``commonLabels`` → ``labels`` (with ``includeSelectors: true`` to keep the same result);
``vars`` → ``replacements``. ``kustomize edit fix`` rewrites most of them.

Failing::

    bases: [../../base]
    patchesStrategicMerge: [replicas.yaml]

Passing::

    resources: [../../base]
    patches: [{path: replicas.yaml}]
"""
from __future__ import annotations

from collections.abc import Iterator

from gitplane.model import Finding
from gitplane.render.kustomize import KUSTOMIZATION_FILES
from gitplane.checks.context import Context
from gitplane.errors import YamlError

ID = "kustomize-deprecated"
SEVERITY = "warning"
REPLACED = {"bases": "resources", "patchesStrategicMerge": "patches",
            "patchesJson6902": "patches", "commonLabels": "labels", "vars": "replacements"}


def check(ctx: Context) -> Iterator[Finding]:
    parsed = ctx.platform.parsed
    top = ctx.platform.repo.top
    for unit in ctx.units():
        for rel in sorted(unit.files):
            if rel.rsplit("/", 1)[-1] not in KUSTOMIZATION_FILES:
                continue
            try:
                docs = parsed.load(top / rel, rel)
            except YamlError:
                continue
            k = docs[0].obj if docs and isinstance(docs[0].obj, dict) else {}
            for key, new in REPLACED.items():
                if key in k:
                    yield Finding(unit.environment, unit.application, rel, docs[0].line_of(key),
                                  ID, "", SEVERITY, f"'{key}' is deprecated; use '{new}'")
