"""Trainings that outlive the tab: a project's training runs in a thread of the server, owned by the project (not
by the tab that started it), so that a reload of the page finds it still running and follows it again. No gradio.

    job = jobs.start(project_id, stream, stop)   # stream(stop) yields page snapshots; the thread reads it
    for snapshot in job.follow(): ...            # the latest one first, then each new one, until the end
    job.stop.request(shown_epochs=17)            # Stop, from whichever tab follows it now

`Jobs` also holds the server's training slots (FEWSHOT_TRAIN_SLOTS): the page's queue lets that many Train
clicks in at once, but a job whose tab went away keeps its slot, so each training takes one here as well.
"""
from __future__ import annotations

import contextvars
import queue
import threading
from typing import Callable, Iterator

from ...errors import TrainingError
from ...train_events import StopRequest

_END = object()


class TrainingJob:
    """One training in a background thread; any number of followers (page handlers) read its snapshots."""

    def __init__(self, project_id: str, stream: Callable[[StopRequest], Iterator], stop: StopRequest,
                 on_end: Callable[["TrainingJob"], None], cfg=None, classes: int = 0) -> None:
        self.project_id = project_id
        self.cfg, self.classes = cfg, classes  # its settings and number of classes, for the page's curves
        self.stop = stop
        self.latest = None  # the last snapshot (what a page that reattaches shows first)
        self.error: BaseException | None = None
        self._stream, self._on_end = stream, on_end
        self._followers: list[queue.SimpleQueue] = []
        self._lock = threading.Lock()
        self._ended = threading.Event()
        # the thread runs in a copy of the starting request's context (ZeroGPU's spaces.GPU reads it)
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._run,), daemon=True,
                                         name=f"fewshot-train-{project_id[:8]}")

    @property
    def running(self) -> bool:
        return not self._ended.is_set()

    def start(self) -> "TrainingJob":
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the end; True when it ended."""
        return self._ended.wait(timeout)

    def _publish(self, item) -> None:
        with self._lock:
            if item is not _END and not isinstance(item, BaseException):
                self.latest = item
            for q in self._followers:
                q.put(item)

    def _run(self) -> None:
        try:
            for snapshot in self._stream(self.stop):
                self._publish(snapshot)
        except BaseException as exc:  # noqa: BLE001 (each follower raises it; the project marked the run failed)
            self.error = exc
            self._publish(exc)
        finally:
            with self._lock:
                self._ended.set()
                for q in self._followers:
                    q.put(_END)
            self._on_end(self)

    def follow(self) -> Iterator:
        """The latest snapshot, then each new one until the job ends (an error in it is raised here). Closing
        this generator (the page went away) leaves the job running."""
        q: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            if self.latest is not None:
                q.put(self.latest)
            if self._ended.is_set():
                q.put(self.error if self.error is not None else _END)
                q.put(_END)
            self._followers.append(q)
        try:
            while True:
                item = q.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            with self._lock:
                self._followers.remove(q)


class Jobs:
    """The running project trainings of one server, by project id, and its training slots."""

    def __init__(self, slots: int = 1) -> None:
        self._by_project: dict[str, TrainingJob] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, int(slots)))

    def running(self, project_id: str | None) -> TrainingJob | None:
        """The project's training if one is running."""
        with self._lock:
            job = self._by_project.get(project_id) if project_id else None
        return job if job is not None and job.running else None

    def start(self, project_id: str, stream: Callable[[StopRequest], Iterator], stop: StopRequest, cfg=None,
              classes: int = 0) -> TrainingJob:
        """Start `stream` as the project's training; TrainingError when the project already trains (another tab
        started it)."""
        with self._lock:
            old = self._by_project.get(project_id)
            if old is not None and old.running:
                raise TrainingError("This project is already training (in another tab?). Wait for it to finish or "
                                    "press Stop there.")
            job = TrainingJob(project_id, stream, stop, self._ended, cfg, classes)
            self._by_project[project_id] = job
        return job.start()

    def _ended(self, job: TrainingJob) -> None:
        with self._lock:
            if self._by_project.get(job.project_id) is job:
                del self._by_project[job.project_id]

    def take_slot(self, wait: bool = True) -> bool:
        """One of the server's training slots (give it back with free_slot); without `wait`, False when every
        slot is taken (e.g. by a training whose tab went away)."""
        return self._slots.acquire(blocking=wait)

    def free_slot(self) -> None:
        self._slots.release()

    def stop_all(self, wait_s: float = 20.0) -> None:
        """The server is shutting down: every training stops and is recorded as stopped (waits up to `wait_s`)."""
        with self._lock:
            jobs = list(self._by_project.values())
        for job in jobs:
            job.stop.set()
        for job in jobs:
            job.join(wait_s)


__all__ = ["Jobs", "TrainingJob"]
