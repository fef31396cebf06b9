"""A repository is attacker-controlled input: nothing it names is run, nothing outside it is
read, settings are range-checked, and no secret value reaches an output."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from conftest import RunFn, git, write
from gitplane.diff import mask

URL = "https://example.com/acme/gitops.git"
APP = (f"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n"
       f"  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: {URL}\n"
       f"    path: m\n  destination:\n    server: https://kubernetes.default.svc\n"
       f"    namespace: web\n")
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: web}\ndata: {a: b}\n"


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "r"
    for rel, text in {"boot/web.yaml": APP, "m/cm.yaml": CM, **files}.items():
        write(root / rel, text)
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", URL)
    return root


def _evil_program(path: Path, marker: Path) -> None:
    write(path, f"#!/bin/sh\ntouch {marker}\necho v5.8.1\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.mark.parametrize("setting", ["./tools/kustomize", "tools/kustomize"])
def test_a_repository_never_names_a_program_to_run(tmp_path: Path, run: RunFn,
                                                   setting: str) -> None:
    marker = tmp_path / "ran"
    root = _repo(tmp_path, {"gitplane.yaml": f"kustomize: {setting}\n"})
    _evil_program(root / "tools/kustomize", marker)
    code, _, err = run("-C", str(root), "check")
    assert code == 2 and "a repository may name a program on PATH only" in err
    assert not marker.exists()


def test_a_bare_name_resolving_inside_the_repository_is_refused(
        tmp_path: Path, run: RunFn, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "ran"
    root = _repo(tmp_path, {"gitplane.yaml": "kustomize: build\n"})
    _evil_program(root / "build", marker)
    monkeypatch.setenv("PATH", f"{root}{os.pathsep}{os.environ['PATH']}")
    code, _, err = run("-C", str(root), "check")
    assert code == 2 and "inside the repository" in err
    assert not marker.exists()


def test_an_engine_that_is_not_kustomize_fails_clearly(tmp_path: Path, run: RunFn,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    root = _repo(tmp_path, {})
    monkeypatch.setenv("GITPLANE_KUSTOMIZE", "/bin/echo")
    code, _, err = run("-C", str(root), "check")
    assert code == 2 and "does not answer as a kustomize engine" in err


@pytest.mark.parametrize("line, message", [
    ("renderTimeoutSeconds: .nan", "out of range"),
    ("renderTimeoutSeconds: .inf", "out of range"),
    ("renderTimeoutSeconds: -1", "out of range"),
    ("renderMemoryMiB: 0", "out of range"),
    ("renderMemoryMiB: -5", "out of range"),
    ("environment: ../../x", "not a valid name"),
    ("clusters: ../outside.yaml", "leaves the repository"),
    ("roots: [/etc]", "leaves the repository"),
    ("schemaLocations: [../schemas]", "leaves the repository"),
])
def test_settings_are_checked(tmp_path: Path, run: RunFn, line: str, message: str) -> None:
    root = _repo(tmp_path, {"gitplane.yaml": line + "\n"})
    code, _, err = run("-C", str(root), "apps")
    assert code == 2 and message in err and "gitplane.yaml:1" in err


def test_links_out_of_the_repository_are_not_followed(tmp_path: Path, run: RunFn) -> None:
    outside = write(tmp_path / "outside/clusters.yaml",
                    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked\n  labels: "
                    "{argocd.argoproj.io/secret-type: cluster}\n"
                    "stringData: {name: leaked, server: 'https://leaked'}\n")
    root = _repo(tmp_path, {"gitplane.yaml": "clusters: clusters.yaml\n"})
    (root / "clusters.yaml").symlink_to(outside)
    code, out, err = run("-C", str(root), "check", "-o", "json")
    assert "leaked" not in out + err
    assert any("outside repository" in f["message"] for f in json.loads(out)["findings"])
    # gitplane.yaml itself, and deployments/, as links out
    (root / "gitplane.yaml").unlink()
    (root / "gitplane.yaml").symlink_to(write(tmp_path / "outside/gitplane.yaml", "{}\n"))
    code, _, err = run("-C", str(root), "apps")
    assert code == 2 and "symlink points outside repository" in err
    (root / "gitplane.yaml").unlink()
    (tmp_path / "outside/deployments/environments/x").mkdir(parents=True)
    (root / "deployments").symlink_to(tmp_path / "outside/deployments")
    code, _, err = run("-C", str(root), "apps")
    assert code == 2 and "deployments: symlink points outside repository" in err


def test_schema_files_are_never_named_by_a_kind(tmp_path: Path, run: RunFn) -> None:
    write(tmp_path / "outside.json", '{"type": "object", "title": "SECRET-TITLE", '
                                     '"required": ["leak"]}')
    evil = ("apiVersion: v1\nkind: ../../../../../../../../" + str(tmp_path)[1:] +
            "/outside\nmetadata: {name: x, namespace: web}\n")
    root = _repo(tmp_path, {"m/evil.yaml": evil})
    code, out, err = run("-C", str(root), "check", "-o", "json")
    assert "SECRET-TITLE" not in out + err and "'leak'" not in out + err


def test_sealed_secret_ciphertexts_are_masked() -> None:
    a = {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
         "spec": {"encryptedData": {"password": "AgBy3i4OJSWK+PiTySYZZA=="},
                  "template": {"metadata": {"name": "db"}}}}
    b = {**a, "spec": {**a["spec"], "encryptedData": {"password": "AgCHANGED=="}}}
    ma, mb = mask(a, b)
    assert ma and mb and "AgBy3i4" not in json.dumps(ma) and "AgCHANGED" not in json.dumps(mb)
    assert ma["spec"]["encryptedData"]["password"] != mb["spec"]["encryptedData"]["password"]
    assert ma["spec"]["template"] == a["spec"]["template"]  # not secret, still shown


@pytest.mark.parametrize("shape", ["hunter2-as-string", ["hunter2", "x"]])
def test_secret_fields_of_the_wrong_shape_are_masked_whole(shape: object) -> None:
    obj = {"apiVersion": "v1", "kind": "Secret", "stringData": shape,
           "metadata": {"annotations": {
               "kubectl.kubernetes.io/last-applied-configuration": '{"data": "hunter2"}'}}}
    masked, _ = mask(obj, None)
    assert "hunter2" not in json.dumps(masked)


def test_diff_never_shows_a_sealed_secret(tmp_path: Path, run: RunFn) -> None:
    sealed = ("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {{name: db, "
              "namespace: web}}\nspec:\n  encryptedData: {{password: {value}}}\n")
    root = _repo(tmp_path, {"m/sealed.yaml": sealed.format(value="AgOLDCIPHERTEXT")})
    git(root, "add", "-A")
    git(root, "commit", "-qm", "one")
    write(root / "m/sealed.yaml", sealed.format(value="AgNEWCIPHERTEXT"))
    for fmt in ("text", "markdown", "json"):
        code, out, err = run("-C", str(root), "diff", "HEAD", "-o", fmt)
        assert "CIPHERTEXT" not in out + err


def test_a_reader_that_stops_early_is_not_a_finding(platform: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "gitplane", "-C", str(platform), "render"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the first line, as `| head -0` would be
    assert proc.wait(timeout=120) == 0


def test_no_secret_value_in_a_finding(tmp_path: Path, run: RunFn) -> None:
    objs = ("apiVersion: v1\nkind: Secret\nmetadata: {name: s1, namespace: web}\n"
            "stringData: Zq7-TOKEN-string\n---\n"
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s2, namespace: web}\n"
            "data: [Zq7-TOKEN-list]\n---\n"
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s3, namespace: web}\n"
            "stringData: {password: Zq7-TOKEN-map}\n---\n"
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s4, namespace: web}\n"
            "data: {pin: 07771}\n")  # YAML reads an int; the schema must not quote it
    root = _repo(tmp_path, {"m/secrets.yaml": objs, "m/broken.yaml":
                            "apiVersion: v1\nkind: Secret\nmetadata: {name: b}\n"
                            "stringData:\n  a: !Zq7-TOKEN-tag\n  b: *Zq7-TOKEN-alias\n",
                            "m/broken2.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: c}\n"
                            "stringData:\n  a: !Zq7-TOKEN-tag\n",
                            "m/broken3.yaml": "kind: Secret\nstringData: {a: !!int Zq7-TOKEN}\n"})
    for fmt in ("text", "json", "sarif", "junit", "github"):
        code, out, err = run("-C", str(root), "check", "-o", fmt)
        assert code == 1 and "Zq7-TOKEN" not in out + err, fmt
        assert "4089" not in out + err and "7771" not in out + err, fmt
    code, out, _ = run("-C", str(root), "check", "-o", "json")
    found = {f["resource"] for f in json.loads(out)["findings"] if f["rule"] == "plaintext-secret"}
    assert found == {"/v1/Secret/web/s1", "/v1/Secret/web/s2", "/v1/Secret/web/s3",
                     "/v1/Secret/web/s4"}


def test_a_rule_that_breaks_on_one_object_judges_all_the_others(
        tmp_path: Path, run: RunFn, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Isolation per object, not per rule: the objects a rule breaks on are found and each is
    one finding; the rule's findings on every other object are still reported."""
    import types

    from gitplane import checks

    def check(ctx):  # type: ignore[no-untyped-def]
        for unit in ctx.units():
            for res in unit.resources:
                if res.name.startswith("boom"):
                    raise TypeError("unforeseen shape")
                yield checks.resource_finding("test-fragile", "warning", unit, res, "seen")

    rule = types.ModuleType("fragile")
    rule.ID, rule.SEVERITY, rule.check = "test-fragile", "warning", check  # type: ignore
    monkeypatch.setitem(checks.RULES, "test-fragile", rule)
    objs = "\n---\n".join(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {n}, namespace: web}}\n"
        f"data: {{a: b}}" for n in ("a1", "boom1", "a2", "a3", "boom2", "a4"))
    root = _repo(tmp_path, {"m/cm.yaml": objs})
    code, out, _ = run("-C", str(root), "check", "-o", "json")
    found = [f for f in json.loads(out)["findings"] if f["rule"] == "test-fragile"]
    judged = sorted(f["resource"].rsplit("/", 1)[1] for f in found if f["severity"] == "warning")
    broken = sorted(f["resource"].rsplit("/", 1)[1] for f in found if f["severity"] == "error")
    assert judged == ["a1", "a2", "a3", "a4", "web"]  # web: the root Application
    assert broken == ["boom1", "boom2"]
    assert all("could not judge this object (TypeError: unforeseen shape)" in f["message"]
               for f in found if f["severity"] == "error")
    # with --debug, the rule's traceback is shown (on stderr), the verdict unchanged
    from gitplane import api

    capsys.readouterr()
    result = api.check(api.load(root), debug=True)
    assert any(f.rule == "test-fragile" and f.severity == "error" for f in result.findings)
    err = capsys.readouterr().err
    assert "rule test-fragile raised" in err and "TypeError: unforeseen shape" in err


