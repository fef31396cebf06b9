"""The values an Application gives its Helm charts, as Argo CD passes them (read by
``compare`` and by rules that ask whether a rendered value comes from the repository)."""
from __future__ import annotations

import re
from typing import Any

from gitplane.errors import YamlError
from gitplane.platform import AppResult
from gitplane.render.helm import user_values

#: a Helm value under one of these keys is a credential (hidden when shown)
SECRET_KEY = re.compile(r"pass(word|wd)?|secret|token|api[-_]?key|credential|private[-_]?key"
                        r"|webhook|api_url|\.key$", re.I)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves of a YAML value by dotted path (``a.b[0].c``); an empty map or list is a leaf."""
    out: dict[str, Any] = {}
    if isinstance(value, dict) and value:
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = value
    return out


def helm_values(ar: AppResult) -> dict[str, Any]:
    """The values an Application gives its Helm sources, flattened (``source#.path``):
    its value files merged in order, then ``values``/``valuesObject``, then parameters
    (what Argo CD passes on top of the chart's defaults). A chart that is not rendered (not
    cached) still has its Application's own values; its value files are read only when they
    are in this repository. A value file that cannot be read is named, not merged."""
    from gitplane.argocd.discover import helm_jobs

    out: dict[str, Any] = {}
    rendered = dict(helm_jobs(ar))
    app = ar.app
    refs = {str(s.raw["ref"]): v for s, v, k in zip(app.sources, ar.views, app.kinds,
                                                      strict=True)
            if s.raw.get("ref") and k != "external"}
    indexes = [i for i, (src, kind) in enumerate(zip(app.sources, app.kinds, strict=True))
               if kind == "helm" or src.chart or isinstance(src.raw.get("helm"), dict)]
    for index in indexes:
        job = rendered.get(index)
        src = app.sources[index]
        view = job.view if job and job.view else ar.views[index]
        folder = job.folder if job else None
        spec = dict(src.raw.get("helm") or {})
        if folder is None:  # only $ref value files can be read without the chart
            spec["valueFiles"] = [v for v in spec.get("valueFiles") or []
                                  if str(v).startswith("$")]
        try:
            merged, params = user_values(view, folder or view.top, spec, refs)
        except YamlError as exc:
            merged, params = {}, {"(value file)": f"{exc.file}: cannot be read"}
        prefix = f"{index}#" if len(indexes) > 1 else ""
        for path, v in {**flatten(merged), **params}.items():
            out[prefix + path] = v
    return out
