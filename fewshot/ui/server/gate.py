"""The demo links' gate: an ASGI app mounted at /m of the main app, in front of the demo page
(fewshot/ui/demo.py mounts the page behind it).

    gate = LinkGate(page_app, is_live, uploads)     # Mount(DEMO_PREFIX, app=gate)

/m/<id>/... goes to the page when link <id> is live, else 404, before the page sees the request. Its file
routes serve a visitor only what that visitor uploaded to this link's page (the Guard's ledger,
fewshot/ui/server/uploads.py), never a session's, a project's or any other file; the page learns which link
a request came through from the x-fewshot-demo header, which only the gate sets. No gradio import.
"""
from __future__ import annotations

from typing import Callable

from ...demo_links import valid_link_id
from .uploads import VISITOR_HEADER, UploadLedger

LINK_HEADER = b"x-fewshot-demo"
FILE_ROUTES = ("/file=", "/gradio_api/file=", "/gradio_api/file/")

__all__ = ["FILE_ROUTES", "LINK_HEADER", "LinkGate"]


def _send_plain(status: int, text: str, headers: list | None = None) -> list[dict]:
    body = text.encode()
    hdrs = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    return [{"type": "http.response.start", "status": status, "headers": hdrs + (headers or [])},
            {"type": "http.response.body", "body": body}]


class LinkGate:
    """ASGI app mounted at /m: /m/<id>/... goes to the demo page when link <id> is live, else 404. Behind the
    Guard (fewshot/ui/server/guard.py), which says who the visitor is; its file routes serve a visitor only what that
    visitor uploaded to this link's page, never a session's, a project's or any other file."""

    def __init__(self, app, is_live: Callable[[str], bool], uploads: UploadLedger) -> None:
        self.app, self.is_live, self.uploads = app, is_live, uploads

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        from starlette._utils import get_route_path
        from starlette.concurrency import run_in_threadpool
        route = get_route_path(scope)  # "/<id>/rest" below the mount
        link, slash, rest = route.lstrip("/").partition("/")
        if not valid_link_id(link) or not await run_in_threadpool(self.is_live, link):
            return await self._refuse(scope, send, 404, "Not found.")
        if not slash:  # /m/<id> -> /m/<id>/ (relative, so it holds behind proxies and share links)
            return await self._refuse(scope, send, 307, "", [(b"location", f"{link}/".encode())])
        rest = "/" + rest
        visitor = dict(scope.get("headers", [])).get(VISITOR_HEADER, b"").decode("utf-8", "replace")
        for prefix in FILE_ROUTES:
            if rest.startswith(prefix) and not self.uploads.owns(
                    visitor, rest[len(prefix):] if prefix.endswith("=") else "/" + rest[len(prefix):]):
                return await self._refuse(scope, send, 404, "Not found.")
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != LINK_HEADER]
        child = dict(scope, root_path=scope.get("root_path", "") + "/" + link,
                     headers=headers + [(LINK_HEADER, link.encode())])
        return await self.app(child, receive, send)

    @staticmethod
    async def _refuse(scope, send, status: int, text: str, headers: list | None = None) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        for msg in _send_plain(status, text, headers):
            await send(msg)
