"""The web server's brakes for a public deployment, as one ASGI middleware in front of Gradio's routes.

    demo.launch(..., app_kwargs=guard_app_kwargs(file_owner, uploads))   # fewshot/ui/app.py: App.launch_kwargs

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
- **The browser's cookie** (`GET /`, and a demo link's page): the page comes with a random `fewshot-browser` cookie
  (HttpOnly, kept while the browser runs) when the browser has none; a session remembers the one its events
  carried, so what only that session may fetch (the Label step's thumbnails, fewshot/ui/server/thumbs.py) is refused to
  another browser.
- **Files only from their own uploader** (every other `POST`): the paths the upload route gives each visitor are
  noted (fewshot/ui/server/uploads.py), and a request naming any other file (a server path, another visitor's upload, an
  upload to another app of this server) is refused with 403 before Gradio reads, copies or serves it.
- **Client addresses**: the peer's, or what X-Forwarded-For says when the peer is a proxy the operator names
  (FEWSHOT_TRUSTED_PROXIES; `trust_proxies` sets it up before launch). Passwords are also braked per user name.

No gradio import: the middleware reads Gradio's App from the ASGI scope (its `auth`, `tokens`, `cookie_id`).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import time
import urllib.parse
from collections import defaultdict, deque
from typing import Any, Callable

from .uploads import VISITOR_HEADER, UploadLedger, visitor_key

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
_DEMO_PAGE = re.compile(re.escape(DEMO_PREFIX) + r"/[A-Za-z0-9_-]{32}/$")
MAX_EVENT_BODY = 64 * MB  # a request naming files (an event's inputs) is read whole before it goes on: cap it
# the path is the requester's own words: not echoed (it may name what the requester should not learn exists)
_FILE_NOT_YOURS = ("A file this request names was not uploaded by you to this page. Upload the file itself: no file "
                   "on the server is read by its path.")


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
    """Wrong passwords per client address and per user name, and how long the next try must wait."""

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


async def _send_json(send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _plain(status: int, text: str, headers: dict[str, str] | None = None):
    body = text.encode()
    hdrs = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    hdrs += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    return [{"type": "http.response.start", "status": status, "headers": hdrs},
            {"type": "http.response.body", "body": body}]


class Guard:
    """ASGI middleware: upload budgets, files only from their own uploader, the login brake, heartbeats and the
    page's API description behind --auth."""

    def __init__(self, app, upload_mb_per_min: float | None = None, uploads_per_min: int | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 file_owner: Callable[[str], tuple[bool, str | None]] | None = None,
                 uploads: UploadLedger | None = None) -> None:
        self.app = app
        self.file_owner = file_owner  # path -> (in a session's folder, that session's user): see Page.file_owner
        mb = upload_mb_per_min or _env_number("FEWSHOT_UPLOAD_MB_PER_MIN", 1000)
        calls = uploads_per_min or int(_env_number("FEWSHOT_UPLOADS_PER_MIN", 3000))
        self.uploads = Budget(int(mb * MB), int(calls), clock)
        self.logins = LoginBrake(clock)
        self.ledger = uploads if uploads is not None else UploadLedger()

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

    def visitor(self, scope, path: str) -> str:
        """Who this request is, for the upload ledger: the app it is for (its mount prefix), the user, the browser."""
        app = path.split("/gradio_api/", 1)[0] if "/gradio_api/" in path else ""
        return visitor_key(app, self._user(scope), self.cookies(scope).get(BROWSER_COOKIE),
                           (scope.get("client") or ("?", 0))[0])

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, method = scope.get("path", ""), scope.get("method", "GET")
        root = scope.get("root_path", "") or ""
        if root and path.startswith(root):
            path = path[len(root):] or "/"
        # the client address is the peer's, or what a proxy the operator trusts forwarded (App.launch: trust_proxies)
        who = (scope.get("client") or ("?", 0))[0]
        visitor = self.visitor(scope, path)
        scope = {**scope, "headers": [(k, v) for k, v in scope.get("headers", []) if k.lower() != VISITOR_HEADER]
                 + [(VISITOR_HEADER, visitor.encode("utf-8", "replace"))]}
        if method == "POST" and path.rstrip("/").endswith("/gradio_api/upload"):
            return await self._upload(scope, receive, send, who, visitor)
        if method == "POST" and path.rstrip("/") == "/login" and self._auth_on(scope):
            return await self._login(scope, receive, send, who)
        if method == "POST":  # an event, or any call that could name a file by its server path
            return await self._only_own_files(scope, receive, send, visitor)
        if ("/gradio_api/heartbeat/" in path and not path.startswith(DEMO_PREFIX + "/") and self._auth_on(scope)
                and self._user(scope) is None):  # a demo link's page (fewshot/ui/demo.py) needs no login
            for msg in _plain(401, "Not logged in."):
                await send(msg)
            return
        if method in ("GET", "HEAD") and self._not_theirs(scope, path):
            for msg in _plain(404, "Not found."):
                await send(msg)
            return
        if method in ("GET", "HEAD") and (path == "/" or _DEMO_PAGE.match(path)):
            send = self._with_browser_cookie(scope, send)
            if path == "/" and self._auth_on(scope) and self._user(scope) is None:
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

    async def _upload(self, scope, receive, send, who: str, visitor: str) -> None:
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
        send = self._noting_uploads(send, visitor)
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

    def _noting_uploads(self, send, visitor: str):
        """`send`, noting in the ledger the paths Gradio's upload route answers (a JSON list) as `visitor`'s."""
        status, chunks = [0], []

        async def noting(msg):
            if msg["type"] == "http.response.start":
                status[0] = msg["status"]
            elif msg["type"] == "http.response.body" and status[0] == 200:
                chunks.append(msg.get("body", b""))
                if not msg.get("more_body"):
                    try:
                        paths = json.loads(b"".join(chunks))
                    except ValueError:
                        paths = []
                    if isinstance(paths, list):  # noted before the browser can name them in an event
                        self.ledger.add(visitor, [p for p in paths if isinstance(p, str)])
            await send(msg)
        return noting

    async def _only_own_files(self, scope, receive, send, visitor: str) -> None:
        """A POST goes on only if every file it names is one this visitor uploaded to this app: checked on the
        whole body before Gradio reads it, so a server path is never opened, copied or served back."""
        body, more = bytearray(), True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
            if len(body) > MAX_EVENT_BODY:
                for out in _plain(413, f"This request is over {MAX_EVENT_BODY // MB} MB."):
                    await send(out)
                return
        try:
            parsed = json.loads(body) if body.strip()[:1] in (b"{", b"[") else None
        except ValueError:
            parsed = None  # not JSON: no file can be named in it (Gradio refuses it as it is)
        if parsed is not None and self.ledger.foreign(visitor, parsed):
            text = json.dumps({"detail": _FILE_NOT_YOURS})
            await _send_json(send, 403, text)
            return
        replayed = [False]

        async def replay():
            if not replayed[0]:
                replayed[0] = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()
        return await self.app(scope, replay, send)

    async def _login(self, scope, receive, send, who: str) -> None:
        """One try at a time per address and per user name, each after the wait their wrong passwords earned."""
        body = bytearray()
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body += msg.get("body", b"")
            if not msg.get("more_body") or len(body) > 64 * 1024:
                break
        name = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("username", [""])[0]
        keys = sorted({who, "user:" + name[:200]} if name else {who})
        b = self.logins
        wait = max(b.wait_s(k) for k in keys)
        if wait > 0 and any(b.waiting[k] >= LOGIN_MAX_WAITING for k in keys):
            for msg in _plain(429, f"Too many wrong passwords. Wait {wait:.0f} s and try again.",
                              {"retry-after": str(int(wait) + 1)}):
                await send(msg)
            return
        locks = [b.locks.setdefault(k, asyncio.Lock()) for k in keys]  # sorted keys: one order, no deadlock
        for k in keys:
            b.waiting[k] += 1
        try:
            async with contextlib.AsyncExitStack() as stack:
                for lock in locks:
                    await stack.enter_async_context(lock)
                wait = max(b.wait_s(k) for k in keys)
                if wait > 0:
                    await asyncio.sleep(wait)
                status: list[int] = []

                async def watch(msg):
                    if msg["type"] == "http.response.start":
                        status.append(msg["status"])
                    await send(msg)

                async def replay():
                    return {"type": "http.request", "body": bytes(body), "more_body": False}
                await self.app(scope, replay, watch)
                for k in keys:
                    if status and status[0] < 300:
                        b.record(k, True)
                    elif status and status[0] == 400:  # Gradio's answer to wrong credentials
                        b.record(k, False)
        finally:
            for k, lock in zip(keys, locks):
                b.waiting[k] -= 1
                if not b.waiting[k] and not lock.locked() and k not in b.failures:
                    b.waiting.pop(k, None)
                    b.locks.pop(k, None)

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


