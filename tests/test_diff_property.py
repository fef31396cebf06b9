"""`diff` renders only what a change can affect; this proves it equal to rendering everything.

A seeded sequence of edits of every kind (bases, overlays, patches, generators,
ApplicationSets, Application sources, deletions, renames, Applications added and removed, a
render broken) is committed step by step on the reference platform. For each pair of
revisions, and for uncommitted changes in the working tree, the changes `diff` reports equal
the comparison of two full renders, each of a clean checkout of its revision with nothing
skipped and nothing shared.
"""
from __future__ import annotations

import random
import re
import shutil
from pathlib import Path
from collections.abc import Callable

import pytest

from conftest import git
from gitplane import api
from gitplane.diff import compare_platforms, diff
from gitplane.proc import Engine
from gitplane.repo import Repository

D = "deployments"
STEPS = 6          # commits, each of EDITS_PER_STEP random edits
EDITS_PER_STEP = 3


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in (root / D).glob(pattern) if p.is_file())


def _dirs(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in (root / D).glob(pattern) if p.is_dir())


def _add_to_section(text: str, key: str, entry: str) -> str:
    """``entry`` (lines indented under ``key:``) added to the top-level list ``key``."""
    if re.search(rf"^{key}:\s*$", text, re.M):
        return re.sub(rf"^{key}:\s*\n", f"{key}:\n{entry}", text, count=1, flags=re.M)
    return text.rstrip("\n") + f"\n{key}:\n{entry}"


# -- the edits: each changes the working tree and says what it did ---------------------------
def base_replicas(root: Path, rng: random.Random, step: str) -> str:
    files = [p for p in _files(root, "domains/*/apps/**/base/**/*.yaml")
             if "replicas:" in p.read_text()]
    f = rng.choice(files)
    f.write_text(re.sub(r"replicas: \d+", f"replicas: {rng.randint(1, 9)}", f.read_text(),
                        count=1))
    return f"replicas in {f.name}"


def overlay_annotation(root: Path, rng: random.Random, step: str) -> str:
    f = rng.choice(_files(root, "domains/*/apps/*/environments/*/kustomization.yaml"))
    f.write_text(_add_to_section(f.read_text(), "commonAnnotations",
                                 f"  gitplane.test/step-{step}: 'x'\n"))
    return f"annotation in {f.parent}"


def overlay_patch(root: Path, rng: random.Random, step: str) -> str:
    overlay = rng.choice(_dirs(root, "domains/*/apps/*/environments/*"))
    (overlay / f"patch-{step}.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: any\n  labels:\n"
        f"    gitplane.test/patched: '{step}'\n")
    k = overlay / "kustomization.yaml"
    k.write_text(_add_to_section(k.read_text(), "patches",
                                 f"  - path: patch-{step}.yaml\n    target:\n"
                                 "      kind: Deployment\n"))
    return f"patch in {overlay}"


def base_generator(root: Path, rng: random.Random, step: str) -> str:
    k = rng.choice(_files(root, "domains/*/apps/*/base/kustomization.yaml"))
    k.write_text(_add_to_section(k.read_text(), "configMapGenerator",
                                 f"  - name: gen-{step}\n    literals: [STEP={step}]\n"))
    return f"configMapGenerator in {k.parent}"


def list_generator(root: Path, rng: random.Random, step: str) -> str:
    f = root / D / "bootstrap/platform-apps/base/apps.yaml"
    text = f.read_text()
    names = ("networking", "security", "observability")
    present = [n for n in names if f"- name: {n}\n" in text]
    if len(present) > 1 and rng.random() < 0.6:
        gone = rng.choice(present)
        f.write_text(text.replace(f"          - name: {gone}\n", "", 1))
        return f"list generator drops {gone}"
    missing = [n for n in names if n not in present]
    if not missing:
        return "list generator unchanged"
    back = rng.choice(missing)
    f.write_text(text.replace("        elements:\n", f"        elements:\n          - name: {back}\n",
                              1))
    return f"list generator adds {back}"


