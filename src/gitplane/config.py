"""``gitplane.yaml``: the one optional settings file, validated when loaded."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitplane.boundary import Boundary
from gitplane.errors import BoundaryError, ConfigError, YamlError
from gitplane.yamlio import load_file

FILENAME = "gitplane.yaml"
ENV_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


SEVERITIES = ("error", "warning", "info", "off")


@dataclass(frozen=True)
class Exclusion:
    """Where a rule does not apply: globs on the file, the environment, the Application."""

    path: str = "*"
    environment: str = "*"
    application: str = "*"


@dataclass
class RuleConfig:
    severity: str | None = None  # None: the rule's default
    exclude: list[Exclusion] = field(default_factory=list)
    line: int = 0  # where gitplane.yaml names the rule (its id is checked by the registry)


@dataclass
class Config:
    repo_urls: list[str] = field(default_factory=list)
    kustomize: str | None = None
    kubernetes_version: str = "1.37"
    render_timeout: float = 60.0
    render_memory_mib: int = 2048
    roots: list[str] = field(default_factory=list)
    environment: str = "default"
    clusters: str | None = None
    rules: dict[str, RuleConfig] = field(default_factory=dict)
    schema_locations: list[str] = field(default_factory=list)
    allow_network: bool = False
    branch: str | None = None  # the branch the working tree stands for, when nothing says
    kustomize_build_options: str = ""  # the repository's Argo CD kustomize.buildOptions
    #: per app, files of its environment overlay that ``promote --include config`` moves
    promotion: dict[str, list[str]] = field(default_factory=dict)
    #: where each environment's sealed-secrets public certificate is ({env}: its name)
    sealing_certificate: str = "deployments/environments/{env}/sealed-secrets.pem"


_KEYS: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "repoURLs": ("repo_urls", list),
    "kustomize": ("kustomize", str),
    "kubernetesVersion": ("kubernetes_version", str),
    "renderTimeoutSeconds": ("render_timeout", (int, float)),
    "renderMemoryMiB": ("render_memory_mib", int),
    "roots": ("roots", list),
    "environment": ("environment", str),
    "clusters": ("clusters", str),
    "rules": ("rules", dict),
    "schemaLocations": ("schema_locations", list),
    "allowNetwork": ("allow_network", bool),
    "branch": ("branch", str),
    "kustomizeBuildOptions": ("kustomize_build_options", str),
    "promotion": ("promotion", dict),
    "sealingCertificate": ("sealing_certificate", str),
}

KUBERNETES_VERSIONS = tuple(f"1.{m}" for m in range(25, 38))


def check_kubernetes_version(value: str, where: str) -> str:
    version = value.lstrip("v")
    minor = ".".join(version.split(".")[:2])
    if minor not in KUBERNETES_VERSIONS:
        raise ConfigError(f"{where}: Kubernetes version '{value}' is not supported offline "
                          f"(use {KUBERNETES_VERSIONS[0]} to {KUBERNETES_VERSIONS[-1]})")
    return minor


def load(root: Path) -> Config:
    path = root / FILENAME
    cfg = Config()
    if not path.is_file():
        return cfg
    try:
        Boundary(root).check(path, FILENAME)
    except BoundaryError as exc:
        raise ConfigError(str(exc)) from None
    try:
        docs = load_file(path, FILENAME)
    except YamlError as exc:
        raise ConfigError(str(exc)) from None
    if not docs:
        return cfg
    data: Any = docs[0].obj
    if not isinstance(data, dict):
        raise ConfigError(f"{FILENAME}:{docs[0].line}: must be a mapping of settings")
    value: Any
    for key, value in data.items():
        line = docs[0].line_of(str(key))
        if key not in _KEYS:
            raise ConfigError(f"{FILENAME}:{line}: unknown key '{key}' "
                              f"(valid: {', '.join(sorted(_KEYS))})")
        attr, typ = _KEYS[key]
        ok = isinstance(value, typ) and (typ is bool or not isinstance(value, bool))
        if not ok:
            raise ConfigError(f"{FILENAME}:{line}: '{key}' has the wrong type")
        if key in ("repoURLs", "roots", "schemaLocations") and \
                not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{FILENAME}:{line}: '{key}' must be a list of strings")
        paths = [value] if key == "clusters" else value if key in ("roots",
                                                                    "schemaLocations") else []
        for v in paths:
            if "://" in v:
                continue
            if v.startswith("/") or ".." in v.replace("\\", "/").split("/"):
                raise ConfigError(f"{FILENAME}:{line}: {key}: '{v}' leaves the repository; "
                                  "give a path inside it")
        if key == "kustomize" and ("/" in value or "\\" in value or not value.strip()):
            raise ConfigError(f"{FILENAME}:{line}: kustomize: '{value}' is a path; a "
                              "repository may name a program on PATH only (set "
                              "GITPLANE_KUSTOMIZE to choose another engine yourself)")
        if key == "renderTimeoutSeconds" and not (1 <= value <= 3600):
            raise ConfigError(f"{FILENAME}:{line}: renderTimeoutSeconds: {value} is out of "
                              "range (1 to 3600)")
        if key == "renderMemoryMiB" and not (64 <= value <= 65536):
            raise ConfigError(f"{FILENAME}:{line}: renderMemoryMiB: {value} is out of range "
                              "(64 to 65536)")
        if key == "environment" and not ENV_NAME.match(value):
            raise ConfigError(f"{FILENAME}:{line}: environment: '{value}' is not a valid name "
                              "(lowercase letters, digits and '-', as Kubernetes names)")
        if key in ("branch", "kustomizeBuildOptions") and ("\n" in value or
                                                         value.startswith("-") and
                                                         key == "branch"):
            raise ConfigError(f"{FILENAME}:{line}: {key}: '{value}' is not valid")
        if key == "kubernetesVersion":
            value = check_kubernetes_version(value, f"{FILENAME}:{line}: kubernetesVersion")
        if key == "rules":
            value = _rules(value, docs[0])
        if key == "promotion":
            value = _promotion(value, line)
        if key == "sealingCertificate" and (value.startswith("/") or ".." in value.split("/")
                                            or "{env}" not in value):
            raise ConfigError(f"{FILENAME}:{line}: sealingCertificate: '{value}' must be a "
                              "path inside the repository naming {env}")
        setattr(cfg, attr, value)
    for loc in cfg.schema_locations:
        if "://" in loc and not cfg.allow_network:
            line = docs[0].line_of("schemaLocations")
            raise ConfigError(f"{FILENAME}:{line}: schema location '{loc}' needs the network; "
                              "set allowNetwork: true to allow it")
    return cfg


def _promotion(data: dict[str, Any], line: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for app, files in data.items():
        if not isinstance(app, str) or not isinstance(files, list) or \
                not all(isinstance(f, str) and f for f in files):
            raise ConfigError(f"{FILENAME}:{line}: promotion: '{app}' must list file names")
        for f in files:
            parts = f.replace("\\", "/").split("/")
            if f.startswith("/") or ".." in parts:
                raise ConfigError(f"{FILENAME}:{line}: promotion: {app}: '{f}' leaves the "
                                  "app's overlay folder; give a path inside it")
        out[app] = list(files)
    return out


def _rules(data: dict[str, Any], doc: Any) -> dict[str, RuleConfig]:
    """``rules:``: per rule id a severity, or ``{severity, exclude: [{path, environment,
    application}]}``; values fail with the line. Whether each id names a rule is the
    registry's to say (``gitplane.checks.validate``), before anything renders."""
    out: dict[str, RuleConfig] = {}
    for rid, spec in data.items():
        line = doc.line_of("rules", str(rid))
        rc = RuleConfig(line=line)
        if isinstance(spec, (str, bool)):
            spec = {"severity": spec}
        if not isinstance(spec, dict):
            raise ConfigError(f"{FILENAME}:{line}: rules.{rid}: give a severity "
                              f"({', '.join(SEVERITIES)}) or a mapping")
        for k, v in spec.items():
            kline = doc.line_of("rules", str(rid), str(k))
            if k == "severity":
                if v is False:  # an unquoted `off` is a YAML 1.1 boolean
                    v = "off"
                if v not in SEVERITIES:
                    raise ConfigError(f"{FILENAME}:{kline}: rules.{rid}.severity: '{v}' is not "
                                      f"one of {', '.join(SEVERITIES)}")
                rc.severity = v
            elif k == "exclude":
                if not isinstance(v, list):
                    raise ConfigError(f"{FILENAME}:{kline}: rules.{rid}.exclude must be a list")
                for i, e in enumerate(v):
                    eline = doc.line_of("rules", str(rid), "exclude", i)
                    if not isinstance(e, dict) or not e or \
                            set(e) - {"path", "environment", "application"} or \
                            not all(isinstance(x, str) for x in e.values()):
                        raise ConfigError(f"{FILENAME}:{eline}: rules.{rid}.exclude[{i}]: give "
                                          "path, environment and/or application globs")
                    rc.exclude.append(Exclusion(**e))
            else:
                raise ConfigError(f"{FILENAME}:{kline}: rules.{rid}: unknown key '{k}' "
                                  "(valid: severity, exclude)")
        out[str(rid)] = rc
    return out