def _appset(generators: str, template_name: str = "'a-{{name}}'", go: bool = False) -> str:
    return (f"apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: s\n"
            f"  namespace: argocd\nspec:\n  goTemplate: {str(go).lower()}\n"
            f"  generators:\n{generators}"
            f"  template:\n    metadata: {{name: {template_name}}}\n    spec:\n"
            f"      project: default\n      source: {{repoURL: {URL}, path: m}}\n"
            "      destination: {server: 'https://kubernetes.default.svc', namespace: web}\n")


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=False))


@pytest.mark.parametrize("generators, template_name, go, message", [
    # a matrix of two 1,000-element lists: 10^6 Applications in gitplane's process
    ("    - matrix:\n        generators:\n          - list: {elements: [" +
     ", ".join(f"{{a: '{i}'}}" for i in range(1000)) + "]}\n          - list: {elements: [" +
     ", ".join(f"{{b: '{i}'}}" for i in range(1000)) + "]}\n",
     "'a-{{a}}-{{b}}'", False, "over 10000 parameter sets"),
    ("    - list: {elements: [{name: x}]}\n", "'{{ range 100000000 }}x{{ end }}'", True,
     "exceeds 1000000 steps"),
    ("    - list: {elements: [{name: x}]}\n", "'{{ repeat 100000000 \"xxxx\" }}'", True,
     "repeat would build"),
    ("    - list:\n        elementsYaml: |\n" + "".join(f"          {line}\n" for line in
                                                         BOMB.splitlines()), "'a-{{name}}'",
     False, "alias bomb"),
    ("    - matrix: '{not json'\n", "'a-{{name}}'", False, "matrix generator is malformed"),
    ("    - matrix:\n        generators:\n          - matrix: '{not json'\n"
     "          - list: {elements: [{b: x}]}\n", "'a-{{name}}'", False,
     "nested matrix generator"),
])
def test_expansions_are_bounded_and_malformed_generators_are_findings(
        tmp_path: Path, run: RunFn, generators: str, template_name: str, go: bool,
        message: str) -> None:
    root = _repo(tmp_path, {"boot/set.yaml": _appset(generators, template_name, go)})
    code, out, err = run("-C", str(root), "check", "-o", "json")
    assert code == 1, err
    found = [f for f in json.loads(out)["findings"] if f["rule"] == "argocd-generator"]
    assert any(message in f["message"] and f["severity"] == "error" for f in found), found
    # the rest of the repository is still judged
    assert any(f["application"] == "web" for f in json.loads(out)["findings"]) or \
        json.loads(out)["summary"]["applications"] >= 1


