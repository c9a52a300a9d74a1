"""What one browser tab owns (its Session), the registry that finds it again, and the engine calls behind it.

No gradio here: the step modules wire these to components. A Session owns a private folder (uploads,
generated examples, exported models) that `cleanup()` deletes, and a stop flag that a running training
checks every batch. The engine calls that train and predict (`Backends`) are passed in when the page is
built: the same everywhere, except on a ZeroGPU Space, where app.py passes versions that run in the
worker process holding the GPU (fewshot/gpu_jobs.py).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import itertools
import os
import re
import shutil
import sys
import tempfile
import threading
import uuid
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ...archive import Limits
from ...bundle import TrainedModel
from ...config import TrainConfig
from ...data import Dataset
from ...errors import DataError, FewshotError, TrainingError
from ...evaluate import EvalReport
from ...images import UnreadableImage
from ...predict import Predictor
from ...project.store import LOCAL_OWNER
from ...train import train
from ...train_events import StopRequest
from .jobs import Jobs, TrainingJob
from .steps import CheckStep, DataStep, LabelStep, TryStep

MAX_CARDS = 8


@dataclass(frozen=True)
class Backends:
    """The engine calls behind training and prediction, and the GPU-time check before a training.

    `trainer` has fewshot.train's signature; `predictor` makes a Predictor-like object for a model;
    `fit_check(dataset, cfg)` raises FewshotError when a training would not fit (None: no limit)."""

    trainer: Callable[..., Iterator] = train
    predictor: Callable[[TrainedModel], Predictor] = Predictor
    fit_check: Callable[[Dataset, TrainConfig], None] | None = None


@dataclass(frozen=True)
class ProjectOwners:
    """Whose projects a tab sees, decided once by app.py from how the app is served and passed to build_app.

    `one_person`: the app serves one person at their own machine (listening on loopback, no --auth, no
    --share, not a Space): every tab and API client works in the command line's projects (owner "local",
    fewshot/project/store.py LOCAL_OWNER), so `python -m fewshot project ...` sees what the page made.
    Otherwise (the default, the safe side) each logged-in user (--auth) or each browser's own token owns its
    projects, and an API client that never loaded the page its own session's."""

    one_person: bool = False

    def of_page(self, user: str | None, token: str | None) -> str | None:
        """The owner for a page load: "local" for one person, else the logged-in user, else the browser's
        token when it is one (None: the page makes the browser a new one)."""
        if self.one_person:
            return LOCAL_OWNER
        if user:
            return user
        return token if isinstance(token, str) and len(token) >= 24 else None

    def of_client(self, sess: "Session") -> str:
        """The owner for a session no page load set one for (an API client): "local" for one person, else
        its logged-in user's, else its own session's."""
        return LOCAL_OWNER if self.one_person else (sess.owner or "api-" + sess.id)


def session_root() -> Path:
    """Where every session's private folder lives (env FEWSHOT_SESSION_DIR, else the system temp dir)."""
    root = Path(os.environ.get("FEWSHOT_SESSION_DIR") or Path(tempfile.gettempdir()) / "fewshot-sessions")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def remove_stale_sessions(mine: bool = False) -> int:
    """Delete session folders under session_root() whose server process is gone (a crash, a kill; the folder
    name holds its pid), and this process's own too when `mine` (at shutdown). Called at start-up and at
    shutdown; another server sharing the folder keeps its live sessions. Returns how many went."""
    gone = 0
    for d in session_root().glob("session-*"):
        found = re.search(r"-p(\d+)-", d.name)
        pid = int(found.group(1)) if found else None
        if pid is not None and _alive(pid) and not (mine and pid == os.getpid()):
            continue
        try:
            if d.is_dir() and not d.is_symlink():
                shutil.rmtree(d, ignore_errors=True)
                gone += 1
        except OSError:
            pass
    return gone


_LIBC = None


def give_memory_back() -> None:
    """Collect garbage, then hand freed heap pages back to the system (glibc's malloc_trim).

    A training frees hundreds of MB of tensors, but glibc keeps freed pages in its per-thread arenas, so the
    server's resident memory only ever grows; malloc_trim(0) returns them. A no-op where libc is not glibc."""
    global _LIBC
    gc.collect()
    if not sys.platform.startswith("linux") or os.environ.get("FEWSHOT_MALLOC_TRIM") == "0":  # 0: to measure
        return
    try:
        if _LIBC is None:
            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _LIBC.malloc_trim(0)
    except (OSError, AttributeError):
        _LIBC = False


# Which live sessions hold each file of Gradio's folders (see Uploads): path -> the sessions' ids
_HELD: dict[Path, set[str]] = {}
_HELD_LOCK = threading.Lock()


