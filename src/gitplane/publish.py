"""Publishing a verdict where people look: one pull-request comment, updated in place.

GitHub's REST API, through the standard library (one request at a time, a timeout each).
The comment is found again by a hidden marker *and* its author's login, so a marker copied
into someone else's comment cannot make gitplane overwrite that comment. A body over GitHub's
limit, or one GitHub refuses as too long (422), is replaced by a summary that links to the
run: never split over several comments. A read-only token (a pull request from a fork) is
a ``Forbidden`` the caller reports as a warning.

Nothing here runs unless the user asks for it (``gitplane github comment``): it is the one
place gitplane talks to a network service it was not pointed at for charts.
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from gitplane.errors import GitplaneError

#: GitHub's limit for a comment body (characters)
LIMIT = 65_536
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


class GitHub:
    """The few calls of GitHub's REST API a comment needs."""

    def __init__(self, api_url: str, token: str, timeout: float = 20.0) -> None:
        self.api = api_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None
             ) -> tuple[Any, dict[str, str]]:
        url = path if path.startswith(("http://", "https://")) else self.api + path
        if not url.startswith(self.api + "/"):  # the token goes to the API's host only
            raise GitplaneError(f"GitHub: refusing to send the token to {url.split('?')[0]}")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Accept": "application/vnd.github+json", "Authorization": f"Bearer {self.token}",
            "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "gitplane",
            **({"Content-Type": "application/json"} if data is not None else {})})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                raw = answer.read()
                return (json.loads(raw) if raw else None), dict(answer.headers)
        except urllib.error.HTTPError as exc:
            detail = _message(exc)
            if exc.code in (401, 403):
                raise Forbidden(f"GitHub refused {method} {path}: {exc.code} {detail}") from None
            raise GitplaneError(f"GitHub: {method} {path}: {exc.code} {detail}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise GitplaneError(f"GitHub: {method} {path}: {exc}") from None

    def comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        """Every comment of the pull request, following the pages."""
        out: list[dict[str, Any]] = []
        path: str | None = f"/repos/{repo}/issues/{number}/comments?per_page=100"
        pages = 0
        while path and pages < 100:  # bounded: 10,000 comments
            got, headers = self.call("GET", path)
            out.extend(c for c in got or [] if isinstance(c, dict))
            link = {k.lower(): v for k, v in headers.items()}.get("link", "")
            m = _NEXT.search(link)
            path = m.group(1) if m else None
            pages += 1
        return out


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


def publish(gh: GitHub, repo: str, number: int, body: str, author: str = ACTIONS_BOT,
            run_url: str = "", marker: str = MARKER) -> Published:
    """Create gitplane's comment on pull request ``number`` of ``repo``, or update the one
    it made before (``marker`` in the body *and* written by ``author``)."""
    if not re.match(r"^[\w.-]+/[\w.-]+$", repo):
        raise GitplaneError(f"'{repo}' is not a repository (owner/name)")
    full = body if body.startswith(marker) else f"{marker}\n{body}"
    shortened = len(full) > LIMIT
    if shortened:
        full = summary_body(body, run_url, marker)
    mine = [c for c in gh.comments(repo, number)
            if marker in str(c.get("body") or "") and
            str((c.get("user") or {}).get("login") or "") == author]
    target = mine[0] if mine else None

    def send(text: str) -> Any:
        if target is not None:
            return gh.call("PATCH", f"/repos/{repo}/issues/comments/{target['id']}",
                           {"body": text})[0]
        return gh.call("POST", f"/repos/{repo}/issues/{number}/comments", {"body": text})[0]

    try:
        got = send(full)
    except Forbidden:
        raise
    except GitplaneError as exc:
        if " 422 " not in str(exc) or shortened:
            raise
        shortened = True  # GitHub counts differently (bytes, entities): the summary
        got = send(summary_body(body, run_url, marker))
    return Published("updated" if target is not None else "created",
                     str((got or {}).get("html_url") or ""), shortened)