def guard_app_kwargs(file_owner: Callable[[str], tuple[bool, str | None]] | None = None,
                     uploads: UploadLedger | None = None) -> dict:
    """launch(app_kwargs=...) that puts the Guard in front of every route; `file_owner` (the page's
    Page.file_owner) lets it refuse one user's session files to another; `uploads` is the ledger of who uploaded
    what, shared with what else checks it (the demo gate)."""
    from starlette.middleware import Middleware
    return {"middleware": [Middleware(Guard, file_owner=file_owner, uploads=uploads)]}


SPACE_PROXIES = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"  # a Space's own proxy, inside its network


def trusted_proxies() -> str:
    """The proxies whose X-Forwarded-For counts (FEWSHOT_TRUSTED_PROXIES: addresses or networks, comma-separated).
    None by default: a header any client can write must not choose the address that budgets and the password
    brake count by. On a Hugging Face Space every request comes through the Space's proxy on its private
    network, so its private ranges are trusted there unless the variable says otherwise."""
    given = os.environ.get("FEWSHOT_TRUSTED_PROXIES")
    if given is not None:
        return ",".join(p.strip() for p in given.split(",") if p.strip())
    return SPACE_PROXIES if os.environ.get("SPACE_ID") else ""


def trust_proxies() -> str:
    """Before launch: the web server (uvicorn, started by Gradio) takes the client's address from
    X-Forwarded-For only when the peer is one of `trusted_proxies()`, walking the header from the right past
    trusted proxies. Its own default trusts any loopback peer, which would let a client behind a same-host proxy
    or tunnel pick its address; FORWARDED_ALLOW_IPS is the setting it reads, and "" trusts none."""
    os.environ["FORWARDED_ALLOW_IPS"] = trusted_proxies()
    return os.environ["FORWARDED_ALLOW_IPS"]


def _self_check() -> None:  # pragma: no cover - python -m fewshot.ui.server.guard
    print(json.dumps({"max_upload_mb": max_upload_bytes() // MB,
                      "login_delays": [login_delay(n) for n in range(4, 12)]}))


if __name__ == "__main__":  # pragma: no cover
    _self_check()


__all__ = ["BROWSER_COOKIE", "Budget", "DEMO_PREFIX", "Guard", "LOGIN_FREE_TRIES", "LOGIN_MAX_DELAY_S",
           "LOGIN_MAX_WAITING", "LoginBrake", "MAX_EVENT_BODY", "MB", "SPACE_PROXIES", "WINDOW_S",
           "guard_app_kwargs", "login_delay", "max_upload_bytes", "trust_proxies", "trusted_proxies"]