class Uploads:
    """The files the web server holds for one session: uploads it received and Gradio's copies of files it sent;
    deleted when the session closes, unless another session still needs the same file.

    Gradio's upload folder is addressed by content (<sha256>/<name>): two sessions sending the same bytes under
    the same name get one path, and each upload is renamed onto it (a new file, replacing the one there). So a
    file goes only with the last live session holding it, and only while it is still the very file that session
    noted: one replaced since is a newer upload, maybe of a session whose event has not run yet (Gradio's own
    sweep, delete_cache, takes it if nobody does). A hard link in the session's folder pins the noted file, so
    that its inode number cannot be handed to a newer upload and pass for it."""

    def __init__(self, owner: str, pins: Path) -> None:
        self._owner, self._pins = owner, pins
        self._noted: dict[Path, tuple[int, int] | None] = {}  # path -> (device, inode) when noted; None: not yet made
        self._count = itertools.count()

    def add(self, path: Path | str) -> None:
        """Note `path` (an upload, or where Gradio puts its copy of a file sent) as one of this session's."""
        path = Path(path).resolve()  # one key per file, however a caller spells its path
        with _HELD_LOCK:
            _HELD.setdefault(path, set()).add(self._owner)
            self._noted[path] = self._pin(path)  # noted again: the file there now is the one it uses

    def _pin(self, path: Path) -> tuple[int, int] | None:
        """(device, inode) of the file at `path` now, hard-linked into the session's folder; None if none is there."""
        pin = self._pins / str(next(self._count))
        try:
            self._pins.mkdir(exist_ok=True)  # never the session's folder again once cleanup removed it
            os.link(path, pin)
            st = pin.stat()
        except OSError:  # not made yet (a copy Gradio makes after the handler), or on another disk: not pinned
            try:
                st = path.stat()
            except OSError:
                return None
            return (st.st_dev, st.st_ino)
        if self._noted.get(path) == (st.st_dev, st.st_ino):
            pin.unlink(missing_ok=True)  # pinned already (the same file noted again, e.g. sent twice)
        return (st.st_dev, st.st_ino)

    def __iter__(self) -> Iterator[Path]:
        return iter(list(self._noted))

    def __len__(self) -> int:
        return len(self._noted)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, (str, Path)) and Path(path).resolve() in self._noted

    def _let_go(self) -> list[tuple[Path, tuple[int, int] | None]]:
        """Drop this session's holds (lock held); returns the noted files no other live session holds."""
        alone = []
        for path, noted in self._noted.items():
            holders = _HELD.get(path, set())
            holders.discard(self._owner)
            if not holders:
                _HELD.pop(path, None)
                alone.append((path, noted))
        self._noted.clear()
        return alone

    def forget(self) -> None:
        """Let go of every file without deleting any (a session garbage-collected without cleanup)."""
        with _HELD_LOCK:
            self._let_go()

    def delete(self) -> None:
        """Delete the noted files no other live session holds and that were not replaced since they were noted,
        with the per-file folder Gradio made when it is left empty."""
        with _HELD_LOCK:
            for path, noted in self._let_go():
                if noted is not None and _identity(path) != noted:
                    continue  # a newer upload of the same bytes: not this session's file
                path.unlink(missing_ok=True)
                try:
                    path.parent.rmdir()
                except OSError:
                    pass


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


@dataclass
class Card:
    """A class card (Teachable-Machine style): a name and the photos dropped into it."""

    id: int
    name: str
    files: list[str] = field(default_factory=list)


