"""gitplane report: one self-contained HTML page. Checked as bytes (deterministic, nothing
loaded from anywhere, hostile names escaped, budgets) and in a real browser: Debian's
Chromium driven by Playwright (console errors, requests, filter, folding, anchors, an axe-core
accessibility scan in light and dark)."""
from __future__ import annotations

import base64
import hashlib
import re
import shutil
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import pytest

from conftest import RunFn, git, write
from gitplane.argocd.sync import sync_order
from gitplane.model import Resource
from gitplane.report import html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WEB = "deployments/domains/applications/apps/web-app/base/manifests/deployment.yaml"
HOSTILE = "</code></pre><script>window.pwned=1</script>"


def _commit(repo: Path) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "state")


def _changed_platform(platform: Path) -> Path:
    """The reference platform committed, then one change in the working tree."""
    git(platform, "init", "-q")
    _commit(platform)
    f = platform / WEB
    f.write_text(f.read_text().replace("replicas: 1", "replicas: 4"))
    return platform


def _hostile_repo(tmp_path: Path) -> Path:
    """A repository whose names and values are markup: a ConfigMap value and name, an
    Application name Argo CD would refuse (it reaches the page only through a finding)."""
    repo = tmp_path / "hostile"
    write(repo / "apps/apps.yaml", """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: "x<script>window.pwned=2</script>"
  namespace: argocd
spec:
  project: default
  source: {repoURL: "https://example.com/r.git", path: web, targetRevision: HEAD}
  destination: {server: "https://kubernetes.default.svc", namespace: web}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
spec:
  project: default
  source: {repoURL: "https://example.com/r.git", path: web, targetRevision: HEAD}
  destination: {server: "https://kubernetes.default.svc", namespace: web}
""")
    write(repo / "web/kustomization.yaml", "resources: [cm.yaml, secret.yaml]\n")
    write(repo / "web/secret.yaml", """\
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: web}
stringData: {password: s3cr3t-before-change}
""")
    write(repo / "web/cm.yaml", f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: "c<img src=x onerror=window.pwned=3>"
  namespace: web
data:
  page: "{HOSTILE}"
""")
    git(repo, "init", "-q")
    git(repo, "remote", "add", "origin", "https://example.com/r.git")
    _commit(repo)
    cm = repo / "web/cm.yaml"
    cm.write_text(cm.read_text().replace("pwned=1", "pwned=4"))
    secret = repo / "web/secret.yaml"
    secret.write_text(secret.read_text().replace("before", "after"))
    return repo


# --- Argo CD's sync order -------------------------------------------------------------------

def _res(kind: str, name: str, ns: str = "", annotations: dict[str, str] | None = None,
         api: str = "v1", spec: dict[str, Any] | None = None) -> Resource:
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    if annotations:
        meta["annotations"] = annotations
    obj: dict[str, Any] = {"apiVersion": api, "kind": kind, "metadata": meta}
    if spec:
        obj["spec"] = spec
    return Resource(obj, "f.yaml", 1)


def _order(resources: list[Resource]) -> list[str]:
    return [f"{s.phase}:{s.wave}:{s.resource.kind}/{s.resource.name}"
            for s in sync_order(resources)]


def test_sync_order_phase_wave_kind_name() -> None:
    got = _order([
        _res("Deployment", "b", "app"),
        _res("Service", "a", "app"),
        _res("ConfigMap", "z", "app", {"argocd.argoproj.io/sync-wave": "-1"}),
        _res("Job", "migrate", "app", {"argocd.argoproj.io/hook": "PreSync"}),
        _res("Job", "notify", "app", {"argocd.argoproj.io/hook": "PostSync,SyncFail"}),
        _res("Job", "skipped", "app", {"argocd.argoproj.io/hook": "Skip"}),
        _res("Widget", "w", "app", api="example.com/v1"),
        _res("Deployment", "a", "app"),
        _res("Secret", "s", "app", {"argocd.argoproj.io/sync-wave": "x"}),  # not a number: 0
    ])
    assert got == ["PreSync:0:Job/migrate", "Sync:-1:ConfigMap/z", "Sync:0:Secret/s",
                   "Sync:0:Service/a", "Sync:0:Deployment/a", "Sync:0:Deployment/b",
                   "Sync:0:Widget/w", "PostSync:0:Job/notify", "SyncFail:0:Job/notify"]


def test_sync_order_helm_hooks_and_weights() -> None:
    got = _order([
        _res("Job", "pre", "a", {"helm.sh/hook": "pre-install,pre-upgrade",
                                 "helm.sh/hook-weight": "-5"}),
        _res("Pod", "test", "a", {"helm.sh/hook": "test"}),  # Argo CD ignores it
        _res("Job", "post", "a", {"helm.sh/hook": "post-install"}),
        _res("ConfigMap", "c", "a"),
    ])
    assert got == ["PreSync:-5:Job/pre", "Sync:0:ConfigMap/c", "PostSync:0:Job/post"]


def test_sync_order_namespace_and_crd_move_ahead_of_their_users() -> None:
    crd = _res("CustomResourceDefinition", "widgets.example.com",
               api="apiextensions.k8s.io/v1", annotations={"argocd.argoproj.io/sync-wave": "5"},
               spec={"group": "example.com", "names": {"kind": "Widget"}})
    got = _order([
        _res("Namespace", "late", annotations={"argocd.argoproj.io/sync-wave": "3"}),
        _res("ConfigMap", "early", "late", {"argocd.argoproj.io/sync-wave": "-2"}),
        crd,
        _res("Widget", "w", "late", {"argocd.argoproj.io/sync-wave": "1"}, api="example.com/v1"),
    ])
    # each dependency takes the phase and wave of the first object that needs it
    assert got == ["Sync:-2:Namespace/late", "Sync:-2:ConfigMap/early",
                   "Sync:1:CustomResourceDefinition/widgets.example.com", "Sync:1:Widget/w"]


# --- the page as bytes ----------------------------------------------------------------------

def test_word_level_diff_marks_only_what_changed() -> None:
    lines = html.diff_lines("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a: 1\n-image: web:1.2.3\n"
                            "+image: web:1.2.4\n")
    assert [ln.kind for ln in lines] == ["file", "file", "hunk", "ctx", "del", "add"]
    marked = [s.text for ln in lines for s in ln.segments if s.mark]
    assert marked == ["3", "4"]
    assert "".join(s.text for s in lines[-1].segments) == "+image: web:1.2.4"


def test_report_is_self_contained_deterministic_and_escapes(run: RunFn, tmp_path: Path) -> None:
    repo = _hostile_repo(tmp_path)
    out1, out2 = tmp_path / "a.html", tmp_path / "b.html"
    code, _, err = run("-C", str(repo), "report", "-o", str(out1), "--base", "HEAD",
                       "--root", "apps")
    assert code == 0, err
    assert run("-C", str(repo), "report", "-o", str(out2), "--base", "HEAD",
               "--root", "apps")[0] == 0
    text = out1.read_text()
    assert text == out2.read_text()  # same input, same bytes: no time unless asked
    # exactly one script element, the page's own; nothing from the repository is markup
    assert text.count("<script") == 1
    for raw in ("<script>window.pwned", "<img src=x", "</code></pre><script>"):
        assert raw not in text
    assert "x&lt;script&gt;window.pwned=2&lt;/script&gt;" in text  # the finding names it
    # a Secret's change is shown, never its values
    assert "v1/Secret/web/db" in text and "s3cr3t" not in text
    assert "pwned=" in text and "&lt;img src=x onerror=window.pwned=3&gt;" in text
    # nothing is loaded from anywhere: no URL-bearing attribute but fragment links
    assert not re.search(r"""\b(src|srcset|action|poster|data)\s*=""", text.split(
        "<body>")[1].replace("img src=x", ""))
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]*)"', text))
    assert "<link" not in text and "@import" not in text and "url(" not in text
    # the Content-Security-Policy allows the page's own style and script only, by hash
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text)
    assert csp and "default-src 'none'" in csp.group(1)
    style = re.search(r"<style>(.*?)</style>", text, re.S)
    script = re.search(r"<script>(.*?)</script>", text, re.S)
    assert style and script
    for body in (style.group(1), script.group(1)):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp.group(1)


def test_report_timestamp_only_when_asked(run: RunFn, platform: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert run("-C", str(platform), "report", "-o", str(out))[0] == 0
    assert "generated" not in out.read_text()
    assert run("-C", str(platform), "report", "-o", str(out), "--timestamp")[0] == 0
    assert re.search(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", out.read_text())


def test_report_never_overwrites_another_file(run: RunFn, platform: Path,
                                              tmp_path: Path) -> None:
    other = tmp_path / "notes.html"
    other.write_text("<p>mine</p>")
    code, _, err = run("-C", str(platform), "report", "-o", str(other))
    assert code == 2 and "not a gitplane report" in err and other.read_text() == "<p>mine</p>"
    assert run("-C", str(platform), "report", "-o", str(other), "--force")[0] == 0
    # a report it wrote before is replaced without --force
    assert run("-C", str(platform), "report", "-o", str(other))[0] == 0
    code, _, err = run("-C", str(platform), "report", "-o", str(tmp_path))
    assert code == 2 and "is a folder" in err


def test_report_diff_budgets_and_no_diff_twice(run: RunFn, platform: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _changed_platform(platform)
    out = tmp_path / "r.html"
    assert run("-C", str(platform), "report", "-o", str(out), "--base", "HEAD")[0] == 0
    text = out.read_text()
    assert text.count("<del>1</del>") == 1 and text.count("<ins>4</ins>") == 1
    # a change identical in two environments is shown once, then linked
    git(platform, "checkout", "-q", "--", ".")
    f = platform / WEB
    f.write_text(f.read_text().replace("nginxinc/nginx-unprivileged:1.27.3",
                                       "nginxinc/nginx-unprivileged:1.27.4"))
    assert run("-C", str(platform), "report", "-o", str(out), "--base", "HEAD")[0] == 0
    text = out.read_text()
    assert text.count("<ins>4</ins>") == 1 and "The same change as in" in text
    # per-object and page budgets: cut and said, never silently
    monkeypatch.setattr(html, "OBJECT_DIFF_LINES", 3)
    assert run("-C", str(platform), "report", "-o", str(out), "--base", "HEAD")[0] == 0
    assert "more lines of this object" in out.read_text()
    monkeypatch.setattr(html, "DIFF_BUDGET", 0)
    code, _, err = run("-C", str(platform), "report", "-o", str(out), "--base", "HEAD")
    assert code == 0 and "diff budget" in err and "diff budget is spent" in out.read_text()


def test_report_hard_cap_drops_details(run: RunFn, platform: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html, "HARD_CAP", 10_000)
    out = tmp_path / "r.html"
    code, _, err = run("-C", str(platform), "report", "-o", str(out))
    assert code == 0 and "object lists and diffs are left out" in err
    assert "objects in sync order" not in out.read_text()


# --- in a real browser -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed ('make test' installs it with "
                    "apt-get when it can)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (test extras)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


class Opened:
    def __init__(self, browser: Any, path: Path, scheme: str = "light") -> None:
        self.url = path.as_uri()
        self.context = browser.new_context(color_scheme=scheme,
                                           viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text)
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(self.url)
        self.page.wait_for_load_state("load")


def _axe(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])})"
            for v in results.response["violations"]]


def test_browser_reference_report(run: RunFn, platform: Path, tmp_path: Path,
                                  browser: Any) -> None:
    _changed_platform(platform)
    out = tmp_path / "report.html"
    assert run("-C", str(platform), "report", "-o", str(out), "--base", "HEAD")[0] == 0
    o = Opened(browser, out)
    page = o.page
    assert o.errors == [] and o.requests == [o.url]
    # the filter appears with the script and hides rows
    assert page.is_visible("#filter")
    rows = page.locator("#matrix-table tbody tr")
    total = rows.count()
    assert total > 5
    page.fill("#filter-text", "web-app")
    assert page.locator("#matrix-table tbody tr:visible").count() == 1
    assert page.text_content("#filter-count") == f"1 of {total} applications shown"
    page.fill("#filter-text", "")
    page.select_option("#filter-status", "changed")
    visible = page.locator("#matrix-table tbody tr:visible")
    assert visible.count() == 1 and "web-app" in visible.first.text_content()
    page.select_option("#filter-status", "all")
    # anchors: a matrix link leads to its section; a folded part opens on click and key
    page.locator("#matrix-table tr", has_text="web-app").locator("a").first.click()
    target = page.evaluate("location.hash").lstrip("#")
    assert target and page.locator(f"#{target}").is_visible()
    folded = page.locator(f"#{target} details").filter(has_text="objects in sync order")
    assert folded.get_attribute("open") is None
    folded.locator("summary").click()
    assert folded.get_attribute("open") is not None
    folded.locator("summary").focus()
    page.keyboard.press("Enter")
    assert folded.get_attribute("open") is None
    # a link into a closed fold opens it (the graph's list)
    page.goto(o.url + "#rules")
    assert o.errors == [] and set(o.requests) == {o.url}
    for scheme in ("light", "dark"):
        o2 = Opened(browser, out, scheme)
        for d in o2.page.locator("details").all():  # scan the folded parts too
            d.evaluate("e => e.open = true")
        assert _axe(o2.page) == [], scheme
        o2.context.close()
    o.context.close()


def test_browser_hostile_names_stay_inert(run: RunFn, tmp_path: Path, browser: Any) -> None:
    repo = _hostile_repo(tmp_path)
    out = tmp_path / "hostile.html"
    assert run("-C", str(repo), "report", "-o", str(out), "--base", "HEAD",
               "--root", "apps")[0] == 0
    o = Opened(browser, out)
    for d in o.page.locator("details").all():
        d.evaluate("e => e.open = true")
    assert o.page.evaluate("typeof window.pwned") == "undefined"
    assert o.dialogs == [] and o.errors == [] and o.requests == [o.url]
    assert o.page.locator("img").count() == 0
    assert HOSTILE.replace("pwned=1", "pwned=4")[:20] in o.page.text_content("main")
    o.context.close()


def test_browser_without_javascript(run: RunFn, platform: Path, tmp_path: Path,
                                    browser: Any) -> None:
    out = tmp_path / "r.html"
    assert run("-C", str(platform), "report", "-o", str(out))[0] == 0
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(out.as_uri())
    assert not page.is_visible("#filter")  # no control that cannot work
    assert page.locator("#matrix-table tbody tr:visible").count() > 5
    summary = page.locator("details summary").first
    summary.click()
    context.close()


def test_readme_screenshot_is_current_shape() -> None:
    shot = Path(__file__).resolve().parents[1] / "docs" / "report.png"
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
