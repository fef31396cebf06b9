"""gitplane upgrade on the reference platform: the versions file and the manifests in one
edit (byte-level), the upgrade notes crossed and what they require of the platform, the
commit, and every refusal."""
from __future__ import annotations

import difflib
import json
from pathlib import Path

from conftest import RunFn, git

ARGO = "deployments/bootstrap/argocd/base/argo-cd.yaml"
VERSIONS = "deployments/versions.yaml"


def _changed(before: str, after: str) -> list[str]:
    return [ln for ln in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0,
                                              lineterm="")
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def _repo(platform: Path, argo_version: str | None = None, ssa: bool = True) -> Path:
    if argo_version:
        for rel, old, new in ((ARGO, "targetRevision: 10.1.1", f"targetRevision: {argo_version}"),
                              (VERSIONS, 'version: "10.1.1"', f'version: "{argo_version}"')):
            f = platform / rel
            f.write_text(f.read_text().replace(old, new))
    if not ssa:
        f = platform / ARGO
        f.write_text(f.read_text().replace("      - ServerSideApply=true\n", "      - Validate=true\n"))
    git(platform, "init", "-q")
    git(platform, "add", "-A")
    git(platform, "commit", "-qm", "platform")
    return platform


def test_upgrade_edits_versions_file_and_manifest(run: RunFn, platform: Path) -> None:
    _repo(platform)
    before = {rel: (platform / rel).read_text() for rel in (ARGO, VERSIONS)}
    code, out, err = run("-C", str(platform), "upgrade", "argo-cd", "--to", "10.2.0",
                         "--commit")
    assert code == 0, err
    assert _changed(before[ARGO], (platform / ARGO).read_text()) == [
        "-    targetRevision: 10.1.1", "+    targetRevision: 10.2.0"]
    assert _changed(before[VERSIONS], (platform / VERSIONS).read_text()) == [
        '-    version: "10.1.1"', '+    version: "10.2.0"']  # its quotes kept
    assert "2 intended, 0 collateral" in out  # the argo-cd Application object, per env
    assert "not in gitplane's cache" in err  # the chart itself is not rendered: said
    message = git(platform, "log", "-1", "--format=%B")
    assert message.startswith("Upgrade argo-cd 10.1.1 → 10.2.0")
    assert "Gitplane-Upgraded: argo-cd 10.1.1 → 10.2.0" in message
    code, _, err = run("-C", str(platform), "upgrade", "argo-cd", "--to", "10.2.0")
    assert code == 0 and "nothing to upgrade" in err


def test_upgrade_notes_crossed_and_what_they_require(run: RunFn, platform: Path) -> None:
    _repo(platform, argo_version="9.3.0", ssa=False)
    code, out, err = run("-C", str(platform), "upgrade", "argo-cd", "--to", "10.1.1",
                         "--dry-run", "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    versions = [n["version"] for n in data["notes"]]
    assert versions == ["9.4.0", "10.0.0"]  # Argo CD 3.3; the chart's major version
    ssa = data["notes"][0]
    assert "server-side" in ssa["note"].lower() or "ServerSideApply" in ssa["note"]
    assert ssa["platform"] == "not set on argo-cd: add it before upgrading"
    assert not data["written"] and "9.3.0" in (platform / ARGO).read_text()


def test_upgrade_refuses(run: RunFn, platform: Path) -> None:
    _repo(platform)
    base = ["-C", str(platform), "upgrade"]
    code, _, err = run(*base, "nope", "--to", "1.0.0")
    assert code == 2 and "unknown component 'nope'" in err and "argo-cd" in err
    code, _, err = run(*base, "argo-cd", "--to", "10.0.0")
    assert code == 2 and "downgrade is refused" in err
    code, _, err = run(*base, "argo-cd", "--to", "banana")
    assert code == 2 and "not a version" in err
    code, _, err = run(*base, "argo-cd")
    assert code == 2 and "give --to VERSION" in err
    # the versions file and the manifests disagree
    v = platform / VERSIONS
    v.write_text(v.read_text().replace('version: "10.1.1"', 'version: "10.0.9"'))
    git(platform, "commit", "-qam", "drift")
    code, _, err = run(*base, "argo-cd", "--to", "10.2.0")
    assert code == 2 and "pinned at different versions" in err and "10.0.9" in err
    git(platform, "revert", "--no-edit", "HEAD")
    # a dirty file is never edited
    a = platform / ARGO
    a.write_text(a.read_text() + "# mine\n")
    code, _, err = run(*base, "argo-cd", "--to", "10.2.0")
    assert code == 2 and "uncommitted changes" in err and a.read_text().endswith("# mine\n")
    git(platform, "checkout", "-q", "--", ".")
    # a forced downgrade is allowed, and said
    code, _, err = run(*base, "argo-cd", "--to", "10.0.0", "--force")
    assert code == 0 and "downgrade 10.1.1 → 10.0.0, forced" in err
    assert "targetRevision: 10.0.0" in a.read_text()


def test_upgrade_keeps_block_scalars_byte_for_byte(run: RunFn, tmp_path: Path) -> None:
    """An Application whose Helm values are a literal block with trailing spaces (as real
    repositories have): only the version's text changes; a YAML round trip would strip
    them."""
    from conftest import write

    root = tmp_path / "r"
    app = write(root / "argocd/adapter.yaml", (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n"
        "  name: adapter\n  namespace: argocd\nspec:\n  project: default\n"
        "  destination: {server: 'https://kubernetes.default.svc', namespace: mon}\n"
        "  source:\n    repoURL: https://charts.example.com\n    chart: adapter\n"
        "    targetRevision: '2.12.1'   # pinned\n    helm:\n      values: |\n"
        "        replicas: 2\n        \n        window: 3m        \n"))
    write(root / "gitplane.yaml", "roots: [argocd]\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "adapter")
    before = app.read_text()
    code, out, err = run("-C", str(root), "upgrade", "adapter", "--to", "2.13.0")
    assert code == 0, err
    assert _changed(before, app.read_text()) == [
        "-    targetRevision: '2.12.1'   # pinned", "+    targetRevision: '2.13.0'   # pinned"]
    assert "window: 3m        \n" in app.read_text() and "\n        \n" in app.read_text()


def test_upgrade_refuses_a_templated_revision(run: RunFn, tmp_path: Path) -> None:
    from conftest import write

    root = tmp_path / "r"
    write(root / "gitplane.yaml", "roots: [argocd]\n")
    write(root / "argocd/addons.yaml", """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: addons, namespace: argocd}
spec:
  goTemplate: true
  generators:
    - list:
        elements:
          - {name: adapter, version: 2.12.1}
  template:
    metadata: {name: '{{.name}}'}
    spec:
      project: default
      source: {repoURL: "https://charts.example.com", chart: adapter,
               targetRevision: '{{.version}}'}
      destination: {server: "https://kubernetes.default.svc", namespace: mon}
""")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "addons")
    before = (root / "argocd/addons.yaml").read_bytes()
    code, _, err = run("-C", str(root), "upgrade", "adapter", "--to", "2.13.0")
    assert code == 2 and "templated" in err
    assert (root / "argocd/addons.yaml").read_bytes() == before
