"""A setting only the platform's owners can fill in, still empty (``info``: it never fails
a run, ``--strict`` included).

The reference platform configures these and leaves the values to the user; in any
repository they are where a platform that deploys cleanly still does not do its job:

* Argo CD installed from its Helm chart with neither ``oidc.config`` nor ``dex.config``:
  only the local admin account can log in (no SSO, so the RBAC groups match nobody).
* kube-prometheus-stack whose Alertmanager routes alerts to a receiver with no
  integration (no ``*_configs``): alerts fire and reach nobody.
* Velero with a backup storage location whose ``bucket`` is empty: no backup is written.

Read from the Helm values an Application writes inline (``valuesObject``, ``values``); an
Application that also takes value files is not judged (the setting may be there).

Failing::

    source: {chart: velero, helm: {valuesObject: {configuration:
      {backupStorageLocation: [{provider: aws, bucket: ""}]}}}}

Passing: ``bucket: acme-platform-backups``.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from gitplane.checks.context import Context, Unit, resource_finding
from gitplane.k8s import as_dict, dig
from gitplane.model import Finding, Resource
from gitplane.yamlio import yaml_value

ID = "setting-unfilled"
SEVERITY = "info"

Path = tuple[str | int, ...]


def _sources(obj: dict[str, Any]) -> Iterator[tuple[Path, dict[str, Any]]]:
    spec = as_dict(obj.get("spec"))
    if isinstance(spec.get("source"), dict):
        yield ("spec", "source"), spec["source"]
    for i, s in enumerate(spec.get("sources") or []):
        if isinstance(s, dict):
            yield ("spec", "sources", i), s


def _values(source: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """The inline values and the key they are under, or None when value files may hold
    more (or nothing is inline)."""
    helm = source.get("helm")
    if not isinstance(helm, dict) or helm.get("valueFiles"):
        return None
    if isinstance(helm.get("valuesObject"), dict):
        return helm["valuesObject"], "valuesObject"
    if isinstance(helm.get("values"), str):
        try:  # the guarded loader: a repository's text is hostile input
            loaded = yaml_value(helm["values"])
        except yaml.YAMLError:
            return None
        return (loaded, "values") if isinstance(loaded, dict) else None
    return {}, ""


def _argocd(values: dict[str, Any]) -> tuple[Path, str] | None:
    cm = dig(values, "configs", "cm")
    cm = cm if isinstance(cm, dict) else {}
    if cm.get("oidc.config") or cm.get("dex.config"):
        return None
    if cm.get("admin.enabled") in (False, "false"):
        return None  # logins come from somewhere else (an external argocd-cm patch)
    return (("configs", "cm") if cm else ()), (
        "Argo CD has no SSO (neither oidc.config nor dex.config): only the local admin "
        "account can log in and RBAC groups match nobody; fill in configs.cm.oidc.config")


def _alertmanager(values: dict[str, Any]) -> tuple[Path, str] | None:
    if dig(values, "alertmanager", "enabled") is False:
        return None
    config = dig(values, "alertmanager", "config")
    if not isinstance(config, dict):
        return (), ("Alertmanager keeps the chart's configuration, which sends every alert to "
                    "the 'null' receiver: add a receiver (alertmanager.config)")
    receivers = {str(r.get("name")): r for r in config.get("receivers") or []
                 if isinstance(r, dict)}
    name = str(dig(config, "route", "receiver") or "")
    receiver = receivers.get(name)
    if receiver is None or any(k.endswith("_configs") and v for k, v in receiver.items()):
        return None
    return ("alertmanager", "config", "receivers", list(receivers).index(name)), (
        f"Alertmanager's default receiver '{name}' has no integration: alerts reach nobody; "
        "fill in its slack_configs, email_configs, pagerduty_configs or webhook_configs")


def _velero(values: dict[str, Any]) -> tuple[Path, str] | None:
    locations = dig(values, "configuration", "backupStorageLocation")
    if dig(values, "backupsEnabled") is False or not isinstance(locations, list):
        return None
    for i, loc in enumerate(locations):
        if isinstance(loc, dict) and not str(loc.get("bucket") or "").strip():
            return ("configuration", "backupStorageLocation", i, "bucket"), (
                f"Velero's backup storage location '{loc.get('name') or 'default'}' has no "
                "bucket: no backup is written; fill in the bucket of your object storage "
                "and give Velero access to it (workload identity or a sealed Secret)")
    return None


CHARTS = {"argo-cd": _argocd, "kube-prometheus-stack": _alertmanager, "velero": _velero}


def _judge(unit: Unit, res: Resource) -> Iterator[Finding]:
    for where, source in _sources(res.obj):
        judge = CHARTS.get(str(source.get("chart") or ""))
        got = _values(source) if judge else None
        if judge is None or got is None:
            continue
        values, key = got
        hit = judge(values)
        if hit is None:
            continue
        path, message = hit
        full = (*where, "helm", key, *path) if key else (*where, "chart")
        yield resource_finding(ID, SEVERITY, unit, res, message, *full)


def check(ctx: Context) -> Iterator[Finding]:
    for unit in ctx.units():
        for res in unit.resources:
            if res.kind == "Application" and res.api_version.startswith("argoproj.io/"):
                yield from _judge(unit, res)
            elif res.kind == "BackupStorageLocation" and \
                    res.api_version.startswith("velero.io/") and \
                    not str(dig(res.obj, "spec", "objectStorage", "bucket") or "").strip():
                yield resource_finding(ID, SEVERITY, unit, res,
                                       "backup storage location has no bucket: no backup is "
                                       "written", "spec", "objectStorage")
