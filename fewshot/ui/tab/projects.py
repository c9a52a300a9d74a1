"""A tab's project: the one ProjectStore of this server, a session's project opened or made, the photos a
session loaded added to it, and its active run's model as the session's model. No gradio.

A Session with `project_owner` set (the page's demo.load sets it, as the server's ProjectOwners says: "local"
when the app serves one person, the command line's projects; else the logged-in user with --auth, else the
browser's own unguessable token) keeps its photos and runs in a project; one without (an API client that
never called /project_new or /project_open) works as before, in its temporary folder only.
"""
from __future__ import annotations

import os
import re
import secrets
import sys
import threading
import time
from pathlib import Path

from ...bundle import load_bundle
from ...data import Dataset
from ...errors import DataError, ProjectError, ProjectNotFound
from ...project import Project, ProjectStore
from ...project.database import default_data_dir
from .state import Session

_STORES: dict[Path, ProjectStore] = {}
_EXPIRED: dict[Path, float] = {}  # when idle projects were last looked for, per data folder
_LOCK = threading.Lock()
EXPIRE_EVERY_S = 3600


def store() -> ProjectStore:
    """This server's ProjectStore (FEWSHOT_DATA_DIR, else the per-user data folder), opened once per folder.
    At most once an hour (and at first use) it deletes the projects idle for FEWSHOT_PROJECT_TTL_DAYS."""
    root = default_data_dir()
    with _LOCK:
        if root not in _STORES:
            _STORES[root] = ProjectStore(root)
        s, due = _STORES[root], time.monotonic() - _EXPIRED.get(root, -EXPIRE_EVERY_S) >= EXPIRE_EVERY_S
        if due:
            _EXPIRED[root] = time.monotonic()
    if due:
        try:
            gone = s.expire_projects()
        except ProjectError as exc:  # a FEWSHOT_PROJECT_TTL_DAYS that is not a number: said, and nothing expires
            print(f"fewshot: {exc}", file=sys.stderr)
        else:
            if gone:
                print(f"fewshot: {len(gone)} project(s) idle for FEWSHOT_PROJECT_TTL_DAYS deleted", file=sys.stderr)
    return s


def browser_secret() -> str:
    """The key gr.BrowserState encrypts the browser's memory (its owner token, its last project) with, kept in
    the data folder: Gradio's default is a new key at every start, which would make a restarted server forget
    every browser's projects. Made once (readable by this user only); two servers starting at once agree."""
    path = default_data_dir() / "browser-state.key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # atomic, and never over a key another server made first
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def owner_of(sess: Session) -> str | None:
    return sess.project_owner


def page_owner(sess: Session, user: str | None, token: str | None) -> str:
    """Set and return whose projects a page load shows (sess.owners decides; a new token when the browser has
    none). Serving one person, the projects this browser made under its own token before (a server started
    with --host 0.0.0.0 once, or a fewshot from before the page and the command line shared them) become
    "local" ones the first time it opens the page: moved, not listed beside, so that the command line sees
    them too and nothing is kept in two places; a name "local" has already gets a number after it."""
    owner = sess.owners.of_page(user, token)
    if owner is None and token is None and sess.project_owner:
        return sess.project_owner  # photos dropped before the page's load event ran gave it one already: kept
    if owner is None:
        owner = secrets.token_urlsafe(24)
    elif sess.owners.one_person and isinstance(token, str) and len(token) >= 24 and token != owner:
        store().hand_over(token, owner)
    sess.project_owner = owner
    return owner


def new_project(sess: Session, name: str, show: bool = True) -> Project:
    """A new project for the session's owner; it becomes the session's (`show`: the photos and model shown are
    its, none yet; else the session keeps what it shows, e.g. photos about to be added to it)."""
    if not sess.project_owner:
        sess.project_owner = sess.owners.of_client(sess)
    name = (name or "").strip() or free_name(sess.project_owner, "My project")
    p = store().create(sess.project_owner, name)
    if show:
        attach(sess, p)
    else:
        sess.project, sess.active_run = p, None
    return p


def free_name(owner: str, base: str) -> str:
    taken = {r["name"] for r in store().list(owner)}
    if base not in taken:
        return base
    n = 2
    while f"{base} {n}" in taken:
        n += 1
    return f"{base} {n}"


def open_project(sess: Session, project_id: str) -> Project:
    """The owner's project `project_id` becomes the session's: its photos and its active model."""
    if not sess.project_owner:
        sess.project_owner = sess.owners.of_client(sess)
    p = store().open(sess.project_owner, project_id)
    attach(sess, p)
    return p


def attach(sess: Session, p: Project) -> None:
    """Show project `p` in the session: its labelled photos as the dataset, its active run's model, and its
    training if one is running (fewshot/ui/tab/jobs.py: it outlives the tab that started it)."""
    sess.project = p
    summary = p.summary()
    ds = None
    if summary["labelled"]:
        try:
            ds = p.dataset()
        except DataError:  # labelling has only begun (one class so far): it opens, with no training set yet
            ds = None
    if ds is not None:
        sess.set_dataset(ds, f"project “{summary['name']}”")
    elif not sess.training:
        with sess._lock:
            old, sess.dataset, sess.source = sess.dataset, None, ""
        if old is not None:
            old.cleanup()
    sess.active_run = None
    show_active(sess)
    job = sess.jobs.running(p.id)
    if job is not None:  # its training still runs (the page was reloaded mid-run): the tab follows it again
        sess.follow_job(job)


