"""Argument parsing and exit codes; nothing else. ``main(argv) -> int`` is the only exit."""
from __future__ import annotations

import os
import signal
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from collections.abc import Callable, Iterator

import click

from gitplane import __version__, cache, limits
from gitplane.errors import GitplaneError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_TERMINATED = 143


class _State:
    def __init__(self, directory: Path | None, debug: bool, branch: str | None = None) -> None:
        self.directory = directory
        self.debug = debug
        self.branch = branch


def _colour(stream: Any) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != \
        "dumb"


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on a terminal's stderr; nothing in CI, pipes or JSON output."""
    if not enabled or not sys.stderr.isatty() or os.environ.get("CI"):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("rendering"), BarColumn(), MofNCompleteColumn(),
                  transient=True, console=__import__("rich.console").console.Console(
                      stderr=True)) as bar:
        task = bar.add_task("render", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gitplane")
@click.option("-C", "directory", type=click.Path(path_type=Path),
              help="Run as if started in PATH.", metavar="PATH")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.option("--no-cache", is_flag=True, help="Render everything; do not read or write the "
              "render cache (GITPLANE_NO_CACHE=1 does the same).")
@click.option("--branch", metavar="NAME",
              help="The branch the working tree stands for (default: the branch checked out; "
                   "on a detached pull-request checkout, the CI's target branch).")
@click.pass_context
def cli(ctx: click.Context, directory: Path | None, debug: bool, no_cache: bool,
        branch: str | None) -> None:
    """gitplane: domain-driven GitOps platforms on Argo CD, rendered and checked offline."""
    ctx.obj = _State(directory, debug, branch)
    if no_cache:  # for this command only; the environment is not changed
        ctx.with_resource(cache.using(cache.Options(cache.folder(), enabled=False)))
    limits.reload()  # the user's GITPLANE_MAX_* (exit 2 when one is out of range)


def _state() -> _State:
    return click.get_current_context().find_object(_State)  # type: ignore[return-value]


@cli.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--env", "envs", multiple=True, metavar="NAME",
              help="An environment (repeatable; default: staging, production).")
@click.option("--repo-url", help="repoURL of Applications (default: the Git remote 'origin').")
@click.option("--email", metavar="ADDR",
              help="Contact of the ACME (Let's Encrypt) account of the certificate issuers.")
@click.option("--domain", metavar="DOMAIN",
              help="The platform's DNS domain: production serves web-app.DOMAIN, other "
                   "environments web-app.ENV.DOMAIN.")
@click.option("--ingress", type=click.Choice(["traefik", "nginx"]), default="traefik",
              show_default=True,
              help="Ingress controller; nginx is ingress-nginx, retired in March 2026.")
@click.option("--ci", type=click.Choice(["github", "gitlab", "none"]), default="github",
              show_default=True,
              help="Write a pull-request pipeline (.github/workflows/gitplane.yml, or "
                   ".gitlab-ci.yml) when DIRECTORY is the repository's top.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def init(directory: Path | None, envs: tuple[str, ...], repo_url: str | None,
         email: str | None, domain: str | None, ingress: str, ci: str, force: bool) -> None:
    """Write the reference platform into DIRECTORY/deployments/."""
    from gitplane.scaffold.init import CI_FILES, DEFAULT_REPO_URL, init as do_init

    base = _state().directory or Path.cwd()
    target = base / directory if directory else base
    target, written, url = do_init(target, list(envs), repo_url, force, email=email,
                                   domain=domain, ingress=ingress, ci=ci)
    ci_file = CI_FILES.get(ci)
    if ci_file and not any(p.as_posix().endswith(ci_file) for p in written):
        example = "examples/github/gitplane.yml" if ci == "github" else \
            "examples/gitlab/.gitlab-ci.yml"
        click.echo(f"no {ci_file} written: the platform is inside a repository whose top is "
                   f"elsewhere; {example} of gitplane shows one (working-directory: this "
                   "folder)")
    click.echo(f"wrote {len(written)} files into {target / 'deployments'} (repoURL {url})")
    missing = [opt for opt, given in (("--repo-url", url != DEFAULT_REPO_URL),
                                      ("--email", email), ("--domain", domain)) if not given]
    if missing:
        click.echo(f"placeholders left for {', '.join(missing)}: gitplane check names each")
    if ingress == "nginx":
        click.echo("ingress-nginx is retired (no fixes since March 2026): plan the move to a "
                   "maintained controller")
    click.echo(f"next: gitplane -C {target} apps && gitplane -C {target} check")


@cli.group()
def new() -> None:
    """Add an app, a component or an environment."""


def _repo() -> Any:
    from gitplane import api

    return api.repository(_state().directory, layout=True)


def _report_written(paths: list[Path], repo: Any) -> None:
    for p in paths:
        click.echo(f"wrote {repo.rel(p)}")


@new.command("app")
@click.argument("name")
@click.option("--domain", required=True, help="applications, workloads or infrastructure.")
@click.option("--image", default="nginxinc/nginx-unprivileged:1.27.3", show_default=True,
              help="Container image, with a pinned tag; it must run as a non-root user.")
@click.option("--port", default=8080, show_default=True, type=int, help="Container port.")
def new_app(name: str, domain: str, image: str, port: int) -> None:
    """A new app: a base and one overlay per environment."""
    from gitplane.scaffold.new import new_app as do

    repo = _repo()
    _report_written(do(repo, name, domain, image, port), repo)