def test_a_malformed_cluster_secret_is_a_finding(tmp_path: Path, run: RunFn) -> None:
    root = _repo(tmp_path, {
        "gitplane.yaml": "clusters: clusters.yaml\n",
        "clusters.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: c\n  labels: "
                         "{argocd.argoproj.io/secret-type: cluster}\nstringData: [a, b]\n",
        "boot/set.yaml": _appset("    - clusters: {}\n")})
    code, out, err = run("-C", str(root), "check", "-o", "json")
    assert code == 1, err
    assert any("must be a mapping" in f["message"] for f in json.loads(out)["findings"])


@pytest.mark.parametrize("selector", ["{matchLabels: [oops]}", "{matchExpressions: [oops]}"])
def test_malformed_selectors_are_findings(tmp_path: Path, run: RunFn, selector: str) -> None:
    root = _repo(tmp_path, {
        "gitplane.yaml": "clusters: clusters.yaml\n",
        "clusters.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: c\n  labels: "
                         "{argocd.argoproj.io/secret-type: cluster, env: prod}\n"
                         "stringData: {name: c, server: 'https://c'}\n",
        "boot/set.yaml": _appset(f"    - clusters: {{selector: {selector}}}\n")})
    code, out, err = run("-C", str(root), "check", "-o", "json")
    assert code == 1, err  # never exit 3: the ApplicationSet's schema says what is wrong
    assert any(f["rule"] == "schema" and f["file"] == "boot/set.yaml"
               for f in json.loads(out)["findings"])


