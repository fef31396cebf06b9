"""The model: Environment, Application, Source, Resource and Finding values."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, order=True)
class Finding:
    """One problem, with everything needed to act on it. Sorted for deterministic output."""

    environment: str
    application: str
    file: str
    line: int
    rule: str
    resource: str
    severity: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "environment": self.environment,
            "application": self.application,
            "resource": self.resource,
        }


@dataclass(frozen=True)
class Origin:
    """Where an Application was found: the file, its line, and the generator (if generated)."""

    file: str
    line: int = 0
    generator: str | None = None
    applicationset: str | None = None


@dataclass(frozen=True)
class Source:
    """One Argo CD Application source."""

    repo_url: str
    path: str | None = None
    target_revision: str = "HEAD"
    chart: str | None = None
    directory: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"repoURL": self.repo_url, "path": self.path,
                               "targetRevision": self.target_revision}
        if self.chart:
            out["chart"] = self.chart
        return out

    def describe(self) -> str:
        if self.chart:
            return f"{self.chart}@{self.target_revision} ({self.repo_url})"
        rev = "" if self.target_revision in ("", "HEAD") else f"@{self.target_revision}"
        return f"{self.path or '.'}{rev}"


@dataclass
class Application:
    """An Argo CD Application, written or generated, in one environment."""

    name: str
    namespace: str
    project: str
    sources: list[Source]
    destination: dict[str, str]
    origin: Origin
    doc: dict[str, Any] = field(repr=False, default_factory=dict)
    environment: str = ""
    kinds: list[str] = field(default_factory=list)  # per source: kustomize | directory |
    #                                                 helm | external | missing | refused
    #: per source: the chart version a Helm repository's chart resolved to in gitplane's
    #: cache ("" when it is not a chart of a Helm repository, or not cached)
    chart_versions: list[str] = field(default_factory=list)

    @property
    def source(self) -> Source | None:
        return self.sources[0] if self.sources else None

    def resolved(self) -> list[str]:
        """Per source, the resolved chart version (see ``chart_versions``)."""
        return [*self.chart_versions, *[""] * (len(self.sources) - len(self.chart_versions))]

    def to_json(self) -> dict[str, Any]:
        dest = {k: v for k, v in self.destination.items() if k in ("server", "name", "namespace")}
        return {
            "name": self.name,
            "environment": self.environment,
            "project": self.project,
            "origin": {"file": self.origin.file, "line": self.origin.line,
                       "generator": self.origin.generator},
            "source": self.source.to_json() if self.source else None,
            "sources": [{**s.to_json(), **({"chartVersion": v} if v else {})}
                        for s, v in zip(self.sources, self.resolved(), strict=True)],
            "destination": dest,
            "sourceTypes": list(self.kinds),
        }


@dataclass
class Resource:
    """A rendered Kubernetes object and the file (and line) it came from."""

    obj: dict[str, Any]
    file: str
    line: int
    doc: Any = field(default=None, repr=False, compare=False)  # yamlio.Doc of the source

    def line_of(self, *path: str | int) -> int:
        """Line of ``path`` in the source document when it is there, else the object's line."""
        if self.doc is None:
            return self.line
        line = int(self.doc.line_of(*path))
        return line if line >= self.line else self.line

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion") or "")

    @property
    def name(self) -> str:
        meta = self.obj.get("metadata") or {}
        return str(meta.get("name") or "") if isinstance(meta, dict) else ""

    @property
    def namespace(self) -> str:
        meta = self.obj.get("metadata") or {}
        return str(meta.get("namespace") or "") if isinstance(meta, dict) else ""

    @property
    def id(self) -> str:
        return resource_id(self.obj)


def resource_id(obj: dict[str, Any]) -> str:
    """``group/version/Kind/namespace/name`` (core group empty)."""
    api = str(obj.get("apiVersion") or "")
    group, _, version = api.rpartition("/")
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    return "/".join([group, version, str(obj.get("kind") or ""),
                     str(meta.get("namespace") or ""), str(meta.get("name") or "")])


@dataclass
class Environment:
    name: str
    roots: list[str]  # repository-relative bootstrap overlay folders


__all__ = ["Finding", "Origin", "Source", "Application", "Resource", "Environment",
           "resource_id"]
