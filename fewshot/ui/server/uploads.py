"""Which uploads belong to which visitor, so that an event takes a file only from the visitor who uploaded it.

Gradio's events take files by their server path (`{"path": ..., "meta": {"_type": "gradio.FileData"}}`), and a
page mounted rather than launched (a demo link's, fewshot/ui/demo.py) skips Gradio's own check that such a
path is in its upload folder: a raw API call could then name any file the server can read. Gradio's check
alone would also let one visitor name another visitor's upload. So the Guard (fewshot/ui/server/guard.py), in front
of every app this project serves, does this:

    ledger = UploadLedger()
    ledger.add(visitor, paths)                      # what POST .../gradio_api/upload answered to that visitor
    ledger.foreign(visitor, json.loads(body))       # the file paths a request names that the visitor did not upload

A visitor is one app (its mount prefix: "" for the page, "/m/<id>" for a demo link) seen by one browser (the
`fewshot-browser` cookie, else its address) and, with --auth, one user. The Guard refuses a request that
names any other file before Gradio copies or opens anything, and tells the app which visitor a request is
(the x-fewshot-visitor header, which only the Guard sets) for the checks that need it later (the demo gate's
file routes). No gradio import.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Iterable, Iterator

VISITOR_HEADER = b"x-fewshot-visitor"
TTL_S = 6 * 3600            # as long as a page's session lasts (fewshot/ui: SESSION_TTL_S)
MAX_PER_VISITOR = 50_000    # a dropped folder of 20,000 photos, twice over
MAX_VISITORS = 20_000
_MAX_JSON_STRING = 64 * 1024 * 1024  # the folder drop's list of uploads travels as one JSON string

__all__ = ["UploadLedger", "VISITOR_HEADER", "file_references", "visitor_key"]


def visitor_key(app: str, user: str | None, browser: str | None, address: str | None) -> str:
    """One visitor of one app: its mount prefix, its user (with --auth) and its browser cookie (else address)."""
    who = f"b:{browser}" if browser else f"a:{address or '?'}"
    return f"{app}|{user or ''}|{who}"


def file_references(value: Any) -> Iterator[str]:
    """Every file path a request body names: the "path" of each file object, also inside strings that hold
    JSON (the page's folder drop sends its uploads' paths that way, assets/folder_drop.js)."""
    if isinstance(value, dict):
        path = value.get("path")
        if isinstance(path, str):
            yield path
        for v in value.values():
            yield from file_references(v)
    elif isinstance(value, list):
        for v in value:
            yield from file_references(v)
    elif isinstance(value, str) and value[:1] in ("{", "[") and len(value) <= _MAX_JSON_STRING:
        try:
            inner = json.loads(value)
        except ValueError:
            return
        yield from file_references(inner)


def _norm(path: str) -> str:
    return os.path.normpath(path)


class UploadLedger:
    """The files each visitor uploaded over the last hours (bounded in visitors and files, oldest dropped)."""

    def __init__(self, ttl_s: float = TTL_S, max_per_visitor: int = MAX_PER_VISITOR,
                 max_visitors: int = MAX_VISITORS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.max_per_visitor, self.max_visitors, self.clock = ttl_s, max_per_visitor, max_visitors, clock
        self._files: OrderedDict[str, OrderedDict[str, float]] = OrderedDict()  # visitor -> path -> when
        self._lock = threading.Lock()

    def add(self, visitor: str, paths: Iterable[str]) -> None:
        """Note that `visitor` uploaded `paths` (as Gradio's upload route answered them)."""
        now = self.clock()
        with self._lock:
            files = self._files.setdefault(visitor, OrderedDict())
            self._files.move_to_end(visitor)
            for p in paths:
                if isinstance(p, str) and p:
                    files[_norm(p)] = now
                    files.move_to_end(_norm(p))
            while len(files) > self.max_per_visitor:
                files.popitem(last=False)
            while len(self._files) > self.max_visitors:
                self._files.popitem(last=False)

    def owns(self, visitor: str, path: str) -> bool:
        """Whether `visitor` uploaded the file at `path` (and not longer ago than the ledger keeps)."""
        with self._lock:
            when = self._files.get(visitor, {}).get(_norm(path))
        return when is not None and self.clock() - when <= self.ttl_s

    def foreign(self, visitor: str, body: Any) -> list[str]:
        """The file paths `body` names that `visitor` did not upload (empty: the request may go on)."""
        return [p for p in file_references(body) if not self.owns(visitor, p)]
