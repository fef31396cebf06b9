"""gitplane's pull-request comment against a fake GitHub API served on 127.0.0.1: paging,
create, update in place, a copied marker, 403 from a fork's token, 422 'body too long'."""
from __future__ import annotations

import http.server
import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from conftest import RunFn, read_body, send

MARKER = "<!-- gitplane:comment -->"


class FakeGitHub:
    """Issue comments of one pull request, 2 per page; writes refused on demand."""

    def __init__(self) -> None:
        self.comments: list[dict[str, Any]] = []
        self.refuse = 0           # status of every write, when set (403)
        self.too_long = 10 ** 9   # bodies longer than this: 422
        self.calls: list[tuple[str, str]] = []
        self.auth: set[str] = set()

    def serve(self) -> tuple[http.server.ThreadingHTTPServer, str]:
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _send(self, code: int, body: Any, headers: dict[str, str] | None = None
                      ) -> None:
                send(self, code, body, headers)

            def _body(self) -> dict[str, Any]:
                got = json.loads(read_body(self) or b"{}")
                return got if isinstance(got, dict) else {}

            def do_GET(self) -> None:
                fake.calls.append(("GET", self.path))
                fake.auth.add(self.headers.get("Authorization", ""))
                m = re.match(r"^/repos/acme/platform/issues/7/comments\?per_page=100"
                             r"(?:&page=(\d+))?$", self.path)
                if not m:
                    return self._send(404, {"message": "Not Found"})
                page = int(m.group(1) or 1)
                items = fake.comments[(page - 1) * 2:page * 2]
                headers = {}
                if page * 2 < len(fake.comments):
                    port = self.server.server_address[1]
                    headers["Link"] = (f'<http://127.0.0.1:{port}/repos/acme/platform/issues/'
                                       f'7/comments?per_page=100&page={page + 1}>; rel="next"')
                self._send(200, items, headers)

            def _write(self) -> bool:
                if fake.refuse:
                    self._send(fake.refuse, {"message": "Resource not accessible by "
                                                        "integration"})
                    return False
                return True

            def _accepted(self, method: str) -> dict[str, Any] | None:
                """The write's body, or None after answering 403 or 422."""
                fake.calls.append((method, self.path))
                body = self._body()
                if not self._write():
                    return None
                if len(body.get("body", "")) > fake.too_long:
                    self._send(422, {"message": "Validation Failed", "errors": [
                        {"message": "body is too long (maximum is 65536 characters)"}]})
                    return None
                return body

            def do_POST(self) -> None:
                body = self._accepted("POST")
                if body is None:
                    return
                new = {"id": 100 + len(fake.comments), "body": body["body"],
                       "user": {"login": "github-actions[bot]"},
                       "html_url": f"https://github.example/c/{100 + len(fake.comments)}"}
                fake.comments.append(new)
                self._send(201, new)

            def do_PATCH(self) -> None:
                body = self._accepted("PATCH")
                if body is None:
                    return
                cid = int(self.path.rsplit("/", 1)[1])
                target = next(c for c in fake.comments if c["id"] == cid)
                target["body"] = body["body"]
                self._send(200, target)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Any:
    fake = FakeGitHub()
    server, url = fake.serve()
    monkeypatch.setenv("GITHUB_API_URL", url)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret-token-value")
    yield fake
    server.shutdown()


def _comment(run: RunFn, tmp_path: Path, body: str, *extra: str) -> tuple[int, str, str]:
    file = tmp_path / "body.md"
    file.write_text(body)
    return run("github", "comment", "--repo", "acme/platform", "--pr", "7", "--body-file",
               str(file), *extra)