class Session:
    """Everything one browser tab owns: its photos, its model, its training job."""

    def __init__(self, backends: Backends | None = None, owner: str | None = None, jobs: Jobs | None = None,
                 owners: ProjectOwners | None = None) -> None:
        self.id = uuid.uuid4().hex  # 122 random bits: its folder's name (and so its files' links) cannot be guessed
        self.owner = owner  # the logged-in user who opened it (with --auth); only they may close it
        self.browser: str | None = None  # the browser cookie its first event carried (fewshot/ui/server/guard.py)
        self.dir = Path(tempfile.mkdtemp(prefix=f"session-{self.id}-p{os.getpid()}-", dir=session_root()))
        # a session no tab kept (an API call that stored no state) is deleted with its folder when forgotten
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.dir), True)
        self.backends = backends or Backends()
        self.limits = Limits.from_env()
        self.dataset: Dataset | None = None
        self.source = ""
        self.model: TrainedModel | None = None
        self.evaluation: EvalReport | None = None
        self.bundle_path: Path | None = None
        self.stop = StopRequest()
        self._training = False  # a training runs in this tab's callback (one without a project)
        # the server's project trainings and training slots (SessionRegistry's), and the one this tab follows
        self.jobs = jobs if jobs is not None else Jobs()
        self.job: TrainingJob | None = None
        self.queued = False  # a training was requested and waits for a free slot
        self.streaming = False  # one of this tab's callbacks streams a training's snapshots to its page
        self.closed = False
        self.cards = [Card(1, "Class 1"), Card(2, "Class 2")]
        self.next_card = 3
        # files the web server holds for this session: uploads it received and copies of files it sent
        self.uploads = Uploads(self.id, self.dir / "held")
        weakref.finalize(self, self.uploads.forget)  # forgotten without cleanup: holds nothing any more
        self._predictor: Predictor | None = None
        self._lock = threading.Lock()
        # predicting and exporting share one model (export moves it to the CPU): one at a time
        self.model_lock = threading.RLock()
        # the page's language once the user chose one ("en" or "zh-CN"; None: the browser's), and the last
        # training snapshot, which the page writes again when the language changes
        self.lang: str | None = None
        self.last_update: tuple | None = None
        # when Train was clicked (time.perf_counter(); "Done in" counts from it)
        self.train_clicked_at: float | None = None
        # the project this tab works in (fewshot/ui/tab/projects.py): whose projects it sees (the logged-in user, else
        # the browser's token; None: no project, as for an API client), the open one, and the run shown
        self.project_owner: str | None = None
        self.owners = owners or ProjectOwners()  # how project_owner is decided (the server's, from app.py)
        self.project = None
        self.active_run: int | None = None
        self.run_note = ""  # what the last training did to the active model, said on the page
        self._new_steps()

    def _new_steps(self) -> None:
        """What each step keeps for this tab alone (fewshot/ui/tab/steps.py), empty."""
        self.data, self.label, self.check, self.try_ = DataStep(), LabelStep(), CheckStep(), TryStep()

    @property
    def training(self) -> bool:
        """A training of this tab runs: in its callback, or its project's in the server (Session.job)."""
        return self._training or (self.job is not None and self.job.running)

    @training.setter
    def training(self, on: bool) -> None:
        """A training that ends gives its memory back to the system; in a session closed meanwhile, the
        session's model and photos go too."""
        was, self._training = self._training, bool(on)
        if was and not on:
            if self.closed:
                self.release()
            else:
                give_memory_back()

    def fresh_dir(self, name: str) -> Path:
        """A new empty sub-folder of the session folder."""
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.dir))

    def set_dataset(self, ds: Dataset, source: str) -> Dataset:
        """Make `ds` the session's photos (the old ones' temporary files go), unless a training reads them."""
        if self.training:  # the running training reads the current photos: keep them until it ends
            ds.cleanup()
            raise DataError("A training is running on the current photos. Wait for it or press Stop, "
                            "then load the new photos again.")
        with self._lock:
            old, self.dataset, self.source = self.dataset, ds, source
        if old is not None and old is not ds:
            old.cleanup()
        return ds

    def use_project_photos(self) -> Dataset:
        """Make the open project's labelled photos the session's (what the Label step's hand-over and a Train click
        after labelling both do)."""
        return self.set_dataset(self.project.dataset(), f"project “{self.project.name}”")

    def set_model(self, tm: TrainedModel | None, evaluation: EvalReport | None = None) -> None:
        """Make `tm` the session's model; its check and its saved file are made again from it."""
        with self._lock:
            self.model, self.evaluation, self._predictor = tm, evaluation, None
            self.bundle_path = None

    def follow_job(self, job: TrainingJob) -> None:
        """The tab follows its project's training `job` (started here, or found running when the project was
        reopened after a reload): Stop goes to the job's flag, and this tab's own flag (which closing the tab
        sets) is a new one, so a closed tab leaves the training running. Its last snapshot is what step 2 shows."""
        with self._lock:
            self.job, self._training, self.stop = job, False, StopRequest()
            self.last_update = (job.latest, job.cfg, job.classes) if job.latest is not None else None

    def begin_training(self) -> None:
        """Mark the session as training; TrainingError if it already is (one training per tab)."""
        with self._lock:
            if self.training:
                raise TrainingError("This session is already training. Wait for it to finish or press Stop.")
            self._training = True
        self.stop.clear()

    @property
    def predictor(self) -> Predictor:
        """The model's predictor, made once per model."""
        if self.model is None:
            raise FewshotError("There is no model yet: train one in the Train step, or open a saved model in the Share step.")
        with self._lock:
            if self._predictor is None or self._predictor.tm is not self.model:
                self._predictor = self.backends.predictor(self.model)
            return self._predictor

    def forget_predictor(self) -> None:
        """The model moved (an export puts it on the CPU): the next prediction sets it up again."""
        with self._lock:
            self._predictor = None

    def cleanup(self) -> None:
        """Stop any training, delete every file this session made and let go of its model, photos and last
        training (Gradio keeps a closed tab's state for an hour; without this, each closed session's models
        stayed in memory that long). Safe to call twice."""
        self.closed = True
        self.stop.set()
        if self.dataset is not None:
            self.dataset.cleanup()
        # the uploads no other session shares (Gradio's folder is addressed by content); before the folder, whose
        # hard links pin the files they noted while they are compared
        self.uploads.delete()
        shutil.rmtree(self.dir, ignore_errors=True)
        self._new_steps()  # the desk, the last check and table: nothing of a closed tab is shown again
        if not self._training:  # a training in its callback still reads them; it lets go when it ends (release)
            self.release()  # (a project's training reads its own copy of the photos, and goes on: Session.job)

    def release(self) -> None:
        """Drop what a closed session holds in memory; its photos stay readable for a training still ending."""
        with self._lock:
            self.model, self.evaluation, self._predictor, self.last_update = None, None, None, None
            self.dataset, self.bundle_path, self.job = None, None, None
        self.cards = []
        give_memory_back()


