"""The Label step's thumbnails by URL, so that a grid re-render is a few KB of HTML and the browser caches the pictures.

    GET <page>/thumb/<token>/<sha1>.jpg  ->  image/jpeg, Cache-Control: private, max-age=..., immutable

The grid (label_html.py) links each tile to `thumb/<token>/<sha1>.jpg`, relative to the page, so the link holds
behind Gradio's root_path (a Space, a reverse proxy under a prefix) as it does at the server's root. build_app puts
the route (`thumb_routes`) in the App's routes table, next to the demo links' mount (fewshot/ui/app.py).

Who may fetch one. A token is random (secrets.token_urlsafe, 128 bits) and belongs to one Desk, i.e. one tab's
session and one project: it reads only that project's photos, and it dies when the session closes, when the tab
opens another project (a new Desk, a new token) and when the server restarts (tokens live in memory). A reload
is a new session: its grid gets a new token. With --auth the request must also carry the login of the
session's own user (Gradio's cookie, read as the Guard reads it); another user, or nobody, gets 404. Without
--auth the page's browser cookie (the Guard sets one, fewshot/ui/server/guard.py BROWSER_COOKIE) must be the one the
session's own events carried, so a link copied into another browser 404s too; where the browser sent no such
cookie (an embedded Space whose browser blocks third-party cookies) the token alone is the key, as the links
to a session's files are. Anything not a photo of the project, or of a gone or foreign session, is 404: a
stranger cannot tell a dead token from a wrong one.

Why a registered random token rather than an HMAC of (project id, sha1, session) with a server key: it is
revoked the moment its session or desk goes (an HMAC stays valid until the key changes), it puts no project
id in a URL (a project's id is its key without --auth), and the lookup is one dict read.
"""
from __future__ import annotations

import re
import threading
import weakref
from typing import Any

from ..tab.labels import THUMB_ROUTE
from .guard import BROWSER_COOKIE, Guard

ROUTE = THUMB_ROUTE  # the URL's first part, below the page's root (the grid's links name it)
MAX_AGE_S = 6 * 3600  # about a session's life (SESSION_TTL_S): a URL never outlives its token by much
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_NAME = re.compile(r"([0-9a-f]{40})\.jpg")
# a photo of the project that cannot be read: a grey tile with a question mark, as the grid showed before
UNREADABLE = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96"><rect width="96" height="96" '
              b'fill="#e5e7eb"/><text x="48" y="62" font-size="40" text-anchor="middle" fill="#6b7280" '
              b'font-family="sans-serif">?</text></svg>')


class ThumbTokens:
    """The live thumbnail tokens: token -> (its session, its desk), both held weakly so a closed session's
    token dies with it. One per server, owned by its App (fewshot/ui/app.py), like the sessions' registry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[str, tuple[weakref.ref, weakref.ref]] = {}
        self._of_session: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # session -> its token

    def register(self, session: Any, desk: Any) -> None:
        """`desk` (with its `thumb_token`) is now what `session` shows; the session's earlier token dies."""
        with self._lock:
            old = self._of_session.get(session)
            if old == desk.thumb_token and old in self._live:  # (asked at every event: nothing new)
                return
            if old is not None and old != desk.thumb_token:
                self._live.pop(old, None)
            self._of_session[session] = desk.thumb_token
            self._live[desk.thumb_token] = (weakref.ref(session), weakref.ref(desk))
            for t in [t for t, (s, d) in self._live.items() if s() is None or d() is None]:
                del self._live[t]

    def desk_for(self, token: str, user: str | None, auth_on: bool, browser: str | None) -> Any | None:
        """The desk a request may read with `token`, or None (unknown or dead token, another user or browser)."""
        with self._lock:
            found = self._live.get(token)
        session, desk = (found[0](), found[1]()) if found else (None, None)
        if session is None or desk is None or getattr(session, "closed", True):
            return None
        if auth_on and (user is None or getattr(session, "owner", None) != user):
            return None
        bound = getattr(session, "browser", None)
        if bound is not None and bound != browser:
            return None
        return desk



def thumb_response(tokens: ThumbTokens, scope: dict, token: str, name: str) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, headers) for GET thumb/<token>/<name> (no web framework: tested as it is)."""
    found = _NAME.fullmatch(name)
    desk = None
    if found and _TOKEN.fullmatch(token):
        browser = Guard.cookies(scope).get(BROWSER_COOKIE)
        desk = tokens.desk_for(token, Guard._user(scope), Guard._auth_on(scope), browser)
    data = desk.thumb_jpeg(found.group(1)) if desk is not None else None
    if data is None:
        return 404, b"Not found.", {"content-type": "text/plain; charset=utf-8", "cache-control": "no-store"}
    # the URL names the photo by its content hash, and a thumbnail is made once: it never changes
    headers = {"cache-control": f"private, max-age={MAX_AGE_S}, immutable",
               "content-type": "image/jpeg" if data else "image/svg+xml", "x-content-type-options": "nosniff"}
    return 200, data or UNREADABLE, headers


def thumb_routes(tokens: ThumbTokens) -> list:
    """The route for the App's routes table (fewshot/ui/app.py). A plain function endpoint: Starlette runs it
    in its thread pool, so making a thumbnail (a few ms of decoding) never blocks the event loop."""
    from starlette.responses import Response
    from starlette.routing import Route

    def serve(request) -> Response:
        status, body, headers = thumb_response(tokens, request.scope, request.path_params["token"],
                                               request.path_params["name"])
        return Response(body, status_code=status, headers=headers)

    return [Route(f"/{ROUTE}/{{token}}/{{name}}", serve, methods=["GET"])]


__all__ = ["MAX_AGE_S", "ROUTE", "ThumbTokens", "UNREADABLE", "thumb_response", "thumb_routes"]
