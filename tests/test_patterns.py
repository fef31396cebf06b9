"""Go regular expressions and Argo CD's glob dialects, compiled to RE2: Go's semantics, linear
time on hostile patterns, malformed patterns as errors rather than crashes."""
from __future__ import annotations

import pytest

from gitplane.argocd.gotemplate import FUNCS
from gitplane.patterns import PatternError, glob_match, go_regexp


@pytest.mark.parametrize("func, args, want", [
    # Go's rule: an empty match right after the previous match is skipped
    ("regexFindAll", ("a*", "baaa", -1), ["", "aaa"]),
    ("regexFindAll", ("[0-9]+", "a1b22c333", 2), ["1", "22"]),
    ("regexFindAll", ("x", "xx", 0), []),
    ("regexSplit", ("z+", "pizza", -1), ["pi", "a"]),
    ("regexSplit", ("z+", "pizza", 1), ["pizza"]),
    ("regexSplit", ("", "abc", -1), ["a", "b", "c"]),
    ("regexSplit", ("a", "", -1), [""]),
    # Go's Expand: $1W names group "1W" (empty); ${1}W is group 1 then W; $$ is $
    ("regexReplaceAll", ("a(x*)b", "-ab-axxb-", "${1}W"), "-W-xxW-"),
    ("regexReplaceAll", ("a(x*)b", "-ab-axxb-", "$1W"), "---"),
    ("regexReplaceAll", ("(?P<v>x+)", "axxb", "[$v$$\\1]"), "a[xx$\\1]b"),
    ("regexReplaceAllLiteral", ("a(x*)b", "-ab-", "${1}"), "-${1}-"),
    # RE2 and Go accept (?<name>…) named groups
    ("regexFind", ("(?<ver>v[0-9]+)", "app-v12-x"), "v12"),
    ("regexReplaceAll", ("(?<ver>v[0-9]+)", "app-v12", "${ver}!"), "app-v12!"),
    ("regexMatch", ("^[a-z]+$", "abc"), True),
    ("regexMatch", ("[z-a", "abc"), False),   # Sprig's regexMatch: a bad pattern matches nothing
    ("regexQuoteMeta", ("a.b*c",), "a\\.b\\*c"),
])
def test_go_regexps_follow_go(func: str, args: tuple, want: object) -> None:
    assert FUNCS[func](*args) == want


def test_regexps_run_in_linear_time() -> None:
    # catastrophic for a backtracking engine (2^50 paths), linear for RE2
    assert go_regexp("(a+)+$").find("a" * 50 + "b") == ""
    assert go_regexp("(x+x+)+y").search("x" * 100_000) is False


def test_a_pattern_that_does_not_compile_is_an_error() -> None:
    with pytest.raises(PatternError, match="missing"):
        go_regexp("(unclosed")
    with pytest.raises(PatternError, match="limit"):
        go_regexp("a" * 5000)


@pytest.mark.parametrize("pattern, path, dialect, want", [
    ("apps/*", "apps/web", "path", True),
    ("apps/*", "apps/web/x", "path", False),
    ("apps/[^w]*", "apps/db", "path", True),
    ("apps/[!w]*", "apps/!x", "path", True),          # Go's path.Match negates with ^ only
    ("apps/[z-a]", "apps/b", "path", False),          # a backwards range matches nothing
    ("apps/\\*", "apps/*", "path", True),
    ("apps/{a,b}", "apps/{a,b}", "path", True),       # no braces in path.Match
    ("**/config.json", "config.json", "doublestar", True),
    ("**/config.json", "a/b/config.json", "doublestar", True),
    ("a/*.json", "a/b/c.json", "doublestar", False),
    ("a/{b,c/{d,e}}.json", "a/c/e.json", "doublestar", True),
    ("a/[!x].json", "a/y.json", "doublestar", True),
    ("*" * 12 + "x", "a" * 5000, "doublestar", False),
    ("*.yaml", "sub/dir/x.yaml", "argo", True),       # Argo CD's include crosses folders
    ("{a,b}.yaml", "b.yaml", "argo", True),
    ("{a,b}" * 24, "ab" * 12, "argo", True),          # 2^24 expansions; one alternation here
    ("{a,b}" * 24, "ab" * 12 + "c", "argo", False),
])
def test_globs_follow_their_dialect(pattern: str, path: str, dialect: str, want: bool) -> None:
    assert glob_match(pattern, path, dialect) is want  # type: ignore[arg-type]


@pytest.mark.parametrize("pattern", ["a[", "a{b,c", "a\\", "[a-"])
def test_malformed_globs_are_errors(pattern: str) -> None:
    with pytest.raises(PatternError):
        glob_match(pattern, "x", "doublestar")
