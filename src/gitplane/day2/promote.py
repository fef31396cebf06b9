"""``gitplane promote``: move what an environment runs to the next one.

By default only image references move: for each image of an Application that the source
environment renders with another tag or digest than the target, the target's overlay
kustomization gets that tag or digest in its ``images:`` (the entry is edited, or added),
or, where the target's Application overrides the image itself (``spec.source.kustomize.
images``), that override is edited. ``include_config`` also copies the files the app declares
promotable (gitplane.yaml ``promotion:``). Settings that belong to one environment (replicas,
hosts, quotas, secrets, platform-config) never move: any rendered change other than images
(and, with config, the promoted ConfigMaps and the names that reference them) is collateral,
and fails unless allowed.
"""
from __future__ import annotations

import copy
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from gitplane import k8s
from gitplane.day2 import (Edit, Effect, check_minimal, effect, exists_inside, load, parsed,
                           read_inside, require_clean, scratch_platform)
from gitplane.errors import GitplaneError
from gitplane.model import Resource
from gitplane.platform import RENDERED_KINDS, AppResult, Platform
from gitplane.repo import Repository
from gitplane.scaffold.edit import edit, edit_all, set_scalars

KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
#: files an environment owns: never promoted, even when declared
_OWNED = re.compile(r"(^|/)(kustomization\.ya?ml|Kustomization|.*secret.*|.*sealed.*)$", re.I)
_HASH = re.compile(r"-[a-z0-9]{10}$")


@dataclass(frozen=True)
class Image:
    name: str
    tag: str = ""
    digest: str = ""

    @classmethod
    def parse(cls, ref: str) -> Image:
        name, _, digest = ref.partition("@")
        slash = name.rfind("/")
        colon = name.rfind(":")
        tag = ""
        if colon > slash:
            name, tag = name[:colon], name[colon + 1:]
        return cls(name, tag, digest)

    @property
    def version(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def __str__(self) -> str:
        return self.name + self.version


@dataclass
class AppPlan:
    application: str
    status: str = "equal"  # equal | behind | diverged | blocked | not rendered
    images: list[tuple[str, str, str]] = field(default_factory=list)  # name, from, to
    files: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"application": self.application, "status": self.status,
                "images": [{"name": n, "from": a, "to": b} for n, a, b in self.images],
                "files": self.files, "reasons": self.reasons}


@dataclass
class Promotion:
    source: str
    target: str
    apps: list[AppPlan]
    edits: list[Edit] = field(default_factory=list)
    effect: Effect = field(default_factory=Effect)
    written: bool = False
    commit: str = ""

    @property
    def blocked(self) -> list[AppPlan]:
        return [a for a in self.apps if a.status in ("blocked", "diverged")]

    def to_json(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target,
                "applications": [a.to_json() for a in self.apps],
                "edits": [e.to_json() for e in self.edits], "effect": self.effect.to_json(),
                "written": self.written, "commit": self.commit or None}


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The containers (and init containers) of every pod template ``obj`` holds."""
    res = Resource(obj, "", 0)
    return [c for _, spec in k8s.pod_specs(res) for _, _, c in k8s.containers(spec)]


def images_of(ar: AppResult) -> dict[str, set[Image]]:
    """Image name → the references of it the Application's pods use."""
    out: dict[str, set[Image]] = {}
    for r in ar.resources:
        for container in _containers(r.obj):
            ref = container.get("image")
            if isinstance(ref, str) and ref:
                img = Image.parse(ref)
                out.setdefault(img.name, set()).add(img)
    return out


def _strip(obj: Any, config: bool) -> Any:
    """An object with what a promotion may change removed: images; with config, data of
    ConfigMaps and the hash suffixes of the names that refer to generated ones."""
    obj = copy.deepcopy(obj)
    for container in _containers(obj):
        container.pop("image", None)
    if config:
        if obj.get("kind") == "ConfigMap":
            obj.pop("data", None)
            obj.pop("binaryData", None)

        def walk(v: Any) -> Any:
            if isinstance(v, dict):
                return {k: walk(x) for k, x in v.items()}
            if isinstance(v, list):
                return [walk(x) for x in v]
            return _HASH.sub("", v) if isinstance(v, str) else v
        obj = walk(obj)
    return obj


