"""Argo CD's own ApplicationSet test vectors, run against gitplane's engine.

Data is read where it lies (``../shared/conformance/applicationset/cases.json``); the module
skips when it is absent. Each case's fixtures stand for the outside world (repository
listings, files, cluster Secrets); generators the upstream test mocks are mocked the same way
through the engine's generator table. Cases that need the Kubernetes API skip with that reason.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from conftest import SHARED, json_key, num
from gitplane.argocd import appset, generators as g
from gitplane.argocd.gotemplate import TemplateError, normalize, slugify
from gitplane.argocd.template import fasttemplate, render

CASES_FILE = SHARED / "conformance" / "applicationset" / "cases.json"
CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text()) if CASES_FILE.is_file() else []


class FixtureWorld:
    """The outside world as a case's fixtures describe it."""

    def __init__(self, fixtures: dict[str, Any]) -> None:
        self.f = fixtures or {}

    def directories(self, repo_url: str, revision: str) -> list[str]:
        if self.f.get("gitDirectoriesError"):
            raise g.GeneratorError(self.f["gitDirectoriesError"])
        return list(self.f.get("gitDirectories") or [])

    def files(self, repo_url: str, revision: str, pattern: str) -> dict[str, str]:
        if self.f.get("gitFilesError"):
            raise g.GeneratorError(self.f["gitFilesError"])
        by_repo = self.f.get("gitFilesByRepoAndPattern")
        if by_repo is not None:
            return dict((by_repo.get(repo_url) or {}).get(pattern) or {})
        by_pattern = self.f.get("gitFilesByPattern")
        if by_pattern is not None:
            return dict(by_pattern.get(pattern) or {})
        return dict(self.f.get("gitFiles") or {})

    def clusters(self) -> list[dict[str, Any]]:
        if self.f.get("clusterListError"):
            raise g.GeneratorError(self.f["clusterListError"])
        return list(self.f.get("clusterSecrets") or [])


def _engine(inp: dict[str, Any]) -> g.Generators:
    fixtures = inp.get("fixtures") or {}
    overrides = {}
    mocked = fixtures.get("mockedGeneratorParams") or {}
    for kind, params in mocked.items():
        overrides[kind] = (lambda p: lambda spec, gens: json.loads(json.dumps(p)))(params)
    return g.Generators(FixtureWorld(fixtures), bool(inp.get("goTemplate")),
                        inp.get("goTemplateOptions") or [], overrides)


def _pointer(doc: Any, pointer: str) -> Any:
    for part in pointer.lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, list):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            doc = doc.get(part)
        else:
            return None
    return doc


def _error(exp: dict[str, Any], message: str) -> None:
    how = exp.get("errorMatch", "exact")
    if how == "exact":
        assert message == exp["error"]
    elif how == "substring":
        assert exp["error"] in message
    elif how == "contains-all":
        for part in exp.get("errorContains") or []:
            assert part in message


def _compare_params(exp: dict[str, Any], got: list[Any]) -> None:
    if "params" not in exp:
        assert len(got) == exp["count"]
        for pointer, value in (exp.get("fieldsEqual") or {}).items():
            assert num(_pointer(got, pointer)) == num(value), pointer
        return
    want = exp["params"]
    how = exp.get("compare", "exact")
    if how == "exact":
        assert num(got) == num(want)
    elif how == "unordered-within-clusters":
        norm = lambda ps: [{**p, "clusters": sorted(map(json_key, p["clusters"]))}  # noqa: E731
                           if "clusters" in p else p for p in ps]
        assert sorted(map(json_key, norm(got))) == sorted(map(json_key, norm(want)))
    else:
        assert sorted(map(json_key, got)) == sorted(map(json_key, want))


def _expect(exp: dict[str, Any], run: Any) -> Any:
    """Run; when an error is expected, check it; else return the result."""
    if "error" in exp or exp.get("errorMatch"):
        with pytest.raises((g.GeneratorError, TemplateError)) as info:
            run()
        _error(exp, str(info.value))
        return None
    return run()


def _template_case(inp: dict[str, Any], exp: dict[str, Any]) -> None:
    template = json.loads(json.dumps(inp["template"]))
    helm = ((template.get("spec") or {}).get("source") or {}).get("helm") or {}
    if "valuesObjectRaw" in helm:  # the raw bytes of a RawExtension, as upstream's test
        raw = helm.pop("valuesObjectRaw")
        try:
            helm["valuesObject"] = json.loads(raw)
        except json.JSONDecodeError:
            helm["valuesObject"] = yaml.safe_load(raw)
    go = bool(inp.get("goTemplate"))
    opts = inp.get("goTemplateOptions") or []

    def run() -> Any:
        return render(template, inp.get("params") or {}, go, opts)

    out = _expect(exp, run)
    if out is None:
        return
    for pointer, value in (exp.get("fieldsEqual") or {}).items():
        assert _pointer(out, pointer) == value, pointer


