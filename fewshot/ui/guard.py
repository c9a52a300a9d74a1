"""The web server's brakes for a public deployment, as one ASGI middleware in front of Gradio's routes.

    demo.launch(..., app_kwargs=guard_app_kwargs())     # app.py

- **Uploads** (`POST /gradio_api/upload`): each client address may send at most FEWSHOT_UPLOAD_MB_PER_MIN
  megabytes (default 1000) in FEWSHOT_UPLOADS_PER_MIN calls (default 3000: a dropped folder sends one call per
  photo) per minute; over that, HTTP 429 with a plain message and Retry-After. One file's size limit is
  Gradio's own `max_file_size` (FEWSHOT_MAX_UPLOAD_MB, default 500; HTTP 413).
- **Passwords** (`POST /login`, with --auth): after 5 wrong passwords from one address, each further try waits
  2, 4, 8 ... seconds (at most 30) after the last wrong one; more than 3 tries waiting at once get HTTP 429.
  A right password resets the count.
- **Heartbeats** (`/gradio_api/heartbeat/<session>`, with --auth): refused without a login, so that a stranger
  who learns a session's id cannot close it (closing a session deletes its files).
- **Files of a session** (`/file=`, `/gradio_api/file=`, `/gradio_api/file/`, with --auth): a file in a session's
  folder (an export, a model, a photo shown) goes only to that session's own logged-in user; any other user, or
  a session that is gone, gets 404. Without --auth such a link is the only key (its folder name is random).
- **The page before login** (`GET /`, with --auth): Gradio writes the full API description into the page
  even when it only shows the login form; that description is left out until the visitor is logged in.
- **The browser's cookie** (`GET /`): the page comes with a random `fewshot-browser` cookie (HttpOnly, kept while
  the browser runs) when the browser has none; a session remembers the one its events carried, so what only that
  session may fetch (the Label step's thumbnails, fewshot/ui/thumbs.py) is refused to another browser.

No gradio import: the middleware reads Gradio's App from the ASGI scope (its `auth`, `tokens`, `cookie_id`).
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import time
from collections import defaultdict, deque
from typing import Any, Callable

MB = 1024 * 1024
LOGIN_FREE_TRIES = 5
LOGIN_MAX_DELAY_S = 30.0
LOGIN_MAX_WAITING = 3
WINDOW_S = 60.0
DEMO_PREFIX = "/m"  # demo links' pages (fewshot/ui/demo.py): open to anyone holding a link, even with --auth
_API_INFO = re.compile(rb"window\.gradio_api_info\s*=\s*.*?;\s*</script>", re.DOTALL)
_FILE_ROUTE = re.compile(r"/file[=/](.+)$")
BROWSER_COOKIE = "fewshot-browser"
_EMPTY_API_INFO = b'window.gradio_api_info = {"named_endpoints": {}, "unnamed_endpoints": {}};</script>'


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return value if value > 0 else default


def max_upload_bytes() -> int:
    """The largest single upload the web server takes (FEWSHOT_MAX_UPLOAD_MB, default 500)."""
    return int(_env_number("FEWSHOT_MAX_UPLOAD_MB", 500) * MB)


def login_delay(failures: int) -> float:
    """Seconds a try must wait after the last wrong password, with `failures` wrong ones so far."""
    if failures < LOGIN_FREE_TRIES:
        return 0.0
    return min(LOGIN_MAX_DELAY_S, 2.0 ** (failures - LOGIN_FREE_TRIES + 1))


class Budget:
    """Calls and bytes per client address over the last minute."""

    def __init__(self, max_bytes: int, max_calls: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes, self.max_calls, self.clock = max_bytes, max_calls, clock
        self._seen: dict[str, deque] = defaultdict(deque)  # address -> (time, bytes)

    def _trim(self, who: str) -> deque:
        q, now = self._seen[who], self.clock()
        while q and now - q[0][0] > WINDOW_S:
            q.popleft()
        return q

    def refuse(self, who: str, nbytes: int) -> str | None:
        """None (and the call counted) when `who` may send `nbytes` more; else why not, in plain words."""
        q = self._trim(who)
        used = sum(b for _, b in q)
        if len(q) + 1 > self.max_calls:
            return (f"Too many uploads from your address: at most {self.max_calls} a minute. "
                    "Wait a minute and try again.")
        if used + nbytes > self.max_bytes:
            return (f"Too much uploaded from your address: at most {self.max_bytes // MB} MB a minute. "
                    "Wait a minute and try again.")
        q.append((self.clock(), nbytes))
        if len(self._seen) > 10_000:  # forget quiet addresses
            for k in [k for k, v in self._seen.items() if not v or self.clock() - v[-1][0] > WINDOW_S]:
                del self._seen[k]
        return None


class LoginBrake:
    """Wrong passwords per client address, and how long the next try from there must wait."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.failures: dict[str, int] = {}
        self.last_failure: dict[str, float] = {}
        self.waiting: dict[str, int] = defaultdict(int)
        self.locks: dict[str, asyncio.Lock] = {}

    def wait_s(self, who: str) -> float:
        delay = login_delay(self.failures.get(who, 0))
        return max(0.0, self.last_failure.get(who, 0.0) + delay - self.clock()) if delay else 0.0

    def record(self, who: str, ok: bool) -> None:
        if ok:
            self.failures.pop(who, None)
            self.last_failure.pop(who, None)
        else:
            self.failures[who] = self.failures.get(who, 0) + 1
            self.last_failure[who] = self.clock()


