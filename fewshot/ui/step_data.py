"""Step 1, your photos: a dropped folder, a zip, class cards (fewshot/ui/step_cards.py) or an example, all
ending in one report (summary, warnings, thumbnails, counts, skipped files)."""
from __future__ import annotations

from dataclasses import dataclass, field
import json
from pathlib import Path
from typing import Callable

import gradio as gr

from .. import i18n as L
from .. import views as V
from ..archive import Limits
from ..data import skipped_frame
from ..examples import PHOTO_SETS
from .tab import photos as P
from .tab import projects as PJ
from ..errors import DataError
from .page import LANG, Links, PRIVATE, Page, friendly, localized, md_hint, step_header, warn
from .tab.state import Session, is_upload
from .texts import FOLDER_TEMPLATE, FOLDER_TEXTS

ASSETS = Path(__file__).resolve().parents[2] / "assets"


@dataclass(eq=False)
class DataView:
    """Step 1's components (`build` makes them; `render` and `wire` take them)."""
    folder: gr.HTML = field(init=False)
    zip: gr.File = field(init=False)
    cards: object = field(init=False)  # step_cards.CardsView (the page builds it: steps never import each other)
    example: gr.Button = field(init=False)
    photo_set: gr.Dropdown = field(init=False)
    download: gr.Button = field(init=False)
    tabs: dict = field(init=False)  # each tab and its English name
    summary: gr.Markdown = field(init=False)
    warnings: gr.Markdown = field(init=False)
    thumbs: gr.HTML = field(init=False)
    counts: gr.Dataframe = field(init=False)
    skipped_box: gr.Accordion = field(init=False)
    skipped: gr.Dataframe = field(init=False)
    report: list = field(init=False)  # the report's outputs (summary, warnings, thumbnails, tables)


def build(page: Page, cards_tab: Callable[[], object]) -> DataView:
    """The four ways in (the cards tab is built by `cards_tab`) and the report's components."""
    v = DataView()
    step_header(1, "Your photos", "Give a few dozen photos per class, taken in different places, angles and light.")
    with gr.Tabs():
        with gr.Tab("📁 Drop photos", id="folder") as tab_folder:
            # one drop zone for photos in any shape: class folders (or train/ + val/), a zip, or a pile
            v.folder = gr.HTML(value="", html_template=FOLDER_TEMPLATE, status="", busy="", elem_id="folder-drop",
                               limit=Limits.from_env().max_images, js_on_load=(ASSETS / "folder_drop.js").read_text(),
                               texts={lang: {k: L.numbered(t, lang) for k, t in FOLDER_TEXTS.items()}
                                      for lang in L.LANGS},
                               t_aria=FOLDER_TEXTS["aria"], t_title=FOLDER_TEXTS["title"], t_btn=FOLDER_TEXTS["btn"],
                               t_files=FOLDER_TEXTS["files"], t_sub="", failed="")
            # the API's way in for a zip of class folders (/load_zip); the page takes zips in the drop zone
            v.zip = gr.File(label="A .zip of class folders (or of train/ and val/)", file_types=[".zip"],
                            file_count="single", elem_id="zip-upload", height=140, visible=False)
        with gr.Tab("🃏 Cards", id="cards") as tab_cards:
            v.cards = cards_tab()
        with gr.Tab("✨ Example", id="example") as tab_example:
            md_hint("No photos at hand? Start with generated pictures of three shapes (works offline), or "
                    "download a real photo set.")
            with gr.Row():
                v.example = gr.Button("Use the shapes example", variant="primary", elem_id="example-btn")
                v.photo_set = gr.Dropdown([(p.title, k) for k, p in PHOTO_SETS.items()], value="ants-bees",
                                          label="Real photos (downloaded, needs internet)", scale=2)
                v.download = gr.Button("Download", elem_id="download-btn")
    # Gradio names the tabs once, in the language the page loaded in: a switch names them again (wire)
    v.tabs = {tab: str(tab.label) for tab in (tab_folder, tab_cards, tab_example)}
    v.summary = gr.Markdown("Nothing loaded yet.", elem_id="data-summary", label="summary")
    v.warnings = gr.Markdown("", elem_id="data-warnings", label="warnings")
    v.thumbs = gr.HTML("", elem_id="data-thumbs", label="thumbnails")
    with gr.Accordion("Photos per class and split", open=False):
        v.counts = gr.Dataframe(label="train = learned from; val = kept aside to check the model",
                                interactive=False, elem_id="data-counts")
    with gr.Accordion("Skipped files (0)", open=False, elem_id="skipped-box") as v.skipped_box:
        v.skipped = gr.Dataframe(headers=["file", "reason"], interactive=False, wrap=True, elem_id="data-skipped")
    v.report = [v.summary, v.warnings, v.thumbs, v.counts, v.skipped, v.skipped_box]
    return v


