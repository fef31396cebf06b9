"""A Secret with its values in the repository: ``data`` or ``stringData`` in plain sight.

Anyone who can read the repository can read the secret, forever (Git keeps history). Found
by structure, not by pattern: rendered Secrets (a ``secretGenerator`` makes one too), Secrets
inside a ``kind: List``, and Secrets stored in a ``kubectl.kubernetes.io/last-applied-
configuration`` annotation. Seal it (SealedSecret) or reference an external secret store.

Failing::

    apiVersion: v1
    kind: Secret
    metadata: {name: db}
    stringData: {password: hunter2}

Passing: a ``bitnami.com/v1alpha1`` SealedSecret with ``encryptedData``.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterator

from gitplane.model import Finding

if TYPE_CHECKING:
    from gitplane.checks import Context

ID = "plaintext-secret"
SEVERITY = "error"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _plain(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("kind") == "Secret" and \
        str(obj.get("apiVersion") or "") == "v1" and bool(obj.get("data") or obj.get("stringData"))


def _inside(obj: dict[str, Any]) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    """(where, path) of every plaintext Secret in ``obj`` (itself, List items, annotations)."""
    if _plain(obj):
        keys = sorted(set(obj.get("data") or {}) | set(obj.get("stringData") or {}))
        yield f"Secret holds {', '.join(keys) or 'values'} in plain text", ()
    if obj.get("kind") == "List" and isinstance(obj.get("items"), list):
        for i, item in enumerate(obj["items"]):
            if _plain(item):
                yield "a Secret inside this List holds values in plain text", ("items", i)
    meta = obj.get("metadata")
    ann = meta.get("annotations") if isinstance(meta, dict) else None
    raw = ann.get(LAST_APPLIED) if isinstance(ann, dict) else None
    if isinstance(raw, str):
        try:
            applied = json.loads(raw)
        except json.JSONDecodeError:
            applied = None
        if _plain(applied):
            yield ("the last-applied-configuration annotation holds a Secret's values in "
                   "plain text"), ("metadata", "annotations")


def check(ctx: Context) -> Iterator[Finding]:
    from gitplane.checks import resource_finding

    for unit in ctx.units():
        for res in unit.resources:
            for message, path in _inside(res.obj):
                yield resource_finding(ID, SEVERITY, unit, res,
                                       f"{message}; seal it or use an external secret store",
                                       *path)