def appset_template(root: Path, rng: random.Random, step: str) -> str:
    f = rng.choice(_files(root, "bootstrap/platform-apps/base/*.yaml"))
    text = f.read_text()
    if "kind: ApplicationSet" not in text:
        return "no ApplicationSet"
    f.write_text(text.replace("      labels:\n", f"      labels:\n        gitplane.test/step: "
                              f"'{step}'\n", 1).replace(
        "        targetRevision: HEAD\n", "        targetRevision: HEAD\n        kustomize:\n"
        f"          commonLabels: {{gitplane.test/src: '{step}'}}\n", 1)
        if rng.random() < 0.5 and "kustomize:" not in text else
        text.replace("      labels:\n", f"      labels:\n        gitplane.test/step: '{step}'\n",
                     1))
    return f"template of {f.name}"


def application_source(root: Path, rng: random.Random, step: str) -> str:
    """An environment's ApplicationSet points at the other environment's overlays."""
    f = rng.choice(_files(root, "bootstrap/platform-apps/environments/*/kustomization.yaml"))
    env = f.parent.name
    other = "production" if env == "staging" else "staging"
    text = f.read_text()
    swapped = text.replace(f"/environments/{env}'", f"/environments/{other}'", 1)
    if swapped == text:
        swapped = text.replace(f"/environments/{other}'", f"/environments/{env}'", 1)
    f.write_text(swapped)
    return f"sources of {env}"


def delete_resource(root: Path, rng: random.Random, step: str) -> str:
    k = rng.choice([p for p in _files(root, "domains/*/apps/**/base/**/kustomization.yaml")
                    if "manifests/" in p.read_text()])
    listed = re.findall(r"^  - (manifests/\S+)$", k.read_text(), re.M)
    if len(listed) < 2:
        return "nothing to delete"
    gone = rng.choice(listed)
    k.write_text(k.read_text().replace(f"  - {gone}\n", "", 1))
    (k.parent / gone).unlink()
    return f"deleted {gone} of {k.parent}"


def rename_resource(root: Path, rng: random.Random, step: str) -> str:
    k = rng.choice([p for p in _files(root, "domains/*/apps/**/base/**/kustomization.yaml")
                    if "manifests/" in p.read_text()])
    listed = re.findall(r"^  - (manifests/\S+)$", k.read_text(), re.M)
    old = rng.choice(listed)
    new = f"manifests/r{step}-{Path(old).name}"
    (k.parent / old).rename(k.parent / new)
    k.write_text(k.read_text().replace(f"  - {old}\n", f"  - {new}\n", 1))
    return f"renamed {old} to {new}"


def rename_app(root: Path, rng: random.Random, step: str) -> str:
    app = rng.choice(_dirs(root, "domains/workloads/apps/*"))
    new = app.with_name(f"{app.name.split('-r')[0]}-r{step}")
    app.rename(new)
    return f"renamed app {app.name} to {new.name}"


def copy_app(root: Path, rng: random.Random, step: str) -> str:
    app = rng.choice(_dirs(root, "domains/workloads/apps/*") +
                     _dirs(root, "domains/applications/apps/*"))
    new = app.with_name(f"copy{step}")
    shutil.copytree(app, new)
    for f in new.rglob("*.yaml"):  # its own namespace-scoped names, as a new app would have
        f.write_text(f.read_text().replace(f"name: {app.name}\n", f"name: copy{step}\n"))
    return f"copied app {app.name}"


def delete_app(root: Path, rng: random.Random, step: str) -> str:
    apps = _dirs(root, "domains/workloads/apps/*") + _dirs(root, "domains/applications/apps/*")
    if len(apps) < 3:
        return "kept every app"
    app = rng.choice(apps)
    shutil.rmtree(app)
    return f"deleted app {app.name}"


