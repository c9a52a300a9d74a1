"""Publish a trained model as a Hugging Face Space: create the Space, upload the folder space.py builds.

The token is used for the two calls and nothing else: it is never stored, logged or put in a message (every
error is rewritten in plain words with the token masked, and raised without its cause). The folder is built in a
temporary folder that is removed whatever happens, so nothing is left half-written on this machine.
The Hub client is a collaborator (`api`): tests pass a stand-in with `create_repo` and `upload_folder`.
"""
from __future__ import annotations

import os
import re
import socket
import tempfile
import threading
import urllib.request
from pathlib import Path
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Callable, Protocol
from urllib.parse import urlsplit

from . import __version__
from .bundle import TrainedModel
from .errors import FewshotError
from .space import build_space

__all__ = ["HubClient", "HubError", "check_reachable", "publish_space"]

ENDPOINT = "https://huggingface.co"
REACH_TIMEOUT_S = 5.0  # huggingface_hub's own calls wait without limit: a quick look first fails fast offline
SPACE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
TOKENS_PAGE = "https://huggingface.co/settings/tokens"


class HubError(FewshotError):
    """Publishing to the Hub failed; the message says why in plain words and never holds the token."""


class HubClient(Protocol):
    """What publishing needs of huggingface_hub.HfApi."""

    def create_repo(self, repo_id: str, **kwargs: Any) -> Any: ...

    def upload_folder(self, **kwargs: Any) -> Any: ...


def _offline_message(space_id: str, why: str) -> str:
    """What a user reads when the Hub cannot be reached: why, and what to do instead."""
    return (f"Could not reach the Hugging Face Hub ({why}), so {space_id} was not published. Connect to the "
            f"internet and try again, or make the Space folder now (the Share step's Space folder, or python -m fewshot "
            f"export MODEL --format space --out DIR) and upload its files to the Space later.")


def _offline_env() -> bool:
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def check_reachable(endpoint: str = ENDPOINT, timeout: float = REACH_TIMEOUT_S) -> None:
    """Open (and close) a TCP connection to the Hub (or to the HTTPS proxy the environment names, which the Hub
    client will use too) within `timeout` seconds, name lookup included; HubError when it cannot be done."""
    parts = urlsplit(endpoint)
    host, port = parts.hostname or "huggingface.co", parts.port or (80 if parts.scheme == "http" else 443)
    proxy = urllib.request.getproxies().get(parts.scheme or "https")
    if proxy and not urllib.request.proxy_bypass(host):  # behind a proxy (as the Hub client will be): reach it
        via = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        host, port = via.hostname or host, via.port or 8080
    failure: list[str] = [f"{host}: no answer within {timeout:g} s"]

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            failure.clear()
        except OSError as exc:
            failure[0] = f"{host}: {exc.strerror or exc}" if isinstance(exc, socket.gaierror) else f"{host}: {exc}"

    t = threading.Thread(target=connect, daemon=True)  # a name lookup has no timeout of its own
    t.start()
    t.join(timeout + 1)
    if failure:
        raise HubError(failure[0])


def _masked(text: str, token: str) -> str:
    return text.replace(token, "hf_***") if token else text


def _plain(exc: BaseException, space_id: str, token: str) -> HubError:
    """Any failure of a Hub call as a HubError in plain words, the token masked."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    server = _masked(str(getattr(exc, "server_message", "") or "").strip(), token)
    if status == 401:
        return HubError(f"The Hugging Face Hub refused the token (it is wrong, expired or revoked). Make a token "
                        f"with write access at {TOKENS_PAGE} and try again.")
    if status == 403:
        return HubError(f"The token may not create or write {space_id}: it needs write access, and the part before "
                        f"the / must be your user name or an organisation you can write to ({TOKENS_PAGE}).")
    if status is not None:
        return HubError(f"The Hugging Face Hub refused to publish {space_id} (HTTP {status})"
                        + (f": {server}" if server else "."))
    name = type(exc).__name__
    if isinstance(exc, (ConnectionError, TimeoutError, OSError)) or "Connect" in name or "Timeout" in name \
            or "Network" in name or "Transport" in name:
        return HubError(_offline_message(space_id, _masked(str(exc), token)[:200] or name))
    return HubError(f"Publishing {space_id} failed: {name}: {_masked(str(exc), token)[:300]}")


def publish_space(tm: TrainedModel, space_id: str, token: str, *, private: bool = False,
                  api: HubClient | None = None, reach: Callable[[str], None] | None = None,
                  building: AbstractContextManager | None = None) -> str:
    """Create (or reuse) the Gradio Space `space_id` ("USER/NAME") and upload the model's Space folder to it.

    `api`: a huggingface_hub.HfApi (the default) or a stand-in; `reach(endpoint)` raises HubError when the Hub
    cannot be reached (default: check_reachable). `building` is held while the folder is made from the model
    (e.g. the lock of a model others predict with), not during the upload. Returns the Space's address.
    HubError in plain words when offline, refused or wrongly named; the token is never stored or shown.
    """
    space_id, token = (space_id or "").strip(), (token or "").strip()
    if not SPACE_ID.match(space_id):
        raise HubError(f"{space_id or 'The Space name'!r} is not a Space name: write it as USER/NAME, e.g. "
                       f"ana/bird-classifier (letters, digits, '-', '_' and '.').")
    if not token:
        raise HubError(f"A Hugging Face token with write access is needed to publish; make one at {TOKENS_PAGE}.")
    if _offline_env():
        raise HubError(_offline_message(space_id, "HF_HUB_OFFLINE is set; unset it to publish"))
    if api is None:
        from huggingface_hub import HfApi  # its HTTP stack: loaded to publish, not by the page or the CLI
        api = HfApi()
    endpoint = str(getattr(api, "endpoint", None) or ENDPOINT)
    try:
        (reach or check_reachable)(endpoint)
    except HubError as exc:
        raise HubError(_offline_message(space_id, str(exc))) from None
    with tempfile.TemporaryDirectory(prefix="fewshot-space-") as tmp:  # removed whatever happens
        with building or nullcontext():
            folder = build_space(tm, Path(tmp) / "space", space_id)
        error: HubError | None = None
        try:
            api.create_repo(space_id, token=token, repo_type="space", space_sdk="gradio", private=bool(private),
                            exist_ok=True)
            api.upload_folder(repo_id=space_id, folder_path=str(folder), repo_type="space", token=token,
                              commit_message=f"fewshot {__version__}")
        except Exception as exc:  # noqa: BLE001 - every failure becomes plain words without the token
            error = _plain(exc, space_id, token)
        if error is not None:
            raise error  # outside the except block: the original exception (and its traceback) is not chained
    return f"{endpoint.rstrip('/')}/spaces/{space_id}"
