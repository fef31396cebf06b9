"""``gitplane bootstrap --env ENV``: Argo CD onto a cluster, then handed over to the root.

The plan is made offline from what the environment renders: Argo CD's CRDs and objects from
the pinned chart (rendered by the Helm engine, in Argo CD's sync order), the ``argocd``
namespace, and the environment's bootstrap root (the self-managing Application, the
AppProjects and the platform's root Application). Its phases: preflight (the context, the API,
permissions, CRD versions never downgraded, the namespace free or already Argo CD's), CRDs,
namespace, Argo CD, repository credentials (from the environment, never written anywhere),
wait (CRDs established, workloads rolled out), hand-over (the root), verify. Every apply is
server-side with the field manager ``gitplane-bootstrap``; each phase done is recorded in the
ConfigMap ``gitplane-bootstrap`` of the namespace, so ``--resume`` continues where a run
stopped. Each step is one kubectl command; ``--dry-run`` prints them with the exact
manifests.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from gitplane.argocd.sync import sync_order
from gitplane.errors import GitplaneError
from gitplane.model import Resource
from gitplane.platform import Platform
from gitplane.yamlio import dump_all

FIELD_MANAGER = "gitplane-bootstrap"
PROGRESS = "gitplane-bootstrap"
PRODUCTION = ("production", "prod")
IN_CLUSTER = "https://kubernetes.default.svc"
PHASES = ("preflight", "crds", "namespace", "argo-cd", "credentials", "wait", "handover",
          "verify")
_SECRET_KEYS = ("password", "sshPrivateKey", "githubAppPrivateKey", "bearerToken")


@dataclass
class Step:
    phase: str
    what: str
    args: list[str]  # kubectl arguments after --context
    manifest: str = ""  # standard input (YAML), "" for none
    secret: bool = False  # the manifest holds values from the environment: never printed

    def to_json(self) -> dict[str, Any]:
        return {"phase": self.phase, "what": self.what, "kubectl": self.args,
                "manifest": "(from the environment, not shown)" if self.secret
                else self.manifest}


@dataclass
class Plan:
    env: str
    context: str
    namespace: str
    steps: list[Step] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def phase(self, name: str) -> list[Step]:
        return [s for s in self.steps if s.phase == name]

    def to_json(self) -> dict[str, Any]:
        return {"environment": self.env, "context": self.context, "namespace": self.namespace,
                "phases": [{"name": p, "steps": [s.to_json() for s in self.phase(p)]}
                           for p in PHASES],
                "blockers": self.blockers, "notes": self.notes}


def _apply(phase: str, what: str, objects: list[dict[str, Any]], secret: bool = False
           ) -> Step:
    return Step(phase, what, ["apply", "--server-side", f"--field-manager={FIELD_MANAGER}",
                              "--force-conflicts", "-f", "-"], dump_all(objects), secret)


def _review(what: str, group: str, resource: str) -> Step:
    """A SelfSubjectAccessReview for creating ``resource`` cluster-wide (``kubectl auth
    can-i``, sent as JSON)."""
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {"verb": "create", "group": group,
                                              "resource": resource}}}
    return Step("preflight", what, ["create", "--raw",
                                    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                                    "-f", "-"], json.dumps(review))


def _in_order(resources: list[Resource]) -> list[dict[str, Any]]:
    """Objects in Argo CD's sync order, each once (a hook of two phases is applied once)."""
    seen: set[int] = set()
    out = []
    for step in sync_order(resources):
        if id(step.resource) not in seen:
            seen.add(id(step.resource))
            out.append(step.resource.obj)
    return out


def _credentials(repo_url: str) -> dict[str, Any] | None:
    """The repository Secret made from GITPLANE_REPO_USERNAME/PASSWORD or
    GITPLANE_REPO_SSH_KEY_FILE, or None when neither is set."""
    user, password = os.environ.get("GITPLANE_REPO_USERNAME"), \
        os.environ.get("GITPLANE_REPO_PASSWORD")
    key_file = os.environ.get("GITPLANE_REPO_SSH_KEY_FILE")
    data: dict[str, str] = {"type": "git", "url": repo_url}
    if key_file:
        try:
            with open(key_file, encoding="utf-8") as f:
                data["sshPrivateKey"] = f.read()
        except OSError as exc:
            raise GitplaneError(f"GITPLANE_REPO_SSH_KEY_FILE: cannot read it "
                                f"({exc.strerror})") from None
    elif password:
        data.update({"username": user or "git", "password": password})
    else:
        return None
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "gitplane-bootstrap-repository", "namespace": "argocd",
                         "labels": {"argocd.argoproj.io/secret-type": "repository"}},
            "stringData": data}