def platform_config(root: Path, rng: random.Random, step: str) -> str:
    f = rng.choice(_files(root, "environments/*/platform-config/*.yaml"))
    text = f.read_text()
    if f.name == "kustomization.yaml":
        f.write_text(_add_to_section(text, "commonLabels", f"  gitplane.test/pc: '{step}'\n"))
    else:
        f.write_text(text.replace("metadata:\n", "metadata:\n  annotations:\n"
                                  f"    gitplane.test/step: '{step}'\n", 1)
                     if "annotations:" not in text else text + "\n")
    return f"platform-config {f.name}"


def break_render(root: Path, rng: random.Random, step: str) -> str:
    """A kustomization naming a file that does not exist: that render fails."""
    k = rng.choice(_files(root, "domains/*/apps/*/environments/*/kustomization.yaml"))
    k.write_text(_add_to_section(k.read_text(), "resources", f"  - missing-{step}.yaml\n"))
    return f"broke {k.parent}"


EDITS: list[Callable[[Path, random.Random, str], str]] = [
    base_replicas, overlay_annotation, overlay_patch, base_generator, list_generator,
    appset_template, application_source, delete_resource, rename_resource, rename_app,
    copy_app, delete_app, platform_config, break_render]


def _commit(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message, "--allow-empty")
    return git(root, "rev-parse", "HEAD").strip()


def _full(root: Path, commit: str | None, scratch: Path) -> api.Platform:
    """Everything rendered, from a clean checkout of ``commit`` (the working tree for None),
    with nothing skipped or shared."""
    if commit is None:
        return api.load(root)
    where = scratch / commit[:12]
    if not where.exists():
        git(root, "worktree", "add", "-q", "--detach", str(where), commit)
    return api.load(where)


def _problem(f: object) -> tuple[str, ...]:
    return tuple(str(getattr(f, k)) for k in ("environment", "application", "rule", "file",
                                              "message"))


def _key(changes: list) -> list[tuple[str, str, str, str, str]]:
    return [(c.environment, c.application, c.resource, c.change, c.diff) for c in changes]


@pytest.mark.parametrize("seed", [1, 2])
def test_diff_equals_two_full_renders(platform: Path, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    commits = [_commit(platform, "start")]
    log = []
    for step in range(STEPS):
        # every kind of edit appears across the steps of a seed; the rest are drawn
        kinds = [EDITS[(step * EDITS_PER_STEP + i + seed) % len(EDITS)]
                 for i in range(EDITS_PER_STEP)] + [rng.choice(EDITS)]
        done = [edit(platform, rng, f"{seed}{step}{i}") for i, edit in enumerate(kinds)]
        log.append(done)
        commits.append(_commit(platform, "; ".join(done)))
    # uncommitted edits too (untracked files included)
    log.append([edit(platform, rng, f"{seed}w{i}") for i, edit in
                enumerate([copy_app, overlay_patch, base_replicas])])
    scratch = tmp_path / "checkouts"
    pairs = [(commits[i], commits[i + 1]) for i in range(STEPS)] + [
        (commits[0], commits[-1]), (commits[-1], None)]
    repo = Repository.find(platform, layout=False)
    full = {c: _full(platform, c, scratch) for c in {*commits, None}}
    for i, (base, head) in enumerate(pairs):
        engine = Engine(repo.config.kustomize, repo.top)
        try:
            got = diff(repo, base, head, engine)
        finally:
            engine.close()
        want = compare_platforms(full[base], full[head])
        what = log[i] if i < STEPS else "first to last" if i == STEPS else log[-1]
        assert _key(got.changes) == _key(want), (i, what)
        assert want or i >= STEPS, "every step changes what is deployed"
        # a render that fails on a side is said, for every Application that changed
        changed = {(c.environment, c.application) for c in want}
        for side, p in (("base", full[base]), ("head", full[head])):
            expected = {_problem(f) for f in p.findings
                        if f.severity == "error" and (f.environment, f.application) in changed}
            said = {_problem(f) for s, f in got.problems if s == side}
            assert expected <= said, (i, side, what, expected - said)