@new.command("component")
@click.argument("name")
@click.option("--app", "app", required=True, help="The app whose base gets the component.")
@click.option("--domain", required=True)
def new_component(name: str, app: str, domain: str) -> None:
    """A component folder inside an app's base."""
    from gitplane.scaffold.new import new_component as do

    repo = _repo()
    _report_written(do(repo, name, app, domain), repo)


@new.command("env")
@click.argument("name")
@click.option("--from", "source", help="Copy from this environment (default: staging).")
def new_env(name: str, source: str | None) -> None:
    """A new environment: platform-config, bootstrap overlays, an overlay for every app."""
    from gitplane.scaffold.new import new_env as do

    repo = _repo()
    _report_written(do(repo, name, source), repo)


_FORMAT = click.option("-o", "--format", "fmt", type=click.Choice(["table", "json"]),
                       default="table", show_default=True)
_ROOT = click.option("--root", "roots", multiple=True, metavar="PATH",
                     help="A root Application/ApplicationSet file or folder (repeatable); "
                          "the repository then has one environment with these roots.")


@cli.group()
def github() -> None:
    """Publish to GitHub (network: only these commands, only when you run them)."""


_KEY = click.option("--key", default="", metavar="NAME",
                    help="Keep one comment per NAME (e.g. the environment of a matrix job).")


def _published(api: Any, token: str, call: Callable[[], Any], what: str) -> None:
    from gitplane import publish

    try:
        done = call()
    except publish.Forbidden as exc:
        click.echo(f"warning: no {what} written: {str(exc).replace(token, '********')} "
                   "(a pull request from a fork has a read-only token)", err=True)
        return
    except GitplaneError as exc:
        raise GitplaneError(str(exc).replace(token, "********")) from None
    click.echo(f"{done.action} {done.url}" + (" (shortened to a summary)" if done.shortened
                                              else ""))


@github.command("comment")
@click.option("--repo", required=True, help="OWNER/NAME of the repository.")
@click.option("--pr", "number", required=True, type=click.IntRange(min=1),
              help="The pull request's number.")
@click.option("--body-file", required=True, type=click.File("r", encoding="utf-8"),
              help="The comment's Markdown ('-': standard input), e.g. diff -o markdown.")
@click.option("--run-url", default="", help="The run's URL, linked when the body is too long.")
@click.option("--author", default="github-actions[bot]", show_default=True,
              help="The login the token posts as: only its own comment is updated.")
@_KEY
def github_comment(repo: str, number: int, body_file: Any, run_url: str, author: str,
                   key: str) -> None:
    """Create gitplane's pull-request comment, or update it on later pushes. The token comes
    from GITHUB_TOKEN (never an option), the API from GITHUB_API_URL. A token that may not
    write (a fork's pull request) is a warning, not a failure."""
    from gitplane import publish

    token = os.environ.get("GITHUB_TOKEN", "")
    if not token:
        raise click.UsageError("GITHUB_TOKEN is not set")
    gh = publish.GitHub(os.environ.get("GITHUB_API_URL") or "https://api.github.com", token)
    body = body_file.read()
    _published(gh, token, lambda: publish.github_comment(gh, repo, number, body, author,
                                                         run_url, key), "comment")


@cli.group()
def gitlab() -> None:
    """Publish to GitLab (network: only these commands, only when run)."""


@gitlab.command("note")
@click.option("--project", required=True, help="The project's id or path (CI_PROJECT_ID).")
@click.option("--mr", "iid", required=True, type=click.IntRange(min=1),
              help="The merge request's IID (CI_MERGE_REQUEST_IID).")
@click.option("--body-file", required=True, type=click.File("r", encoding="utf-8"),
              help="The note's Markdown ('-': standard input), e.g. diff -o markdown.")
@click.option("--run-url", default="", help="The job's URL, linked when the body is too long.")
@click.option("--author", default="", help="The username the token writes as (default: "
              "asked of GitLab): only its own note is updated.")
@_KEY
def gitlab_note(project: str, iid: int, body_file: Any, run_url: str, author: str,
                key: str) -> None:
    """Create gitplane's merge-request note, or update it on later pushes. The token comes
    from GITPLANE_GITLAB_TOKEN (a project access token with the api scope; never an option),
    the API from CI_API_V4_URL. A token that may not write is a warning, not a failure."""
    from gitplane import publish

    token = os.environ.get("GITPLANE_GITLAB_TOKEN", "")
    if not token:
        click.echo("warning: no note written: GITPLANE_GITLAB_TOKEN is not set (a project "
                   "access token with the api scope, as a masked CI/CD variable)", err=True)
        return
    gl = publish.GitLab(os.environ.get("CI_API_V4_URL") or "https://gitlab.com/api/v4", token)
    body = body_file.read()
    _published(gl, token, lambda: publish.gitlab_note(gl, project, iid, body, run_url, key,
                                                      author), "note")


@cli.group()
def charts() -> None:
    """Charts of Helm repositories in gitplane's cache."""


@charts.command("pull")
@click.option("--env", help="Only the charts of this environment.")
@click.option("--allow-network", is_flag=True,
              help="Fetch what is not cached (also: allowNetwork: true in gitplane.yaml).")
