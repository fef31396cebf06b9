"""``gitplane.yaml``: the one optional settings file, validated when loaded."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitplane.errors import ConfigError, YamlError
from gitplane.yamlio import load_file

FILENAME = "gitplane.yaml"


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


_KEYS: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "repoURLs": ("repo_urls", list),
    "kustomize": ("kustomize", str),
    "kubernetesVersion": ("kubernetes_version", str),
    "renderTimeoutSeconds": ("render_timeout", (int, float)),
    "renderMemoryMiB": ("render_memory_mib", int),
    "roots": ("roots", list),
    "environment": ("environment", str),
    "clusters": ("clusters", str),
}


def load(root: Path) -> Config:
    path = root / FILENAME
    cfg = Config()
    if not path.is_file():
        return cfg
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
        ok = isinstance(value, typ) and not isinstance(value, bool)
        if not ok:
            raise ConfigError(f"{FILENAME}:{line}: '{key}' has the wrong type")
        if key in ("repoURLs", "roots") and not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{FILENAME}:{line}: '{key}' must be a list of strings")
        if key == "kubernetesVersion" and value.lstrip("v") != "1.37":
            raise ConfigError(f"{FILENAME}:{line}: kubernetesVersion '{value}' is not "
                              "supported (this version of gitplane validates 1.37)")
        setattr(cfg, attr, value)
    return cfg
