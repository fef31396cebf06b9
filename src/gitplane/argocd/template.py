"""Rendering an ApplicationSet template with one generator's params, in either mode."""
from __future__ import annotations

import re
from typing import Any

from gitplane.argocd.gotemplate import TemplateError, execute

_FAST = re.compile(r"\{\{(.*?)\}\}", re.S)


def fasttemplate(text: str, params: dict[str, Any]) -> str:
    """Argo CD's default mode: ``{{ key }}`` replaced when the key exists, kept otherwise."""
    def sub(m: re.Match[str]) -> str:
        key = m.group(1).strip()
        if key and key in params:
            value = params[key]
            return value if isinstance(value, str) else str(value)
        return m.group(0)
    return _FAST.sub(sub, text)


def render(value: Any, params: dict[str, Any], go: bool, options: list[str],
           keep_without_params: bool = True) -> Any:
    """Template every string (map keys included) in ``value``, as Argo CD's deeplyReplace.

    With no params at all Argo CD leaves a template as it is (``keep_without_params``); the
    values of a generator are rendered all the same.
    """
    if not params and keep_without_params:
        return value
    if isinstance(value, str):
        if "{{" not in value:
            return value
        if go:
            try:
                return execute(value, params, options)
            except TemplateError as exc:
                what = "failed to parse template" if exc.kind == "parse" else \
                    "failed to execute go template"
                raise TemplateError(f"{what} {value}: {exc}", exc.kind) from None
        return fasttemplate(value, params)
    if isinstance(value, dict):
        return {render(k, params, go, options, False): render(v, params, go, options, False)
                for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, params, go, options, False) for v in value]
    return value


__all__ = ["render", "fasttemplate", "TemplateError"]