@_ROOT
@_FORMAT
def charts_pull(env: str | None, allow_network: bool, roots: tuple[str, ...],
                fmt: str) -> None:
    """Fill gitplane's cache with every chart the platform's Applications install (and the
    dependencies of its charts), so later runs render them offline; exit 1 when one is
    missing or failed."""
    from gitplane import api
    from gitplane.report import to_json
    from gitplane.report.text import table

    state = _state()
    with _progress(fmt != "json") as progress:
        platform = api.load(state.directory, env, None, progress, list(roots), state.branch)
    rows = api.pull_charts(platform, allow_network)
    if fmt == "json":
        click.echo(to_json(rows), nl=False)
    else:
        click.echo(table(["REPOSITORY", "CHART", "WANTED", "VERSION", "STATUS"],
                         [[r["repo"], r["chart"], r["spec"], r["version"], r["status"]]
                          for r in rows], _colour(sys.stdout)), nl=False)
        if not rows:
            click.echo("no Application installs a chart of a Helm repository or OCI registry")
    if any(r["status"] not in ("cached", "pulled") for r in rows):
        raise SystemExit(EXIT_FINDINGS)


@cli.command()
@_FORMAT
def envs(fmt: str) -> None:
    """List the environments."""
    from gitplane.report import to_json
    from gitplane.report.text import table

    from gitplane import api

    envs = api.environments(_state().directory, _state().branch)
    if fmt == "json":
        click.echo(to_json([{"name": e.name, "roots": e.roots} for e in envs]), nl=False)
    else:
        click.echo(table(["ENVIRONMENT", "ROOTS"], [[e.name, ", ".join(e.roots)] for e in envs],
                         _colour(sys.stdout)), nl=False)


@cli.command()
@click.option("--env", help="Only this environment.")
@click.option("--app", help="Only this Application.")
@_ROOT
@_FORMAT
def apps(env: str | None, app: str | None, roots: tuple[str, ...], fmt: str) -> None:
    """Every Argo CD Application per environment, after expansion."""
    from gitplane import api
    from gitplane.report import to_json
    from gitplane.report.text import apps_rows, table

    with _progress(fmt != "json") as progress:
        platform = api.load(_state().directory, env, app, progress, list(roots),
                            _state().branch)
    if fmt == "json":
        click.echo(to_json(api.apps(platform, app)), nl=False)
        _never_silent(platform)
        return
    header, rows = apps_rows(platform)
    if app:
        rows = [r for r in rows if r[0] == app]
    click.echo(table(header, rows, _colour(sys.stdout)), nl=False)
    click.echo(f"{len(rows)} applications in {len(platform.envs)} environments "
               f"(kustomize {platform.engine_version})")
    _never_silent(platform)


def _never_silent(platform: Any) -> None:
    """Say on stderr why an environment has no Application; exit 1 when that is an error
    (a repository that holds Argo CD objects must not pass on nothing)."""
    from gitplane import api

    found = [f for f in platform.findings if f.rule == api.NO_APPLICATIONS]
    for f in found:
        where = f"{f.file}:{f.line}: " if f.file else ""
        click.echo(f"{f.severity}: {where}{f.message} ({f.rule})", err=True)
    if any(f.severity == "error" for f in found):
        raise SystemExit(EXIT_FINDINGS)


@cli.command()
@click.option("--env", help="Only this environment.")
@click.option("--app", help="Only this Application.")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path),
              help="Write DIR/<env>/<application>.yaml instead of printing.")
@click.option("--force", is_flag=True, help="Write into a folder that holds other files.")
@_ROOT
def render(env: str | None, app: str | None, output: Path | None, force: bool,
           roots: tuple[str, ...]) -> None:
    """The manifests Argo CD would apply, per environment and Application."""
    from gitplane import api

    with _progress(True) as progress:
        platform = api.load(_state().directory, env, app, progress, list(roots),
                            _state().branch)
    files = api.rendered(platform, app)
    if output is not None:
        written = api.write_rendered(files, output, platform.engine_version, force,
                                     [er.env.name for er in platform.envs], app)
        click.echo(f"wrote {len(written)} files into {output}", err=True)
    else:
        for (e, a), text in sorted(files.items()):
            click.echo(f"# environment: {e}, application: {a}")
            click.echo(text, nl=False)
    errors = [f for f in platform.findings if f.severity == "error" and
              f.rule in ("kustomize-build", "yaml-syntax", "yaml-duplicate-key") and
              (not app or f.application == app)]
    for f in errors:
        click.echo(f"{f.file}:{f.line}: {f.message} ({f.rule}, {f.environment}/"
                   f"{f.application})", err=True)
    for line in api.not_rendered(platform, app):
        click.echo(line, err=True)
    _never_silent(platform)
    if errors:
        raise SystemExit(EXIT_FINDINGS)


@cli.command()
@click.option("--env", help="Only this environment.")
@click.option("--app", help="Only this Application.")
@click.option("-o", "--format", "fmt",
              type=click.Choice(["text", "json", "sarif", "junit", "github", "codequality"]),
              help="Output format (default: text; github under GitHub Actions).")
@click.option("--strict", is_flag=True, help="Warnings fail too.")
@click.option("--kubernetes-version", "k8s", metavar="1.N",
              help="Kubernetes version of the schemas (1.25 to 1.37; default 1.37).")
@click.option("--schema-location", "schema_locations", multiple=True, metavar="DIR|URL",
              help="Custom resource schemas: a folder or URL template in kubeconform's "
                   "{group}/{kind}_{version}.json layout (repeatable).")
