from __future__ import annotations

from pathlib import Path

import pytest

from gitplane.errors import YamlError
from gitplane.yamlio import dump_all, load_file, load_text


def test_documents_and_lines() -> None:
    docs = load_text("---\n---\na: 1\n---\n# only a comment\n---\nb:\n  c: [x, y]\n", "f.yaml")
    assert [d.obj for d in docs] == [{"a": 1}, {"b": {"c": ["x", "y"]}}]
    assert docs[0].line == 3
    assert docs[1].line_of("b", "c", 1) == 8


def test_syntax_error_names_line() -> None:
    with pytest.raises(YamlError) as exc:
        load_text("a: 1\nb: [1\n", "bad.yaml")
    assert exc.value.file == "bad.yaml" and exc.value.line == 3


def test_duplicate_key_is_refused_with_both_lines() -> None:
    with pytest.raises(YamlError) as exc:
        load_text("metadata:\n  name: a\n  name: b\n", "dup.yaml")
    assert exc.value.line == 3
    assert "first at line 2" in exc.value.reason
    assert exc.value.rule == "yaml-duplicate-key"


def test_alias_bomb_is_refused() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghij"):
        prev = "abcdefghij"[i]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(YamlError) as exc:
        load_text("\n".join(lines) + "\n", "bomb.yaml")
    assert "alias bomb" in exc.value.reason


def test_self_containing_anchor() -> None:
    with pytest.raises(YamlError) as exc:
        load_text("a: &x [*x]\n", "loop.yaml")
    assert "contains itself" in exc.value.reason


def test_deep_nesting() -> None:
    with pytest.raises(YamlError) as exc:
        load_text("[" * 10000, "deep.yaml")
    assert "nesting" in exc.value.reason


def test_tabs_and_invalid_utf8(tmp_path: Path) -> None:
    with pytest.raises(YamlError):
        load_text("a:\n\tb: 1\n", "tab.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"a: 1\nb: \xff\n")
    with pytest.raises(YamlError) as exc:
        load_file(bad, "bad.yaml")
    assert exc.value.line == 2


def test_bom_and_timestamps_are_strings(tmp_path: Path) -> None:
    f = tmp_path / "bom.yaml"
    f.write_bytes("\ufeffdate: 2024-04-01\nnum: 1\n".encode())
    assert load_file(f, "bom.yaml")[0].obj == {"date": "2024-04-01", "num": 1}


def test_unsafe_tags_refused() -> None:
    with pytest.raises(YamlError):
        load_text("a: !!python/object/apply:os.system ['true']\n", "evil.yaml")


def test_dump_is_deterministic_and_quotes_yaml11_booleans() -> None:
    text = dump_all([{"b": "NO", "a": "on", "c": "x\ny"}])
    assert text == dump_all([{"c": "x\ny", "a": "on", "b": "NO"}])
    assert "'NO'" in text and "'on'" in text
    assert load_text(text, "x")[0].obj == {"a": "on", "b": "NO", "c": "x\ny"}


def test_parse_cache_gives_what_parsing_gives(tmp_path: Path) -> None:
    """A file read from the parse cache has the same values, lines and hazards; its line
    tree is rebuilt from the text when a line is asked for. Values JSON cannot hold
    exactly (non-string keys) are parsed each time."""
    from gitplane import cache
    from gitplane.yamlio import ParsedFiles

    f = tmp_path / "a.yaml"
    f.write_text("# c\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
                 "data:\n  enabled: yes\n  mode: 0755\n---\nkind: Other\n")
    g = tmp_path / "b.yaml"
    g.write_text("1: one\n")
    first = ParsedFiles().load(f, "a.yaml")
    assert ParsedFiles().load(g, "b.yaml")[0].obj == {1: "one"}
    cache.close()  # written
    again = ParsedFiles().load(f, "a.yaml")
    assert [d.node for d in again] == [None, None]  # from the cache
    assert [(d.obj, d.line, d.hazards) for d in again] == \
        [(d.obj, d.line, d.hazards) for d in first]
    assert again[0].hazards and again[0].line_of("data", "mode") == 8
    assert again[1].line_of("kind") == 10
    assert ParsedFiles().load(g, "b.yaml")[0].obj == {1: "one"}
