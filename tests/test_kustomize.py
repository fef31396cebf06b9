from __future__ import annotations

import os
import subprocess
import sysconfig
from pathlib import Path

import pytest
import yaml

from conftest import write
from gitplane.model import resource_id
from gitplane.proc import Engine
from gitplane.render import batch, kustomize
from gitplane.repo import Repository

K = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: b\n"


@pytest.fixture
def engine() -> Engine:
    eng = Engine()
    yield eng
    eng.close()


def _repo(root: Path) -> Repository:
    (root / "deployments").mkdir(parents=True, exist_ok=True)
    return Repository.find(root)


def _build(root: Path, rel: str, engine: Engine) -> kustomize.Rendered:
    return kustomize.build(_repo(root), engine, root / rel)


def _direct(folder: Path) -> list[dict]:
    kubectl = Path(sysconfig.get_path("scripts")) / "kubectl"
    out = subprocess.run([str(kubectl), "kustomize", str(folder)], check=True,
                         capture_output=True, text=True).stdout
    return sorted((d for d in yaml.safe_load_all(out) if d), key=resource_id)


def test_every_reference_overlay_renders_as_kustomize_does(platform: Path,
                                                           engine: Engine) -> None:
    repo = Repository.find(platform)
    overlays = [o for _, o in repo.overlays()] + [
        repo.rel(p) for p in sorted(platform.glob("deployments/bootstrap/*/environments/*"))]
    assert len(overlays) == 20
    for rel in overlays:
        got = kustomize.build(repo, engine, platform / rel)
        assert got.ok, got.problems
        mine = sorted((r.obj for r in got.resources), key=resource_id)
        assert mine == _direct(platform / rel), rel
        assert all(not r.file.startswith("/") and r.line >= 1 for r in got.resources)


def test_origin_file_and_line(platform: Path, engine: Engine) -> None:
    rel = "deployments/domains/applications/apps/web-app/environments/production"
    got = kustomize.build(Repository.find(platform), engine, platform / rel)
    by_kind = {r.kind: r for r in got.resources}
    dep = by_kind["Deployment"]
    assert dep.file == "deployments/domains/applications/apps/web-app/base/manifests/deployment.yaml"
    assert dep.line == 1
    assert dep.obj["spec"]["replicas"] == 3
    assert "annotations" not in dep.obj["metadata"]


def test_missing_resource_names_entry_and_line(tmp_path: Path, engine: Engine) -> None:
    write(tmp_path / "o/kustomization.yaml", K + "resources:\n  - cm.yaml\n  - nope.yaml\n")
    write(tmp_path / "o/cm.yaml", CM.format(name="x"))
    got = _build(tmp_path, "o", engine)
    assert not got.ok
    [p] = got.problems
    assert (p.rule, p.file, p.line) == ("kustomize-build", "o/kustomization.yaml", 5)
    assert "resources[1] 'nope.yaml' not found" in p.message


@pytest.mark.parametrize("entry, expect", [
    ("../../outside", "leaves the repository"),
    ("https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0",
     "is remote"),
    ("github.com/org/repo//base?ref=main", "is remote"),
    ("/etc", "is absolute"),
])
def test_refused_entries(tmp_path: Path, engine: Engine, entry: str, expect: str) -> None:
    root = tmp_path / "repo"
    write(tmp_path / "outside/kustomization.yaml", K + "resources: [cm.yaml]\n")
    write(tmp_path / "outside/cm.yaml", CM.format(name="secret"))
    write(root / "o/kustomization.yaml", K + f"resources:\n  - {entry}\n")
    got = _build(root, "o", engine)
    assert not got.ok and expect in got.problems[0].message
    assert got.resources == []


def test_symlinks_leaving_the_repository(tmp_path: Path, engine: Engine) -> None:
    root = tmp_path / "repo"
    write(tmp_path / "outside/kustomization.yaml", K + "resources: [cm.yaml]\n")
    write(tmp_path / "outside/cm.yaml", CM.format(name="secret"))
    write(root / "o/kustomization.yaml", K + "resources:\n  - linkdir\n  - passwd.yaml\n")
    os.symlink(tmp_path / "outside", root / "o/linkdir")
    os.symlink("/etc/passwd", root / "o/passwd.yaml")
    got = _build(root, "o", engine)
    messages = [p.message for p in got.problems]
    assert len(messages) == 2 and all("symlink points outside repository" in m
                                      for m in messages)