@click.option("--allow-network", is_flag=True, help="Allow URL schema locations.")
@_ROOT
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def check(env: str | None, app: str | None, fmt: str | None, strict: bool, k8s: str | None,
          schema_locations: tuple[str, ...], allow_network: bool,
          roots: tuple[str, ...], files: tuple[Path, ...]) -> None:
    """Validate every Application of every environment; with FILES (a pre-commit hook's
    changed files), report only the Applications those files can affect."""
    from gitplane.config import check_kubernetes_version

    version = check_kubernetes_version(k8s, "--kubernetes-version") if k8s else None
    for loc in schema_locations:
        if "://" in loc and not allow_network:
            raise click.UsageError(f"schema location '{loc}' needs the network; add "
                                   "--allow-network")
    from gitplane import api
    from gitplane.report import codequality, github, junit, sarif, to_json
    from gitplane.report.text import findings

    if fmt is None:
        fmt = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    with _progress(fmt == "text") as progress:
        platform = api.load(_state().directory, env, app, progress, list(roots),
                            _state().branch)
    result = api.check(platform, app, strict, _state().debug, version,
                       [str(Path(loc).absolute()) if "://" not in loc else loc
                        for loc in schema_locations], allow_network)
    if files:
        result = api.affected(result, files)
    if fmt == "json":
        click.echo(to_json(result.to_json()), nl=False)
    elif fmt == "sarif":
        click.echo(to_json(sarif.render(result)), nl=False)
    elif fmt == "junit":
        click.echo(junit.render(result), nl=False)
    elif fmt == "codequality":
        click.echo(to_json(codequality.render(result)), nl=False)
    elif fmt == "github":
        click.echo(github.render(result), nl=False)
    else:
        click.echo(findings(result, _colour(sys.stdout)), nl=False)
    if result.errors:
        raise SystemExit(EXIT_FINDINGS)


@cli.command("diff")
@click.argument("base", required=False)
@click.argument("head", required=False)
@click.option("--env", help="Only this environment.")
@click.option("--app", help="Only this Application.")
@click.option("-o", "--format", "fmt", type=click.Choice(["text", "markdown", "json"]),
              default="text", show_default=True)
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything changed (or a side has "
              "no Application though the repository holds Argo CD objects).")
@_ROOT
def diff_cmd(base: str | None, head: str | None, env: str | None, app: str | None, fmt: str,
             exit_code: bool, roots: tuple[str, ...]) -> None:
    """Rendered changes from BASE (default: merge-base with the default branch) to HEAD
    (default: the working tree), per environment, Application and resource."""
    from gitplane import api
    from gitplane.report import diff as report, to_json

    with _progress(fmt != "json") as progress:
        result = api.diff(_state().directory, base, head, env, app, progress, list(roots),
                          _state().branch)
    if fmt == "json":
        click.echo(to_json(result.to_json()), nl=False)
    elif fmt == "markdown":
        click.echo(report.markdown(result), nl=False)
    else:
        click.echo(report.text(result, _colour(sys.stdout)), nl=False)
    for side, f in result.problems:
        click.echo(f"{side}: {f.file}:{f.line}: {f.message} ({f.rule}, {f.environment}/"
                   f"{f.application})", err=True)
    if exit_code and (result.changes or result.not_rendered or
                      any(f.rule == api.NO_APPLICATIONS for _, f in result.problems)):
        raise SystemExit(EXIT_FINDINGS)


@cli.command("report")
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path),
              help="The HTML file to write (one self-contained page).")
@click.option("--base", metavar="REV", help="Show what changed since this revision too.")
@click.option("--env", help="Only this environment.")
@click.option("--title", default="", help="The page's title (default: the repository's "
              "folder name).")
@click.option("--timestamp", is_flag=True, help="Say when the page was made (the page is "
              "otherwise the same bytes for the same input).")
@click.option("--force", is_flag=True, help="Replace a file that is not a gitplane report.")
@_ROOT
def report_cmd(output: Path, base: str | None, env: str | None, title: str, timestamp: bool,
               force: bool, roots: tuple[str, ...]) -> None:
    """One self-contained HTML page: the environments × Applications matrix, findings, each
    Application's objects in sync order, how Applications are made, and with --base the
    rendered diff."""
    from gitplane import api

    with _progress(True) as progress:
        result, warnings = api.report(_state().directory, output, base, env, progress,
                                      list(roots), _state().branch, timestamp, force, title)
    for line in warnings:
        click.echo(f"warning: {line}", err=True)
    s = result.summary()
    click.echo(f"wrote {output}: {s['applications']} applications in {s['environments']} "
               f"environments, {s['errors']} errors, {s['warnings']} warnings", err=True)
    _never_silent(result.platform)


@cli.command()
@click.argument("env_a")
@click.argument("env_b")
@click.option("--app", help="Only this Application.")
@_ROOT
@_FORMAT
def compare(env_a: str, env_b: str, app: str | None, roots: tuple[str, ...], fmt: str) -> None:
    """How two environments differ, per Application: what a promotion would change."""
    from gitplane import api, compare as comparing
    from gitplane.report import to_json
    from gitplane.report.text import table

    with _progress(fmt != "json") as progress:
        platform = api.load(_state().directory, None, app, progress, list(roots),
                            _state().branch)
    rows = comparing.compare_envs(platform, env_a, env_b, app)
    if fmt == "json":
        click.echo(to_json([r.to_json() for r in rows]), nl=False)
        return
    if not rows:
        click.echo(f"{env_a} and {env_b} render the same"
                   f"{' for ' + app if app else ''} (Applications, charts, Helm values, "
                   "objects and every field of them)")
        return
    click.echo(table(["APPLICATION", "ASPECT", "RESOURCE", env_a.upper(), env_b.upper()],
                     [[r.application, r.aspect, r.resource, r.a, r.b] for r in rows],
                     _colour(sys.stdout)), nl=False)