def test_one_comment_created_then_updated_in_place(run: RunFn, tmp_path: Path,
                                                   github: FakeGitHub) -> None:
    # others' comments over several pages, one of them quoting gitplane's marker
    github.comments = [{"id": i, "body": f"review {i}", "user": {"login": "alice"}}
                       for i in range(1, 4)]
    github.comments.append({"id": 4, "body": f"copied {MARKER}", "user": {"login": "mallory"}})
    code, out, err = _comment(run, tmp_path, "### gitplane diff\n\nfirst\n")
    assert code == 0 and out.startswith("created https://github.example/c/"), err
    code, out, _ = _comment(run, tmp_path, "### gitplane diff\n\nsecond\n")
    assert code == 0 and out.startswith("updated")
    mine = [c for c in github.comments if c["user"]["login"] == "github-actions[bot]"]
    assert len(mine) == 1 and "second" in mine[0]["body"] and mine[0]["body"].startswith(MARKER)
    assert github.comments[3]["body"] == f"copied {MARKER}"  # the copied marker: untouched
    assert any("page=2" in path for _, path in github.calls)  # every page was read
    assert github.auth == {"Bearer ghs_secret-token-value"}


def test_a_body_too_long_becomes_a_summary_with_a_link(run: RunFn, tmp_path: Path,
                                                       github: FakeGitHub) -> None:
    body = "### gitplane diff\n\n| a | b |\n|---|---|\n<details>\n" + "x" * 70_000 + "\n"
    code, out, _ = _comment(run, tmp_path, body, "--run-url", "https://ci.example/run/1")
    assert code == 0 and "shortened to a summary" in out
    [posted] = github.comments
    assert len(posted["body"]) < 65_536 and "https://ci.example/run/1" in posted["body"]
    assert "x" * 100 not in posted["body"]
    # GitHub refuses (422) a body under gitplane's count: the summary is sent instead
    github.too_long = 300
    code, out, _ = _comment(run, tmp_path, "### gitplane diff\n\n| t |\n<details>\n" +
                            "y" * 1000 + "\n", "--run-url", "https://ci.example/run/2")
    assert code == 0 and out.startswith("updated") and "shortened" in out
    assert "https://ci.example/run/2" in github.comments[0]["body"]
    github.too_long = 10 ** 9
    code, out, _ = _comment(run, tmp_path, "### gitplane diff\n\nshort\n")
    assert code == 0 and out.startswith("updated")
    assert len(github.comments) == 1  # never more than one comment


def test_a_forks_read_only_token_is_a_warning(run: RunFn, tmp_path: Path,
                                              github: FakeGitHub) -> None:
    github.refuse = 403
    code, out, err = _comment(run, tmp_path, "### gitplane diff\n")
    assert code == 0 and "warning: no comment written" in err and "fork" in err
    assert "ghs_secret-token-value" not in out + err


def test_no_token_no_request(run: RunFn, tmp_path: Path, github: FakeGitHub,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    code, _, err = _comment(run, tmp_path, "x")
    assert code == 2 and "GITHUB_TOKEN is not set" in err and github.calls == []


# -- the GitHub Action ------------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("schema, path", [
    ("vendor.github-actions", "action.yml"),
    ("vendor.github-workflows", "examples/github/gitplane.yml")])