def test_symlink_loop(tmp_path: Path, engine: Engine) -> None:
    write(tmp_path / "o/kustomization.yaml", K + "resources:\n  - a.yaml\n")
    os.symlink("b.yaml", tmp_path / "o/a.yaml")
    os.symlink("a.yaml", tmp_path / "o/b.yaml")
    got = _build(tmp_path, "o", engine)
    assert "symlink loop" in got.problems[0].message


def test_cycle(tmp_path: Path, engine: Engine) -> None:
    write(tmp_path / "a/kustomization.yaml", K + "resources: [../b]\n")
    write(tmp_path / "b/kustomization.yaml", K + "resources: [../a]\n")
    got = _build(tmp_path, "a", engine)
    assert got.problems[0].message == "cycle: a → b → a"


def test_helm_and_plugins_refused(tmp_path: Path, engine: Engine) -> None:
    write(tmp_path / "o/kustomization.yaml", K + "helmCharts:\n  - name: x\n"
          "transformers:\n  - fn.yaml\n")
    write(tmp_path / "o/fn.yaml", "apiVersion: example.com/v1\nkind: Evil\nmetadata:\n"
          "  name: e\n  annotations:\n    config.kubernetes.io/function: |\n"
          "      exec: {path: /bin/sh}\n")
    got = _build(tmp_path, "o", engine)
    msgs = " ".join(p.message for p in got.problems)
    assert "'helmCharts' needs --enable-helm" in msgs
    assert "plugins and KRM functions are disabled" in msgs


def test_generator_files_must_stay_inside(tmp_path: Path, engine: Engine) -> None:
    write(tmp_path / "o/kustomization.yaml", K + "configMapGenerator:\n  - name: c\n"
          "    files:\n      - /etc/hostname\n      - key=../../x.txt\n")
    got = _build(tmp_path, "o", engine)
    assert [p.line for p in got.problems] == [6, 7]


def test_no_kustomization_and_empty(tmp_path: Path, engine: Engine) -> None:
    write(tmp_path / "o/kustomization.yaml", K + "resources: [../p, ../q]\n")
    (tmp_path / "p").mkdir()
    write(tmp_path / "q/kustomization.yaml", "# nothing here\n")
    got = _build(tmp_path, "o", engine)
    msgs = [p.message for p in got.problems]
    assert any("unable to find one of" in m for m in msgs)
    assert any("empty" in m for m in msgs)


def test_alias_bomb_never_reaches_kustomize(tmp_path: Path, engine: Engine) -> None:
    bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i, n in enumerate("bcdefghij"):
        bomb.append(f"{n}: &{n} [" + ",".join([f"*{'abcdefghij'[i]}"] * 9) + "]")
    write(tmp_path / "o/kustomization.yaml", K + "resources: [bomb.yaml]\n")
    write(tmp_path / "o/bomb.yaml", "\n".join(bomb) + "\n")
    got = _build(tmp_path, "o", engine)
    assert got.problems[0].rule == "yaml-syntax"
    assert "alias bomb" in got.problems[0].message


def test_duplicate_object_message_is_readable(tmp_path: Path, engine: Engine) -> None:
    write(tmp_path / "o/kustomization.yaml", K + "resources: [a.yaml, b.yaml]\n")
    write(tmp_path / "o/a.yaml", CM.format(name="same"))
    write(tmp_path / "o/b.yaml", CM.format(name="same"))
    got = _build(tmp_path, "o", engine)
    [p] = got.problems
    assert p.file == "o/kustomization.yaml"
    assert "defined twice" in p.message and "ConfigMap" in p.message
    assert str(tmp_path) not in p.message


def test_engine_timeout_is_a_finding(tmp_path: Path, engine: Engine) -> None:
    write(tmp_path / "o/kustomization.yaml", K + "resources: [cm.yaml]\n")
    write(tmp_path / "o/cm.yaml", CM.format(name="x"))
    got = kustomize.build(_repo(tmp_path), engine, tmp_path / "o", timeout=0.001)
    assert not got.ok and "exceeded" in got.problems[0].message