def test_scaffold_never_writes_outside(platform: Path, run: RunFn, tmp_path: Path) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = run("-C", str(platform), "new", "app", "x", "--domain", "../../..")
    assert code == 2 and "invalid domain name" in err
    code, _, err = run("-C", str(platform), "new", "component", "c", "--app", "../../x",
                       "--domain", "applications")
    assert code == 2 and "invalid app name" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    # init through a deployments link that points outside writes nothing
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    target = tmp_path / "fresh"
    target.mkdir()
    (target / "deployments").symlink_to(outside)
    code, _, err = run("init", str(target))
    assert code == 2 and "refused" in err
    assert not list(outside.iterdir())
    code, _, err = run("init", str(tmp_path / "other"), "--repo-url",
                       "https://x.example.com/r.git\n  evil: true")
    assert code == 2 and "invalid repository URL" in err
    assert not (tmp_path / "other").exists()


def test_fifos_and_huge_files_are_not_read(tmp_path: Path, run: RunFn) -> None:
    root = _repo(tmp_path, {"m/kustomization.yaml": "resources: [cm.yaml]\n"
                                                    "configMapGenerator:\n  - name: big\n"
                                                    "    files: [big.bin]\n"})
    os.mkfifo(root / "m/pipe.yaml")  # a plain folder listing would block on it forever
    with open(root / "m/big.bin", "wb") as fh:  # sparse: 64 GiB on paper, nothing on disk
        fh.truncate(64 * 1024 ** 3)
    code, out, err = run("-C", str(root), "check", "-o", "json")
    assert code == 1, err
    write(root / "boot/dir.yaml", APP.replace("name: web", "name: dir").replace(
        "path: m", "path: d"))
    write(root / "d/cm.yaml", CM.replace("name: c,", "name: d,"))
    os.mkfifo(root / "d/pipe.yaml")
    code, out, err = run("-C", str(root), "check", "-o", "json")
    found = json.loads(out)["findings"]
    assert any(f["file"] == "d/pipe.yaml" and "not a regular file" in f["message"]
               for f in found), found


