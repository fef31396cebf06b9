from __future__ import annotations

from typing import Any

import pytest

from gitplane.argocd.gotemplate import TemplateError, execute


@pytest.mark.parametrize("src, data, out", [
    ("{{ .a }}-{{ .b.c }}", {"a": "x", "b": {"c": 2}}, "x-2"),
    ("{{- .a -}} \n {{ .a }}", {"a": "x"}, "xx"),
    ("{{ if .t }}yes{{ else if .u }}u{{ else }}no{{ end }}", {"t": False, "u": 0}, "no"),
    ("{{ range $i, $v := .l }}{{ $i }}:{{ $v }} {{ else }}empty{{ end }}", {"l": []}, "empty"),
    ("{{ range .l }}{{ . }},{{ end }}", {"l": ["a", "b"]}, "a,b,"),
    ("{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}", {"m": {"b": 1, "a": 2}},
     "a=2;b=1;"),
    ("{{ with .m }}{{ .x }}{{ end }}", {"m": {"x": "in"}}, "in"),
    ("{{ $x := .a }}{{ $x = \"y\" }}{{ $x }}", {"a": "x"}, "y"),
    ("{{ .a | upper | printf \"%s!\" }}", {"a": "hi"}, "HI!"),
    ("{{ index .l 1 }} {{ len .l }}", {"l": ["a", "b"]}, "b 2"),
    ("{{ (index .l 0).name }}", {"l": [{"name": "n"}]}, "n"),
    ("{{ .missing }}", {}, "<no value>"),
    ("{{ default \"d\" .missing }}", {}, "d"),
    ("{{ eq .a \"x\" \"y\" }} {{ and 1 0 }} {{ or 0 \"z\" }}", {"a": "y"}, "true 0 z"),
    ("{{ normalize .a }} {{ slugify .a }}", {"a": "My_App/X"}, "my-app-x my-app-x"),
    ("{{ .n }}", {"n": 2.0}, "2"),
    ("{{/* comment */}}ok", {}, "ok"),
    ("{{ toYaml .m | indent 2 }}", {"m": {"a": 1}}, "  a: 1"),
])
def test_execute(src: str, data: Any, out: str) -> None:
    assert execute(src, data) == out


@pytest.mark.parametrize("src, data, options, message", [
    ("{{ .missing }}", {}, ["missingkey=error"], 'map has no entry for key "missing"'),
    ("{{ nope }}", {}, [], 'function "nope" not defined'),
    ("{{ env \"HOME\" }}", {}, [], 'function "env" not defined'),
    ("{{ if .a }}", {"a": 1}, [], "unexpected EOF"),
    ("{{ end }}", {}, [], "unexpected {{end}}"),
    ("{{ .a.b }}", {"a": "s"}, [], "can't evaluate field b"),
    ("{{ index .l 5 }}", {"l": []}, [], "index out of range"),
])
def test_errors(src: str, data: Any, options: list[str], message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("{", r"\{").replace("}", r"\}")):
        execute(src, data, options)