def plan(platform: Platform, env: str, context: str | None, current_context: str | None
         ) -> Plan:
    envs = {er.env.name: er for er in platform.envs}
    if env not in envs:
        raise GitplaneError(f"unknown environment '{env}' (known: {', '.join(sorted(envs))})")
    if context is None:
        if env in PRODUCTION:
            raise GitplaneError(f"bootstrapping {env} needs an explicit --context: the "
                                "current kube context is never assumed for production")
        if not current_context:
            raise GitplaneError("no current kube context: give --context NAME")
        context = current_context
    er = envs[env]
    argo = next((ar for ar in er.apps if any(s.chart == "argo-cd" for s in ar.app.sources)),
                None)
    roots = [r for path in sorted(er.roots) for r in er.roots[path].resources]
    if argo is None:
        raise GitplaneError(f"no Application of {env} installs the argo-cd chart: nothing to "
                            "bootstrap Argo CD from")
    namespace = str(argo.app.destination.get("namespace") or "argocd")
    result = Plan(env, context, namespace)
    if not argo.resources:
        version = next(s.target_revision for s in argo.app.sources if s.chart == "argo-cd")
        result.blockers.append(f"the argo-cd chart {version} is not rendered (not in "
                               "gitplane's cache): run 'gitplane charts pull --env "
                               f"{env} --allow-network' first")
    crds = [r for r in argo.resources if r.kind == "CustomResourceDefinition"]
    rest = [r for r in argo.resources if r.kind != "CustomResourceDefinition"]
    # the context must be the environment's cluster where its inventory says which
    servers = sorted({str((c.get("data") or {}).get("server") or "").rstrip("/")
                      for c in er.clusters if isinstance(c, dict)} - {"", IN_CLUSTER})
    if servers:
        result.steps.append(Step("preflight", "the context is the environment's cluster ("
                                 + ", ".join(servers) + ")",
                                 ["config", "view", "--minify", "-o",
                                  "jsonpath={.clusters[0].cluster.server}"]))
    else:
        result.notes.append(f"the inventory of {env} names no cluster by its address (Argo "
                            "CD runs in the cluster it manages): the context's cluster is "
                            "taken as given")
    # preflight: read only (raw API paths and access reviews: nothing needs discovery)
    result.steps += [
        Step("preflight", "the API server answers", ["get", "--raw", "/version"]),
        _review("the context may create CRDs", "apiextensions.k8s.io",
                "customresourcedefinitions"),
        _review("the context may create what Argo CD needs cluster-wide",
                "rbac.authorization.k8s.io", "clusterroles"),
        Step("preflight", f"the namespace {namespace} is free or already Argo CD's",
             ["get", "--raw", f"/api/v1/namespaces/{namespace}"]),
        Step("preflight", "progress of an earlier run",
             ["get", "--raw", f"/api/v1/namespaces/{namespace}/configmaps/{PROGRESS}"]),
    ]
    result.steps += [Step("preflight", f"{c.name}: never downgraded",
                          ["get", "--raw", "/apis/apiextensions.k8s.io/v1/"
                           f"customresourcedefinitions/{c.name}"]) for c in crds]
    if crds:
        result.steps.append(_apply("crds", f"{len(crds)} CRDs of Argo CD",
                                   _in_order(crds)))
    ns_objs = [r.obj for r in roots if r.kind == "Namespace" and r.name == namespace] or \
        [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}]
    result.steps.append(_apply("namespace", f"namespace {namespace}", ns_objs))
    if rest:
        result.steps.append(_apply("argo-cd", f"Argo CD: {len(rest)} objects of the chart",
                                   _in_order(rest)))
    repo_url = next((str((r.obj.get("spec") or {}).get("source", {}).get("repoURL", ""))
                     for r in roots if r.kind == "Application"), "")
    sealed = [r for r in roots if r.kind == "SealedSecret"]
    creds = _credentials(repo_url) if repo_url else None
    if creds is not None:
        result.steps.append(_apply("credentials", f"repository credentials for {repo_url} "
                                   "(from the environment)", [creds], secret=True))
    elif sealed:
        result.notes.append("repository credentials: the root holds SealedSecrets; they are "
                            "applied with it once the controller runs")
    else:
        result.notes.append("repository credentials: none given (GITPLANE_REPO_USERNAME and "
                            "GITPLANE_REPO_PASSWORD, or GITPLANE_REPO_SSH_KEY_FILE); fine for "
                            "a public repository")
    result.steps += [Step("wait", f"{c.name} established",
                          ["wait", "--for=condition=Established", "--timeout=120s",
                           f"customresourcedefinition/{c.name}"]) for c in crds]
    for r in rest:
        if r.kind in ("Deployment", "StatefulSet"):
            result.steps.append(Step("wait", f"{r.kind} {r.name} rolled out",
                                     ["-n", r.namespace or namespace, "rollout", "status",
                                      f"{r.kind.lower()}/{r.name}", "--timeout=300s"]))
    handover = [r for r in roots if not (r.kind == "Namespace" and r.name == namespace)]
    if not handover:
        result.blockers.append(f"the root of {env} renders nothing to hand over to")
    else:
        result.steps.append(_apply("handover", "the root: " + ", ".join(
            f"{r.kind}/{r.name}" for r in handover[:8]) +
            (f" and {len(handover) - 8} more" if len(handover) > 8 else ""),
            _in_order(handover)))
    self_app = next((r.name for r in handover if r.kind == "Application" and
                     r.name != argo.app.name), None)
    if self_app:
        result.steps.append(Step("verify", f"Application {self_app} is Synced",
                                 ["-n", namespace, "wait", "--for=jsonpath={.status.sync."
                                  "status}=Synced", "--timeout=600s",
                                  f"applications.argoproj.io/{self_app}"]))
    for s in result.steps:
        s.args = ["--context", context, *s.args]
    return result