_COLLATERAL = click.option("--allow-collateral", is_flag=True, help="Write even when other "
                           "rendered objects change too.")
_COMMIT = click.option("--commit", "make_commit", is_flag=True, help="Commit the edits (one "
                       "commit, with trailers).")
_TEXT_OR_JSON = click.option("-o", "--format", "fmt", type=click.Choice(["text", "json"]),
                             default="text", show_default=True)


def _written(result: Any) -> None:
    """What a day-2 command wrote (or, on a dry run, did not)."""
    if not result.written:
        click.echo("dry run: nothing written", err=True)
    else:
        click.echo(f"wrote {len(result.edits)} files" +
                   (f"; committed {result.commit[:12]}" if result.commit else ""), err=True)


def _promotion_text(result: Any, dry_run: bool) -> str:
    from gitplane.report.text import table

    lines = [f"promote {result.source} → {result.target}"]
    rows = []
    for a in result.apps:
        what = ", ".join(f"{n} {b or '(none)'} → {f or '(none)'}" for n, f, b in
                         [(n, f, b) for n, f, b in a.images])
        what = "; ".join(x for x in [what, ", ".join(a.files), "; ".join(a.reasons)] if x)
        rows.append([a.application, a.status, what])
    lines.append(table(["APPLICATION", "STATUS", "WHAT"], rows, False).rstrip("\n"))
    for e in getattr(result, "edits", []):
        lines += [f"edit {e.path}: {e.what}", e.lines().rstrip("\n")]
    effect = getattr(result, "effect", None)
    if effect is not None and result.edits:
        lines.append(f"rendered effect: {len(effect.intended)} intended, "
                     f"{len(effect.collateral)} collateral")
        for kind, items in (("intended", effect.intended), ("collateral", effect.collateral)):
            for c in items:
                lines.append(f"  {kind}: {c.environment} / {c.application}: {c.resource} "
                             f"({c.change})")
                if kind == "collateral":
                    lines += [f"      {ln}" for ln in c.diff.splitlines()[2:40]]
    return "\n".join(lines) + "\n"


@cli.command()
@click.argument("apps", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every Application of both "
              "environments.")
@click.option("--from", "source", required=True, metavar="ENV", help="The environment to "
              "promote from.")
@click.option("--to", "target", required=True, metavar="ENV", help="The environment to "
              "promote to.")
@click.option("--include", "include", type=click.Choice(["config"]), multiple=True,
              help="Also move the files the app declares promotable (gitplane.yaml "
                   "promotion:).")
@_COLLATERAL
@click.option("--check", "status_only", is_flag=True, help="Only say, per Application, "
              "whether the target is equal, behind or diverged, and why a promotion would be "
              "blocked.")
@click.option("--dry-run", is_flag=True, help="Show the edits and their rendered effect; "
              "write nothing.")
@_COMMIT
@_TEXT_OR_JSON
@_ROOT
def promote(apps: tuple[str, ...], everything: bool, source: str, target: str,
            include: tuple[str, ...], allow_collateral: bool, status_only: bool,
            dry_run: bool, make_commit: bool, fmt: str, roots: tuple[str, ...]) -> None:
    """Promote APP (or --all) from one environment to another: image tags and digests by
    default, the rendered effect shown first, nothing else moved."""
    from gitplane import api
    from gitplane.report import to_json

    if bool(apps) == everything:
        raise click.UsageError("name the applications to promote, or --all")
    chosen = list(apps) or None
    with _progress(fmt == "text") as progress:
        if status_only:
            result = api.promotion_status(_state().directory, source, target, chosen,
                                          "config" in include, list(roots), _state().branch,
                                          progress)
        else:
            result = api.promote(_state().directory, source, target, chosen,
                                 "config" in include, allow_collateral, dry_run, make_commit,
                                 list(roots), _state().branch, progress)
    if fmt == "json":
        click.echo(to_json(result.to_json()), nl=False)
    else:
        click.echo(_promotion_text(result, dry_run), nl=False)
    if status_only:
        return
    if result.effect.collateral and not allow_collateral:
        click.echo(f"error: {len(result.effect.collateral)} rendered objects change beyond "
                   "the promotion (collateral); nothing written (--allow-collateral writes "
                   "anyway)", err=True)
        raise SystemExit(EXIT_FINDINGS)
    if chosen and result.blocked:
        click.echo("error: " + "; ".join(f"{a.application}: {', '.join(a.reasons)}"
                                         for a in result.blocked) + "; nothing written",
                   err=True)
        raise SystemExit(EXIT_FINDINGS)
    for a in result.blocked:
        click.echo(f"warning: {a.application} not promoted: {', '.join(a.reasons)}", err=True)
    if not result.edits:
        click.echo(f"nothing to promote: {target} runs what {source} runs", err=True)
    else:
        _written(result)