def _overlay(repo: Repository, ar: AppResult) -> tuple[str, str] | None:
    """(folder, kustomization file) of the Application's first local kustomize source,
    repository-relative."""
    for src, kind in zip(ar.app.sources, ar.app.kinds, strict=False):
        if kind == "kustomize" and src.path is not None and repo.is_self(src.repo_url):
            folder = posixpath.normpath(src.path)
            for name in KUSTOMIZATIONS:
                rel = f"{folder}/{name}"
                if (repo.top / rel).is_file():
                    return folder, rel
    return None


def _entry_for(images: Any, name: str) -> Any:
    for item in images or []:
        if isinstance(item, dict) and (item.get("newName") == name or (
                item.get("name") == name and not item.get("newName"))):
            return item
    return None


def _set_version(item: Any, img: Image) -> None:
    if img.digest:
        item["digest"] = img.digest
        item.pop("newTag", None)
    else:
        item["newTag"] = img.tag
        item.pop("digest", None)


def _in_place(repo: Repository, rel: str, moves: list[tuple[str, Image]]) -> Edit | None:
    """The edit when every move only changes the tag or digest an entry already sets: the
    values replaced in the text, nothing else of the file touched; None otherwise."""
    path = repo.top / rel
    plain = parsed(read_inside(repo, rel), rel)[0] or {}
    for name, img in moves:
        item = _entry_for(plain.get("images"), name)
        if item is None or ("digest" if img.digest else "newTag") not in item or \
                ("newTag" if img.digest else "digest") in item:
            return None

    def find(docs: list[Any]) -> list[tuple[Any, Any, str]]:
        out = []
        for name, img in moves:
            item = _entry_for(docs[0].get("images"), name)
            out.append((item, "digest", img.digest) if img.digest else
                       (item, "newTag", img.tag))
        return out

    old = read_inside(repo, rel)
    e = Edit(rel, old, set_scalars(path, find, rel),
             "images: " + ", ".join(f"{n} → {i.version}" for n, i in moves))
    check_minimal(e, replaced=len(moves), inserted=0)
    return e


def _kustomization_edit(repo: Repository, rel: str, moves: list[tuple[str, Image]]) -> Edit:
    in_place = _in_place(repo, rel, moves)
    if in_place is not None:
        return in_place
    path = repo.top / rel
    old = read_inside(repo, rel)
    added = [0]

    def change(data: Any) -> None:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        images = data.get("images")
        if images is None:
            images = CommentedSeq()
            data["images"] = images
        for name, img in moves:
            item = _entry_for(images, name)
            if item is None:
                item = CommentedMap()
                item["name"] = name
                images.append(item)
                added[0] += 1
            _set_version(item, img)

    new = edit(path, change, rel)
    e = Edit(rel, old, new, "images: " + ", ".join(f"{n} → {i.version}" for n, i in moves))
    # each moved image changes one line (tag or digest), an added entry adds a few
    check_minimal(e, replaced=2 * len(moves), inserted=3 * added[0] + (1 if b"images:" not in
                                                                      old else 0))
    want = parsed(old, rel)[0] or {}
    got = parsed(e.new, rel)[0] or {}
    for key in set(want) | set(got):
        if key != "images" and want.get(key) != got.get(key):
            raise GitplaneError(f"{rel}: the edit would change '{key}'; nothing written")
    return e


