"""The library's entry points: each command's work with plain arguments, no CLI involved."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any
from collections.abc import Callable

from gitplane import cache, checks, diff as diffs, proc
from gitplane.argocd import roots as root_finder
from gitplane.argocd.discover import discover
from gitplane.platform import Platform, Progress, engine_for
from gitplane.errors import GitplaneError
from gitplane.model import Environment, resource_id
from gitplane.render import Rendered
from gitplane.repo import Repository
from gitplane.scaffold.files import write_all
from gitplane.yamlio import dump_all
from gitplane.argocd import clusters as inventory
from gitplane.argocd.appset import expand, generator_path
from gitplane.argocd.application import APPLICATIONSET, is_kind
from gitplane.argocd.world import LocalWorld
from gitplane.errors import YamlError
from gitplane.yamlio import load_file
from gitplane import __version__

#: The rule of a repository where no Application was found (never a silent zero).
NO_APPLICATIONS = root_finder.RULE


def repository(path: Path | None = None, layout: bool = False,
               branch: str | None = None) -> Repository:
    """The repository at or above ``path`` with its gitplane.yaml read and checked (rule ids
    included): what every command opens before it renders anything."""
    repo = Repository.find(path, layout=layout, branch=branch)
    checks.validate(repo.config)
    return repo


_engine = engine_for


def environments(path: Path | None = None, branch: str | None = None) -> list[Environment]:
    """The environments of the repository at ``path`` (found roots for another layout)."""
    repo = repository(path, branch=branch)
    engine = _engine(repo)
    try:
        envs, _ = root_finder.environments(repo, engine)
    finally:
        engine.close()
    return envs


def diff(path: Path | None, base: str | None, head: str | None, env: str | None = None,
         app: str | None = None, progress: Progress | None = None,
         roots: list[str] | None = None, branch: str | None = None,
         cache_options: cache.Options | None = None) -> diffs.DiffResult:
    """Rendered changes from ``base`` to ``head`` (see ``gitplane.diff.diff``);
    ``cache_options``: where the cache is and whether to use it (default: the
    environment's ``GITPLANE_CACHE_DIR``/``GITPLANE_NO_CACHE``)."""
    with _cache(cache_options):
        repo = repository(path, branch=branch)
        engine = _engine(repo)
        try:
            return diffs.diff(repo, base, head, engine, env, app, progress, roots)
        finally:
            engine.close()


def _cache(options: cache.Options | None) -> contextlib.AbstractContextManager[Any]:
    return cache.using(options) if options is not None else contextlib.nullcontext()


def load(path: Path | None = None, env: str | None = None, app: str | None = None,
         progress: Progress | None = None, roots: list[str] | None = None,
         branch: str | None = None, jobs: int | None = None,
         cache_options: cache.Options | None = None) -> Platform:
    """Discover and render the platform at ``path`` (all environments, or ``env``); a
    repository in another layout has one environment whose roots are ``roots`` or found.
    ``branch``: the branch the working tree stands for (default: see Repository.branch);
    ``jobs``: renders run at once (default: the processors, at least two);
    ``cache_options``: as for :func:`diff`."""
    with _cache(cache_options):
        return _load(path, env, app, progress, roots, branch, jobs)


def _load(path: Path | None, env: str | None, app: str | None, progress: Progress | None,
          roots: list[str] | None, branch: str | None, jobs: int | None) -> Platform:
    repo = repository(path, branch=branch)
    engine = _engine(repo)
    try:
        memo: dict[str, Rendered] = {}
        # Finding roots renders what the roots will (kept in ``memo``): its progress shows.
        all_envs, found = root_finder.environments(repo, engine, roots, memo,
                                                   progress=progress)
        if env and env not in {e.name for e in all_envs}:
            raise GitplaneError(f"unknown environment '{env}' "
                                f"(known: {', '.join(e.name for e in all_envs)})")
        envs = [e for e in all_envs if not env or e.name == env]
        platform = discover(repo, engine, envs, jobs=jobs, progress=progress, memo=memo)
        root_finder.never_silent(platform, found)
    finally:
        engine.close()
    if app and not any(a.app.name == app for er in platform.envs for a in er.apps):
        known = sorted({a.app.name for er in platform.envs for a in er.apps})
        raise GitplaneError(f"unknown application '{app}' (known: {', '.join(known)})")
    return platform


def generate_appset(file: Path, clusters_file: Path | None = None,
                    directory: Path | None = None
                    ) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """The Applications the ApplicationSets in ``file`` generate, offline, the errors and
    the warnings (``file:line: message``), as ``argocd appset generate`` would without a
    cluster. A generated Application whose destination cluster the inventory does not hold
    is kept and warned about, as ``apps`` keeps it and ``check`` reports it."""
    if not file.is_file():
        raise GitplaneError(f"{file}: no such file")
    repo = repository(directory or file.parent.absolute())
    shown = str(file)
    try:
        docs = load_file(file, shown)
    except YamlError as exc:
        raise GitplaneError(str(exc)) from None
    appsets = [d for d in docs if is_kind(d.obj, APPLICATIONSET) or (
        isinstance(d.obj, dict) and "kind" not in d.obj and
        isinstance(d.obj.get("spec"), dict) and "generators" in d.obj["spec"])]
    if not appsets:
        raise GitplaneError(f"{shown}: no ApplicationSet in this file")
    secrets = inventory.load(clusters_file, str(clusters_file)) if clusters_file else []
    world = LocalWorld(repo, clusters=secrets)
    apps: list[dict[str, Any]] = []
    errors: list[str] = []
    warnings: list[str] = []
    known = inventory.destinations(secrets)
    for doc in appsets:
        # As ``apps`` does: an Application whose cluster the inventory does not hold is still
        # generated (the inventory offline may be incomplete), and is a finding.
        result = expand(doc.obj, world)
        apps.extend(g.doc for g in result.apps)
        errors.extend(f"{shown}:{doc.line_of(*generator_path(label))}: {label}: {message}"
                      for label, message in result.errors)
        for g in result.apps:
            dest = g.doc.get("spec", {}).get("destination") or {}
            name, server = dest.get("name"), dest.get("server")
            unknown = name if name and name not in known else \
                server if server and not name and server not in known.values() else None
            if unknown:
                warnings.append(f"{shown}:{doc.line_of(*generator_path(g.generator))}: "
                              f"Application '{g.doc['metadata']['name']}': cluster '{unknown}' "
                              "is not in the cluster inventory (give it with --clusters FILE) "
                              "(argocd-destination)")
    return apps, errors, warnings


def apps(platform: Platform, app: str | None = None) -> list[dict[str, Any]]:
    return [a.app.to_json() for er in platform.envs for a in er.apps
            if not app or a.app.name == app]


def check(platform: Platform, app: str | None = None, strict: bool = False,
          debug: bool = False, kubernetes_version: str | None = None,
          schema_locations: list[str] | None = None, allow_network: bool = False
          ) -> checks.Result:
    """Every rule over ``platform``; ``debug``: a rule that breaks prints its traceback.
    ``kubernetes_version``, ``schema_locations`` and ``allow_network`` widen gitplane.yaml's
    schema settings for this run (the configuration itself is not changed)."""
    cfg = platform.repo.config
    schemas = checks.SchemaSettings(
        kubernetes_version or cfg.kubernetes_version,
        [*cfg.schema_locations, *(schema_locations or [])],
        cfg.allow_network or allow_network)
    return checks.run(platform, only_app=app, strict=strict, debug=debug, schemas=schemas)


def affected(result: checks.Result, files: Any) -> checks.Result:
    """``result`` narrowed to what ``files`` (paths in the repository or on disk) can
    affect: the findings of every Application whose renders read one of them or that is
    defined in one, and the findings on the files themselves."""
    import dataclasses

    repo = result.platform.repo
    wanted: set[str] = set()
    for f in files:
        path = Path(f)
        full = path if path.is_absolute() else Path.cwd() / path
        try:
            wanted.add(repo.rel(full.resolve()) if repo.contains(str(full.resolve()), real=True)
                       else path.as_posix())
        except (GitplaneError, ValueError, OSError):
            wanted.add(path.as_posix())
    apps = {(er.env.name, ar.app.name) for er in result.platform.envs for ar in er.apps
            if wanted & (ar.files | {ar.app.origin.file})}
    kept = [f for f in result.findings if (f.environment, f.application) in apps or
            f.file in wanted]
    return dataclasses.replace(result, findings=kept)


def rendered(platform: Platform, app: str | None = None) -> dict[tuple[str, str], str]:
    """(environment, application) → the YAML Argo CD would apply, objects sorted by id."""
    out: dict[tuple[str, str], str] = {}
    for er in platform.envs:
        for ar in er.apps:
            if app and ar.app.name != app:
                continue
            if not ar.resources:
                continue
            objs = sorted((r.obj for r in ar.resources), key=resource_id)
            out[(er.env.name, ar.app.name)] = dump_all(objs)
    return out


_WHY = {"external": "another repository or a Helm repository (listed, not rendered)",
        "plugin": "a config-management plugin (not run offline)",
        "missing": "its path is missing", "refused": "its path was refused",
        "unresolved": "its targetRevision does not resolve locally",
        "helm": "a local Helm chart (needs a Helm engine)",
        "ref": "a multi-source ref (values only)"}


def not_rendered(platform: Platform, app: str | None = None) -> list[str]:
    """One line per Application that rendered no object, saying why (``render`` writes no
    file for it)."""
    out = []
    for er in platform.envs:
        for ar in er.apps:
            if ar.resources or (app and ar.app.name != app):
                continue
            kinds = [k for k in ar.app.kinds if k not in ("kustomize", "directory") and
                     not (k == "helm" and ar.rendered)]
            why = "; ".join(sorted({_WHY.get(k, k) for k in kinds})) if kinds else (
                "its render failed" if not ar.rendered else "its sources hold no object")
            out.append(f"note: {er.env.name}/{ar.app.name}: not rendered: {why}")
    return out


MARKER = ".gitplane-render"


def _output_path(directory: Path, env: str, app: str) -> Path:
    """``DIR/<env>/<app>.yaml``, refused unless both names are plain file names and the file
    lies inside ``DIR`` (names come from the repository: hostile input)."""
    for what, name in (("environment", env), ("Application", app)):
        if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
            raise GitplaneError(f"{what} name '{name}' cannot be a file name; nothing written")
    root = os.path.realpath(directory)
    path = os.path.realpath(os.path.join(root, env, f"{app}.yaml"))
    if os.path.dirname(os.path.dirname(path)) != root:
        raise GitplaneError(f"{directory}/{env}/{app}.yaml: leaves the output folder; "
                            "nothing written")
    return Path(directory) / env / f"{app}.yaml"


def write_rendered(files: dict[tuple[str, str], str], directory: Path, engine_version: str,
                   force: bool = False, envs: list[str] | None = None,
                   app: str | None = None) -> list[Path]:
    """Write ``DIR/<env>/<application>.yaml``, replacing only an earlier render of gitplane.

    A folder holding other files is refused unless ``force``; files of an earlier render that
    this one does not produce (an Application removed since) are deleted, within the
    environments rendered (``envs``) and when the render is not limited to one ``app``; only
    files the folder's marker lists as written by gitplane are ever deleted.
    """
    marker = directory / MARKER
    if directory.exists() and not directory.is_dir():
        raise GitplaneError(f"{directory}: exists and is not a directory")
    # Every path checked before anything is written: no partial write.
    paths = {key: _output_path(directory, *key) for key in sorted(files)}
    for path in paths.values():
        if path.is_symlink():
            raise GitplaneError(f"{path}: is a symlink; refusing to write through it")
    previous: set[Path] = set()
    listed: list[str] = []
    if marker.is_file() and not marker.is_symlink():
        # Only files the marker lists were written by gitplane: nothing else is deleted.
        try:
            listed = [line[len("file: "):] for line in marker.read_text().splitlines()
                      if line.startswith("file: ")]
        except (OSError, UnicodeDecodeError):
            listed = []
        chosen = set(envs or [])
        for rel in listed:
            env_name, _, name = rel.partition("/")
            if app is None and env_name in chosen and name.endswith(".yaml"):
                try:
                    previous.add(_output_path(directory, env_name, name[:-len(".yaml")]))
                except GitplaneError:
                    continue
    elif directory.is_dir() and any(directory.iterdir()) and not force:
        raise GitplaneError(f"{directory}: not empty and not an earlier render of gitplane; "
                            "choose an empty folder or use --force")
    written = [paths[key] for key in sorted(files)]
    stale = sorted(p for p in previous - set(written) if p.is_file() and not p.is_symlink())
    kept = {rel for rel in listed if (directory / rel).is_file()} | {
        p.relative_to(directory).as_posix() for p in written}
    kept -= {p.relative_to(directory).as_posix() for p in stale}
    # every file and the marker staged first, then moved into place: all or nothing
    out = {paths[key]: text.encode("utf-8") for key, text in files.items()}
    out[marker] = (f"gitplane: {__version__}\nkustomize: {engine_version}\n" +
                   "".join(f"file: {rel}\n" for rel in sorted(kept))).encode("utf-8")
    write_all(out)
    for path in stale:
        try:
            path.unlink()
        except OSError as exc:
            raise GitplaneError(f"{path}: cannot remove the file of an Application no longer "
                                f"rendered ({exc.strerror or exc})") from None
    return written


#: The library: every command as a function of plain arguments (the rest of gitplane is
#: internal and may change between versions).
def charts_used(platform: Platform) -> list[tuple[str, str, str]]:
    """(repository URL, chart, targetRevision) of every chart of a Helm repository the
    platform's Applications install, sorted, once each."""
    from gitplane.argocd.discover import helm_jobs
    from gitplane.render.helm import dependencies_to_fetch

    used = {(src.repo_url, src.chart, src.target_revision or "*")
            for er in platform.envs for ar in er.apps for src in ar.app.sources if src.chart}
    for er in platform.envs:  # dependencies of charts that Argo CD builds
        for ar in er.apps:
            for _, job in helm_jobs(ar):
                used.update(dependencies_to_fetch(job.folder))
    return sorted(used | _kustomize_charts(platform.repo))


def _kustomize_charts(repo: Repository) -> set[tuple[str, str, str]]:
    """Charts of Helm repositories that kustomizations inflate (``helmCharts`` with a
    ``repo``, not vendored), where the repository's Argo CD builds with ``--enable-helm``."""
    from gitplane.boundary import walk
    from gitplane.render.kustomize import KUSTOMIZATION_FILES
    from gitplane.yamlio import load_file

    out: set[tuple[str, str, str]] = set()
    if not repo.enables_helm:
        return out
    for rel in walk(repo.top, lambda n: not n.startswith("."))[1]:
        if rel.rsplit("/", 1)[-1] not in KUSTOMIZATION_FILES:
            continue
        try:
            docs = load_file(repo.top / rel, rel)
        except GitplaneError:
            continue
        k = docs[0].obj if docs else None
        for chart in (k.get("helmCharts") or []) if isinstance(k, dict) else []:
            if isinstance(chart, dict) and chart.get("name") and chart.get("repo"):
                out.add((str(chart["repo"]), str(chart["name"]),
                         str(chart.get("version") or "*")))
    return out


def pull_charts(platform: Platform, allow_network: bool = False,
                progress: Callable[[str, str, str, str], None] = lambda *a: None
                ) -> list[dict[str, str]]:
    """Every chart the platform uses, in gitplane's cache: found there, or fetched when the
    network is allowed (``allow_network`` or ``allowNetwork: true``). One row per chart:
    repo, chart, spec, version, status (cached, pulled, or failed with the reason)."""
    from gitplane.render import charts

    allowed = allow_network or platform.repo.config.allow_network
    cfg = platform.repo.config
    rows = []
    for repo_url, chart, spec in charts_used(platform):
        row = {"repo": repo_url, "chart": chart, "spec": spec, "version": "", "status": ""}
        have = charts.cached(repo_url, chart, spec) if charts.is_exact(spec) or not allowed \
            else None
        if have is not None:
            row.update(version=have.version, status="cached")
        elif not allowed:
            row.update(status="not cached (fetching needs the network: --allow-network)")
        else:
            try:
                got = charts.pull(repo_url, chart, spec, cfg.render_timeout * 2,
                                  cfg.render_memory_mib * 1024 ** 2)
                row.update(version=got.version, status="pulled")
            except GitplaneError as exc:
                row.update(status=f"failed: {exc}")
        progress(repo_url, chart, row["version"], row["status"])
        rows.append(row)
    return rows


__all__ = ["NO_APPLICATIONS", "repository", "environments", "load", "apps", "check",
           "rendered", "not_rendered", "write_rendered", "affected", "diff", "generate_appset", "MARKER",
           "charts_used", "pull_charts"]


def report(path: Path | None, output: Path, base: str | None = None, env: str | None = None,
           progress: Progress | None = None, roots: list[str] | None = None,
           branch: str | None = None, timestamp: bool = False, force: bool = False,
           title: str = "") -> tuple[checks.Result, list[str]]:
    """Write the platform's HTML report to ``output`` (see ``gitplane.report.html``): the
    check of the working tree and, with ``base``, what changed since that revision. A file
    that is not a gitplane report is only replaced with ``force``. Returns the check's
    result and what to say about the page's size."""
    import datetime

    from gitplane import git
    from gitplane.report import html
    from gitplane.yamlio import read_regular

    target = output.absolute()
    if target.is_dir():
        raise GitplaneError(f"{output}: is a folder; give the report's file name")
    if target.exists() and not force:
        try:
            head = read_regular(target)[:2048]
        except OSError:
            head = b""
        if b'<meta name="generator" content="gitplane' not in head:
            raise GitplaneError(f"{output}: exists and is not a gitplane report; "
                                "nothing written (--force replaces it)")
    platform = load(path, env, None, progress, roots, branch)
    result = check(platform)
    changes = diff(path, base, None, env, None, None, roots, branch) if base else None
    repo = platform.repo
    revision = (git.commit_of(repo.top, "HEAD") or "") if repo.in_git else ""
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC") \
        if timestamp else ""
    text, warnings = html.report(result, changes, title, revision, when)
    write_all({target: text.encode()}, shown={target: str(output)})
    return result, warnings


def promote(path: Path | None, source: str, target: str, apps: list[str] | None = None,
            include_config: bool = False, allow_collateral: bool = False,
            dry_run: bool = False, commit: bool = False, roots: list[str] | None = None,
            branch: str | None = None, progress: Progress | None = None) -> Any:
    """Promote ``apps`` (None: every Application of both) from ``source`` to ``target``
    (see ``gitplane.day2.promote``). Writes the edits unless ``dry_run``, something is
    blocked (an Application named in ``apps``) or the rendered effect has collateral
    changes (unless allowed); with ``commit``, one commit with trailers."""
    from gitplane import day2
    from gitplane.day2 import promote as promoting

    repo = repository(path, branch=branch)
    result = promoting.promote(repo, source, target, apps, include_config, allow_collateral,
                               roots, progress)
    named_blocked = apps is not None and bool(result.blocked)
    if dry_run or not result.edits or named_blocked or \
            (result.effect.collateral and not allow_collateral):
        return result
    day2.write(repo, result.edits)
    result.written = True
    if commit:
        moved = [f"{a.application} ({', '.join(f'{n}{b}' for n, b, _ in a.images)})"
                 for a in result.apps if a.status == "behind"]
        trailers = {"Gitplane-Command": f"promote --from {source} --to {target}",
                    "Gitplane-Promoted": "; ".join(moved)}
        if result.effect.collateral:
            trailers["Gitplane-Collateral"] = f"{len(result.effect.collateral)} objects"
        result.commit = day2.commit(repo, result.edits,
                                    f"Promote {', '.join(a.application for a in result.apps if a.status == 'behind')} "
                                    f"from {source} to {target}", trailers)
    return result


def promotion_status(path: Path | None, source: str, target: str,
                     apps: list[str] | None = None, include_config: bool = False,
                     roots: list[str] | None = None, branch: str | None = None,
                     progress: Progress | None = None) -> Any:
    """Per Application: equal, behind (what would move), diverged or blocked (and why)."""
    from gitplane import day2
    from gitplane.day2 import promote as promoting

    repo = repository(path, branch=branch)
    return promoting.plan(repo, day2.load(repo, roots, progress), source, target, apps,
                          include_config)


def seal(path: Path | None, name: str, app: str, env: str, values: dict[str, bytes],
         scope: str = "strict", secret_type: str = "Opaque", cert: str | None = None,
         force: bool = False, dry_run: bool = False, commit: bool = False,
         roots: list[str] | None = None, branch: str | None = None,
         progress: Progress | None = None) -> Any:
    """Seal ``values`` as Secret ``name`` of ``app`` in ``env`` (see ``gitplane.day2.seal``);
    written unless ``dry_run``, committed with ``commit``."""
    from gitplane import day2
    from gitplane.day2 import seal as sealing

    repo = repository(path, branch=branch)
    result = sealing.seal(repo, name, app, env, values, scope, secret_type, cert, force,
                          roots, progress)
    if dry_run:
        return result
    day2.write(repo, result.edits)
    result.written = True
    if commit:
        result.commit = day2.commit(
            repo, result.edits, f"Seal {result.name} for {app} in {env}",
            {"Gitplane-Command": f"seal {name} --app {app} --env {env}",
             "Gitplane-Sealed-For": f"{result.namespace}/{result.name} ({result.scope})",
             "Gitplane-Keys": ", ".join(result.keys)})
    return result


def release(path: Path | None, bump: str | None = None, dry_run: bool = False,
            roots: list[str] | None = None, branch: str | None = None,
            progress: Progress | None = None) -> Any:
    """Plan the next platform release (see ``gitplane.day2.release``); unless ``dry_run``,
    write CHANGELOG.md and the JSON record, commit them and tag that commit."""
    from gitplane import day2
    from gitplane.day2 import release as releasing

    repo = repository(path, branch=branch)
    result = releasing.release(repo, bump, roots, progress)
    if dry_run or (result.empty and bump is None):
        return result
    day2.write(repo, result.edits)
    result.written = True
    result.commit = day2.commit(repo, result.edits, f"Release {result.tag}", {
        "Gitplane-Command": "release" + (f" --bump {bump}" if bump else ""),
        "Gitplane-Release": result.tag,
        "Gitplane-Bump": result.bump + (f" (proposed {result.proposed})"
                                        if result.proposed != result.bump else "")})
    releasing.tag(repo, result)
    return result


def upgrade(path: Path | None, component: str, to: str | None = None, force: bool = False,
            allow_collateral: bool = False, dry_run: bool = False, commit: bool = False,
            roots: list[str] | None = None, branch: str | None = None,
            progress: Progress | None = None) -> Any:
    """Upgrade the chart ``component`` to ``to`` (see ``gitplane.day2.upgrade``); written
    unless ``dry_run`` or collateral changes (unless allowed), committed with ``commit``."""
    from gitplane import day2
    from gitplane.day2 import upgrade as upgrading

    repo = repository(path, branch=branch)
    result = upgrading.upgrade(repo, component, to, force, roots, progress)
    if dry_run or not result.edits or (result.effect.collateral and not allow_collateral):
        return result
    day2.write(repo, result.edits)
    result.written = True
    if commit:
        trailers = {"Gitplane-Command": f"upgrade {component} --to {result.target}",
                    "Gitplane-Upgraded": f"{component} {result.current} → {result.target}"}
        for n in result.notes:
            trailers.setdefault("Gitplane-Upgrade-Notes", "")
            trailers["Gitplane-Upgrade-Notes"] += ("; " if trailers["Gitplane-Upgrade-Notes"]
                                                   else "") + n["version"]
        result.commit = day2.commit(repo, result.edits, f"Upgrade {component} "
                                    f"{result.current} → {result.target}", trailers)
    return result


def upgrades(path: Path | None, roots: list[str] | None = None, branch: str | None = None,
             progress: Progress | None = None) -> list[dict[str, Any]]:
    """Every chart the platform pins: versions pinned, the versions file's, the newest the
    cached index knows."""
    from gitplane import day2
    from gitplane.day2 import upgrade as upgrading

    repo = repository(path, branch=branch)
    return upgrading.inventory(repo, day2.load(repo, roots, progress))


def doctor(path: Path | None = None, context: str | None = None,
           kubeconfig: str | None = None, allow_network: bool = False,
           roots: list[str] | None = None, branch: str | None = None,
           progress: Progress | None = None, timeout: float | None = None,
           extra: list[Any] | None = None) -> tuple[list[Any], Any, Repository]:
    """Every doctor check (see ``gitplane.operate.doctor``), ``extra`` ones after them: their
    outcomes, the repository check's result (None when it could not be made), the
    repository."""
    from gitplane.operate import doctor as doc

    repo = repository(path, branch=branch)

    def made() -> checks.Result:
        return check(load(path, None, None, None, roots, branch))

    repo_checks, result_of = doc.repository_checks(made)

    def engine_version() -> str:
        engine = _engine(repo)
        try:
            return engine.version()
        finally:
            engine.close()

    try:
        env_names = [e.name for e in repo.environments(roots)] if repo.seed_layout else \
            [repo.config.environment]
    except GitplaneError:
        env_names = []

    def sealing() -> list[tuple[str, str]]:
        from gitplane.day2.seal import certificate

        out = []
        for er in result_of().platform.envs:
            for ar in er.apps:
                for s in ar.app.sources:
                    if s.chart != "sealed-secrets":
                        continue
                    from gitplane.k8s import as_dict

                    helm = as_dict(s.raw.get("helm"))
                    values = as_dict(helm.get("valuesObject"))
                    name = str(values.get("fullnameOverride") or helm.get("releaseName") or
                               "sealed-secrets-controller")
                    ns = str(ar.app.destination.get("namespace") or "kube-system")
                    try:
                        rel, _, _ = certificate(repo, er.env.name)
                    except GitplaneError:
                        continue
                    out.append((f"{ns}/{name}", (repo.top / rel).read_text("utf-8")))
        return sorted(set(out))

    kube = doc.Kube(context, kubeconfig) if context else None
    all_checks = [*repo_checks, doc.tools_check(engine_version, repo.config.render_memory_mib),
                  doc.certificates_check(repo, env_names,
                                         lambda: doc.uses_sealing(result_of())),
                  doc.credentials_check(result_of),
                  doc.reachability_check(result_of, allow_network, repo.is_self),
                  *doc.cluster_checks(kube, result_of, repo.config.kubernetes_version,
                                      sealing), *(extra or [])]
    if timeout is not None:
        for c in all_checks:
            c.timeout = timeout
    outcomes = doc.run_checks(all_checks, progress)
    try:
        result = result_of()
    except GitplaneError:
        result = None
    return outcomes, result, repo


def bootstrap(path: Path | None, env: str, context: str | None = None,
              kubeconfig: str | None = None, dry_run: bool = False, resume: bool = False,
              roots: list[str] | None = None, branch: str | None = None,
              progress: Progress | None = None,
              say: Callable[[str], None] | None = None) -> Any:
    """Bootstrap Argo CD for ``env`` (see ``gitplane.operate.bootstrap``): the plan, and
    unless ``dry_run`` its phases run through kubectl."""
    from gitplane.operate import bootstrap as boot
    kubectl = proc.kubectl_binary()
    if kubectl is None:
        raise GitplaneError("kubectl is not installed; reinstall gitplane")
    base = [kubectl] + (["--kubeconfig", kubeconfig] if kubeconfig else [])
    current = None
    if context is None and env not in boot.PRODUCTION:
        res = proc.run([*base, "config", "current-context"], timeout=20,
                       env={k: v for k, v in os.environ.items()
                            if k in ("HOME", "PATH", "KUBECONFIG")})
        current = res.stdout.decode().strip() or None
    platform = load(path, env, None, progress, roots, branch)
    plan = boot.plan(platform, env, context, current)
    if dry_run:
        return plan
    if plan.blockers:
        raise GitplaneError("cannot bootstrap: " + "; ".join(plan.blockers))
    return boot.run(plan, base, resume, platform, say or (lambda _: None))