def test_diff_says_when_a_render_or_a_side_fails(tmp_path: Path, run: RunFn) -> None:
    outside = tmp_path / "outside/deployments/environments/x"
    outside.mkdir(parents=True)
    root = _repo(tmp_path, {"n/kustomization.yaml": "resources: [missing.yaml]\n"})
    (root / "deployments").symlink_to(tmp_path / "outside/deployments")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base: deployments is a link out of the repository")
    (root / "deployments").unlink()
    # the Application's source moves to a kustomization whose render fails
    write(root / "boot/web.yaml", APP.replace("path: m", "path: n"))
    code, out, err = run("-C", str(root), "diff", "HEAD", "-o", "json", "--exit-code")
    data = json.loads(out)
    sides = {(p["side"], p["rule"]) for p in data["problems"]}
    assert ("base", "argocd-no-applications") in sides  # the base could not be read
    assert ("head", "kustomize-build") in sides  # the moved source's render failed
    assert code == 1


def test_markdown_escapes_names_and_summarises_its_table() -> None:
    from gitplane.diff import Change, DiffResult
    from gitplane.report.diff import markdown

    evil = Change("staging", "a|b`<img src=x onerror=alert(1)>", "/v1/ConfigMap/x/c",
                  "modified", "--- a\n+++ b\n+````\n+</details><script>x</script>\n")
    text = markdown(DiffResult("a" * 40, "working tree", [evil]))
    assert "<img" not in text and "<script>" not in text.split("````diff")[0]
    assert "a\\|b&#96;&lt;img" in text
    assert text.count("````") == 2  # the content's fence cannot close the block
    many = [Change("staging", f"app-{i}", f"/v1/ConfigMap/x/c{i}", "modified",
                   "--- a\n+++ b\n+x\n") for i in range(3000)]
    text = markdown(DiffResult("a" * 40, "working tree", many))
    assert len(text) <= 65_536 and "more Applications" in text