def progress_manifest(plan_: Plan, phase: str, commit: str) -> str:
    return dump_all([{"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": PROGRESS, "namespace": plan_.namespace},
                      "data": {"environment": plan_.env, "phase": phase, "commit": commit}}])


def done_phases(answer: str) -> list[str]:
    """The phases an earlier run finished, from its ConfigMap (kubectl's JSON)."""
    if not answer.strip():
        return []
    data = json.loads(answer).get("data") or {}
    last = data.get("phase")
    return list(PHASES[:PHASES.index(last) + 1]) if last in PHASES else []


__all__ = ["plan", "Plan", "Step", "PHASES", "FIELD_MANAGER", "progress_manifest",
           "done_phases"]


def run(plan_: Plan, kubectl: list[str], resume: bool, platform: Platform,
        say: Any) -> Plan:
    """The plan's phases through kubectl: preflight refuses what must not go on; each phase
    after it is recorded in the progress ConfigMap; ``resume`` skips the phases recorded."""
    from gitplane import proc

    env = {k: v for k, v in os.environ.items() if k in ("HOME", "PATH", "KUBECONFIG")}

    def kube(step: Step, absent_ok: bool = False) -> str:
        res = proc.run([*kubectl, *step.args], timeout=900, env=env,
                       stdin=step.manifest.encode() if step.manifest else None)
        out = res.stdout.decode("utf-8", "replace")
        if res.returncode != 0:
            if absent_ok and "NotFound" in res.stderr:
                return ""
            raise GitplaneError(f"{step.phase}: {step.what}: kubectl failed: "
                                f"{res.stderr.strip()[:400]}")
        return out

    done: list[str] = []
    for step in plan_.phase("preflight"):
        say(f"preflight: {step.what}")
        if "selfsubjectaccessreviews" in " ".join(step.args):
            answer = json.loads(kube(step) or "{}")
            if not (answer.get("status") or {}).get("allowed"):
                raise GitplaneError(f"preflight: {step.what}: no; nothing applied")
            continue
        out = kube(step, absent_ok=step.args[2:4] == ["get", "--raw"] and
                   step.what != "the API server answers")
        if step.args[2:4] == ["config", "view"]:
            wanted = step.what.split("(", 1)[1].rstrip(")").split(", ")
            if out.strip().rstrip("/") not in wanted:
                raise GitplaneError(f"preflight: context {plan_.context} points at "
                                    f"{out.strip() or 'no server'}, not {plan_.env}'s cluster "
                                    f"({', '.join(wanted)}); nothing applied")
            continue
        if step.what == "progress of an earlier run":
            done = done_phases(out)
            if done and not resume:
                raise GitplaneError(f"an earlier run stopped after '{done[-1]}': --resume "
                                    "continues it; nothing applied")
        elif "namespace" in step.what and out.strip():
            meta = json.loads(out).get("metadata") or {}
            managers = {m.get("manager") for m in meta.get("managedFields") or []}
            ours = FIELD_MANAGER in managers or any(
                k.startswith("argocd.argoproj.io/") for k in (meta.get("annotations") or {}))
            if not ours:
                raise GitplaneError(f"preflight: namespace {plan_.namespace} exists and is "
                                    "neither Argo CD's nor an earlier bootstrap's; nothing "
                                    "applied")
        elif "never downgraded" in step.what and out.strip():
            have = {v.get("name") for v in (json.loads(out).get("spec") or {})
                    .get("versions") or [] if v.get("served")}
            name = step.what.split(":")[0]
            new = next((r.obj for er in platform.envs for ar in er.apps for r in ar.resources
                        if r.kind == "CustomResourceDefinition" and r.name == name), {})
            serves = {v.get("name") for v in (new.get("spec") or {}).get("versions") or []
                      if v.get("served")}
            if have - serves:
                raise GitplaneError(f"preflight: {name}: the cluster serves "
                                    f"{', '.join(sorted(have - serves))}, which the pinned "
                                    "chart no longer does (a downgrade); nothing applied")
    commit = ""
    for phase in PHASES[1:]:
        if phase in done:
            say(f"{phase}: done in an earlier run")
            continue
        for step in plan_.phase(phase):
            say(f"{phase}: {step.what}")
            kube(step)
        if phase != "crds":  # the namespace holds the record from its phase on
            kube(Step(phase, "record progress", ["--context", plan_.context, "apply",
                                                  "--server-side",
                                                  f"--field-manager={FIELD_MANAGER}",
                                                  "-f", "-"],
                      progress_manifest(plan_, phase, commit)))
    return plan_