def test_application_kustomize_settings_match_an_edited_kustomization(
        platform: Path, engine: Engine, tmp_path: Path) -> None:
    rel = "deployments/domains/applications/apps/web-app/environments/staging"
    overrides = {"namePrefix": "x-", "nameSuffix": "-y", "namespace": "other",
                 "images": ["nginx=ghcr.io/acme/nginx:1.28.0"],
                 "commonLabels": {"team": "web"}, "commonAnnotations": {"owner": "me"},
                 "replicas": [{"name": "web-app", "count": 5}]}
    got = kustomize.build(Repository.find(platform), engine, platform / rel,
                          overrides=overrides)
    assert got.ok, got.problems
    # What Argo CD does: `kustomize edit` these settings into the app's kustomization.
    edited = platform / rel / "kustomization.yaml"
    k = yaml.safe_load(edited.read_text())
    k.update({"namePrefix": "x-", "nameSuffix": "-y", "namespace": "other",
              "images": [{"name": "nginx", "newName": "ghcr.io/acme/nginx", "newTag": "1.28.0"}],
              "commonLabels": {"team": "web"}, "commonAnnotations": {"owner": "me"},
              "replicas": [{"name": "web-app", "count": 5}]})
    edited.write_text(yaml.safe_dump(k))
    mine = sorted((r.obj for r in got.resources), key=resource_id)
    assert mine == _direct(platform / rel)
    dep = next(o for o in mine if o["kind"] == "Deployment")
    assert dep["metadata"]["name"] == "x-web-app-y" and dep["spec"]["replicas"] == 5


# -- batched renders -----------------------------------------------------------------------
LIMITS = (60.0, 2 * 1024 ** 3)


def _pending(repo: Repository, engine: Engine, *dirs: str) -> list[kustomize.Pending]:
    got = [kustomize.prepare(repo, engine, repo.top / d) for d in dirs]
    assert all(isinstance(p, kustomize.Pending) for p in got), got
    return got  # type: ignore[return-value]


def _same_alone(engine: Engine, group: list[kustomize.Pending]) -> None:
    batched = batch.render_batch(engine, group, *LIMITS)
    for p, got in zip(group, batched, strict=False):
        alone = kustomize.render_one(engine, p, *LIMITS)
        assert (got.ok, got.problems) == (alone.ok, alone.problems)
        assert [(r.obj, r.file, r.line) for r in got.resources] == \
            [(r.obj, r.file, r.line) for r in alone.resources]


def test_batch_renders_each_as_alone(tmp_path: Path, engine: Engine) -> None:
    for i in range(3):
        write(tmp_path / f"a{i}/kustomization.yaml", K + "namePrefix: p-\nresources: [cm.yaml]\n"
              "configMapGenerator:\n  - name: gen\n    literals: [k=v]\n")
        write(tmp_path / f"a{i}/cm.yaml", CM.format(name=f"cm{i}"))
    repo = _repo(tmp_path)
    pending = _pending(repo, engine, "a0", "a1", "a2")
    # Each defines 'gen': they cannot share a run (names meet).
    assert [len(g) for g in batch.batches(pending, 64)] == [1, 1, 1]
    write(tmp_path / "b/kustomization.yaml", K + "resources: [cm.yaml]\n")
    write(tmp_path / "b/cm.yaml", CM.format(name="other"))
    pending = _pending(repo, engine, "a0", "b")
    groups = batch.batches(pending, 64)
    assert [len(g) for g in groups] == [2]
    _same_alone(engine, groups[0])
    got = batch.render_batch(engine, groups[0], *LIMITS)
    assert [r.file for r in got[0].resources] == ["a0/cm.yaml", "a0/kustomization.yaml"]
    assert all("gitplane.io/batch" not in str(r.obj) for g in got for r in g.resources)