def _secret_values(from_files: tuple[str, ...], env_files: tuple[Path, ...],
                   stdin_key: str | None, prompts: tuple[str, ...]) -> dict[str, bytes]:
    """The values to seal, never from the command line: files, env files, standard input,
    hidden prompts."""
    values: dict[str, bytes] = {}

    def put(key: str, value: bytes, where: str) -> None:
        if key in values:
            raise click.UsageError(f"key '{key}' given twice ({where})")
        values[key] = value

    for spec in from_files:
        key, eq, file = spec.partition("=")
        if not eq or not key or not file:
            raise click.UsageError(f"--from-file {spec!r}: give KEY=PATH")
        try:
            put(key, Path(file).read_bytes(), f"--from-file {key}")
        except OSError as exc:
            raise click.UsageError(f"--from-file {key}: cannot read {file}: "
                                   f"{exc.strerror}") from None
    for env_file in env_files:
        try:
            lines = env_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise click.UsageError(f"--from-env-file {env_file}: cannot read it ({exc})"
                                   ) from None
        for n, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, eq, value = line.partition("=")
            if not eq or not key.strip():
                raise click.UsageError(f"{env_file}:{n}: not KEY=VALUE")
            put(key.strip(), value.encode(), f"{env_file}:{n}")
    if stdin_key:
        put(stdin_key, sys.stdin.buffer.read(), "--from-stdin")
    for key in prompts:
        put(key, click.prompt(f"value of {key}", hide_input=True, err=True).encode(),
            "--prompt")
    return values


@cli.command()
@click.argument("name")
@click.option("--app", required=True, help="The Application the Secret belongs to.")
@click.option("--env", "env", required=True, help="The environment it is sealed for.")
@click.option("--from-file", "from_files", multiple=True, metavar="KEY=PATH",
              help="A value from a file (repeatable).")
@click.option("--from-env-file", "env_files", multiple=True, type=click.Path(path_type=Path),
              metavar="PATH", help="KEY=VALUE lines (repeatable).")
@click.option("--from-stdin", "stdin_key", metavar="KEY", help="One value from standard "
              "input.")
@click.option("--prompt", "prompts", multiple=True, metavar="KEY", help="Ask for a value "
              "without echoing it (repeatable).")
@click.option("--scope", type=click.Choice(["strict", "namespace-wide", "cluster-wide"]),
              default="strict", show_default=True)
@click.option("--type", "secret_type", default="Opaque", show_default=True,
              help="The Secret's type.")
@click.option("--cert", metavar="PATH", help="The public certificate (default: "
              "gitplane.yaml sealingCertificate, deployments/environments/ENV/"
              "sealed-secrets.pem).")
@click.option("--force", is_flag=True, help="Seal again over an existing sealed file.")
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option("--commit", "make_commit", is_flag=True, help="Commit the new files (one "
              "commit, with trailers).")
@_TEXT_OR_JSON
@_ROOT
def seal(name: str, app: str, env: str, from_files: tuple[str, ...],
         env_files: tuple[Path, ...], stdin_key: str | None, prompts: tuple[str, ...],
         scope: str, secret_type: str, cert: str | None, force: bool, dry_run: bool,
         make_commit: bool, fmt: str, roots: tuple[str, ...]) -> None:
    """Seal a Secret NAME for APP in ENV with the environment's public certificate, for the
    name and namespace the rendered Application gives it; add it to the app's overlay."""
    from gitplane import api
    from gitplane.report import to_json

    values = _secret_values(from_files, env_files, stdin_key, prompts)
    with _progress(fmt == "text") as progress:
        result = api.seal(_state().directory, name, app, env, values, scope, secret_type,
                          cert, force, dry_run, make_commit, list(roots), _state().branch,
                          progress)
    for line in result.warnings:
        click.echo(f"warning: {line}", err=True)
    if fmt == "json":
        click.echo(to_json(result.to_json()), nl=False)
    else:
        click.echo(f"sealed {', '.join(result.keys)} as {result.namespace}/{result.name} "
                   f"({result.scope}) with {result.certificate} (expires {result.expires})")
        for e in result.edits:
            click.echo(f"{'create' if e.old is None else 'edit'} {e.path}: {e.what}")
        click.echo(f"rendered effect: {len(result.effect.intended)} intended, "
                   f"{len(result.effect.collateral)} collateral")
    _written(result)


@cli.command()
@click.option("--bump", type=click.Choice(["major", "minor", "patch"]),
              help="The version part to raise (default: proposed from the rendered change).")
@click.option("--dry-run", is_flag=True, help="Show the changelog; write, commit and tag "
              "nothing.")
@_TEXT_OR_JSON
@_ROOT
def release(bump: str | None, dry_run: bool, fmt: str, roots: tuple[str, ...]) -> None:
    """Tag the platform platform/vX.Y.Z (annotated) with a changelog of what renders
    differently since the previous tag, per environment and domain."""
    from gitplane import api
    from gitplane.report import to_json

    with _progress(fmt == "text") as progress:
        result = api.release(_state().directory, bump, dry_run, list(roots), _state().branch,
                             progress)
    if fmt == "json":
        click.echo(to_json(result.to_json()), nl=False)
    else:
        click.echo(result.section, nl=False)
    if result.empty and bump is None:
        click.echo(f"nothing to release: no rendered change since "
                   f"{result.previous or 'the beginning'} (--bump patch releases anyway)",
                   err=True)
    elif not result.written:
        click.echo(f"dry run: {result.tag} not written, committed or tagged", err=True)
    else:
        click.echo(f"tagged {result.tag} on {result.commit[:12]} "
                   f"({', '.join(e.path for e in result.edits)})", err=True)


@cli.command()
@click.argument("component", required=False)
@click.option("--to", "to", metavar="VERSION", help="The version to move to (default: the "
              "newest stable version of the chart repository's cached index).")
@click.option("--force", is_flag=True, help="Allow a downgrade.")
@_COLLATERAL
@click.option("--dry-run", is_flag=True, help="Show the edits, notes and rendered effect; "
              "write nothing.")
