"""GitLab: the merge-request note against a fake GitLab API on 127.0.0.1 (paging by
X-Next-Page, the token's user, create, update in place, a copied marker, one note per
environment, 403, 'too long'), Code Quality output, the CI/CD component validated against
GitLab's schema and its script run by bash, and init --ci gitlab."""
from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import pytest
import yaml

from conftest import RunFn, git, read_body, send

ROOT = Path(__file__).resolve().parent.parent
COMPONENT = ROOT / "templates" / "gitplane.yml"
NOTES = "/api/v4/projects/acme%2Fplatform/merge_requests/7/notes"


class FakeGitLab:
    """Notes of merge request 7 of acme/platform, 2 per page; the token's user is
    project_1_bot; writes refused on demand."""

    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = [
            {"id": 1, "body": "looks good", "author": {"username": "alice"}, "system": False},
            {"id": 2, "body": "added 1 commit", "author": {"username": "alice"},
             "system": True}]
        self.refuse = 0
        self.too_long = 10 ** 9
        self.tokens: set[str] = set()
        self.calls: list[tuple[str, str]] = []

    def serve(self) -> tuple[http.server.ThreadingHTTPServer, str]:
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _send(self, code: int, body: Any, headers: dict[str, str] | None = None
                      ) -> None:
                send(self, code, body, headers)

            def _seen(self, method: str) -> None:
                fake.calls.append((method, self.path))
                fake.tokens.add(self.headers.get("PRIVATE-TOKEN", ""))

            def do_GET(self) -> None:
                self._seen("GET")
                if self.path == "/api/v4/user":
                    return self._send(200, {"id": 9, "username": "project_1_bot"})
                m = re.match(re.escape(NOTES) + r"\?per_page=100&sort=asc(?:&page=(\d+))?$",
                             self.path)
                if not m:
                    return self._send(404, {"message": "404 Not Found"})
                page = int(m.group(1) or 1)
                more = page * 2 < len(fake.notes)
                self._send(200, fake.notes[(page - 1) * 2:page * 2],
                           {"X-Next-Page": str(page + 1) if more else ""})

            def _body(self) -> dict[str, Any] | None:
                body = json.loads(read_body(self) or b"{}")
                if fake.refuse:
                    self._send(fake.refuse, {"message": "403 Forbidden"})
                    return None
                if len(body.get("body", "")) > fake.too_long:
                    self._send(400, {"message": {"note": ["is too long (maximum is 1000000 "
                                                          "characters)"]}})
                    return None
                return body if isinstance(body, dict) else {}

            def do_POST(self) -> None:
                self._seen("POST")
                body = self._body()
                if body is None:
                    return
                note = {"id": 100 + len(fake.notes), "body": body["body"], "system": False,
                        "author": {"username": "project_1_bot"}}
                fake.notes.append(note)
                self._send(201, note)

            def do_PUT(self) -> None:
                self._seen("PUT")
                body = self._body()
                if body is None:
                    return
                nid = int(self.path.rsplit("/", 1)[1])
                note = next(n for n in fake.notes if n["id"] == nid)
                note["body"] = body["body"]
                self._send(200, note)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}/api/v4"


@pytest.fixture
def gitlab(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitLab]:
    fake = FakeGitLab()
    server, url = fake.serve()
    monkeypatch.setenv("CI_API_V4_URL", url)
    monkeypatch.setenv("GITPLANE_GITLAB_TOKEN", "glpat-secret-123")
    yield fake
    server.shutdown()


def _note(run: RunFn, tmp_path: Path, body: str, *extra: str) -> tuple[int, str, str]:
    f = tmp_path / "body.md"
    f.write_text(body)
    return run("gitlab", "note", "--project", "acme/platform", "--mr", "7", "--body-file",
               str(f), "--run-url", "https://gitlab.example/job/1", *extra)