def _run(case: dict[str, Any]) -> None:
    inp, exp, fn = case["input"], case["expected"], case["function"]
    go = bool(inp.get("goTemplate"))
    opts = inp.get("goTemplateOptions") or []
    if fn.startswith("utils.SlugifyName"):
        assert slugify(*inp["args"]) == exp["result"]
    elif fn.startswith("utils.SanitizeName"):
        assert normalize(*inp["args"]) == exp["result"]
    elif fn == "Render.RenderTemplateParams":
        _template_case(inp, exp)
    elif fn == "Render.RenderTemplateParams (finalizers)":
        app = appset.render_application(inp["template"], inp.get("params") or {}, go, opts,
                                        inp.get("syncPolicy"))
        assert sorted(app["metadata"].get("finalizers") or []) == sorted(exp["finalizers"])
    elif fn == "Render.Replace":
        _expect(exp, lambda: _strict_fasttemplate(inp["templateString"],
                                                  inp.get("params") or {}))
    elif fn == "GitGenerator.generateParamsFromGitFile":
        out = _expect(exp, lambda: g.file_params(inp["filePath"], inp["fileContent"],
                                                  inp.get("pathParamPrefix") or "",
                                                  inp.get("values"), go, opts))
        if out is not None:
            _compare_params(exp, out)
    elif fn == "appendTemplatedValues":
        out = _expect(exp, lambda: g.append_values(inp["values"], dict(inp["params"] or {}),
                                                    go, opts))
        if out is not None:
            assert num(out) == num(exp["params"])
    elif fn == "getParamSetsByMergeKey":
        out = _expect(exp, lambda: g.param_sets_by_merge_key(inp["mergeKeys"],
                                                              inp["paramSets"]))
        if out is not None:
            assert num(out) == num(exp["byKey"])
    elif fn.startswith("InterpolateGenerator") or fn.startswith("Render.RenderGeneratorParams"):
        engine = _engine(inp)
        out = _expect(exp, lambda: engine.interpolate(inp["generator"], inp.get("params")))
        if out is not None:
            for pointer, value in (exp.get("fieldsEqual") or {}).items():
                assert _pointer(out, pointer) == value, pointer
    elif fn.startswith("mergeGeneratorTemplate"):
        assert g.merge_template(inp["specTemplate"], inp["generatorTemplate"]) == \
            exp["mergedTemplate"]
    elif fn == "applyTemplatePatch":
        out = _expect(exp, lambda: appset.apply_template_patch(
            inp["application"], inp["templatePatch"], inp.get("params") or {}, []))
        if out is not None:
            assert num(out) == num(exp["application"])
    elif fn == "ApplicationSetReconciler.validateGeneratedApplications":
        fx = inp.get("fixtures") or {}
        errors = appset.validate(inp["appSetName"], inp["applications"],
                                 {p["name"] for p in fx.get("appProjects") or []},
                                 {c["name"]: c["server"] for c in fx.get("clusters") or []})
        assert errors == exp["errorsByApp"]
    elif case["kind"] == "appset":
        _appset_case(inp, exp)
    else:
        engine = _engine(inp)
        out = _expect(exp, lambda: engine.params(inp["generator"]))
        if out is not None:
            _compare_params(exp, out)


def _strict_fasttemplate(text: str, params: dict[str, Any]) -> str:
    if text.count("{{") != text.count("}}"):
        raise g.GeneratorError("invalid template: cannot find end tag")
    return fasttemplate(text, params)


def _appset_case(inp: dict[str, Any], exp: dict[str, Any]) -> None:
    world = FixtureWorld(inp.get("fixtures") or {})

    def run() -> list[dict[str, Any]]:
        result = appset.expand(inp["applicationSet"], world)
        if result.errors:
            raise g.GeneratorError("; ".join(m for _, m in result.errors))
        return [a.doc for a in result.apps]

    out = _expect(exp, run)
    if out is None:
        return
    want = exp.get("applications") or []
    assert sorted(map(json_key, out)) == sorted(map(json_key, want))


NEEDS_API = {"GitGenerator.GenerateParams (project lookup)":
             "needs the AppProject lookup of a live Argo CD (signature verification)"}


def _ids(case: dict[str, Any]) -> str:
    return str(case["id"])


@pytest.mark.skipif(not CASES, reason=f"conformance data not found at {CASES_FILE}")
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_case(case: dict[str, Any]) -> None:
    if case["function"] in NEEDS_API:
        pytest.skip(NEEDS_API[case["function"]])
    _run(case)
