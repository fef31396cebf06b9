"""How much one file, YAML document, ApplicationSet or template may make gitplane build.

The defaults sit far above what real repositories use and far below what exhausts a CI
machine. They are the user's to raise (or lower), never the repository's: a repository that
could raise its own limits could switch them off. Each has an environment variable; a value
that is not a whole number in its range is a usage error (exit 2) naming the variable.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, fields

from gitplane.errors import GitplaneError

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    #: bytes of one file or YAML/JSON value read into memory
    file_bytes: int = 10 * MIB
    #: nodes of one YAML document after alias expansion
    yaml_nodes: int = 500_000
    #: nesting levels of one YAML document
    yaml_depth: int = 200
    #: parameter sets of one generator, and Applications of one ApplicationSet
    applications: int = 10_000
    #: steps (nodes run, range iterations) of one Go template
    template_steps: int = 1_000_000
    #: characters one Go template writes
    template_output: int = MIB


#: field → (environment variable, lowest, highest)
VARIABLES: dict[str, tuple[str, int, int]] = {
    "file_bytes": ("GITPLANE_MAX_FILE_BYTES", 1024, 4096 * MIB),
    "yaml_nodes": ("GITPLANE_MAX_YAML_NODES", 1000, 100_000_000),
    "yaml_depth": ("GITPLANE_MAX_YAML_DEPTH", 10, 500),      # Python's own recursion bounds it
    "applications": ("GITPLANE_MAX_APPLICATIONS", 1, 1_000_000),
    "template_steps": ("GITPLANE_MAX_TEMPLATE_STEPS", 1000, 1_000_000_000),
    "template_output": ("GITPLANE_MAX_TEMPLATE_BYTES", 1024, 1024 * MIB),
}


@functools.lru_cache(maxsize=1)
def current() -> Limits:
    """The limits of this process: the defaults, with the user's environment variables."""
    chosen: dict[str, int] = {}
    for f in fields(Limits):
        name, low, high = VARIABLES[f.name]
        raw = os.environ.get(name, "").strip()
        if not raw:
            continue
        try:
            value = int(raw.replace("_", ""))
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise GitplaneError(f"{name}={raw!r}: expected a whole number from {low:,} to {high:,}")
        chosen[f.name] = value
    return Limits(**chosen)


def reload() -> Limits:
    """Read the environment again (the CLI does at every start)."""
    current.cache_clear()
    return current()
