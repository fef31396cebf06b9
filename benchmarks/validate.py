"""Benchmark: in-process validation throughput of `gitplane check` on at least 10,000 objects.

    python benchmarks/validate.py [--objects N] [--output RESULTS.md]

Renders the reference platform once, then builds an in-memory platform of N rendered objects
(the reference platform's objects, copied under unique names across synthetic Applications)
and times every rule over it: schemas with validators built once, policies,
cross-references, quotas. Baseline, measured in the same run: the same objects validated
one by one with ``kubernetes_validate.validate`` (on a sample, extrapolated), the way a
script would call the library. Reports objects per second and the ratio, and appends a table
to ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import contextlib

import argparse
import copy
import os
import platform as py_platform
import sys
import tempfile
import time
from pathlib import Path

from gitplane import api, checks
from gitplane.platform import AppResult, EnvResult, Platform
from gitplane.model import Application, Environment, Origin, Resource, Source
from gitplane.scaffold.init import init

HERE = Path(__file__).resolve().parent


def synthetic(base: Platform, objects: int) -> Platform:
    """``base``'s rendered objects copied under unique names until there are ``objects``."""
    seeds = [r for er in base.envs for ar in er.apps for r in ar.resources
             if r.kind not in ("CustomResourceDefinition",)]
    env = EnvResult(Environment("bench", []))
    count, n = 0, 0
    while count < objects:
        n += 1
        app = Application(name=f"app-{n:05d}", namespace="argocd", project="default",
                          sources=[Source(repo_url="https://example.com/r.git", path="x")],
                          destination={"server": "https://kubernetes.default.svc",
                                       "namespace": f"ns-{n}"},
                          origin=Origin("bench.yaml", 1), environment="bench",
                          kinds=["kustomize"])
        ar = AppResult(app, rendered=True)
        for r in seeds:
            obj = copy.deepcopy(r.obj)
            meta = obj.setdefault("metadata", {})
            meta["name"] = f"{meta.get('name', 'x')}-{n}"
            if meta.get("namespace"):
                meta["namespace"] = f"{meta['namespace']}-{n}"
            ar.resources.append(Resource(obj, r.file, r.line))
            count += 1
        env.apps.append(ar)
    return Platform(base.repo, [env], base.engine_version)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "platform"
        init(root)
        base = api.load(root)
        plat = synthetic(base, args.objects)
        objs = sum(len(ar.resources) for er in plat.envs for ar in er.apps)
        t = time.perf_counter()
        result = checks.run(plat)
        ours = time.perf_counter() - t
    import kubernetes_validate

    sample = [r.obj for er in plat.envs for ar in er.apps for r in ar.resources][:300]
    t = time.perf_counter()
    for obj in sample:
        # unknown kinds and invalid objects count as done
        with contextlib.suppress(Exception):  # noqa: BLE001
            kubernetes_validate.validate(obj, "1.37", strict=True)
    per_object = (time.perf_counter() - t) / len(sample)
    baseline = per_object * objs
    cmd = f"python benchmarks/validate.py --objects {args.objects}"
    lines = [
        f"## Validation throughput, {objs} objects ({len(result.findings)} findings)",
        "",
        f"Machine: {py_platform.machine()}, {os.cpu_count()} cores, Python "
        f"{py_platform.python_version()}. Command: `{cmd}`. Date: {time.strftime('%Y-%m-%d')}.",
        "",
        "| measurement | seconds | objects/s | × baseline |",
        "|---|---:|---:|---:|",
        f"| baseline: kubernetes_validate.validate per object (schema only; {len(sample)}-object "
        f"sample, extrapolated) | {baseline:.2f} | {objs / baseline:.0f} | 1.00 |",
        f"| gitplane: every rule (schemas, policies, cross-references, quotas) | {ours:.2f} | "
        f"{objs / ours:.0f} | {ours / baseline:.3f} |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    with args.output.open("a") as fh:
        fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
