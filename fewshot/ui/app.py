"""The built app (`build_app` in fewshot/ui/__init__.py returns one): the page, one table of every URL it serves
beside Gradio's own, the resources it owns while it runs, and how it launches and closes.

    app = build_app(backends)
    try:
        app.launch(server_name=host, server_port=port, share=share, auth=auth)   # app.py
    finally:
        app.close()                                                             # every session's files go
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import gradio as gr

from .page import I18N
from .server.guard import guard_app_kwargs, max_upload_bytes, trust_proxies
from .server.thumbs import ThumbTokens
from .server.uploads import UploadLedger
from .tab.state import SessionRegistry, remove_stale_sessions, session_root

ASSETS = Path(__file__).resolve().parents[2] / "assets"
QUEUE_CONCURRENCY = 4  # events of one kind that run at once unless the event says otherwise

__all__ = ["App", "launch_kwargs", "page_js", "project_paths"]


@dataclass
class App:
    """The page and what serves it. `routes` is every URL the app adds to Gradio's own, in one table:
    thumb/<token>/<sha1>.jpg (the Label step's thumbnails, fewshot/ui/server/thumbs.py) and /m/<link id>
    (the demo links' page behind its gate, fewshot/ui/demo.py)."""

    blocks: gr.Blocks
    routes: list
    lifespan: Callable  # the demo links' page starts and stops with the server (its own queue)
    registry: SessionRegistry  # every tab's Session: closed at shutdown
    uploads: UploadLedger  # who uploaded what: every event takes only its own visitor's files
    thumbs: ThumbTokens  # the thumbnail route's live tokens, which the Label step registers
    file_owner: Callable[[str], tuple[bool, str | None]]  # the Guard: one user's session files never go to another

    def launch_kwargs(self) -> dict:
        """What launch() takes besides where it listens and who may log in: the page's look and languages, the
        largest upload (FEWSHOT_MAX_UPLOAD_MB) and, in front of every route, the Guard (uploads per client per
        minute, the brake on wrong passwords, heartbeats and the API description behind --auth, files only
        from their own uploader; fewshot/ui/server/guard.py), then `routes`."""
        return dict(launch_kwargs(), max_file_size=max_upload_bytes(),
                    app_kwargs={**guard_app_kwargs(self.file_owner, self.uploads), "routes": list(self.routes),
                                "lifespan": self.lifespan})

    def launch(self, **where) -> None:
        """Serve the app until the server stops (Ctrl+C); `where`: server_name, server_port, share, auth."""
        self.blocks.queue(default_concurrency_limit=QUEUE_CONCURRENCY)
        trust_proxies()  # X-Forwarded-For counts only from FEWSHOT_TRUSTED_PROXIES (a Space's own proxy on a Space)
        self.blocks.launch(**where, **self.launch_kwargs())

    def close(self) -> None:
        """Stop every project's training and delete every session's files; then the folders of servers that are
        gone (this one's went with close_all and go at exit)."""
        self.registry.close_all()
        remove_stale_sessions()


def launch_kwargs() -> dict:
    """The page's look and languages for launch(): theme, CSS, the session folders files are served from, and
    the page's languages (gr.I18n for its fixed words, assets/i18n.js for the switch)."""
    theme = gr.themes.Soft(primary_hue="indigo", secondary_hue="orange",
                           font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
                           font_mono=["ui-monospace", "Menlo", "Consolas", "monospace"])
    return dict(theme=theme, css=_page_css(), allowed_paths=[str(session_root())],
                blocked_paths=project_paths(), favicon_path=str(ASSETS / "logo.svg"), i18n=I18N,
                js=page_js())


def page_js(*names: str) -> str:
    """The page's scripts, each a function run once on load, as one (launch's js= takes one): by default the
    language switch (i18n.js) and Gradio's own words in Chinese (gradio_words.js)."""
    names = names or ("i18n.js", "gradio_words.js")
    calls = "".join(f"({(ASSETS / name).read_text().strip()})();\n" for name in names)
    return "() => {\n" + calls + "}"


def _page_css() -> str:
    """The page's CSS: its look (app.css), then the steps' own (steps.css: terms' tips, the Label step's captions)."""
    return (ASSETS / "app.css").read_text() + "\n" + (ASSETS / "steps.css").read_text()


def project_paths() -> list[str]:
    """The projects' database and folders (and the key of the browsers' memory), which Gradio must never serve,
    wherever FEWSHOT_DATA_DIR points (in the temp folder or the working directory Gradio would otherwise serve a
    file it is asked for): what the page shows of a project (the mistakes' photos) is copied into the session's
    folder first (results.servable)."""
    from ..project.database import DB_NAME, default_data_dir
    given = default_data_dir().expanduser().absolute()
    out: list[str] = []
    for root in dict.fromkeys([given, given.resolve()]):  # as written and through any symlink
        out += [str(root / "projects"), str(root / "browser-state.key"),
                *(str(root / (DB_NAME + end)) for end in ("", "-wal", "-shm", "-journal"))]
    return out
