"""Rendering: Application sources to Kubernetes objects (kustomize, plain directories)."""
from __future__ import annotations

from dataclasses import dataclass, field

from gitplane.errors import YamlError
from gitplane.model import Resource


@dataclass(frozen=True)
class Problem:
    """A problem found while rendering, before it is attached to an environment/application."""

    rule: str
    file: str
    line: int
    message: str
    resource: str = ""
    severity: str = "error"
    #: rendered all the same, differently from Argo CD (said, but the render goes on)
    approximate: bool = False


def yaml_problem(exc: YamlError) -> Problem:
    """The problem of a file that cannot be read as YAML: the one way a YamlError becomes a
    render problem (its rule, file, line and reason)."""
    return Problem(exc.rule, exc.file, exc.line, exc.reason)


@dataclass
class Rendered:
    """What one source rendered to, the problems met, and every file read."""

    resources: list[Resource] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: set[str] = field(default_factory=set)
    ok: bool = True
    skipped: bool = False  # not rendered: none of its inputs changed (diff)