def show_active(sess: Session) -> bool:
    """Make the project's active run's model the session's (unless it already is); True when it changed."""
    p = sess.project
    if p is None:
        return False
    run = p.active_run()
    if run is None:
        if sess.active_run is not None or sess.model is not None:
            sess.set_model(None)
            sess.active_run = None
            return True
        return False
    if sess.active_run == run.id and sess.model is not None:
        return False
    tm = load_bundle(run.bundle)
    sess.set_model(tm, None)
    sess.active_run = run.id
    return True


def absorb(sess: Session, source: str) -> Dataset | None:
    """Photos just loaded into the session (a folder, a zip, cards, an example) go into the session's project
    (one named after `source` is made when none is open); the session's dataset becomes the project's labelled
    photos, with the skipped files of this load. Sessions without an owner keep what they loaded."""
    ds = sess.dataset
    if ds is None or not sess.project_owner:
        return ds
    p, src = sess.project, sess.source
    if p is None:
        p = new_project(sess, free_name(sess.project_owner, _name_from(source)), show=False)
    items = []
    for split, samples in (("train", ds.train), ("val", ds.val)):
        for s in samples:
            items.append((Path(s.path), _rel(s.path, ds, split), ds.classes[s.label],
                          split if ds.val_given else None))
    from ...archive import Limits
    p.add_items(items, Limits(max_upload_bytes=2**62, max_images=10**7), note=f"added photos from {source}")
    merged = p.dataset()
    merged.skipped, merged.notices = list(ds.skipped), list(ds.notices)
    sess.set_dataset(merged, src)
    sess.project = p
    return merged


def _rel(path: str, ds: Dataset, split: str) -> str:
    if ds.root:
        try:
            return Path(path).relative_to(ds.root).as_posix()
        except ValueError:
            pass
    return Path(path).name


def _name_from(source: str) -> str:
    text = str(source or "").strip().strip("“”\"'")
    text = re.sub(r"^(the\s+folder\s+|the\s+)", "", text)
    text = text.strip("“”\"' ")
    if text.lower().endswith(".zip"):
        text = text[:-4]
    return (text or "My project")[:80]


# What a run's row may say in its note: these are the engine's own plain sentences (each in the catalog);
# anything else it stored (an exception's text, written for the command line and the log) is said in the
# page's words instead, as it may name command-line flags or files on the server.
PLAIN_NOTES = ("stopped before the first epoch ended", "training was abandoned before it ended",
               "training ended without a result", "the process training it ended without finishing")
_NOT_FOR_THE_PAGE = re.compile(r"(^|[\s(\[\"'`])(--?[A-Za-z][\w-]*|~?/[^\s]*|[A-Za-z]:\\\S*|\S+\.(?:py|pt|pth|"
                               r"safetensors|onnx)\b)")
_STAGES = {"auto": "layers chosen from your photos", "head": "last layer only", "top": "last block too",
           "top2": "last two blocks too", "all": "all layers"}


def run_note(status: str, message: str) -> str:
    """A run's note in the page's words: a plain sentence of the engine's as it is; why a run failed as its
    reason's first sentence when that names no flag or file, else in general words; nothing for a run that
    finished. The command line shows the stored message itself (`project show --json`)."""
    text = (message or "").strip()
    if not text or text in PLAIN_NOTES:
        return text
    if status != "failed":
        return ""
    typed = re.match(r"^[A-Z]\w*: ", text)  # "TrainingError: …", as runs.py stores an exception
    reason = re.split(r"(?<=[.!?])\s", text[typed.end() if typed else 0:].split("\n")[0], maxsplit=1)[0].strip()
    if not reason or _NOT_FOR_THE_PAGE.search(reason) or len(reason) > 300:
        return "Failed after training had started."
    # the engine's own sentence (a model over the project's cap) as it is; an exception's under a plain heading
    return f"Failed after training had started: {reason.rstrip('.')}." if typed else reason


def run_settings(settings: dict) -> str:
    """A run's settings in the page's words, " · " between them (each piece is a message of the catalog)."""
    from ... import i18n as L
    out = []
    if settings.get("arch"):
        out.append(str(settings["arch"]))
    if settings.get("pretrained") is not None:
        out.append("starts from ImageNet" if settings["pretrained"] else "starts from scratch")
    if settings.get("stage") in _STAGES:
        out.append(_STAGES[settings["stage"]])
    n = settings.get("epochs")
    if isinstance(n, int):
        out.append(L.plural(n, "at most 1 epoch", f"at most {n} epochs"))
    if settings.get("lr") is not None:
        out.append(f"learning rate {settings['lr']}")
    if settings.get("augmentation"):
        out.append({"none": "no augmentation", "light": "light augmentation",
                    "strong": "strong augmentation"}.get(settings["augmentation"], str(settings["augmentation"])))
    if settings.get("batch_size") is not None:
        out.append(f"batches of {settings['batch_size']}")
    if settings.get("seed") is not None:
        out.append(f"seed {settings['seed']}")
    return " · ".join(out)


def forget(sess: Session, project_id: str) -> None:
    """Delete the owner's project; the session shows nothing of it any more."""
    store().delete(sess.project_owner, project_id)
    if sess.project is not None and sess.project.id == project_id:
        sess.project, sess.active_run = None, None
        if not sess.training:
            sess.set_model(None)
            with sess._lock:
                old, sess.dataset, sess.source = sess.dataset, None, ""
            if old is not None:
                old.cleanup()


__all__ = ["ProjectNotFound", "absorb", "attach", "forget", "new_project", "open_project", "page_owner", "run_note",
           "run_settings", "show_active", "store"]
