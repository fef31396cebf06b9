"""Publishing a verdict where people look: one pull-request comment (GitHub) or
merge-request note (GitLab), updated in place.

Both REST APIs through the standard library (one request at a time, a timeout each). The
comment is found again by a hidden marker *and* its author, so a marker copied into someone
else's comment cannot make gitplane overwrite that comment. A body over the forge's limit,
or one it refuses as too long, is replaced by a summary that links to the run: never split
over several comments. A token that may not write (a pull request from a fork) is a
``Forbidden`` the caller reports as a warning. The token is only ever sent to the API's own
host.

Nothing here runs unless the user asks for it (``gitplane github comment``, ``gitplane gitlab
note``): the one place gitplane talks to a network service it was not pointed at for charts.
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from gitplane.errors import GitplaneError

#: GitHub's limit for a comment body (characters)
LIMIT = 65_536
#: GitLab's limit for a note (characters)
GITLAB_LIMIT = 1_000_000
MARKER = "<!-- gitplane:comment -->"
#: the login GitHub Actions' GITHUB_TOKEN posts as
ACTIONS_BOT = "github-actions[bot]"
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class Forbidden(GitplaneError):
    """The token may not write here (a fork's read-only token, missing permissions)."""


@dataclass
class Published:
    action: str  # created | updated
    url: str
    shortened: bool  # the body was replaced by a summary


class _Api:
    """An HTTP JSON API that takes a token, reached only at its own address."""

    name = "API"

    def __init__(self, api_url: str, token: str, timeout: float = 20.0) -> None:
        self.api = api_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def headers(self) -> dict[str, str]:
        raise NotImplementedError

    def call(self, method: str, path: str, body: dict[str, Any] | None = None
             ) -> tuple[Any, dict[str, str]]:
        url = path if path.startswith(("http://", "https://")) else self.api + path
        if not url.startswith(self.api + "/"):  # the token goes to the API's host only
            raise GitplaneError(f"{self.name}: refusing to send the token to "
                                f"{url.split('?')[0]}")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={
            **self.headers(), "User-Agent": "gitplane",
            **({"Content-Type": "application/json"} if data is not None else {})})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                raw = answer.read()
                return (json.loads(raw) if raw else None), dict(answer.headers)
        except urllib.error.HTTPError as exc:
            detail = _message(exc)
            if exc.code in (401, 403):
                raise Forbidden(f"{self.name} refused {method} {path}: {exc.code} "
                                f"{detail}") from None
            raise GitplaneError(f"{self.name}: {method} {path}: {exc.code} {detail}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise GitplaneError(f"{self.name}: {method} {path}: {exc}") from None

    def pages(self, path: str) -> list[dict[str, Any]]:
        """Every item of a listing, following its pages (bounded: 100 pages)."""
        out: list[dict[str, Any]] = []
        next_path: str | None = path
        pages = 0
        while next_path and pages < 100:
            got, headers = self.call("GET", next_path)
            out.extend(c for c in got or [] if isinstance(c, dict))
            lower = {k.lower(): v for k, v in headers.items()}
            m = _NEXT.search(lower.get("link", ""))
            next_path = m.group(1) if m else None
            page = lower.get("x-next-page", "").strip()
            if next_path is None and page.isdigit():
                base, _, query = path.partition("?")
                kept = [q for q in query.split("&") if q and not q.startswith("page=")]
                next_path = f"{base}?{'&'.join([*kept, f'page={page}'])}"
            pages += 1
        return out

    # what one comment thread needs: its comments as (id, body, author), create, update
    limit = LIMIT

    def comments(self, target: str) -> list[tuple[Any, str, str]]:
        raise NotImplementedError

    def create(self, target: str, body: str) -> str:
        raise NotImplementedError

    def update(self, target: str, cid: Any, body: str) -> str:
        raise NotImplementedError

    def too_long(self, exc: GitplaneError) -> bool:
        raise NotImplementedError


class GitHub(_Api):
    """Comments of a pull request (``target``: ``owner/name#number``)."""

    name = "GitHub"

    def headers(self) -> dict[str, str]:
        return {"Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self.token}", "X-GitHub-Api-Version": "2022-11-28"}

    def comments(self, target: str) -> list[tuple[Any, str, str]]:
        repo, number = target.split("#")
        return [(c.get("id"), str(c.get("body") or ""),
                 str((c.get("user") or {}).get("login") or ""))
                for c in self.pages(f"/repos/{repo}/issues/{number}/comments?per_page=100")]

    def create(self, target: str, body: str) -> str:
        repo, number = target.split("#")
        got = self.call("POST", f"/repos/{repo}/issues/{number}/comments", {"body": body})[0]
        return str((got or {}).get("html_url") or "")

    def update(self, target: str, cid: Any, body: str) -> str:
        repo = target.split("#")[0]
        got = self.call("PATCH", f"/repos/{repo}/issues/comments/{cid}", {"body": body})[0]
        return str((got or {}).get("html_url") or "")

    def too_long(self, exc: GitplaneError) -> bool:
        return " 422 " in str(exc)


class GitLab(_Api):
    """Notes of a merge request (``target``: ``project#iid``; the project's id or its
    path, URL-encoded)."""

    name = "GitLab"
    limit = GITLAB_LIMIT

    def headers(self) -> dict[str, str]:
        return {"PRIVATE-TOKEN": self.token, "Accept": "application/json"}

    def user(self) -> str:
        """The username the token writes as (a project access token's bot user)."""
        got = self.call("GET", "/user")[0]
        name = str((got or {}).get("username") or "") if isinstance(got, dict) else ""
        if not name:
            raise GitplaneError("GitLab: the token's user has no username")
        return name

    def _mr(self, target: str) -> str:
        project, iid = target.split("#")
        return f"/projects/{urllib.parse.quote(project, safe='')}/merge_requests/{iid}/notes"

    def comments(self, target: str) -> list[tuple[Any, str, str]]:
        return [(c.get("id"), str(c.get("body") or ""),
                 str((c.get("author") or {}).get("username") or ""))
                for c in self.pages(f"{self._mr(target)}?per_page=100&sort=asc")
                if not c.get("system")]

    def create(self, target: str, body: str) -> str:
        self.call("POST", self._mr(target), {"body": body})
        return target

    def update(self, target: str, cid: Any, body: str) -> str:
        self.call("PUT", f"{self._mr(target)}/{cid}", {"body": body})
        return target

    def too_long(self, exc: GitplaneError) -> bool:
        return " 413 " in str(exc) or "too long" in str(exc).lower()


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
    except (ValueError, OSError):
        return exc.reason or ""
    text = str(body.get("message") or exc.reason or "") if isinstance(body, dict) else ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list):
        text += " " + " ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))
    return text.strip()