def _override_edit(repo: Repository, ar: AppResult, moves: list[tuple[str, Image]]
                   ) -> Edit | None:
    """An edit of the Application's own ``kustomize.images`` for the images it overrides
    there; None when it overrides none of them."""
    spec = k8s.as_dict(ar.app.doc.get("spec"))
    source = k8s.as_dict(spec.get("source"))
    overrides = k8s.as_dict(source.get("kustomize")).get("images")
    if not isinstance(overrides, list):
        return None

    def target(entry: str) -> str:
        left, _, right = entry.partition("=")
        return Image.parse(right or left).name

    names = {target(str(o)) for o in overrides}
    mine = [(n, i) for n, i in moves if n in names]
    if not mine:
        return None
    if ar.app.origin.applicationset:
        raise GitplaneError(f"{ar.app.name}: its image override is in ApplicationSet "
                            f"{ar.app.origin.applicationset}'s template, shared by every "
                            "environment; edit it by hand")
    rel = ar.app.origin.file
    path = repo.top / rel
    old = read_inside(repo, rel)

    def change(docs: list[Any]) -> None:
        for doc in docs:
            if not isinstance(doc, dict) or doc.get("kind") != "Application" or \
                    (doc.get("metadata") or {}).get("name") != ar.app.name:
                continue
            seq = doc["spec"]["source"]["kustomize"]["images"]
            for k, entry in enumerate(seq):
                left, eq, right = str(entry).partition("=")
                current = Image.parse(right or left)
                for name, img in mine:
                    if current.name == name:
                        seq[k] = f"{left}={name}{img.version}" if eq else f"{name}{img.version}"

    new = edit_all(path, change, rel)
    e = Edit(rel, old, new, "kustomize.images: " +
             ", ".join(f"{n} → {i.version}" for n, i in mine))
    check_minimal(e, replaced=len(mine), inserted=0)
    return e


def _copy_edit(repo: Repository, src: str, dst: str, what: str) -> Edit | None:
    data = read_inside(repo, src)
    target = repo.top / dst
    if target.is_symlink():
        raise GitplaneError(f"{dst}: is a symlink; refusing to replace it")
    old = read_inside(repo, dst) if target.exists() else None
    if old == data:
        return None
    return Edit(dst, old, data, what)


def plan(repo: Repository, platform: Platform, source: str, target: str,
         apps: list[str] | None, include_config: bool) -> Promotion:
    """What a promotion would move, per Application, without any edit yet."""
    envs = {er.env.name: er for er in platform.envs}
    for env in (source, target):
        if env not in envs:
            raise GitplaneError(f"unknown environment '{env}' (known: "
                                f"{', '.join(sorted(envs))})")
    if source == target:
        raise GitplaneError("--from and --to name the same environment")
    src, dst = envs[source], envs[target]
    known = sorted({a.app.name for a in src.apps} | {a.app.name for a in dst.apps})
    for name in apps or []:
        if name not in known:
            raise GitplaneError(f"unknown application '{name}' (known: {', '.join(known)})")
    names = apps or sorted({a.app.name for a in src.apps} & {a.app.name for a in dst.apps})
    result = Promotion(source, target, [])
    for name in names:
        a, b = src.by_name.get(name), dst.by_name.get(name)
        ap = AppPlan(name)
        result.apps.append(ap)
        if a is None or b is None:
            ap.status = "blocked"
            ap.reasons.append(f"not deployed in {source if a is None else target}")
            continue
        failed = [env for env, x in ((source, a), (target, b)) if not x.rendered and
                  not set(x.app.kinds) - RENDERED_KINDS]
        if failed:
            ap.status = "blocked"
            ap.reasons.append(f"its render fails in {' and '.join(failed)} (see gitplane "
                              "check)")
            continue
        unseen = [x for x in (a, b) if not x.fully_rendered]
        if unseen:
            ap.status = "not rendered"
            ap.reasons.append("gitplane does not render its source (" +
                              ", ".join(sorted(set(unseen[0].app.kinds))) +
                              "): compare or upgrade it by its version")
            continue
        ia, ib = images_of(a), images_of(b)
        for n in sorted(set(ia) | set(ib)):
            if n not in ia or n not in ib:
                ap.status = "diverged"
                ap.reasons.append(f"image {n} is only in "
                                  f"{source if n in ia else target}: not an image move")
            elif len(ia[n]) > 1 or len(ib[n]) > 1:
                if ia[n] != ib[n]:
                    ap.status = "diverged"
                    ap.reasons.append(f"image {n} is used with several versions; move it by "
                                      "hand")
            elif ia[n] != ib[n]:
                (x,), (y,) = ia[n], ib[n]
                ap.images.append((n, x.version, y.version))
        if include_config:
            overlay_a, overlay_b = _overlay(repo, a), _overlay(repo, b)
            for f in repo.config.promotion.get(name, []):
                if _OWNED.search(f):
                    ap.status = "blocked"
                    ap.reasons.append(f"{f} belongs to one environment (a kustomization or a "
                                      "secret): never promoted")
                elif overlay_a is None or overlay_b is None:
                    ap.status = "blocked"
                    ap.reasons.append("its source is not a kustomize folder of this repository")
                elif not exists_inside(repo, f"{overlay_a[0]}/{f}"):
                    ap.status = "blocked"
                    ap.reasons.append(f"{overlay_a[0]}/{f} is not a file of the repository")
                elif read_inside(repo, f"{overlay_a[0]}/{f}") != (
                        read_inside(repo, f"{overlay_b[0]}/{f}")
                        if exists_inside(repo, f"{overlay_b[0]}/{f}") else None):
                    ap.files.append(f)
        if ap.status == "equal" and (ap.images or ap.files):
            ap.status = "behind"
        if ap.images and _overlay(repo, b) is None and ap.status == "behind":
            ap.status = "blocked"
            ap.reasons.append("its source in the target is not a kustomize folder of this "
                              "repository")
    return result