def test_action_and_workflow_match_their_published_schemas(schema: str, path: str) -> None:
    """check-jsonschema ships SchemaStore's schemas of both files (no network)."""
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("check-jsonschema")
    if not exe.exists():
        pytest.skip("check-jsonschema is not installed (make test installs it)")
    res = subprocess.run([str(exe), "--builtin-schema", schema, str(ROOT / path)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_action_scripts_take_inputs_only_through_env() -> None:
    """No ${{ }} expression inside a script: a pull request's branch name or title would be
    run as shell code (the injection two peers' actions have)."""
    import yaml

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    steps = action["runs"]["steps"]
    scripts = [s for s in steps if "run" in s]
    assert scripts and all("${{" not in s["run"] for s in scripts), \
        [s.get("name") for s in scripts if "${{" in s["run"]]
    install = next(s for s in scripts if "pip install" in s["run"])
    assert "$GITHUB_ACTION_PATH" in install["run"]  # the action's own code, not PyPI's


def test_annotations_stay_within_what_github_shows(run: RunFn, tmp_path: Path) -> None:
    from gitplane.checks import Result
    from gitplane.model import Finding
    from gitplane.report import github

    findings = [Finding("prod", "web", "a.yaml", i + 1, "image-tag-mutable", "", "error",
                        f"finding {i}") for i in range(25)]
    findings += [Finding("prod", "web", "a.yaml", 1, "probes-missing", "", "warning", "w")]
    from gitplane.config import Config
    from gitplane.platform import Platform
    from gitplane.repo import Repository

    platform = Platform(Repository(root=tmp_path, top=tmp_path, config=Config()), [], "test")
    out = github.render(Result(platform, findings, 1, 1))
    assert out.count("::error ") == 10 and out.count("::warning ") == 1
    assert "15 more findings not annotated" in out


@pytest.mark.parametrize("environment", ["", "production"])
def test_the_actions_scripts_run(platform: Path, tmp_path: Path, environment: str) -> None:
    """The diff and check steps of action.yml, run by bash as the runner runs them (its
    environment files in a temporary folder): the summary, the outputs, the exit code; for
    all environments, and for one (a matrix job)."""
    import os
    import subprocess
    import sys

    import yaml

    from conftest import git

    steps = {s.get("id"): s for s in yaml.safe_load((ROOT / "action.yml").read_text())
             ["runs"]["steps"]}
    git(platform, "add", "-A")
    git(platform, "commit", "-qm", "base")
    web = platform / "deployments/domains/applications/apps/web-app/environments/production"
    kfile = next(web.glob("kustomization.y*ml"))
    kfile.write_text(kfile.read_text().replace("value: 3", "value: 4"))
    git(platform, "commit", "-qam", "head")
    runner = tmp_path / "runner"
    runner.mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
           f"{os.environ.get('PATH', '')}", "WORKDIR": str(platform), "BASE": "HEAD~1",
           "STRICT": "false", "RUNNER_TEMP": str(runner), "ENVIRONMENT": environment,
           "GITHUB_OUTPUT": str(runner / "output"), "GITHUB_STEP_SUMMARY": str(runner / "summary"),
           "GITHUB_ACTIONS": "true"}
    env.pop("CI", None)
    for step in ("diff", "check"):
        res = subprocess.run(["bash", "-e", "-c", steps[step]["run"]], env=env,
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, (step, res.stdout[-2000:], res.stderr[-2000:])
    outputs = dict(line.split("=", 1) for line in (runner / "output").read_text().split())
    assert outputs["changed"] == "1" and outputs["errors"] == "0" and int(outputs["findings"]) > 0
    summary = (runner / "summary").read_text()
    assert summary.startswith("### gitplane diff") and "web-app" in summary
    out = runner / ("gitplane-" + environment if environment else "gitplane")
    assert (out / "gitplane.sarif").is_file() and (out / "report.html").is_file()
    sarif = json.loads((out / "gitplane.sarif").read_text())
    envs = {r["properties"]["environment"] for r in sarif["runs"][0]["results"]}
    assert envs == ({"production"} if environment else {"production", "staging"})


def test_init_writes_the_pull_request_workflow(run: RunFn, tmp_path: Path) -> None:
    import subprocess
    import sys

    code, out, _ = run("init", str(tmp_path / "p"))
    workflow = tmp_path / "p/.github/workflows/gitplane.yml"
    assert code == 0 and workflow.is_file()
    exe = Path(sys.executable).with_name("check-jsonschema")
    if exe.exists():
        res = subprocess.run([str(exe), "--builtin-schema", "vendor.github-workflows",
                              str(workflow)], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr
    code, out, _ = run("init", str(tmp_path / "q"), "--ci", "none")
    assert code == 0 and not (tmp_path / "q/.github").exists()
    # inside a repository whose top is elsewhere: not written, and said
    code, out, _ = run("init", str(tmp_path / "p/sub"))
    assert code == 0 and "no .github/workflows/gitplane.yml written" in out
    assert not (tmp_path / "p/sub/.github").exists()


# -- pre-commit ---------------------------------------------------------------------------
def test_pre_commit_manifest_is_valid() -> None:
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("pre-commit")
    if not exe.exists():
        pytest.skip("pre-commit is not installed (make test installs it)")
    res = subprocess.run([str(exe), "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_check_of_changed_files_reports_what_they_affect(run: RunFn, platform: Path) -> None:
    """The fast hook: the changed files' Applications only, in one run."""
    import json

    web = "deployments/domains/applications/apps/web-app/base/manifests/deployment.yaml"
    path = platform / web
    path.write_text(path.read_text().replace("nginxinc/nginx-unprivileged:1.27.3",
                                             "nginxinc/nginx-unprivileged:latest"))
    code, out, _ = run("-C", str(platform), "check", "--format", "json")
    everything = json.loads(out)["findings"]
    assert {f["application"] for f in everything} - {"web-app"}  # others have findings too
    code, out, _ = run("-C", str(platform), "check", "--format", "json", str(path))
    found = json.loads(out)["findings"]
    assert code == 1 and found and {f["application"] for f in found} == {"web-app"}
    assert any(f["rule"] == "image-tag-mutable" for f in found)
    readme = platform / "deployments/README.md"
    code, out, _ = run("-C", str(platform), "check", "--format", "json", str(readme))
    assert code == 0 and json.loads(out)["findings"] == []


def _simple_index(wheels: Path) -> tuple[Any, str]:
    """A PEP 503 package index of the wheels in ``wheels``, served on 127.0.0.1."""
    import http.server
    import threading

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    files: dict[str, list[Path]] = {}
    for w in sorted(wheels.glob("*.whl")) + sorted(wheels.glob("*.tar.gz")):
        files.setdefault(norm(w.name.split("-")[0]), []).append(w)

    class Index(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def do_GET(self) -> None:
            parts = [p for p in self.path.split("?")[0].split("/") if p]
            if len(parts) == 2 and parts[0] == "simple":
                items = files.get(norm(parts[1]), [])
                body = "".join(f'<a href="/files/{w.name}">{w.name}</a>\n'
                               for w in items).encode()
                status = 200 if items else 404
            elif len(parts) == 2 and parts[0] == "files" and (wheels / parts[1]).is_file() \
                    and "/" not in parts[1]:
                body, status = (wheels / parts[1]).read_bytes(), 200
            else:
                body, status = b"", 404
            send(self, status, body, content_type="text/html" if parts[:1] == ["simple"]
                 else "application/octet-stream")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/simple/"


def test_pre_commit_try_repo(platform: Path, tmp_path: Path) -> None:
    """pre-commit installs the hook from this repository's own code, its dependencies from a
    local package index (the wheelhouse make test downloads), and runs it on a platform:
    a changed file's Application fails, the others are not reported."""
    import os
    import subprocess
    import sys

    from conftest import git

    exe = Path(sys.executable).with_name("pre-commit")
    wheels = ROOT / ".venv" / "wheelhouse"
    if not exe.exists() or not any(wheels.glob("hatchling-*.whl")):
        pytest.skip("pre-commit and the wheelhouse are installed by make test")
    git(platform, "init", "-q")
    git(platform, "add", "-A")
    git(platform, "commit", "-qm", "platform")
    web = platform / "deployments/domains/applications/apps/web-app/base/manifests/deployment.yaml"
    web.write_text(web.read_text().replace("nginxinc/nginx-unprivileged:1.27.3", "nginx:latest"))
    server, index = _simple_index(wheels)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    # only the local index: the machine's pip configuration (other indexes, links) is ignored
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": index, "PIP_NO_CACHE_DIR": "1",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"})
    env.pop("CI", None)
    try:
        res = subprocess.run([str(exe), "try-repo", str(ROOT), "gitplane", "--files",
                              str(web.relative_to(platform))], cwd=platform, env=env,
                             capture_output=True, text=True, timeout=600)
    finally:
        server.shutdown()
    out = res.stdout + res.stderr
    assert res.returncode == 1, out[-3000:]
    assert "image-tag-mutable" in out and "web-app" in out
    assert "Failed" in out and "Traceback" not in out
