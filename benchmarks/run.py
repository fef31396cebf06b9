"""Benchmark: gitplane against the kustomize engine run once per overlay, in the same run.

    python benchmarks/run.py [--apps N] [--envs M] [--workers W] [--output RESULTS.md]

Generates a synthetic platform in the seed's layout (the reference platform with N extra
apps in the applications domain and M environments), then measures on that platform:

The platform has the shape of real ones: the apps are spread over the three domains, each
found by its domain's ApplicationSet (git directories generators for applications and
workloads, a list generator for infrastructure, whose apps are folders of components).

* baseline: ``kubectl kustomize`` once per overlay (every app overlay and platform-config of
  every environment, plus the bootstrap overlays), W workers (default 2);
* ``gitplane check --format json``, cold (an empty render cache, as on a new CI runner):
  discovery, ApplicationSet expansion, every render and every check;
* the same ``check`` warm (nothing changed since: every render comes from the cache), and
  again after one app's base changed (its overlays render again, nothing else);
* ``gitplane diff HEAD`` after changing one app's base (the committed revision against the
  working tree), with the cache the checks left (a developer's loop), and on an empty cache
  (a new CI runner): only renders that read a changed file or hold Argo CD objects run.

With ``--charts N`` (default 20) a second platform of N local Helm chart Applications is
measured too: the baseline is Helm's engine (helm-python-sdk) rendering each chart once in
one process, against ``gitplane check`` with an empty and with a warm cache.

Wall time and peak memory (maximum resident set of the measured process tree's largest
process) are reported, with the ratio against the baseline, as a Markdown table appended to
``benchmarks/RESULTS.md`` with the machine and the command.
"""
from __future__ import annotations

import argparse
import json
import os
import platform as py_platform
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sysconfig.get_path("scripts"))


def generate(root: Path, apps: int, envs: int) -> list[Path]:
    """The reference platform plus ``apps`` apps; returns every overlay folder."""
    env_names = ["staging", "production"] + [f"env{i}" for i in range(3, envs + 1)]
    env_names = env_names[:envs]
    args = [str(BIN / "gitplane"), "init", str(root)]
    for e in env_names:
        args += ["--env", e]
    subprocess.run(args, check=True, capture_output=True)
    # The shape of real platforms: apps spread over the three domains, each found by its
    # domain's ApplicationSet (git directories for applications and workloads, a list
    # generator for infrastructure, whose apps are folders of components).
    domains = root / "deployments/domains"
    templates = [("applications", "web-app"), ("workloads", "ml-pipeline"),
                 ("infrastructure", "security")]
    registered = []
    for i in range(apps):
        domain, model = templates[i % len(templates)]
        name = f"{domain[:5]}-{i:04d}"
        dest = domains / domain / "apps" / name
        shutil.copytree((domains / domain / "apps" / model).resolve(), dest)
        for f in dest.rglob("*.yaml"):
            text = f.read_text().replace(f"name: {model}", f"name: {name}").replace(model, name)
            if domain != "applications":  # its objects get names of their own, as real
                # components have (copies of one name could never share an engine run, nor
                # one cluster: Applications of one name are one Application)
                text = re.sub(r"(?m)^(metadata:\n  name: )(\S+)$", rf"\g<1>\g<2>-{i:04d}", text)
            f.write_text(text)
        if domain == "infrastructure":
            registered.append(name)
    listing = root / "deployments/bootstrap/platform-apps/base/apps.yaml"
    listing.write_text(listing.read_text().replace(
        "        elements:\n", "        elements:\n" +
        "".join(f"          - name: {n}\n" for n in registered), 1))
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "synthetic platform"], cwd=root, check=True, env=env)
    return sorted(p for p in root.glob("deployments/domains/*/apps/*/environments/*")) + \
        sorted(root.glob("deployments/environments/*/platform-config")) + \
        sorted(root.glob("deployments/bootstrap/*/environments/*"))


def measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, bytes]:
    """(seconds, peak MiB, stdout) of ``cmd`` run in a fresh child that reports its rusage."""
    probe = ("import resource, subprocess, sys, time, json\n"
             "t = time.perf_counter()\n"
             "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, "
             "stderr=subprocess.DEVNULL)\n"
             "t = time.perf_counter() - t\n"
             "sys.stderr.write(json.dumps([t, resource.getrusage("
             "resource.RUSAGE_CHILDREN).ru_maxrss]))\n"
             "sys.stdout.buffer.write(p.stdout)\n")
    res = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True,
                         env={**os.environ, "CI": "1", **(env or {})})
    seconds, kib = json.loads(res.stderr.decode().strip().splitlines()[-1])
    return seconds, kib / 1024, res.stdout


def baseline(overlays: list[Path], workers: int) -> tuple[float, float]:
    kubectl = str(BIN / "kubectl")
    script = ("import subprocess, sys\n"
              "from concurrent.futures import ThreadPoolExecutor\n"
              f"dirs = sys.argv[1:]\n"
              "def one(d):\n"
              f"    subprocess.run([{kubectl!r}, 'kustomize', d], capture_output=True)\n"
              f"with ThreadPoolExecutor({workers}) as pool:\n"
              "    list(pool.map(one, dirs))\n")
    seconds, mib, _ = measured([sys.executable, "-c", script, *map(str, overlays)])
    return seconds, mib


CHART_TEMPLATE = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n"
                  "spec:\n  replicas: {{ .Values.replicas }}\n  selector: {matchLabels: "
                  "{app: {{ .Release.Name }}}}\n  template:\n    metadata: {labels: {app: "
                  "{{ .Release.Name }}}}\n    spec:\n      containers:\n        - name: web\n"
                  "          image: {{ .Values.image }}\n")


def generate_charts(root: Path, n: int) -> list[Path]:
    """N local charts, each deployed by its own Application (one root folder)."""
    charts = []
    for i in range(n):
        chart = root / "charts" / f"c{i:03d}"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: c{i:03d}\nversion: 0.1.0\n")
        (chart / "values.yaml").write_text("replicas: 1\nimage: nginx:1.27.3\n")
        (chart / "templates/deployment.yaml").write_text(CHART_TEMPLATE)
        (root / "argocd").mkdir(exist_ok=True)
        (root / "argocd" / f"c{i:03d}.yaml").write_text(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: "
            f"c{i:03d}, namespace: argocd}}\nspec:\n  project: default\n  source: "
            f"{{repoURL: https://example.com/c.git, path: charts/c{i:03d}, targetRevision: "
            f"HEAD}}\n  destination: {{server: https://kubernetes.default.svc, namespace: "
            f"c{i:03d}}}\n")
        charts.append(chart)
    (root / "gitplane.yaml").write_text("repoURLs: [https://example.com/c.git]\nroots: [argocd]\n")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "charts"]):
        subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", *args], cwd=root,
                       check=True)
    return charts