def summary_body(body: str, run_url: str, marker: str = MARKER) -> str:
    """What replaces a body too long for one comment: its first heading and table, and a
    link to the run that holds the rest."""
    kept: list[str] = []
    for line in body.splitlines():
        if line.startswith("<details") or len("\n".join(kept)) > 8_000:
            break
        kept.append(line)
    link = f"[the run]({run_url})" if run_url else "the run's job summary"
    return "\n".join([marker, *kept, "",
                      f"The full diff is too long for one comment: see {link}.", ""])


def publish(api: _Api, target: str, body: str, author: str, run_url: str = "",
            marker: str = MARKER) -> Published:
    """Create gitplane's comment on ``target``, or update the one it made before
    (``marker`` in the body *and* written by ``author``)."""
    full = body if body.startswith(marker) else f"{marker}\n{body}"
    shortened = len(full) > api.limit
    if shortened:
        full = summary_body(body, run_url, marker)
    mine = [(cid, text) for cid, text, who in api.comments(target)
            if marker in text and who == author]
    target_id = mine[0][0] if mine else None

    def send(text: str) -> str:
        if target_id is not None:
            return api.update(target, target_id, text)
        return api.create(target, text)

    try:
        url = send(full)
    except Forbidden:
        raise
    except GitplaneError as exc:
        if shortened or not api.too_long(exc):
            raise
        shortened = True  # the forge counts differently (bytes, entities): the summary
        url = send(summary_body(body, run_url, marker))
    return Published("updated" if target_id is not None else "created", url, shortened)


def marker_for(key: str = "") -> str:
    """The hidden marker of gitplane's comment; ``key`` (an environment) gives each job of a
    matrix its own comment."""
    if key and not re.match(r"^[\w.-]{1,63}$", key):
        raise GitplaneError(f"'{key}' is not a comment key (letters, digits, '.', '-', '_')")
    return f"<!-- gitplane:comment:{key} -->" if key else MARKER


def github_comment(gh: GitHub, repo: str, number: int, body: str, author: str = ACTIONS_BOT,
                   run_url: str = "", key: str = "") -> Published:
    """gitplane's comment on pull request ``number`` of ``repo`` (``owner/name``)."""
    if not re.match(r"^[\w.-]+/[\w.-]+$", repo):
        raise GitplaneError(f"'{repo}' is not a repository (owner/name)")
    return publish(gh, f"{repo}#{number}", body, author, run_url, marker_for(key))


def gitlab_note(gl: GitLab, project: str, iid: int, body: str, run_url: str = "",
                key: str = "", author: str = "") -> Published:
    """gitplane's note on merge request ``iid`` of ``project`` (its id or path), written as
    the token's user (or ``author``)."""
    if not re.match(r"^\w[\w.-]*(/\w[\w.-]*)*$", project):
        raise GitplaneError(f"'{project}' is not a GitLab project (its id or path)")
    return publish(gl, f"{project}#{iid}", body, author or gl.user(), run_url,
                   marker_for(key))