def test_a_reference_to_another_kustomizations_name_keeps_them_apart(
        tmp_path: Path, engine: Engine) -> None:
    """Alone, b's reference to 'settings' stays as written; in one run with a, kustomize would
    point it at a's generated 'settings-<hash>'. The packer never lets that happen."""
    write(tmp_path / "a/kustomization.yaml", K + "configMapGenerator:\n  - name: settings\n"
          "    literals: [k=v]\n")
    write(tmp_path / "b/kustomization.yaml", K + "resources: [pod.yaml]\n")
    write(tmp_path / "b/pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
          "  containers:\n    - name: c\n      image: x\n      envFrom:\n"
          "        - configMapRef: {name: settings}\n")
    repo = _repo(tmp_path)
    pending = _pending(repo, engine, "a", "b")
    assert [len(g) for g in batch.batches(pending, 64)] == [1, 1]
    alone = kustomize.render_one(engine, pending[1], *LIMITS)
    assert alone.resources[0].obj["spec"]["containers"][0]["envFrom"][0][
        "configMapRef"]["name"] == "settings"


def test_a_failing_batch_falls_back_to_single_renders(tmp_path: Path, engine: Engine) -> None:
    """The same object in two kustomizations fails a shared run; each alone renders."""
    for d in ("a", "b"):
        write(tmp_path / f"{d}/kustomization.yaml", K + "resources: [cm.yaml]\n")
        write(tmp_path / f"{d}/cm.yaml", CM.format(name="same"))
    repo = _repo(tmp_path)
    group = _pending(repo, engine, "a", "b")
    _same_alone(engine, group)  # forced together: the run fails, singles give the result
    assert all(r.ok and len(r.resources) == 1 for r in
               batch.render_batch(engine, group, *LIMITS))


def test_build_wide_settings_render_alone(tmp_path: Path, engine: Engine) -> None:
    write(tmp_path / "v/kustomization.yaml", K + "resources: [cm.yaml]\nvars:\n  - name: X\n"
          "    objref: {kind: ConfigMap, name: v, apiVersion: v1}\n")
    write(tmp_path / "v/cm.yaml", CM.format(name="v"))
    write(tmp_path / "w/kustomization.yaml", K + "resources: [cm.yaml]\n")
    write(tmp_path / "w/cm.yaml", CM.format(name="w"))
    # A file that names gitplane's own batch annotation: alone too (it would be lost).
    write(tmp_path / "x/kustomization.yaml", K + "resources: [cm.yaml]\n")
    write(tmp_path / "x/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
          "  annotations: {gitplane.io/batch: mine}\n")
    pending = _pending(_repo(tmp_path), engine, "v", "w", "x")
    assert [batch.batchable(p) for p in pending] == [False, True, False]
    assert [len(g) for g in batch.batches(pending, 64)] == [1, 1, 1]
    got = batch.render_batch(engine, [pending[2]], *LIMITS)[0]
    assert got.resources[0].obj["metadata"]["annotations"] == {"gitplane.io/batch": "mine"}


def test_light_walk_tells_argo_objects_from_argo_annotations(tmp_path: Path,
                                                             engine: Engine) -> None:
    """With ``changed``, an unchanged kustomization is skipped unparsed unless one of its
    files may hold an Argo CD object (discovery needs those rendered)."""
    write(tmp_path / "w/kustomization.yaml", K + "resources: [cm.yaml]\n")
    write(tmp_path / "w/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: w\n"
          "  annotations:\n    argocd.argoproj.io/sync-wave: '1'\n")
    write(tmp_path / "a/kustomization.yaml", K + "resources: [app.yaml]\n")
    write(tmp_path / "a/app.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
          "metadata: {name: a}\n")
    repo = _repo(tmp_path)
    got = kustomize.prepare(repo, engine, tmp_path / "w", changed={"elsewhere.yaml"})
    assert isinstance(got, kustomize.Rendered) and got.skipped
    assert got.files == {"w/kustomization.yaml", "w/cm.yaml"}
    assert isinstance(kustomize.prepare(repo, engine, tmp_path / "a", changed=set()),
                      kustomize.Pending)
    # A changed file read, or a kustomization file appearing beside the one read: rendered.
    assert isinstance(kustomize.prepare(repo, engine, tmp_path / "w", changed={"w/cm.yaml"}),
                      kustomize.Pending)
    assert isinstance(kustomize.prepare(repo, engine, tmp_path / "w",
                                        changed={"w/kustomization.yml"}), kustomize.Pending)