@_COMMIT
@_TEXT_OR_JSON
@_ROOT
def upgrade(component: str | None, to: str | None, force: bool, allow_collateral: bool,
            dry_run: bool, make_commit: bool, fmt: str, roots: tuple[str, ...]) -> None:
    """Move the chart COMPONENT to another version in every Application that installs it
    and in deployments/versions.yaml; without COMPONENT, list the pinned charts."""
    from gitplane import api
    from gitplane.report import to_json
    from gitplane.report.text import table

    if component is None:
        with _progress(fmt == "text") as progress:
            rows = api.upgrades(_state().directory, list(roots), _state().branch, progress)
        if fmt == "json":
            click.echo(to_json(rows), nl=False)
        elif not rows:
            click.echo("no Application installs a chart of a Helm repository (OCI charts and "
                       "charts of Git repositories are upgraded by their targetRevision by "
                       "hand)", err=True)
        else:
            click.echo(table(["CHART", "PINNED", "VERSIONS FILE", "NEWEST CACHED", "APPLICATIONS"],
                             [[r["chart"], ", ".join(r["pinned"]), r["versionsFile"] or "-",
                               r["newest"] or "-", ", ".join(r["applications"])] for r in rows],
                             _colour(sys.stdout)), nl=False)
        return
    with _progress(fmt == "text") as progress:
        result = api.upgrade(_state().directory, component, to, force, allow_collateral,
                             dry_run, make_commit, list(roots), _state().branch, progress)
    for line in result.warnings:
        click.echo(f"warning: {line}", err=True)
    if fmt == "json":
        click.echo(to_json(result.to_json()), nl=False)
    else:
        click.echo(f"upgrade {result.chart} {result.current} → {result.target} "
                   f"({len({(p.environment, p.application) for p in result.pins})} "
                   "Applications × environments)")
        for n in result.notes:
            extra = f" [{n['platform']}]" if "platform" in n else ""
            click.echo(f"  note {n['version']}: {n['note']}{extra}")
        for e in result.edits:
            click.echo(f"edit {e.path}: {e.what}")
            click.echo(e.lines().rstrip("\n"))
        click.echo(f"rendered effect: {len(result.effect.intended)} intended, "
                   f"{len(result.effect.collateral)} collateral")
        for c in result.effect.intended[:50]:
            click.echo(f"  {c.environment} / {c.application}: {c.resource} ({c.change})")
    if not result.edits:
        click.echo(f"nothing to upgrade: {result.chart} is at {result.target}", err=True)
    elif result.effect.collateral and not allow_collateral:
        click.echo(f"error: {len(result.effect.collateral)} rendered objects change beyond "
                   "the upgraded Applications; nothing written", err=True)
        raise SystemExit(EXIT_FINDINGS)
    else:
        _written(result)


@cli.command()
@click.option("--context", metavar="NAME", help="Check the cluster of this kube context too "
              "(through kubectl, reading only).")
@click.option("--kubeconfig", metavar="PATH", help="The kubeconfig kubectl reads (default: "
              "its own).")
@click.option("--allow-network", is_flag=True, help="Check that the source and chart "
              "repositories are reachable.")
@click.option("--strict", is_flag=True, help="Warnings fail too.")
@click.option("--timeout", type=click.FloatRange(min=1), help="Seconds each check may take "
              "(default: per check).")
@click.option("--bundle", "bundle_dir", type=click.Path(path_type=Path), metavar="DIR",
              help="Write a redacted support bundle into this new folder.")
@click.option("--json", "as_json", is_flag=True, help="The outcomes as JSON.")
@_ROOT
def doctor(context: str | None, kubeconfig: str | None, allow_network: bool, strict: bool,
           timeout: float | None, bundle_dir: Path | None, as_json: bool,
           roots: tuple[str, ...]) -> None:
    """The seed's troubleshooting as checks: each ✔, !, ✗ or skipped, with a one-line fix."""
    from gitplane import api
    from gitplane.operate import doctor as doc
    from gitplane.report import to_json

    with _progress(not as_json) as progress:
        outcomes, result, repo = api.doctor(_state().directory, context, kubeconfig,
                                            allow_network, list(roots), _state().branch,
                                            progress, timeout)
    if as_json:
        click.echo(to_json([o.to_json() for o in outcomes]), nl=False)
    else:
        colours = {"ok": "green", "warn": "yellow", "fail": "red", "skipped": None}
        tty = _colour(sys.stdout)
        for o in outcomes:
            mark = doc.SYMBOL[o.status]
            if tty and colours[o.status]:
                mark = click.style(mark, fg=colours[o.status], bold=True)
            click.echo(f"{mark} {o.title}: {o.summary}")
            if o.fix and o.status != "ok":
                click.echo(f"    fix: {o.fix}")
            shown = o.details[:5] if o.status in ("warn", "fail") else []
            for line in shown:
                click.echo(f"    {line}")
            if len(o.details) > len(shown) and shown:
                click.echo(f"    … and {len(o.details) - len(shown)} more (--json shows them)")
        counts = {s: sum(1 for o in outcomes if o.status == s)
                  for s in ("ok", "warn", "fail", "skipped")}
        click.echo(f"{counts['ok']} ok, {counts['warn']} warnings, {counts['fail']} failed, "
                   f"{counts['skipped']} skipped")
    if bundle_dir is not None:
        written = doc.bundle(bundle_dir, outcomes, result, repo)
        click.echo(f"wrote the support bundle {bundle_dir} ({len(written)} files)", err=True)
    code = doc.exit_code(outcomes, strict)
    if code:
        raise SystemExit(code)


@cli.command()
@click.option("--env", "env", required=True, help="The environment to bootstrap.")
@click.option("--context", metavar="NAME", help="The kube context (required for production; "
              "default: kubectl's current context).")
