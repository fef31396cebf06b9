"""Charts of Helm repositories in gitplane's cache: resolved, fetched only with the network
allowed, verified, unpacked.

A chart is fetched only when the user allows the network (``--allow-network`` or
``allowNetwork: true``), by ``gitplane charts pull``, through the Helm engine's own client in
a separate process (``render/helm_worker.py``). Its archive is checked against the digest
the repository's index gives, then unpacked (regular files and folders only, sizes bounded)
into the cache under a key of repository, chart and version, with the digest recorded; later
runs, and CI runs that restore the cache, find it offline. ``targetRevision`` may be a
version or a range, resolved as Argo CD resolves it: the highest version of the index that
satisfies the constraint (``1.2.3``, ``*``, ``1.2.x``, ``~1.2``, ``^1.2``, ``>=1.0 <2.0``,
``||``); a range is resolved again only when the network is allowed, else from the last
index seen. Charts of OCI registries (``oci://host/path`` or Argo CD's ``host/path``) are
pulled by exact version (a tag) through Helm's registry client; plain HTTP only when the
user says so (``GITPLANE_HELM_PLAIN_HTTP=1``). Credentials of a private repository come from the user's environment
(``GITPLANE_HELM_USERNAME``, ``GITPLANE_HELM_PASSWORD``), never from the repository, and
never appear in output.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitplane import cache, limits, proc
from gitplane.errors import GitplaneError

WORKER = Path(__file__).with_name("helm_worker.py")
META = ".gitplane-chart.json"
SEMVER = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


@dataclass(frozen=True)
class Cached:
    """A chart in the cache: its folder (the unpacked chart), version and digest."""

    folder: Path
    version: str
    digest: str


def is_oci(repo_url: str) -> bool:
    """An OCI registry: ``oci://host/path``, or (as Argo CD writes Helm OCI repositories) a
    ``host/path`` without a scheme."""
    return repo_url.startswith("oci://") or not re.match(r"^[a-z][a-z0-9+.-]*://", repo_url)


def _normal(repo_url: str) -> str:
    url = repo_url.rstrip("/")
    return f"oci://{url}" if is_oci(url) and not url.startswith("oci://") else url


def root() -> Path:
    return cache.folder() / "charts"


def _entry(repo_url: str, chart: str, version: str) -> Path:
    key = hashlib.sha256(f"{_normal(repo_url)}\0{chart}\0{version}".encode()).hexdigest()
    return root() / key[:40]


def _index_file(repo_url: str, chart: str) -> Path:
    key = hashlib.sha256(f"{_normal(repo_url)}\0{chart}".encode()).hexdigest()
    return root() / "index" / f"{key[:40]}.json"


# -- versions, as Argo CD resolves them (Masterminds semver constraints) -----------------
def parse(version: str) -> tuple[int, int, int, str] | None:
    m = SEMVER.match(version.strip())
    if not m:
        return None
    return int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0), m.group(4) or ""


def _key(v: tuple[int, int, int, str]) -> tuple[int, int, int, int, str]:
    return v[0], v[1], v[2], 0 if v[3] else 1, v[3]


def is_exact(spec: str) -> bool:
    m = SEMVER.match(spec.strip())
    return m is not None and m.group(3) is not None


def _term(term: str, v: tuple[int, int, int, str]) -> bool:
    term = term.strip()
    if term in ("", "*", "x", "X"):
        return True
    op = re.match(r"^(>=|<=|!=|=|>|<|~|\^)?\s*(.+)$", term)
    assert op is not None
    kind, rest = op.group(1) or "", op.group(2).replace("X", "x").replace("*", "x")
    parts = rest.lstrip("v").split("-")[0].split(".")
    wild = len(parts) < 3 or "x" in parts
    base = parse(rest.replace(".x", ".0").replace("x", "0"))
    if base is None:
        return False
    major, minor = base[0], base[1]
    if kind == "^":
        upper = (major + 1, 0, 0) if major else ((0, minor + 1, 0) if minor or len(parts) > 1
                                                  else (1, 0, 0))
        return _key(base) <= _key(v) and v[:3] < upper
    if kind == "~":
        upper = (major, minor + 1, 0) if len(parts) > 1 else (major + 1, 0, 0)
        return _key(base) <= _key(v) and v[:3] < upper
    if wild and kind in ("", "="):
        fixed = [int(p) for p in parts if p != "x"]
        return list(v[:len(fixed)]) == fixed
    order = (_key(v) > _key(base)) - (_key(v) < _key(base))
    return {"": order == 0, "=": order == 0, "!=": order != 0, ">": order > 0,
            ">=": order >= 0, "<": order < 0, "<=": order <= 0}[kind]


def satisfies(spec: str, version: str) -> bool:
    v = parse(version)
    if v is None:
        return False
    for alternative in spec.split("||"):
        terms = [t for t in re.split(r"[,\s]+", _joined(alternative)) if t]
        if v[3] and not any("-" in t for t in terms):
            continue  # a pre-release only when the constraint names one
        if all(_term(t, v) for t in terms):
            return True
    return False


def _joined(text: str) -> str:
    """``>= 1.0`` as ``>=1.0`` so that spaces separate terms only."""
    return re.sub(r"(>=|<=|!=|=|>|<|~|\^)\s+", r"\1", text.strip())


def resolve(spec: str, versions: list[str]) -> str | None:
    """The highest version of ``versions`` satisfying ``spec`` (Argo CD's choice)."""
    ok = [(_key(p), v) for v in versions if (p := parse(v)) and satisfies(spec, v)]
    return max(ok)[1] if ok else None


# -- the cache ----------------------------------------------------------------------------
def known_versions(repo_url: str, chart: str) -> list[str] | None:
    """The versions of ``chart`` in the last index of ``repo_url`` gitplane cached, or
    None when it has none (nothing is fetched)."""
    try:
        known = json.loads(_index_file(repo_url, chart).read_text())
    except (OSError, ValueError):
        return None
    return [str(e.get("version")) for e in known if isinstance(e, dict) and e.get("version")]


def cached(repo_url: str, chart: str, spec: str) -> Cached | None:
    """The cached chart ``spec`` names (a range through the last index seen), or None."""
    version = spec.strip() if is_exact(spec) else None
    if version is None:
        try:
            known = json.loads(_index_file(repo_url, chart).read_text())
        except (OSError, ValueError):
            return None
        version = resolve(spec, [str(e.get("version")) for e in known if isinstance(e, dict)])
        if version is None:
            return None
    entry = _entry(repo_url, chart, version)
    try:
        meta = json.loads((entry / META).read_text())
    except (OSError, ValueError):
        return None
    folder = entry / f"{chart}-{version}"
    return Cached(folder, version, str(meta.get("digest", ""))) if folder.is_dir() else None


def _worker(request: dict[str, Any], timeout: float, memory: int) -> dict[str, Any]:
    auth = {"username": os.environ.get("GITPLANE_HELM_USERNAME", ""),
            "password": os.environ.get("GITPLANE_HELM_PASSWORD", "")}
    scratch = Path(tempfile.mkdtemp(prefix="gitplane-charts-"))
    try:
        res = proc.run([sys.executable, "-I", str(WORKER)], cwd=scratch, timeout=timeout,
                       memory=memory, env={"HOME": str(scratch), "TMPDIR": str(scratch)},
                       stdin=json.dumps({**request, **auth}).encode())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    try:
        answer = json.loads(res.stdout or b"{}")
    except ValueError:
        answer = {}
    if not isinstance(answer, dict) or not answer:
        raise GitplaneError(f"fetching failed: {res.stderr.strip()[-300:] or 'no answer'}")
    if "error" in answer:
        message = str(answer.get("message") or "failed")
        for secret in auth.values():
            if secret:
                message = message.replace(secret, "********")
        raise GitplaneError(message)
    return answer


def pull(repo_url: str, chart: str, spec: str, timeout: float = 120.0,
         memory: int = 2 * 1024 ** 3) -> Cached:
    """Fetch ``chart`` at the version ``spec`` resolves to into the cache (network);
    a GitplaneError saying why when it cannot."""
    if is_oci(repo_url):
        return _pull_oci(repo_url, chart, spec, timeout, memory)
    if not re.match(r"^https?://", repo_url):
        raise GitplaneError(f"{repo_url}: not an HTTP(S) chart repository")
    root().mkdir(parents=True, exist_ok=True)
    entries = _worker({"op": "versions", "repo": repo_url, "chart": chart}, timeout,
                      memory)["versions"]
    index = _index_file(repo_url, chart)
    index.parent.mkdir(parents=True, exist_ok=True)
    index.write_text(json.dumps(entries, sort_keys=True))
    version = resolve(spec, [e["version"] for e in entries])
    if version is None:
        raise GitplaneError(f"{repo_url}: no version of chart '{chart}' satisfies '{spec}'")
    have = cached(repo_url, chart, version)
    if have is not None:
        return have
    digest = next((e["digest"] for e in entries if e["version"] == version), "")
    return _fetch(repo_url, chart, version, digest,
                  {"op": "pull", "repo": repo_url, "chart": chart, "version": version},
                  timeout, memory)


def _pull_oci(repo_url: str, chart: str, spec: str, timeout: float, memory: int) -> Cached:
    """A chart of an OCI registry: an exact version (a tag), pulled through Helm's registry
    client; its layers are checked by their digests as they arrive (content addressing)."""
    if not is_exact(spec):
        raise GitplaneError(f"{repo_url}: chart '{chart}' '{spec}': version ranges of OCI "
                            "charts are not resolved by gitplane (Argo CD lists the registry's "
                            "tags); pin a version")
    have = cached(repo_url, chart, spec)
    if have is not None:
        return have
    root().mkdir(parents=True, exist_ok=True)
    ref = f"{_normal(repo_url)}/{chart}"
    plain = os.environ.get("GITPLANE_HELM_PLAIN_HTTP", "") in ("1", "true", "yes")
    return _fetch(repo_url, chart, spec.strip(), "",
                  {"op": "pull", "oci": ref, "version": spec.strip(), "plainHttp": plain},
                  timeout, memory)


def _fetch(repo_url: str, chart: str, version: str, digest: str, request: dict[str, Any],
           timeout: float, memory: int) -> Cached:
    """Download one chart archive with the worker, check it, unpack it into the cache."""
    entry = _entry(repo_url, chart, version)
    download = Path(tempfile.mkdtemp(prefix="gitplane-pull-", dir=root()))
    try:
        _worker({**request, "into": str(download)}, timeout, memory)
        archives = sorted(download.glob("*.tgz"))
        if len(archives) != 1:
            raise GitplaneError(f"{repo_url}: chart '{chart}' {version}: no archive received")
        data = archives[0].read_bytes()
        got = hashlib.sha256(data).hexdigest()
        if digest and got != digest:
            raise GitplaneError(f"{repo_url}: chart '{chart}' {version}: digest {got[:12]} "
                                f"does not match the index's {digest[:12]}; refused")
        staged = download / "unpacked"
        _unpack(archives[0], staged)
        folders = [p for p in staged.iterdir() if p.is_dir()]
        if len(folders) != 1 or not (folders[0] / "Chart.yaml").is_file():
            raise GitplaneError(f"{repo_url}: chart '{chart}' {version}: not a chart archive")
        shutil.rmtree(entry, ignore_errors=True)
        entry.mkdir(parents=True)
        folders[0].rename(entry / f"{chart}-{version}")
        (entry / META).write_text(json.dumps({"repo": _normal(repo_url), "chart": chart,
                                              "version": version, "digest": got},
                                             sort_keys=True))
    finally:
        shutil.rmtree(download, ignore_errors=True)
    return Cached(entry / f"{chart}-{version}", version, got)


def _unpack(archive: Path, into: Path) -> None:
    """Regular files and folders of a chart archive, inside ``into``, within the limits."""
    most = 64 * limits.current().file_bytes
    total = 0
    into.mkdir(parents=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = []
            for m in tar.getmembers():
                if not (m.isfile() or m.isdir()):
                    continue  # links and devices are never unpacked
                if m.name.startswith("/") or ".." in m.name.split("/"):
                    raise GitplaneError(f"{archive.name}: member '{m.name}' leaves the "
                                        "chart; refused")
                total += m.size
                if total > most:
                    raise GitplaneError(f"{archive.name}: over {most} bytes unpacked; refused")
                members.append(m)
            if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
                tar.extractall(into, members=members, filter="data")
            else:
                tar.extractall(into, members=members)
    except (tarfile.TarError, OSError) as exc:
        raise GitplaneError(f"{archive.name}: cannot unpack: {exc}") from None