def promote(repo: Repository, source: str, target: str, apps: list[str] | None = None,
            include_config: bool = False, allow_collateral: bool = False,
            roots: list[str] | None = None, progress: Any = None) -> Promotion:
    """The promotion planned, edited (not written) and rendered: the caller writes
    ``edits`` unless it is a dry run and nothing is blocked or collateral."""
    before = load(repo, roots, progress)
    result = plan(repo, before, source, target, apps, include_config)
    dst = {er.env.name: er for er in before.envs}[target]
    src = {er.env.name: er for er in before.envs}[source]
    by_file: dict[str, list[tuple[str, Image]]] = {}
    for ap in result.apps:
        if ap.status != "behind":
            continue
        b, a = dst.by_name[ap.application], src.by_name[ap.application]
        moves = [(n, next(iter(images_of(a)[n]))) for n, _, _ in ap.images]
        override = _override_edit(repo, b, moves) if moves else None
        if override is not None:
            result.edits.append(override)
            done = {n for n, _ in moves if n in override.what}
            moves = [(n, i) for n, i in moves if n not in done]
        overlay = _overlay(repo, b)
        if moves and overlay is not None:
            by_file.setdefault(overlay[1], []).extend(moves)
        for f in ap.files:
            oa, ob = _overlay(repo, a), _overlay(repo, b)
            assert oa is not None and ob is not None
            e = _copy_edit(repo, f"{oa[0]}/{f}", f"{ob[0]}/{f}", f"{f} from {source}")
            if e is not None:
                result.edits.append(e)
    for rel, moves in sorted(by_file.items()):
        result.edits.append(_kustomization_edit(repo, rel, moves))
    if not result.edits:
        return result
    require_clean(repo, [e.path for e in result.edits])
    after = scratch_platform(repo, result.edits, roots)
    chosen = {ap.application for ap in result.apps if ap.status == "behind"}

    def intended(c: Any, a: Any, b: Any) -> bool:
        return c.environment == target and c.application in chosen and a is not None and \
            b is not None and _strip(a, include_config) == _strip(b, include_config) or (
                include_config and c.environment == target and c.application in chosen and
                (a or b or {}).get("kind") == "ConfigMap")

    result.effect = effect(before, after, intended)
    # the promotion must reach what the source renders, exactly
    moved = {er.env.name: er for er in after.envs}[target]
    for ap in result.apps:
        if ap.status != "behind" or not ap.images:
            continue
        now = images_of(moved.by_name[ap.application])
        want = images_of(src.by_name[ap.application])
        for n, _, _ in ap.images:
            if now.get(n) != want.get(n):
                raise GitplaneError(
                    f"{ap.application}: the edit does not make {target} render {n} as "
                    f"{source} does ({', '.join(sorted(map(str, now.get(n, set()))))}); "
                    "an overlay patch may set it: edit it by hand; nothing written")
    return result


__all__ = ["promote", "plan", "Promotion", "AppPlan", "Image", "images_of"]
