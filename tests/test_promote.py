"""gitplane promote on real git repositories of the reference platform: the edit byte by
byte, the rendered effect, the commit, and every refusal."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import RunFn, git

WEB = "deployments/domains/applications/apps/web-app"
STAGING = f"{WEB}/environments/staging/kustomization.yaml"
PRODUCTION = f"{WEB}/environments/production/kustomization.yaml"
IMAGE = "nginxinc/nginx-unprivileged"


def _repo(platform: Path, staging_images: str) -> Path:
    git(platform, "init", "-q")
    (platform / STAGING).write_text((platform / STAGING).read_text() + staging_images)
    git(platform, "add", "-A")
    git(platform, "commit", "-qm", "platform")
    return platform


def _lines_changed(before: str, after: str) -> list[str]:
    import difflib

    return [ln for ln in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0,
                                              lineterm="")
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def test_promote_adds_the_image_and_commits(run: RunFn, platform: Path) -> None:
    _repo(platform, f"images:\n  - name: {IMAGE}\n    newTag: 1.27.4\n")
    before = (platform / PRODUCTION).read_bytes()
    code, out, err = run("-C", str(platform), "promote", "web-app", "--from", "staging",
                         "--to", "production", "--dry-run")
    assert code == 0, err
    assert "behind" in out and ":1.27.3 → :1.27.4" in out and "1 intended, 0 collateral" in out
    assert (platform / PRODUCTION).read_bytes() == before  # dry run: nothing written
    code, out, err = run("-C", str(platform), "promote", "web-app", "--from", "staging",
                         "--to", "production", "--commit")
    assert code == 0 and "committed" in err
    after = (platform / PRODUCTION).read_text()
    assert _lines_changed(before.decode(), after) == [
        "+images:", f"+  - name: {IMAGE}", "+    newTag: 1.27.4"]
    message = git(platform, "log", "-1", "--format=%B")
    assert message.startswith("Promote web-app from staging to production")
    assert "Gitplane-Command: promote --from staging --to production" in message
    assert f"Gitplane-Promoted: web-app ({IMAGE}:1.27.4)" in message
    assert git(platform, "status", "--porcelain") == ""
    # the target now renders what the source does: nothing left, no commit
    head = git(platform, "rev-parse", "HEAD")
    code, out, err = run("-C", str(platform), "promote", "web-app", "--from", "staging",
                         "--to", "production", "--commit")
    assert code == 0 and "nothing to promote" in err and git(platform, "rev-parse", "HEAD") == head


def test_promote_edits_only_the_tag_line_keeping_comments(run: RunFn, platform: Path) -> None:
    _repo(platform, f"images:\n  - name: {IMAGE}\n    newTag: 1.27.4\n")
    prod = platform / PRODUCTION
    prod.write_text(prod.read_text() + f"# pinned by release\nimages:\n  - name: {IMAGE}  # web\n"
                    f"    newTag: '1.27.3'   # keep quotes\n")
    git(platform, "commit", "-qam", "production pins")
    before = prod.read_text()
    code, out, err = run("-C", str(platform), "promote", "web-app", "--from", "staging",
                         "--to", "production", "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["written"] and data["applications"][0]["status"] == "behind"
    assert [c["application"] for c in data["effect"]["intended"]] == ["web-app"]
    assert data["effect"]["collateral"] == []
    assert _lines_changed(before, prod.read_text()) == [
        "-    newTag: '1.27.3'   # keep quotes", "+    newTag: '1.27.4'   # keep quotes"]


def test_promote_digest_replaces_the_tag(run: RunFn, platform: Path) -> None:
    digest = "sha256:" + "a" * 64
    _repo(platform, f"images:\n  - name: {IMAGE}\n    digest: {digest}\n")
    code, _, err = run("-C", str(platform), "promote", "web-app", "--from", "staging",
                       "--to", "production")
    assert code == 0, err
    assert f"digest: {digest}" in (platform / PRODUCTION).read_text()


def test_promote_refuses(run: RunFn, platform: Path) -> None:
    _repo(platform, f"images:\n  - name: {IMAGE}\n    newTag: 1.27.4\n")
    prod = platform / PRODUCTION
    base = ["-C", str(platform), "promote"]
    code, _, err = run(*base, "nope", "--from", "staging", "--to", "production")
    assert code == 2 and "unknown application 'nope'" in err
    code, _, err = run(*base, "web-app", "--from", "staging", "--to", "prod")
    assert code == 2 and "unknown environment 'prod'" in err
    code, _, err = run(*base, "--from", "staging", "--to", "production")
    assert code == 2 and "or --all" in err
    code, _, err = run(*base, "web-app", "--from", "staging", "--to", "staging")
    assert code == 2 and "same environment" in err
    # a file with uncommitted changes is never edited
    prod.write_text(prod.read_text() + "# mine\n")
    code, _, err = run(*base, "web-app", "--from", "staging", "--to", "production")
    assert code == 2 and "uncommitted changes" in err and prod.read_text().endswith("# mine\n")
    git(platform, "checkout", "-q", "--", ".")
    # a file whose own style a round trip cannot keep (mixed sequence indentation), where an
    # entry must be added: refused rather than re-indented
    prod.write_text(prod.read_text().replace("resources:\n  - ../../base\n  - ingress.yaml",
                                             "resources:\n- ../../base\n- ingress.yaml"))
    git(platform, "commit", "-qam", "mixed style")
    before = prod.read_bytes()
    code, _, err = run(*base, "web-app", "--from", "staging", "--to", "production")
    assert code == 2 and "cannot be made exactly" in err and prod.read_bytes() == before
    # with the entry there, its tag is replaced in the text: one line, whatever the style
    prod.write_text(prod.read_text() + f"images:\n- name: {IMAGE}\n  newTag: 1.27.3  # pin\n")
    git(platform, "commit", "-qam", "entry")
    before = prod.read_text()
    code, _, err = run(*base, "web-app", "--from", "staging", "--to", "production")
    assert code == 0, err
    assert _lines_changed(before, prod.read_text()) == ["-  newTag: 1.27.3  # pin",
                                                        "+  newTag: 1.27.4  # pin"]


def test_promote_keeps_kustomize_edits_style(run: RunFn, platform: Path) -> None:
    """A kustomization written by 'kustomize edit' (dashes at the key's column): one line
    changes, nothing is re-indented."""
    _repo(platform, f"images:\n  - name: {IMAGE}\n    newTag: 1.27.4\n")
    prod = platform / PRODUCTION
    prod.write_text(f"""apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../../base
- ingress.yaml
patches:
- patch: |-
    - op: replace
      path: /spec/replicas
      value: 3
  target:
    kind: Deployment
    name: web-app
images:
- name: {IMAGE}
  newTag: 1.27.3
""")
    git(platform, "commit", "-qam", "kustomize edit style")
    before = prod.read_text()
    code, _, err = run("-C", str(platform), "promote", "web-app", "--from", "staging",
                       "--to", "production")
    assert code == 0, err
    assert _lines_changed(before, prod.read_text()) == ["-  newTag: 1.27.3",
                                                        "+  newTag: 1.27.4"]


def test_promote_collateral_fails_unless_allowed(run: RunFn, platform: Path) -> None:
    """A promotable file that also changes replicas: the replicas are collateral."""
    _repo(platform, f"images:\n  - name: {IMAGE}\n    newTag: 1.27.3\n")
    for env in ("staging", "production"):
        overlay = platform / f"{WEB}/environments/{env}"
        (overlay / "settings.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-settings\n"
            f"  namespace: applications\ndata:\n  greeting: hello from {env}\n")
        k = overlay / "kustomization.yaml"
        k.write_text(k.read_text().replace("  - ingress.yaml", "  - ingress.yaml\n  - settings.yaml"))
    (platform / "gitplane.yaml").write_text((platform / "gitplane.yaml").read_text() +
                                            "promotion:\n  web-app: [settings.yaml]\n")
    git(platform, "add", "-A")
    git(platform, "commit", "-qm", "settings")
    base = ["-C", str(platform), "promote", "web-app", "--from", "staging", "--to",
            "production", "--include", "config"]
    code, out, err = run(*base)
    assert code == 0, err
    assert "hello from staging" in (platform / f"{WEB}/environments/production/settings.yaml"
                                    ).read_text()
    assert "1 intended, 0 collateral" in out
    git(platform, "commit", "-qam", "promoted")
    # now staging's settings also hold a Service: it would appear in production too
    staging = platform / f"{WEB}/environments/staging/settings.yaml"
    staging.write_text(staging.read_text().replace("hello from staging", "hi") +
                       "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web-extra\n"
                       "  namespace: applications\nspec:\n  ports: [{port: 80}]\n")
    git(platform, "commit", "-qam", "staging settings")
    target = platform / f"{WEB}/environments/production/settings.yaml"
    before = target.read_bytes()
    code, out, err = run(*base)
    assert code == 1 and target.read_bytes() == before, out + err
    assert "collateral: production / web-app: /v1/Service/applications/web-extra" in out
    assert "1 collateral" in out and "nothing written" in err
    code, out, err = run(*base, "--allow-collateral")
    assert code == 0 and "kind: Service" in target.read_text()


def test_promote_check_reports_status(run: RunFn, platform: Path) -> None:
    _repo(platform, f"images:\n  - name: {IMAGE}\n    newTag: 1.27.4\n")
    code, out, _ = run("-C", str(platform), "promote", "--all", "--from", "staging", "--to",
                       "production", "--check", "-o", "json")
    assert code == 0
    status = {a["application"]: a for a in json.loads(out)["applications"]}
    assert status["web-app"]["status"] == "behind"
    assert status["web-app"]["images"] == [{"name": IMAGE, "from": ":1.27.4", "to": ":1.27.3"}]
    assert status["backup"]["status"] == "equal"
    assert status["argo-cd"]["status"] == "not rendered"  # a chart not cached
    assert git(platform, "status", "--porcelain") == ""


def test_promotion_and_sealing_settings_are_validated(run: RunFn, platform: Path) -> None:
    cfg = platform / "gitplane.yaml"
    original = cfg.read_text()
    for bad, said in (("promotion:\n  web-app: [../../base/x.yaml]\n", "leaves the app's"),
                      ("promotion:\n  web-app: settings.yaml\n", "must list file names"),
                      ("sealingCertificate: /etc/cert.pem\n", "naming {env}")):
        cfg.write_text(original + bad)
        code, _, err = run("-C", str(platform), "envs")
        assert code == 2 and said in err, err


def test_a_promotable_link_out_of_the_repository_is_never_read(run: RunFn, platform: Path,
                                                               tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stolen}\n"
                       "data: {key: from-outside-the-repository}\n")
    _repo(platform, "")
    (platform / f"{WEB}/environments/staging/settings.yaml").symlink_to(outside)
    (platform / "gitplane.yaml").write_text((platform / "gitplane.yaml").read_text() +
                                            "promotion:\n  web-app: [settings.yaml]\n")
    git(platform, "add", "-A")
    git(platform, "commit", "-qm", "link")
    code, out, err = run("-C", str(platform), "promote", "--all", "--from", "staging", "--to",
                         "production", "--include", "config")
    assert "from-outside-the-repository" not in out + err
    assert not (platform / f"{WEB}/environments/production/settings.yaml").exists()
    assert "not a file of the repository" in out