def report(v: DataView, sess: Session, announce: bool = True) -> dict:
    """The report of the session's photos; `announce`: they are new (warn about skipped files, open their list)."""
    ds = sess.dataset
    if announce and ds.skipped:  # something the user gave was not used: say so where they are looking
        warn(f"{len(ds.skipped)} file{'s were' if len(ds.skipped) != 1 else ' was'} skipped; "
             f"the report below says why for each one.")
    opened = {"open": bool(ds.skipped)} if announce else {}  # a re-render keeps the list as the user left it
    out = {v.summary: V.data_summary(ds, sess.source), v.warnings: V.data_warnings(ds),
           v.thumbs: V.thumbnail_strips(ds), v.counts: ds.counts(), v.skipped: ds.skipped_frame(),
           v.skipped_box: gr.Accordion(label=f"Skipped files ({len(ds.skipped)})", **opened)}
    return {**out, **unlabelled(v, sess, out)}


def unlabelled(v: DataView, sess: Session, out: dict | None = None) -> dict:
    """The project's photos without a class (added by the command line, an import): said in the summary and
    shown as a row of their own under the classes; they stay in the project, and training uses only labelled
    ones. {} when there are none."""
    p = sess.project
    photos = p.photos(label=None) if p is not None else []
    if not photos:
        return {}
    out = out or {}
    n = len(photos)
    note = (f"{n} more photos in this project have no class yet: kept in the project, not used for training "
            f"until labelled." if n != 1 else
            "1 more photo in this project has no class yet: kept in the project, not used for training until "
            "labelled.")
    summary = f"{out[v.summary]}\n\n{note}" if v.summary in out else note
    strip = V.unlabelled_strip([str(ph.file) for ph in photos], n)
    return {v.summary: summary, v.thumbs: out.get(v.thumbs, "") + strip}



def not_loaded(v: DataView, sess: Session) -> dict:
    """A dropped folder that could not be used, said once in the summary (with what is still loaded) and once
    in the drop box; no error mark: the report is the one place that says what the photos are."""
    top, why = sess.data.failed
    out = report(v, sess, announce=False) if sess.dataset is not None else {v.skipped: skipped_frame()}
    before = f"\n\n{out[v.summary]}" if v.summary in out else ""
    return {**out, v.summary: f"⛔ **Nothing was loaded from “{top}”.** {why}" + before,
            v.folder: gr.HTML(status=L.translate(FOLDER_TEXTS["failed"].replace("{}", top, 1), LANG.get()),
                              failed=top)}


def _said(key: str, *values) -> str:
    """The drop zone's status line (FOLDER_TEXTS[key], in the running callback's language)."""
    return L.translate(FOLDER_TEXTS[key].format(*values), LANG.get())


def _classes_said(top: str, layout: tuple[str, int, int]) -> str:
    """What the drop zone saw (P.photo_layout of this drop, not the project): pictures in how many class folders."""
    _, photos, classes = layout
    return _said("classes", top, photos, classes)


def render(v: DataView, sess: Session | None, whole: bool = False) -> dict:
    """What step 1 shows for a session (written again when the language changes); `whole`: all of it, as when a
    project opens, where nothing labelled says that nothing is loaded (or only what has no class)."""
    out = _render(v, sess)
    if whole and sess is not None and sess.dataset is None:
        out.setdefault(v.summary, "Nothing loaded yet.")
        out[v.warnings] = ""
        out.setdefault(v.thumbs, "")
    return out


def _render(v: DataView, sess: Session | None) -> dict:
    if sess is not None and sess.data.failed is not None:
        out = not_loaded(v, sess)
        out.pop(v.folder)  # the drop box says it again itself (assets/folder_drop.js)
        return out
    if sess is None or sess.dataset is None:  # nothing labelled: only the empty table's headers, and any
        return {v.skipped: skipped_frame(), **(unlabelled(v, sess) if sess is not None else {})}  # unlabelled
    return report(v, sess, announce=False)


def _loaded(v: DataView, page: Page, sess: Session) -> dict:
    sess.data.failed = None
    return {**report(v, sess), page.state: sess}