def _plain(status: int, text: str, headers: dict[str, str] | None = None):
    body = text.encode()
    hdrs = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    hdrs += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    return [{"type": "http.response.start", "status": status, "headers": hdrs},
            {"type": "http.response.body", "body": body}]


class Guard:
    """ASGI middleware: upload budgets, the login brake, heartbeats and the page's API description behind --auth."""

    def __init__(self, app, upload_mb_per_min: float | None = None, uploads_per_min: int | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 file_owner: Callable[[str], tuple[bool, str | None]] | None = None) -> None:
        self.app = app
        self.file_owner = file_owner  # path -> (in a session's folder, that session's user): see Page.file_owner
        mb = upload_mb_per_min or _env_number("FEWSHOT_UPLOAD_MB_PER_MIN", 1000)
        calls = uploads_per_min or int(_env_number("FEWSHOT_UPLOADS_PER_MIN", 3000))
        self.uploads = Budget(int(mb * MB), int(calls), clock)
        self.logins = LoginBrake(clock)

    @staticmethod
    def cookies(scope) -> dict[str, str]:
        """The request's cookies by name."""
        cookies: dict[str, str] = {}
        for k, v in scope.get("headers", []):
            if k == b"cookie":
                for part in v.decode("latin-1").split(";"):
                    name, _, value = part.strip().partition("=")
                    cookies[name] = value
        return cookies

    @staticmethod
    def _user(scope) -> str | None:
        """The logged-in user of this request (Gradio's own cookie and token table), or None."""
        app = scope.get("app")
        cookie_id = getattr(app, "cookie_id", None)
        if cookie_id is None:
            return None
        cookies = Guard.cookies(scope)
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
        return getattr(app, "tokens", {}).get(token) if token else None

    @staticmethod
    def _auth_on(scope) -> bool:
        app = scope.get("app")
        return getattr(app, "auth", None) is not None or getattr(app, "auth_dependency", None) is not None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, method = scope.get("path", ""), scope.get("method", "GET")
        root = scope.get("root_path", "") or ""
        if root and path.startswith(root):
            path = path[len(root):] or "/"
        who = (scope.get("client") or ("?", 0))[0]
        if method == "POST" and path.rstrip("/").endswith("/gradio_api/upload"):
            return await self._upload(scope, receive, send, who)
        if method == "POST" and path.rstrip("/") == "/login" and self._auth_on(scope):
            return await self._login(scope, receive, send, who)
        if ("/gradio_api/heartbeat/" in path and not path.startswith(DEMO_PREFIX + "/") and self._auth_on(scope)
                and self._user(scope) is None):  # a demo link's page (fewshot/ui/demo.py) needs no login
            for msg in _plain(401, "Not logged in."):
                await send(msg)
            return
        if method in ("GET", "HEAD") and self._not_theirs(scope, path):
            for msg in _plain(404, "Not found."):
                await send(msg)
            return
        if method in ("GET", "HEAD") and path == "/":
            send = self._with_browser_cookie(scope, send)
            if self._auth_on(scope) and self._user(scope) is None:
                return await self._page_without_api(scope, receive, send)
        return await self.app(scope, receive, send)

    @staticmethod
    def _with_browser_cookie(scope, send):
        """`send`, adding a random browser cookie to the page when the browser has none (see the module's text)."""
        if Guard.cookies(scope).get(BROWSER_COOKIE):
            return send
        # Lax: sent with the page's own requests (its events, its images), not with other sites' requests; no
        # Max-Age: it goes when the browser closes, as the tab's sessions do
        value = secrets.token_urlsafe(16).encode()
        cookie = b"%s=%s; Path=/; HttpOnly; SameSite=Lax" % (BROWSER_COOKIE.encode(), value)

        async def with_cookie(msg):
            if msg["type"] == "http.response.start":
                msg = {**msg, "headers": list(msg.get("headers", [])) + [(b"set-cookie", cookie)]}
            await send(msg)
        return with_cookie

    def _not_theirs(self, scope, path: str) -> bool:
        """With --auth: a file route asking for a file of a session that is not this user's (or is gone)."""
        found = _FILE_ROUTE.search(path) if self.file_owner is not None else None
        if found is None or not self._auth_on(scope):
            return False
        in_session, owner = self.file_owner(found.group(1))
        return in_session and (owner is None or owner != self._user(scope))

    async def _upload(self, scope, receive, send, who: str) -> None:
        length = 0
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    length = int(v)
                except ValueError:
                    pass
        why = self.uploads.refuse(who, length)
        if why is not None:
            for msg in _plain(429, why, {"retry-after": str(int(WINDOW_S))}):
                await send(msg)
            return
        if length:
            return await self.app(scope, receive, send)
        counted = [0]  # no length given (chunked): count as it arrives, and cut it off past the budget

        async def counting_receive():
            msg = await receive()
            if msg.get("type") == "http.request":
                counted[0] += len(msg.get("body", b""))
                if self.uploads.refuse(who, len(msg.get("body", b""))) is not None:
                    return {"type": "http.disconnect"}
            return msg
        return await self.app(scope, counting_receive, send)

    async def _login(self, scope, receive, send, who: str) -> None:
        b = self.logins
        if b.wait_s(who) > 0 and b.waiting[who] >= LOGIN_MAX_WAITING:
            for msg in _plain(429, f"Too many wrong passwords from your address. Wait {b.wait_s(who):.0f} s "
                                   "and try again.", {"retry-after": str(int(b.wait_s(who)) + 1)}):
                await send(msg)
            return
        lock = b.locks.setdefault(who, asyncio.Lock())
        b.waiting[who] += 1
        try:
            async with lock:  # one try at a time per address, each after its wait
                wait = b.wait_s(who)
                if wait > 0:
                    await asyncio.sleep(wait)
                status: list[int] = []

                async def watch(msg):
                    if msg["type"] == "http.response.start":
                        status.append(msg["status"])
                    await send(msg)
                await self.app(scope, receive, watch)
                if status and status[0] < 300:
                    b.record(who, True)
                elif status and status[0] == 400:  # Gradio's answer to wrong credentials
                    b.record(who, False)
        finally:
            b.waiting[who] -= 1
            if not b.waiting[who] and not lock.locked() and who not in b.failures:
                b.waiting.pop(who, None)
                b.locks.pop(who, None)

    async def _page_without_api(self, scope, receive, send) -> None:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def hold(msg):
            if msg["type"] == "http.response.start":
                start.update(msg)
                return
            if msg["type"] == "http.response.body":
                chunks.append(msg.get("body", b""))
                if msg.get("more_body"):
                    return
                body = b"".join(chunks)
                encoded = any(k == b"content-encoding" for k, _ in start.get("headers", []))
                if not encoded:
                    body = _API_INFO.sub(_EMPTY_API_INFO, body, count=1)
                headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(msg)
        await self.app(scope, receive, hold)


def guard_app_kwargs(file_owner: Callable[[str], tuple[bool, str | None]] | None = None) -> dict:
    """launch(app_kwargs=...) that puts the Guard in front of every route; `file_owner` (the page's
    Page.file_owner) lets it refuse one user's session files to another."""
    from starlette.middleware import Middleware
    return {"middleware": [Middleware(Guard, file_owner=file_owner)]}


def _self_check() -> None:  # pragma: no cover - python -m fewshot.ui.guard
    print(json.dumps({"max_upload_mb": max_upload_bytes() // MB,
                      "login_delays": [login_delay(n) for n in range(4, 12)]}))


if __name__ == "__main__":  # pragma: no cover
    _self_check()
