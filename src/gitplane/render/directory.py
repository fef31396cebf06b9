"""Plain manifest directories, read the way Argo CD's ``directory`` source reads them."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from gitplane import patterns
from gitplane.boundary import walk
from gitplane.errors import BoundaryError, YamlError
from gitplane.model import Resource
from gitplane.patterns import PatternError
from gitplane.render import Problem, Rendered, yaml_problem
from gitplane.repo import Repository
from gitplane.yamlio import read_regular, ParsedFiles

SUFFIXES = (".yaml", ".yml", ".json")


def glob_match(pattern: str, path: str) -> bool:
    """Argo CD's glob: ``*`` crosses folders, ``{a,b}`` alternatives."""
    return patterns.glob_match(pattern, path, "argo")


def _walk(directory: Path) -> list[Path]:
    """Every file below ``directory``; symlinked folders are not followed (Argo CD neither)."""
    return [directory / f for f in walk(directory, lambda n: not n.startswith("."), True)[1]]


def build(repo: Repository, directory: Path, options: dict[str, Any],
          parsed: ParsedFiles | None = None) -> Rendered:
    recurse = bool(options.get("recurse"))
    include = str(options.get("include") or "")
    exclude = str(options.get("exclude") or "")
    out = Rendered()
    for field, pattern in (("include", include), ("exclude", exclude)):
        try:
            glob_match(pattern, "")
        except PatternError as exc:
            out.problems.append(Problem("kustomize-build", repo.rel(directory), 1,
                                        f"directory.{field}: {exc}; Argo CD matches no file "
                                        "with it"))
            out.ok = False
            return out
    files = sorted(_walk(directory) if recurse else directory.glob("*"))
    for path in files:
        rel_in_app = path.relative_to(directory).as_posix()
        if any(part.startswith(".") for part in Path(rel_in_app).parts):
            continue
        if path.suffix not in SUFFIXES or path.is_dir():
            continue
        if include and not glob_match(include, rel_in_app):
            continue
        if exclude and glob_match(exclude, rel_in_app):
            continue
        read_file(repo, path, out, parsed)
    if any(p.severity == "error" for p in out.problems):
        out.ok = False
    return out


def read_file(repo: Repository, path: Path, out: Rendered,
              parsed: ParsedFiles | None = None) -> None:
    """The objects of one manifest file into ``out`` (a List is unpacked)."""
    rel = repo.rel(path)
    try:
        repo.boundary.check(path, rel)
    except BoundaryError as exc:
        out.problems.append(Problem("kustomize-build", rel, 1,
                                    str(exc).removeprefix(f"{rel}: ")))
        return
    out.files.add(rel)
    try:
        docs = (parsed or ParsedFiles()).load(path, rel)
    except YamlError as exc:
        out.problems.append(yaml_problem(exc))
        return
    if not docs:
        out.problems.append(Problem("yaml-syntax", rel, 1, "contributed 0 objects (empty or "
                                    "comments only)", severity="warning"))
    found = 0
    for doc in docs:
        items = [doc.obj]
        if isinstance(doc.obj, dict) and doc.obj.get("kind") == "List" \
                and isinstance(doc.obj.get("items"), list):
            items = doc.obj["items"]
        for obj in items:
            if not isinstance(obj, dict) or not obj.get("kind") or not obj.get("apiVersion"):
                # Argo CD's repo server stops at such a document; with no object before it,
                # a file that does not look like a manifest (a kustomization.yaml, a values
                # file) is skipped without an error.
                if found or _looks_like_manifest(path):
                    out.problems.append(Problem("yaml-syntax", rel, doc.line,
                                                "not a Kubernetes object (no apiVersion/kind)"))
                return
            found += 1
            out.resources.append(Resource(obj, rel, doc.line, doc if obj is doc.obj else None))
        out.problems.extend(Problem("yaml-ambiguous", rel, line, message, severity="warning")
                            for line, message in doc.hazards)


def _looks_like_manifest(path: Path) -> bool:
    """Argo CD's test for a file that fails to decode: it holds ``apiVersion:``, ``kind:``
    and ``metadata:``."""
    try:
        data = read_regular(path)
    except OSError:
        return True
    return all(m in data for m in (b"apiVersion:", b"kind:", b"metadata:"))


def build_file(repo: Repository, path: Path, parsed: ParsedFiles | None = None) -> Rendered:
    """A single manifest file as a source (a root Application file of a repository)."""
    out = Rendered()
    read_file(repo, path, out, parsed=parsed)
    out.ok = not any(p.severity == "error" for p in out.problems)
    return out
