"""Batched renders: many kustomizations in one engine run, each getting exactly what it gets
alone. The engine's start-up is most of a small render's time; a batch saves only that.

Why a batch equals single renders (the invariants, and the test proving each):

1. **Each member is built in its own folder of a wrapper**, with the same wrapper a single
   render uses (the Application's overrides, the root's kind), so every transformer of a
   member applies to that member's objects only. Proved by
   ``tests/test_conformance_repos.py::test_batched_renders_equal_single_renders`` (every
   kustomization of every conformance repository, batched and alone, byte for byte).
2. **No name reference crosses between members**: two kustomizations share a batch only when
   neither's words name the other's objects (``Pending.names``), so a name reference,
   a ``nameReference`` fix-up or a replacement of one cannot touch the other's objects.
   Proved by ``tests/test_kustomize.py::test_a_reference_to_another_kustomizations_name_keeps_them_apart``
   (a reference to another kustomization's generated, hash-suffixed name).
3. **Build-wide settings stay alone**: a kustomization whose graph uses a setting kustomize
   applies to the whole build (``vars``, ``sortOptions``, transformer ``configurations``,
   ``crds``, ``openapi``) or reads files the graph does not follow is never batched
   (:func:`batchable`; ``tests/test_kustomize.py::test_build_wide_settings_render_alone``).
4. **Objects are told apart by an annotation set on metadata only** and removed after; an
   object without it, a failure of the run, or output that does not read as YAML makes
   every member render alone (:func:`render_batch`), so a batch never changes a result
   (``tests/test_kustomize.py::test_batch_renders_each_as_alone``: the annotation never
   reaches the output; a file naming it renders alone).
5. **Memory is bounded**: a batch reads at most :data:`BATCH_BYTES` of input, and a large
   kustomization renders alone.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from gitplane.errors import GitplaneError, YamlError
from gitplane.proc import Engine
from gitplane.render import Rendered
from gitplane.render.kustomize import (BUILD_WIDE, Pending, render_one, scratch_parent, store,
                                       traced, untracked)
from gitplane.render.overrides import wrapper
from gitplane.yamlio import load_trusted

#: The most input bytes one batch reads (its output, held in memory, is of that order).
BATCH_BYTES = 16 * 1024 ** 2
#: The annotation that tells a batch's objects apart (set on metadata only, removed after).
BATCH = "gitplane.io/batch"


def batchable(p: Pending) -> bool:
        """Whether its render is the same inside a batch: no kustomization of its graph
        uses a setting kustomize applies across the whole build (vars, sortOptions,
        transformer configurations, CRD schemas) or reads files the graph does not follow,
        no file of it names the batch annotation, and it is not large on its own."""
        return not untracked(p.graph) and not any(
            isinstance(d.obj, dict) and any(k in d.obj for k in BUILD_WIDE)
            for docs in p.graph.docs.values() for d in docs[:1]) and \
            BATCH not in p.names()[1] and p.size() <= BATCH_BYTES // 4


class Packer:
    """Packs renders into batches of at most ``size`` renders of the same tree whose names
    cannot meet (see :meth:`Pending.names`); the others alone. Renders are added one by one;
    a batch is handed out when it is full (or alone), the rest by :meth:`drain`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.open: list[_Open] = []

    def add(self, p: Pending) -> list[list[Pending]]:
        """Batches ready after adding ``p``."""
        if self.size <= 1 or not batchable(p):
            return [[p]]
        defined, words = p.names()
        for g in self.open:
            if g.group[0].repo.top == p.repo.top and g.bytes + p.size() <= BATCH_BYTES and \
                    g.defined.isdisjoint(words) and defined.isdisjoint(g.words):
                g.group.append(p)
                g.defined |= defined
                g.words |= words
                g.bytes += p.size()
                break
        else:
            g = _Open([p], set(defined), set(words), p.size())
            self.open.append(g)
        if len(g.group) < self.size:
            return []
        self.open = [o for o in self.open if o is not g]
        return [g.group]

    def drain(self) -> list[list[Pending]]:
        """Every batch not handed out yet."""
        out, self.open = [g.group for g in self.open], []
        return out


@dataclass
class _Open:
    """A batch being filled: its renders, the names they define, their words, their bytes."""

    group: list[Pending]
    defined: set[str]
    words: set[str]
    bytes: int


def batches(pending: list[Pending], size: int) -> list[list[Pending]]:
    """``pending`` packed into batches (see :class:`Packer`)."""
    packer = Packer(size)
    out = [g for p in pending for g in packer.add(p)]
    return out + packer.drain()


def render_batch(engine: Engine, group: list[Pending], timeout: float,
                 memory: int) -> list[Rendered]:
    """One engine run for every kustomization of ``group``, each in its own folder of the
    wrapper, its objects told apart by an annotation set on their metadata only (and removed
    after). Anything unexpected (a failure, an object of no member) renders each alone, so
    a batch never changes a result: it only saves the engine's start-up."""
    if len(group) == 1:
        return [render_one(engine, group[0], timeout, memory)]
    scratch = Path(tempfile.mkdtemp(prefix="gitplane-b-", dir=scratch_parent()))
    try:
        got = _batch_build(engine, group, scratch, timeout, memory)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if got is None:
        return [render_one(engine, p, timeout, memory) for p in group]
    for p, out in zip(group, got, strict=False):
        store(p, out)
    return got


def _batch_build(engine: Engine, group: list[Pending], scratch: Path, timeout: float,
                 memory: int) -> list[Rendered] | None:
    entries = []
    for i, p in enumerate(group):
        folder = scratch / f"k{i}"
        folder.mkdir()
        k = wrapper(p.directory, folder, p.graph.root_kind(p.directory), p.overrides)
        del k["buildMetadata"]
        k["transformers"] = [yaml.safe_dump({
            "apiVersion": "builtin", "kind": "AnnotationsTransformer",
            "metadata": {"name": "gitplane-batch"}, "annotations": {BATCH: str(i)},
            "fieldSpecs": [{"path": "metadata/annotations", "create": True}]})]
        (folder / "kustomization.yaml").write_text(yaml.safe_dump(k))
        entries.append(f"k{i}")
    (scratch / "kustomization.yaml").write_text(yaml.safe_dump(
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
         "resources": entries, "buildMetadata": ["originAnnotations"]}))
    try:
        res = engine.build(scratch, timeout=timeout, memory=memory,
                           helm=any(p.graph.helm for p in group),
                           charts={k: v for p in group for k, v in p.graph.charts.items()})
        if res.returncode != 0:
            return None
        objs = load_trusted(res.stdout.decode("utf-8", "replace"), "batch")
    except (GitplaneError, YamlError):
        return None
    outs = [Rendered(files=p.out.files, problems=list(p.out.problems)) for p in group]
    for obj in objs:
        if not isinstance(obj, dict):
            continue
        ann = (obj.get("metadata") or {}).get("annotations") if isinstance(
            obj.get("metadata"), dict) else None
        index = ann.pop(BATCH, None) if isinstance(ann, dict) else None
        if not (isinstance(index, str) and index.isdigit() and int(index) < len(group)):
            return None
        p = group[int(index)]
        outs[int(index)].resources.append(traced(p.repo, p.graph, scratch, obj, p.krel))
    return outs