def test_note_created_then_updated_in_place(run: RunFn, tmp_path: Path,
                                            gitlab: FakeGitLab) -> None:
    code, out, err = _note(run, tmp_path, "first")
    assert code == 0 and out.startswith("created"), err
    mine = [n for n in gitlab.notes if "gitplane:comment" in n["body"]]
    assert len(mine) == 1 and mine[0]["body"].endswith("first")
    # someone copies the marker into their own note: it is not the one gitplane updates
    gitlab.notes.append({"id": 50, "body": mine[0]["body"], "system": False,
                         "author": {"username": "mallory"}})
    code, out, _ = _note(run, tmp_path, "second")
    assert code == 0 and out.startswith("updated")
    assert mine[0]["body"].endswith("second") and gitlab.notes[-1]["id"] == 50
    assert gitlab.notes[-1]["body"].endswith("first")
    assert ("PUT", f"{NOTES}/{mine[0]['id']}") in gitlab.calls
    # the listing was read across its pages (2 notes a page)
    assert any("&page=2" in p for m, p in gitlab.calls if m == "GET")
    assert gitlab.tokens == {"glpat-secret-123"}
    # one note per environment of a matrix
    code, out, _ = _note(run, tmp_path, "staging only", "--key", "staging")
    assert out.startswith("created")
    assert sum("gitplane:comment" in n["body"] for n in gitlab.notes
               if n["author"]["username"] == "project_1_bot") == 2


def test_note_forbidden_is_a_warning_and_token_never_shown(run: RunFn, tmp_path: Path,
                                                           gitlab: FakeGitLab) -> None:
    gitlab.refuse = 403
    code, out, err = _note(run, tmp_path, "x")
    assert code == 0 and "warning: no note written" in err and "glpat-secret-123" not in err


def test_note_too_long_becomes_a_summary(run: RunFn, tmp_path: Path,
                                         gitlab: FakeGitLab) -> None:
    body = "### gitplane diff\n\n| a | b |\n|---|---|\n| x | y |\n\n<details>\n" + \
        "x" * 5_000 + "\n</details>\n"
    gitlab.too_long = 2_000  # the forge refuses what gitplane thought would fit
    code, out, _ = _note(run, tmp_path, body)
    assert code == 0 and "shortened" in out
    note = gitlab.notes[-1]["body"]
    assert len(note) < 2_000 and "https://gitlab.example/job/1" in note
    # over GitLab's documented limit it is never even tried whole
    gitlab.too_long = 10 ** 9
    code, out, _ = _note(run, tmp_path, body + "y" * 1_000_001)
    assert code == 0 and "shortened" in out and len(gitlab.notes[-1]["body"]) < 10_000