@pytest.mark.parametrize("signum, code", [(15, 143), (2, 130)])
def test_signals_stop_promptly(tmp_path: Path, signum: int, code: int) -> None:
    """A render in a worker thread is stopped at once (not waited for up to its timeout)."""
    import subprocess
    import sys
    import time

    engine = write(tmp_path / "bin/slow-kustomize",
                   "#!/bin/sh\nif [ \"$1\" = version ]; then echo v5.8.1; exit 0; fi\n"
                   "exec /bin/sleep 60\n")
    engine.chmod(0o755)
    root = _repo(tmp_path, {"m/kustomization.yaml": "resources: [cm.yaml]\n"})
    env = {**os.environ, "GITPLANE_KUSTOMIZE": str(engine), "GITPLANE_NO_CACHE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gitplane", "-C", str(root), "check"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    time.sleep(2.0)  # the engine is now sleeping in a worker thread
    start = time.monotonic()
    proc.send_signal(signum)
    assert proc.wait(timeout=20) == code
    assert time.monotonic() - start < 10


def test_kustomize_errors_never_quote_a_secret_literal(tmp_path: Path, run: RunFn) -> None:
    root = _repo(tmp_path, {"m/kustomization.yaml":
                            "secretGenerator:\n  - name: s\n"
                            "    literals: [\"password=Zq7-SECRETONE\", \"broken\"]\n"})
    code, out, err = run("-C", str(root), "check", "-o", "json")
    assert code == 1
    assert "Zq7-SECRETONE" not in out + err
    assert any(f["rule"] == "kustomize-build" and "invalid literal source" in f["message"]
               for f in json.loads(out)["findings"])


def test_a_cache_entry_of_the_wrong_shape_is_a_miss(tmp_path: Path, run: RunFn) -> None:
    import sqlite3

    root = _repo(tmp_path, {"m/kustomization.yaml": "resources: [cm.yaml]\n"})
    code, first, _ = run("-C", str(root), "check", "-o", "json")
    db = Path(os.environ["GITPLANE_CACHE_DIR"]) / "cache.sqlite3"
    with sqlite3.connect(db) as conn:
        changed = conn.execute("UPDATE entries SET value = ? WHERE kind = 'renders'",
                               (json.dumps({"resources": [{"obj": "x"}, 3]}),)).rowcount
    assert changed > 0
    code, again, err = run("-C", str(root), "check", "-o", "json")
    assert code in (0, 1) and "internal error" not in err
    assert json.loads(again)["summary"] == json.loads(first)["summary"]


def test_edits_keep_encoding_and_line_ends(platform: Path, run: RunFn) -> None:
    apps = platform / "deployments/bootstrap/platform-apps/base/apps.yaml"
    crlf = apps.read_text().replace("\n", "\r\n")
    apps.write_bytes(crlf.encode())
    code, _, err = run("-C", str(platform), "new", "app", "vault", "--domain", "infrastructure")
    assert code == 0, err
    after = apps.read_bytes().decode()
    assert after.count("\r\n") == after.count("\n")  # still CRLF everywhere
    assert len(after.splitlines()) == len(crlf.splitlines()) + 1  # one line added
    base = platform / "deployments/domains/applications/apps/web-app/base/kustomization.yaml"
    base.write_bytes(base.read_text().encode("utf-16"))
    code, _, err = run("-C", str(platform), "new", "component", "cache", "--app", "web-app",
                       "--domain", "applications")
    assert code == 0, err
    assert base.read_bytes().startswith((b"\xff\xfe", b"\xfe\xff"))
    assert "- cache" in base.read_bytes().decode("utf-16")
    cert = platform / "deployments/environments/staging/ca.der"
    cert.write_bytes(b"\x30\x82\xff\xfe\x00binary")
    code, _, err = run("-C", str(platform), "new", "env", "qa")
    assert code == 0, err
    assert (platform / "deployments/environments/qa/ca.der").read_bytes() == cert.read_bytes()


def test_secret_env_file_values_are_known_to_the_walk(tmp_path: Path) -> None:
    """Values of secretGenerator literals and env files are collected by the kustomization
    walk, so no problem built from kustomize's stderr can quote them."""
    from gitplane.render.kustomize import Graph
    from gitplane.repo import Repository

    root = _repo(tmp_path, {"m/kustomization.yaml": "secretGenerator:\n  - name: s\n"
                                                    "    envs: [s.env]\n"
                                                    "    literals: [token=Zq7-LITERAL]\n",
                            "m/s.env": "# comment=ignored\npassword=Zq7-ENVSECRET\n"})
    graph = Graph(Repository.find(root, layout=False))
    graph.walk(root / "m")
    assert {"Zq7-ENVSECRET", "Zq7-LITERAL"} <= graph.secrets
    assert "ignored" not in graph.secrets


def test_hostile_patterns_are_bounded_or_findings(tmp_path: Path, run: RunFn) -> None:
    """Globs and Go regexps are compiled to RE2: brace groups are one alternation, stars never
    backtrack, and a pattern that does not compile is a finding, not a crash."""
    files_gen = ("    - git:\n        repoURL: " + URL + "\n        revision: HEAD\n"
                 "        files: [{path: 'cfg/[z-a'}]\n")
    many_stars = ("    - git:\n        repoURL: " + URL + "\n        revision: HEAD\n"
                  "        files: [{path: '" + "*" * 12 + "x.json'}]\n")
    braces = "{a,b}" * 24
    app = APP.replace("    path: m\n", f"    path: m\n    directory: {{include: '{braces}'}}\n")
    root = _repo(tmp_path, {"boot/web.yaml": app, "boot/set.yaml": _appset(files_gen),
                            "boot/set2.yaml": _appset(many_stars).replace("name: s\n",
                                                                          "name: s2\n"),
                            "cfg/" + "a" * 200 + ".json": "{}",
                            "boot/re.yaml": _appset(
                                "    - list: {elements: [{name: x}]}\n",
                                "'{{ regexReplaceAll \"(?<n>x+)\" .name \"y-${n}\" }}'", True)
                            .replace("name: s\n", "name: s3\n")})
    code, out, err = run("-C", str(root), "check", "-o", "json")
    assert code == 1, err
    findings = json.loads(out)["findings"]
    assert any(f["rule"] == "argocd-generator" and "never closed" in f["message"]
               for f in findings), findings
    assert not any("s2" in f["message"] and f["severity"] == "error" for f in findings)
    code, out, err = run("-C", str(root), "apps", "-o", "json")
    names = {a["name"] for a in json.loads(out)}
    assert "y-x" in names and "web" in names, names


def test_the_user_raises_a_limit_and_the_repository_cannot(
        tmp_path: Path, run: RunFn, monkeypatch: pytest.MonkeyPatch) -> None:
    elements = ", ".join(f"{{name: '{i}'}}" for i in range(30))
    root = _repo(tmp_path, {"boot/set.yaml": _appset(f"    - list: {{elements: [{elements}]}}\n")})
    monkeypatch.setenv("GITPLANE_MAX_APPLICATIONS", "20")
    code, out, _ = run("-C", str(root), "check", "-o", "json")
    assert code == 1
    assert any("GITPLANE_MAX_APPLICATIONS" in f["message"]
               for f in json.loads(out)["findings"] if f["rule"] == "argocd-generator")
    monkeypatch.setenv("GITPLANE_MAX_APPLICATIONS", "20_000")
    code, out, _ = run("-C", str(root), "apps", "-o", "json")
    assert code == 0 and len(json.loads(out)) == 31
    for bad in ("lots", "0", "-5", "1e9", "99999999999"):
        monkeypatch.setenv("GITPLANE_MAX_APPLICATIONS", bad)
        code, _, err = run("-C", str(root), "apps")
        assert code == 2 and "GITPLANE_MAX_APPLICATIONS" in err and "Traceback" not in err
    monkeypatch.delenv("GITPLANE_MAX_APPLICATIONS")
    # a repository's own config has no say over the limits
    write(root / "gitplane.yaml", "limits: {applications: 1000000}\n")
    code, _, err = run("-C", str(root), "apps")
    assert code == 2 and "limits" in err


_LIMITED = ("import resource, signal, sys\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]),) * 2)\n"
            "from gitplane.cli import main\nsys.exit(main(sys.argv[2:]))\n")


def _files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and ".git/" not in p.as_posix()}