def chart_rows(work: Path, n: int) -> list[tuple[str, float, float, float]]:
    root = work / "charts-platform"
    charts = generate_charts(root, n)
    script = ("import sys, helm_python as helm\n"
              "for d in sys.argv[1:]:\n"
              "    with helm.Chart.load(d) as c:\n"
              "        c.render(name='x', namespace='x')\n")
    base_s, base_mib, _ = measured([sys.executable, "-c", script, *map(str, charts)])
    env = {"GITPLANE_CACHE_DIR": str(work / "charts-cache"), "GITPLANE_NO_CACHE": "0"}
    check = [str(BIN / "gitplane"), "-C", str(root), "check", "--format", "json"]
    cold_s, cold_mib, _ = measured(check, env)
    warm_s, warm_mib, _ = measured(check, env)
    return [(f"Helm engine: {n} charts rendered in one process", base_s, base_mib, 1.0),
            (f"gitplane check, {n} chart Applications (cold cache)", cold_s, cold_mib,
             cold_s / base_s),
            (f"gitplane check, {n} chart Applications (warm cache)", warm_s, warm_mib,
             warm_s / base_s)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--apps", type=int, default=100)
    ap.add_argument("--envs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    ap.add_argument("--charts", type=int, default=20)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gitplane-bench-"))
    try:
        root = work / "platform"
        overlays = generate(root, args.apps, args.envs)
        base_s, base_mib = baseline(overlays, args.workers)
        cache_env = {"GITPLANE_CACHE_DIR": str(work / "cache"), "GITPLANE_NO_CACHE": "0"}
        check = [str(BIN / "gitplane"), "-C", str(root), "check", "--format", "json"]
        check_s, check_mib, out = measured(check, cache_env)
        summary = json.loads(out)["summary"]
        warm_s, warm_mib, _ = measured(check, cache_env)
        changed = root / "deployments/domains/applications/apps/appli-0000/base/manifests" \
            / "deployment.yaml"
        changed.write_text(changed.read_text().replace("replicas: 1", "replicas: 2"))
        diff = [str(BIN / "gitplane"), "-C", str(root), "diff", "HEAD", "-o", "json"]
        warm_diff_s, warm_diff_mib, warm_out = measured(diff, cache_env)
        cold_env = {"GITPLANE_CACHE_DIR": str(work / "cold-cache"), "GITPLANE_NO_CACHE": "0"}
        diff_s, diff_mib, diff_out = measured(diff, cold_env)
        diff_changes = len(json.loads(diff_out)["changes"])
        if json.loads(warm_out) != json.loads(diff_out):
            raise SystemExit("diff with a warm cache and with an empty cache disagree")
        edit_s, edit_mib, _ = measured(check, cache_env)
        charts = chart_rows(work, args.charts) if args.charts else []
    finally:
        shutil.rmtree(work, ignore_errors=True)
    objs = summary["resources"]
    rows = [
        ("baseline: kubectl kustomize per overlay", base_s, base_mib, 1.0),
        ("gitplane check (cold cache)", check_s, check_mib, check_s / base_s),
        ("gitplane check (warm cache, nothing changed)", warm_s, warm_mib, warm_s / base_s),
        ("gitplane check (warm cache, one app's base changed)", edit_s, edit_mib,
         edit_s / base_s),
        (f"gitplane diff HEAD after one app's base changed, warm cache ({diff_changes} "
         "changes)", warm_diff_s, warm_diff_mib, warm_diff_s / base_s),
        (f"gitplane diff HEAD after one app's base changed, empty cache ({diff_changes} "
         "changes)", diff_s, diff_mib, diff_s / base_s),
    ]
    cmd = " ".join(["python", "benchmarks/run.py", "--apps", str(args.apps), "--envs",
                    str(args.envs), "--workers", str(args.workers), "--charts",
                    str(args.charts)])
    lines = [
        f"## {args.apps} apps × {args.envs} environments ({len(overlays)} overlays, "
        f"{summary['applications']} Applications, {objs} objects)",
        "",
        f"Machine: {py_platform.machine()}, {os.cpu_count()} cores, "
        f"Python {py_platform.python_version()}, {py_platform.system()} "
        f"{py_platform.release()}. Command: `{cmd}`. Date: {time.strftime('%Y-%m-%d')}.",
        "",
        "| measurement | wall (s) | peak RSS (MiB) | × baseline |",
        "|---|---:|---:|---:|",
        *[f"| {n} | {s:.2f} | {m:.0f} | {r:.2f} |" for n, s, m, r in rows],
        "",
        f"gitplane check: {objs / check_s:.0f} objects/s end to end; "
        f"{summary['errors']} errors, {summary['warnings']} warnings.",
        "",
    ]
    if charts:
        lines += ["| local Helm charts | wall (s) | peak RSS (MiB) | × Helm engine |",
                  "|---|---:|---:|---:|",
                  *[f"| {n} | {s:.2f} | {m:.0f} | {r:.2f} |" for n, s, m, r in charts], ""]
    text = "\n".join(lines)
    print(text)
    if not args.output.exists():
        args.output.write_text("# Benchmark results\n\nAppended by `benchmarks/run.py`; each "
                               "section is one run, baseline measured in the same run.\n\n")
    with args.output.open("a") as fh:
        fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