def test_note_without_token_is_a_warning(run: RunFn, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITPLANE_GITLAB_TOKEN", raising=False)
    code, _, err = _note(run, tmp_path, "x")
    assert code == 0 and "GITPLANE_GITLAB_TOKEN is not set" in err


def test_note_refuses_a_bad_project(run: RunFn, tmp_path: Path, gitlab: FakeGitLab) -> None:
    f = tmp_path / "b.md"
    f.write_text("x")
    code, _, err = run("gitlab", "note", "--project", "../../x", "--mr", "7", "--body-file",
                       str(f))
    assert code == 2 and "not a GitLab project" in err


def test_code_quality_report(run: RunFn, platform: Path) -> None:
    web = platform / "deployments/domains/applications/apps/web-app/base/manifests/deployment.yaml"
    web.write_text(web.read_text().replace("nginxinc/nginx-unprivileged:1.27.3", "nginx:latest"))
    code, out, _ = run("-C", str(platform), "check", "--format", "codequality")
    assert code == 1
    issues = json.loads(out)
    assert issues and all(set(i) >= {"description", "check_name", "fingerprint", "severity",
                                     "location"} for i in issues)
    assert len({i["fingerprint"] for i in issues}) == len(issues)  # unique, as GitLab needs
    bad = [i for i in issues if i["check_name"] == "image-tag-mutable"]
    assert bad and bad[0]["severity"] == "critical"
    assert bad[0]["location"]["path"].endswith("deployment.yaml")
    assert bad[0]["location"]["lines"]["begin"] > 1
    assert {i["severity"] for i in issues} <= {"info", "minor", "major", "critical", "blocker"}
    # deterministic
    assert run("-C", str(platform), "check", "--format", "codequality")[1] == out


# -- the CI/CD component -------------------------------------------------------------------

def _documents() -> tuple[dict[str, Any], dict[str, Any]]:
    header, body = list(yaml.safe_load_all(COMPONENT.read_text()))
    return header, body


def _interpolated() -> str:
    """The component's jobs with every input at its default, as GitLab interpolates them."""
    header, _ = _documents()
    defaults = {k: v.get("default") for k, v in header["spec"]["inputs"].items()}
    text = COMPONENT.read_text().split("\n---\n", 1)[1]

    def value(m: re.Match[str]) -> str:
        got = defaults[m.group(1)]
        return str(got).lower() if isinstance(got, bool) else str(got)
    return re.sub(r"\$\[\[\s*inputs\.([\w-]+)\s*\]\]", value, text)


def _schema_check(tmp_path: Path, name: str, text: str) -> None:
    exe = Path(sys.executable).with_name("check-jsonschema")
    if not exe.exists():
        pytest.skip("check-jsonschema is not installed (make test installs it)")
    f = tmp_path / name
    f.write_text(text)
    res = subprocess.run([str(exe), "--builtin-schema", "vendor.gitlab-ci", str(f)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_component_matches_gitlabs_schema(tmp_path: Path) -> None:
    """Its header (spec:inputs) and its jobs, each against the GitLab CI schema that
    check-jsonschema ships (SchemaStore's; no network)."""
    header_text = COMPONENT.read_text().split("\n---\n", 1)[0]
    _schema_check(tmp_path, "header.yml", header_text)
    _schema_check(tmp_path, "jobs.yml", _interpolated())
    _schema_check(tmp_path, "example.yml", (ROOT / "examples/gitlab/.gitlab-ci.yml").read_text())
    header, body = _documents()
    assert set(header["spec"]["inputs"]) >= {"stage", "environment", "strict", "note",
                                            "working-directory", "package"}
    job = yaml.safe_load(_interpolated())["gitplane"]
    assert job["artifacts"]["reports"]["codequality"].endswith("codequality.json")
    assert job["artifacts"]["reports"]["junit"].endswith("junit.xml")
    # inputs reach the script only as variables: nothing interpolated into shell code
    for line in job["script"]:
        assert "$[[" not in line
    assert all("$[[" not in line for line in
               yaml.safe_load(COMPONENT.read_text().split("\n---\n", 1)[1])
               ["$[[ inputs.job-name ]]"]["script"])


def test_component_script_runs(platform: Path, tmp_path: Path, gitlab: FakeGitLab) -> None:
    """The job's script, run by bash as a runner runs it, against the reference platform
    and the fake GitLab: note, report, Code Quality and JUnit files, exit code."""
    job = yaml.safe_load(_interpolated())["gitplane"]
    git(platform, "add", "-A")
    git(platform, "commit", "-qm", "base")
    web = platform / "deployments/domains/applications/apps/web-app/environments/production"
    kfile = next(web.glob("kustomization.y*ml"))
    kfile.write_text(kfile.read_text().replace("value: 3", "value: 4"))
    git(platform, "commit", "-qam", "head")
    base = git(platform, "rev-parse", "HEAD~1").strip()
    variables = {k: str(v).replace("$CI_PROJECT_DIR", str(tmp_path))
                 for k, v in job["variables"].items()}
    env = {**os.environ, **variables, "GITPLANE_WORKDIR": str(platform),
           "GITPLANE_ENVIRONMENT": "production",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "CI_MERGE_REQUEST_DIFF_BASE_SHA": base, "CI_MERGE_REQUEST_IID": "7",
           "CI_PROJECT_ID": "acme/platform", "CI_JOB_URL": "https://gitlab.example/job/1"}
    env.pop("CI", None)
    res = subprocess.run(["bash", "-e", "-c", "\n".join(job["script"])], env=env,
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, (res.stdout[-2000:], res.stderr[-2000:])
    out = tmp_path / "gitplane-gitplane"
    note = [n for n in gitlab.notes if "gitplane:comment:production" in n["body"]]
    assert len(note) == 1 and "web-app" in note[0]["body"]
    assert (out / "report.html").read_text().count("<del>3</del>") == 1
    assert json.loads((out / "codequality.json").read_text())
    assert (out / "junit.xml").read_text().startswith("<?xml")


def test_init_writes_the_gitlab_pipeline(run: RunFn, tmp_path: Path) -> None:
    code, out, _ = run("init", str(tmp_path / "p"), "--ci", "gitlab", "--env", "dev",
                       "--env", "prod")
    pipeline = tmp_path / "p/.gitlab-ci.yml"
    assert code == 0 and pipeline.is_file() and not (tmp_path / "p/.github").exists()
    _schema_check(tmp_path, "init.yml", pipeline.read_text())
    includes = yaml.safe_load(pipeline.read_text())["include"]
    assert [i["inputs"]["environment"] for i in includes] == ["dev", "prod"]
    assert len({i["inputs"]["job-name"] for i in includes}) == 2