class SessionRegistry:
    """Weak map from a browser connection to its Session, so a closed tab stops training and frees disk at once.

    Sessions themselves live in the page's per-tab state; this only holds weak references. New sessions get
    the registry's backends.
    """

    def __init__(self, backends: Backends | None = None, current_user: Callable[[], str | None] | None = None,
                 jobs: Jobs | None = None, owners: ProjectOwners | None = None) -> None:
        self.backends = backends or Backends()
        self.owners = owners or ProjectOwners()  # whose projects its sessions see (app.py decides)
        self.jobs = jobs if jobs is not None else Jobs()  # the server's project trainings and training slots
        self._by_key: weakref.WeakValueDictionary[str, Session] = weakref.WeakValueDictionary()
        # the logged-in user of the request being handled (the page passes Gradio's), when ensure is not told
        self.current_user = current_user

    def ensure(self, sess: Session | None, key: str | None, owner: str | None = None) -> Session:
        """`sess` if it is a live Session, else a new one; remembered under the connection `key`. `owner` is
        the logged-in user of the request (with --auth): a new session belongs to them, and a connection
        already mapped to another user's session is never handed to this one."""
        if owner is None and self.current_user is not None:
            owner = self.current_user()
        if not isinstance(sess, Session) or sess.closed:
            sess = Session(self.backends, owner, self.jobs, self.owners)
        if key:
            known = self._by_key.get(key)
            if known is None or known is sess or known.owner == owner:
                self._by_key[key] = sess
        return sess

    def close(self, key: str | None, user: str | None = None) -> bool:
        """The tab behind `key` closed: stop its training and delete its files. A close asked by anyone but the
        session's own logged-in user (e.g. a stranger's request to Gradio's heartbeat route, which answers
        without a login) changes nothing. True when a session was closed."""
        sess = self._by_key.get(key) if key else None
        if sess is None or (sess.owner is not None and sess.owner != user):
            return False
        self._by_key.pop(key, None)
        sess.cleanup()
        return True

    def close_all(self) -> None:
        """The server is shutting down: every project's training stops (recorded as stopped, with its best epoch)
        and every session's files go."""
        self.jobs.stop_all()
        for key in list(self._by_key.keys()):
            sess = self._by_key.pop(key, None)
            if sess is not None:
                sess.cleanup()


def is_upload(path: str | None, upload_root: Path | None) -> Path | None:
    """The resolved path if it is a regular file inside the server's upload folder (never trust the browser)."""
    if not path:
        return None
    try:
        p = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if upload_root is not None and not p.is_relative_to(upload_root.resolve()):
        return None
    return p if p.is_file() else None


def note_upload(sess: Session, path: str | None, upload_root: Path | None) -> None:
    """Remember an uploaded file (a picture to name, a model) so that closing the session deletes it."""
    real = is_upload(path, upload_root) if upload_root is not None else None
    if real is not None:
        sess.uploads.add(real)


def plain_error(exc: BaseException) -> str:
    """The message a non-expert should see for an exception."""
    if isinstance(exc, FewshotError):
        return str(exc)
    if isinstance(exc, UnreadableImage):
        return f"This picture could not be read: {exc}."
    if isinstance(exc, MemoryError):
        return "The computer ran out of memory. Use fewer or smaller photos, or a smaller batch size."
    return f"Something unexpected went wrong ({type(exc).__name__}: {exc})."


__all__ = ["Backends", "Card", "MAX_CARDS", "ProjectOwners", "Session", "SessionRegistry", "Uploads", "give_memory_back", "is_upload",
           "note_upload", "plain_error", "remove_stale_sessions", "session_root"]
