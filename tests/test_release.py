"""gitplane release on real git repositories: the proposed bump from the rendered change,
the changelog and JSON record, the commit and the annotated tag, and the refusals."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import RunFn, application, git, write

WEB = "deployments/domains/applications/apps/web-app"


def _repo(platform: Path) -> Path:
    git(platform, "init", "-q")
    git(platform, "add", "-A")
    git(platform, "commit", "-qm", "platform")
    return platform


def test_release_first_then_patch_minor_major(run: RunFn, platform: Path) -> None:
    _repo(platform)
    code, out, err = run("-C", str(platform), "release")
    assert code == 0, err
    assert out.startswith("## platform/v0.1.0 (") and "Added Application `web-app`" in out
    assert git(platform, "tag", "--list").split() == ["platform/v0.1.0"]
    assert git(platform, "cat-file", "-t", "platform/v0.1.0").strip() == "tag"  # annotated
    assert "## platform/v0.1.0" in git(platform, "tag", "-n99", "-l", "platform/v0.1.0")
    message = git(platform, "log", "-1", "--format=%B")
    assert "Gitplane-Release: platform/v0.1.0" in message
    record = json.loads((platform / "releases/v0.1.0.json").read_text())
    assert record["bump"]["chosen"] == "minor" and record["previous"] is None
    # nothing rendered differently: nothing to release
    code, _, err = run("-C", str(platform), "release")
    assert code == 0 and "nothing to release" in err
    assert git(platform, "tag", "--list").split() == ["platform/v0.1.0"]
    # an image: patch
    k = platform / f"{WEB}/environments/staging/kustomization.yaml"
    k.write_text(k.read_text() + "images:\n  - name: nginxinc/nginx-unprivileged\n"
                 "    newTag: 1.27.4\n")
    git(platform, "commit", "-qam", "web-app 1.27.4 in staging")
    code, out, err = run("-C", str(platform), "release", "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["tag"] == "platform/v0.1.1" and data["bump"]["chosen"] == "patch"
    web = data["environments"]["staging"]["applications"]["web-app"]
    assert web["images"] == {"nginxinc/nginx-unprivileged": [[":1.27.3"], [":1.27.4"]]}
    assert data["commits"][0]["subject"] == "web-app 1.27.4 in staging"
    changelog = (platform / "CHANGELOG.md").read_text()
    assert changelog.index("## platform/v0.1.1") < changelog.index("## platform/v0.1.0")
    assert "image nginxinc/nginx-unprivileged :1.27.3 → :1.27.4" in changelog
    # an object added: minor; a Secret's value never appears
    write(platform / f"{WEB}/environments/production/token.yaml",
          "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n  namespace: applications\n"
          "stringData:\n  token: do-not-print-me\n")
    k = platform / f"{WEB}/environments/production/kustomization.yaml"
    k.write_text(k.read_text().replace("  - ingress.yaml", "  - ingress.yaml\n  - token.yaml"))
    git(platform, "add", "-A")
    git(platform, "commit", "-qm", "token")
    code, out, err = run("-C", str(platform), "release", "--dry-run")
    assert code == 0 and "## platform/v0.2.0" in out and "added Secret/token" in out
    assert "do-not-print-me" not in out and "dry run" in err
    assert "platform/v0.2.0" not in git(platform, "tag", "--list")
    assert run("-C", str(platform), "release")[0] == 0
    assert "do-not-print-me" not in (platform / "CHANGELOG.md").read_text()
    # an Application removed: major
    appset = platform / "deployments/bootstrap/platform-apps/base/workloads.yaml"
    appset.unlink()
    kb = platform / "deployments/bootstrap/platform-apps/base/kustomization.yaml"
    kb.write_text(kb.read_text().replace("  - workloads.yaml\n", ""))
    git(platform, "commit", "-qam", "workloads retired")
    code, out, err = run("-C", str(platform), "release", "--dry-run")
    assert code == 0 and "## platform/v1.0.0" in out and "Removed Application" in out
    # the user may choose a smaller bump: said
    code, out, _ = run("-C", str(platform), "release", "--dry-run", "--bump", "minor")
    assert "## platform/v0.3.0" in out and "proposed: major" in out


def test_release_refuses(run: RunFn, platform: Path, tmp_path: Path) -> None:
    _repo(platform)
    (platform / "gitplane.yaml").write_text((platform / "gitplane.yaml").read_text() + "# x\n")
    code, _, err = run("-C", str(platform), "release")
    assert code == 2 and "uncommitted changes" in err
    git(platform, "checkout", "-q", "--", ".")
    git(platform, "tag", "-a", "platform/v0.1.0", "-m", "by hand", "HEAD")
    # the next version was tagged on another branch: never reused
    git(platform, "checkout", "-q", "-b", "hotfix")
    git(platform, "commit", "-q", "--allow-empty", "-m", "hotfix")
    git(platform, "tag", "platform/v0.1.1")
    git(platform, "checkout", "-q", "-")
    git(platform, "commit", "-q", "--allow-empty", "-m", "later")
    head = git(platform, "rev-parse", "HEAD")
    code, _, err = run("-C", str(platform), "release", "--bump", "patch")
    assert code == 2 and "tag platform/v0.1.1 exists" in err
    assert git(platform, "rev-parse", "HEAD") == head and not (platform / "CHANGELOG.md").exists()
    plain = tmp_path / "plain"
    write(plain / "apps/app.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    code, _, err = run("-C", str(plain), "release", "--root", "apps")
    assert code == 2 and "Git repository" in err


def test_release_in_another_layout(run: RunFn, tmp_path: Path) -> None:
    """A repository with its roots in gitplane.yaml (no deployments/ folder)."""
    root = tmp_path / "r"
    write(root / "gitplane.yaml", "roots: [argocd]\nrepoURLs: [https://example.com/r.git]\n")
    write(root / "argocd/web.yaml", application("web", "web", "web"))
    write(root / "web/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, "
          "namespace: web}\ndata: {a: '1'}\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "web")
    assert run("-C", str(root), "release")[0] == 0
    (root / "web/cm.yaml").write_text((root / "web/cm.yaml").read_text().replace("'1'", "'2'"))
    git(root, "commit", "-qam", "a=2")
    code, out, err = run("-C", str(root), "release")
    assert code == 0, err
    assert "## platform/v0.1.1" in out and "modified ConfigMap/web" in out
    assert (root / "releases/v0.1.1.json").is_file()