def _gitplane_limited(size: int, *args: str) -> tuple[int, str]:
    """gitplane in a process whose files cannot grow past ``size`` bytes: every write of a
    larger file fails with EFBIG, as on a full disk (root ignores read-only folders)."""
    import subprocess
    import sys

    env = {**os.environ, "GITPLANE_NO_CACHE": "1"}
    res = subprocess.run([sys.executable, "-c", _LIMITED, str(size), *args],
                         capture_output=True, text=True, env=env, timeout=300)
    return res.returncode, res.stderr


def test_a_failed_write_leaves_nothing_behind(platform: Path, tmp_path: Path) -> None:
    """init, new and render -o stage every file, then move them into place: a write that
    fails (a full disk) is exit 2 naming the path and the reason, and nothing is left."""
    target = tmp_path / "fresh"
    code, err = _gitplane_limited(1000, "init", str(target))
    assert code == 2 and "File too large" in err and "nothing was written" in err, err
    assert not target.exists() or not any(target.rglob("*")), list(target.rglob("*"))

    before = _files_under(platform)
    # files staged before the one that fails are removed again
    code, err = _gitplane_limited(900, "-C", str(platform), "new", "app", "metrics",
                                  "--domain", "applications")
    assert code == 2 and "deployment.yaml" in err and "File too large" in err, err
    assert _files_under(platform) == before  # no new file, no temp file, no new folder
    # the edit of the infrastructure list is part of the same transaction as the new files
    code, err = _gitplane_limited(1000, "-C", str(platform), "new", "app", "metrics",
                                  "--domain", "infrastructure")
    assert code == 2 and "File too large" in err, err
    assert _files_under(platform) == before  # apps.yaml not edited, no new file

    out = tmp_path / "rendered"
    code, err = _gitplane_limited(900, "-C", str(platform), "render", "-o", str(out))
    assert code == 2 and "File too large" in err, err
    assert not out.exists() or not any(out.rglob("*")), list(out.rglob("*"))