@click.option("--kubeconfig", metavar="PATH", help="The kubeconfig kubectl reads.")
@click.option("--dry-run", is_flag=True, help="Print the plan and the exact manifests; "
              "touch no cluster.")
@click.option("--resume", is_flag=True, help="Continue after the phases an earlier run "
              "recorded.")
@_TEXT_OR_JSON
@_ROOT
def bootstrap(env: str, context: str | None, kubeconfig: str | None, dry_run: bool,
              resume: bool, fmt: str, roots: tuple[str, ...]) -> None:
    """Install Argo CD from the pinned chart onto the cluster of ENV and hand it over to the
    environment's root Application, in phases, resumable."""
    from gitplane import api
    from gitplane.report import to_json

    def say(line: str) -> None:
        if fmt == "text":
            click.echo(line, err=True)

    with _progress(fmt == "text") as progress:
        plan = api.bootstrap(_state().directory, env, context, kubeconfig, dry_run, resume,
                             list(roots), _state().branch, progress, say)
    if fmt == "json":
        click.echo(to_json(plan.to_json()), nl=False)
    elif dry_run:
        from gitplane.operate.bootstrap import PHASES

        click.echo(f"# bootstrap plan of {plan.env} (context {plan.context}, namespace "
                   f"{plan.namespace})")
        for blocker in plan.blockers:
            click.echo(f"# blocked: {blocker}")
        for note in plan.notes:
            click.echo(f"# note: {note}")
        for phase in PHASES:
            for n, step in enumerate(plan.phase(phase), 1):
                click.echo(f"# {phase} {n}: {step.what}")
                click.echo("kubectl " + " ".join(step.args))
                if step.secret:
                    click.echo("# (the manifest holds credentials from the environment: "
                               "not shown)")
                elif step.manifest:
                    click.echo(step.manifest.rstrip("\n"))
    else:
        click.echo(f"bootstrapped {plan.env}: Argo CD runs and the root Application is "
                   "Synced", err=True)
    if dry_run and plan.blockers:
        raise SystemExit(EXIT_FINDINGS)


@cli.group()
def appset() -> None:
    """ApplicationSets, offline."""


@appset.command("generate")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--clusters", "clusters_file", type=click.Path(path_type=Path),
              help="Argo CD cluster Secrets for the clusters generator (default: in-cluster).")
@click.option("-o", "--output", "fmt", type=click.Choice(["yaml", "json"]), default="yaml",
              show_default=True)
def appset_generate(file: Path, clusters_file: Path | None, fmt: str) -> None:
    """The Applications an ApplicationSet generates (argocd appset generate, offline)."""
    from gitplane import api
    from gitplane.report import to_json
    from gitplane.yamlio import dump_all

    base = _state().directory
    apps, errors, warnings = api.generate_appset(base / file if base else file,
                                       (base / clusters_file if base else clusters_file)
                                       if clusters_file else None, base)
    if fmt == "json":
        click.echo(to_json(apps), nl=False)
    elif apps:
        click.echo(dump_all(apps), nl=False)
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    for e in errors:
        click.echo(e, err=True)
    if errors:
        raise SystemExit(EXIT_FINDINGS)


@cli.command()
@_FORMAT
def rules(fmt: str) -> None:
    """Every rule with its severity and documentation."""
    from gitplane.checks import RULES
    from gitplane.report import to_json
    from gitplane.report.text import table

    data = [{"id": rid, "severity": mod.SEVERITY,
             "summary": (mod.__doc__ or "").strip().splitlines()[0],
             "doc": (mod.__doc__ or "").strip()} for rid, mod in sorted(RULES.items())]
    if fmt == "json":
        click.echo(to_json(data), nl=False)
    else:
        click.echo(table(["RULE", "SEVERITY", "SUMMARY"],
                         [[d["id"], d["severity"], d["summary"]] for d in data],
                         _colour(sys.stdout)), nl=False)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (the only place exit codes are decided)."""
    try:
        return _main(argv)
    finally:
        cache.close()  # the run's new cache entries, in one transaction


def _main(argv: list[str] | None) -> int:
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    stdout = sys.stdout
    try:
        cli.main(args=args, prog_name="gitplane", standalone_mode=False)
    except SystemExit as exc:
        if sys.stdout is not stdout:
            # click met a closed output pipe (``| head``): it swapped in a quiet stdout and
            # exits 1, which here means findings. The reader stopping early is not one.
            return EXIT_OK
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except Terminated:
        click.echo("terminated", err=True)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except GitplaneError as exc:
        click.echo(f"gitplane: {exc}", err=True)
        return exc.exit_code
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the one handler for bugs
        if debug:
            traceback.print_exc()
        click.echo(f"gitplane: internal error ({type(exc).__name__}: {exc}); please report "
                   "it with the command you ran (--debug shows the traceback)", err=True)
        return EXIT_INTERNAL
    return EXIT_OK


class Terminated(BaseException):
    """SIGTERM: unwinds like an interrupt, so every scratch folder is removed."""


def _on_signal(signum: int, frame: Any) -> None:
    from gitplane import proc

    proc.stop_all()  # renders in worker threads end now, not at their timeout
    if signum == signal.SIGTERM:
        raise Terminated()
    raise KeyboardInterrupt()


def run() -> None:
    """Console-script entry point: SIGINT and SIGTERM stop running programs at once and
    unwind, so revision checkouts and scratch folders are removed."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    raise SystemExit(main())