@dataclass(eq=False)
class _Drop:
    """The one drop zone's event: class folders (or a zip of them) load for training; a pile (or a zip of one)
    goes to the Label step, which opens; either way the drop zone says which it saw."""

    v: DataView
    page: Page
    links: Links

    def on_folder(self, payload: str, st, request: gr.Request) -> dict:
        v, page = self.v, self.page
        sess = page.session(st, request)
        if not sess.project_owner:  # photos dropped before the page's load event gave the tab its owner: now
            PJ.page_owner(sess, getattr(request, "username", None), None)
        data = json.loads(payload or "{}")
        given = [(str(i.get("path") or ""), str(i.get("rel") or "")) for i in data.get("items", [])]
        zips = [(path, rel) for path, rel in given if rel.lower().endswith(".zip")]
        items = [(path, rel) for path, rel in given if not rel.lower().endswith(".zip")]
        first = (zips or items)[0][1] if zips or items else ""
        top = first.split("/")[0] if "/" in first or zips else ""  # "": loose photos, chosen one by one
        try:
            if zips:
                return self.dropped_zip(sess, zips, items)
            layout = P.photo_layout([rel for _, rel in items])
            if layout[0] == "pile":
                found, skipped = P.uploaded_items(data, page.upload_root, is_upload)
                return self.to_label(sess, top, *self.links.to_label(sess, found, skipped))
            P.load_uploaded_folder(sess, items, page.upload_root, source=f"the folder “{top}”",
                                   not_images=[str(o) for o in data.get("others", [])])
        except DataError as exc:  # one state that the drop box and the summary agree on, no error mark
            sess.data.failed = (top or "your photos", str(exc))
            return {**not_loaded(v, sess), page.state: sess}
        return {**_loaded(v, page, sess), v.folder: gr.HTML(status=_classes_said(top, layout))}

    def dropped_zip(self, sess: Session, zips: list, items: list) -> dict:
        if len(zips) > 1 or items:
            raise DataError("Drop one .zip at a time, without other photos beside it (or unzip it and drop the "
                            "folder).")
        real = self.page.uploaded(sess, zips[0][0])
        layout = P.photo_layout(P.zip_photo_names(real))  # its directory, read once
        if layout[0] == "pile":
            return self.to_label(sess, zips[0][1], *self.links.to_label(sess, [], [], str(real)))
        P.load_zip_file(sess, str(real), self.page.upload_root)
        return {**_loaded(self.v, self.page, sess), self.v.folder: gr.HTML(status=_classes_said(zips[0][1], layout))}

    def to_label(self, sess: Session, top: str, added: int, already: int, label_shown: dict) -> dict:
        """A pile went to the Label step: said in the drop zone and the summary; the Label step opens."""
        v = self.v
        sess.data.failed = None
        note = (f"🗂 {added} photos without class folders went to the Label step, where you give each one its "
                f"class ({already} were already in the project).")
        out = {**render(v, sess, whole=True), **label_shown, self.page.state: sess}
        out[v.summary] = note + ("\n\n" + out[v.summary] if out.get(v.summary) else "")
        out[v.folder] = gr.HTML(status=_said("pile", top, added) if top else _said("loose", added))
        return out


def wire(v: DataView, page: Page, links: Links) -> None:
    """Each way in loads the photos into the tab's session and shows the report."""
    outputs = v.report + [page.state]
    loaded = lambda sess: _loaded(v, page, sess)  # noqa: E731
    on_folder = friendly(_Drop(v, page, links).on_folder)

    @friendly
    def on_zip(zip_file: str, st, request: gr.Request):
        sess = page.session(st, request)
        P.load_zip_file(sess, zip_file, page.upload_root)
        return loaded(sess)

    @friendly
    def on_example(st, request: gr.Request):
        sess = page.session(st, request)
        P.load_example(sess)
        return loaded(sess)

    @friendly
    def on_download(key: str, st, request: gr.Request, progress=gr.Progress()):
        sess = page.session(st, request)
        P.load_photo_set(sess, key, progress=lambda d, t: progress(d / t if t else None,
                                                                   desc=f"Downloading {d / 1e6:.0f} MB"))
        return loaded(sess)

    where = dict(show_progress_on=[v.summary])  # one spinner (or error mark) by the summary, not on every part
    page.follow(v.folder.change(on_folder, [v.folder, page.state],
                                outputs + [v.folder] + [c for c in links.to_label_outputs if c not in outputs],
                                **PRIVATE, **where))
    page.follow(v.zip.upload(on_zip, [v.zip, page.state], outputs, api_name="load_zip", **where))
    page.follow(v.example.click(on_example, [page.state], outputs, api_name="load_example", **where))
    page.follow(v.download.click(on_download, [v.photo_set, page.state], outputs, api_name="download_photos", **where))

    def rename_tabs(lang: str):  # Gradio names tabs once, as the page loads: name them again in the new language
        return localized({tab: gr.Tab(label=label) for tab, label in v.tabs.items()}, L.normalize_lang(lang))
    page.lang.change(rename_tabs, [page.lang], list(v.tabs), **PRIVATE, show_progress="hidden", queue=False)


__all__ = ["ASSETS", "DataView", "build", "not_loaded", "render", "report", "unlabelled", "wire"]