def test_credentials_in_the_cluster_inventory_are_found_and_never_shown(
        tmp_path: Path, run: RunFn) -> None:
    config = '{"bearerToken": "Zq7-TOKEN-bearer", "tlsClientConfig": {"insecure": false}}'
    root = _repo(tmp_path, {
        "gitplane.yaml": "clusters: clusters.yaml\n",
        "clusters.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: prod\n  labels: "
                         "{argocd.argoproj.io/secret-type: cluster}\n"
                         f"stringData:\n  name: prod\n  server: https://prod\n"
                         f"  config: '{config}'\n---\n"
                         "apiVersion: v1\nkind: Secret\nmetadata:\n  name: vault\n  labels: "
                         "{argocd.argoproj.io/secret-type: cluster}\n"
                         "stringData:\n  name: vault\n  server: https://vault\n"
                         "  config: '{\"bearerToken\": \"<path:kv/data/k8s#token>\"}'\n"})
    code, out, err = run("-C", str(root), "check", "-o", "json")
    assert code == 1 and "Zq7-TOKEN" not in out + err
    found = [f for f in json.loads(out)["findings"] if f["rule"] == "plaintext-secret"]
    assert [(f["file"], f["line"], f["resource"]) for f in found] == [
        ("clusters.yaml", 1, "/v1/Secret/prod")], found
    assert "bearerToken" in found[0]["message"]
