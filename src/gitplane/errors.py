"""The one exception hierarchy: everything a user can fix is a GitplaneError (exit 2)."""
from __future__ import annotations


class GitplaneError(Exception):
    """Bad usage or unusable input; the message names the file (and line) where there is one."""

    exit_code = 2


class ConfigError(GitplaneError):
    """gitplane.yaml is invalid."""


class YamlError(GitplaneError):
    """A YAML file cannot be read safely."""

    def __init__(self, file: str, line: int, message: str, rule: str = "yaml-syntax") -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file = file
        self.line = line
        self.reason = message
        self.rule = rule  # the rule a finding about it carries


class RenderError(GitplaneError):
    """An external program (kustomize, git, helm) failed; keeps what it said."""

    def __init__(self, message: str, command: list[str] | None = None,
                 returncode: int | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.command = command or []
        self.returncode = returncode
        self.stderr = stderr


class BoundaryError(GitplaneError):
    """A path or symlink leaves the repository."""


__all__ = ["GitplaneError", "ConfigError", "YamlError", "RenderError", "BoundaryError"]
