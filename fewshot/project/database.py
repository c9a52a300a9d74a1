"""Where projects live and the database that holds them: the data folder, the SQLite schema and its
migrations, short transactions, and files written whole or not at all.

One database for all projects (`<data dir>/projects.db`), files under `<data dir>/projects/<id>/`.
Why one database and not one per project: listing a person's projects, most recently used first, and
expiring idle ones are one query; foreign keys tie photos, runs and the log to their project so that a
delete is one transaction; and WAL mode with short transactions lets many readers and one writer at a
time share it (a web server's threads, a CLI in another terminal). A damaged database is refused as a
whole, with a message, and never overwritten. An import stages its files in `<data dir>/.import-*/` and
writes its rows in one transaction; what a killed one leaves is settled at the next start (settle_imports).
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from ..errors import ProjectStoreError

__all__ = ["DB_NAME", "Database", "IMPORT_COMMITTED_AS", "MIGRATIONS", "SCHEMA_VERSION", "SQL", "default_data_dir",
           "fsync_dir", "import_staging", "log", "now", "process_alive", "process_start", "settle_imports",
           "sync_to_disk", "write_file_atomic"]

DB_NAME = "projects.db"
SQLITE_MAGIC = b"SQLite format 3\x00"
ACTIVITY_KEEP = 200  # log entries kept per project
BUSY_TIMEOUT_MS = 30_000  # a writer waits this long for another's short transaction before giving up

SQL_FILE = Path(__file__).with_name("schema.sql")
IMPORT_PREFIX = ".import-"  # <data dir>/.import-<pid>-<process start>-<random>: one import's files until they move in
IMPORT_COMMITTED_AS = "committed-as"  # in an import's folder: the project id its rows are committed under
OLD_STAGING_AGE_S = 3600  # an older fewshot's .import-* folder (no process in its name): left over after this
_STAGING_NAME = re.compile(r"\.import-(\d+)-(\d+)-[0-9a-f]+")
_PROJECT_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _load_sql(path: Path) -> tuple[list[str], dict[str, str]]:
    """The schema migrations (in order) and the named queries of schema.sql."""
    migrations: dict[int, str] = {}
    queries: dict[str, str] = {}
    for block in re.split(r"^-- (?=migration: |name: )", path.read_text(encoding="utf-8"), flags=re.M)[1:]:
        head, _, body = block.partition("\n")
        kind, _, key = head.partition(": ")
        if kind == "migration":
            migrations[int(key)] = body
        else:
            queries[key.strip()] = body.strip().rstrip(";")
    return [migrations[i] for i in sorted(migrations)], queries


MIGRATIONS, SQL = _load_sql(SQL_FILE)
SCHEMA_VERSION = len(MIGRATIONS)


def default_data_dir() -> Path:
    """FEWSHOT_DATA_DIR, else /data/fewshot on a Space with persistent storage, else the per-user data folder."""
    env = os.environ.get("FEWSHOT_DATA_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    if os.environ.get("SPACE_ID") and os.path.isdir("/data") and os.access("/data", os.W_OK):
        return Path("/data/fewshot")
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "fewshot"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "fewshot"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "fewshot"


def write_file_atomic(path: Path, data: bytes | Path) -> None:
    """Bytes (or a file's bytes) to `path` via a temp name in the same folder, flushed to disk, then renamed:
    a crash leaves the old file or the whole new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, Path):
                with open(data, "rb") as src:
                    while chunk := src.read(1 << 20):
                        f.write(chunk)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def process_start(pid: int) -> str | None:
    """When a process started (Linux: /proc/<pid>/stat field 22), so a reused pid is not taken for the run's."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_alive(pid: int | None, started: str | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        pass  # exists, but someone else's
    now = process_start(pid)
    if now is not None and started is not None and now != started:
        return False
    try:  # a killed child not yet reaped by its parent is a zombie: dead for us
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class Database:
    """The projects database: checked once when opened, then a fresh short-lived connection per transaction
    (safe across threads and processes)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / DB_NAME
        root.mkdir(parents=True, exist_ok=True)
        self._check_and_migrate()

    def _damaged(self, why: str) -> ProjectStoreError:
        return ProjectStoreError(f"The projects database {self.path} {why}. It was left exactly as it is; "
                                 f"move it away (or restore a backup) and fewshot will start a new one.")

    def _check_and_migrate(self) -> None:
        if self.path.exists() and self.path.stat().st_size > 0:
            with open(self.path, "rb") as f:
                if f.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
                    raise self._damaged("is damaged or is not a fewshot database (its first bytes are wrong)")
        try:
            # read the version before anything could write (journal mode, migrations)
            probe = sqlite3.connect(f"file:{self.path}?mode=rwc", uri=True, isolation_level=None)
            try:
                version = probe.execute(SQL["user_version"]).fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise ProjectStoreError(
                        f"The projects database {self.path} was written by a newer fewshot (schema version "
                        f"{version}; this fewshot knows up to {SCHEMA_VERSION}). Upgrade fewshot to open it; "
                        f"it was left exactly as it is.")
                if version > 0:
                    bad = probe.execute(SQL["quick_check"]).fetchone()[0]
                    if bad != "ok":
                        raise self._damaged(f"is damaged ({bad})")
            finally:
                probe.close()
            with self.transaction() as db:
                version = db.execute(SQL["user_version"]).fetchone()[0]
                for i in range(version, SCHEMA_VERSION):
                    for statement in MIGRATIONS[i].split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(SQL["set_user_version"].format(int(i + 1)))
        except sqlite3.DatabaseError as exc:
            raise self._damaged(f"cannot be read ({exc})") from None

    def connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute(SQL["busy_timeout"].format(int(BUSY_TIMEOUT_MS)))
        if db.execute(SQL["journal_mode"]).fetchone()[0] != "wal":
            db.execute(SQL["wal_on"])
        db.execute(SQL["synchronous_full"])  # a commit is on disk before it is acknowledged
        db.execute(SQL["foreign_keys_on"])
        return db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction (BEGIN IMMEDIATE: takes the write lock up front, so two writers wait
        for each other instead of failing half-way); rolled back whole on any error."""
        db = self.connect()
        try:
            db.execute(SQL["begin_immediate"])
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError):
                raise
            raise self._damaged(f"cannot be used ({exc})") from None
        finally:
            db.close()

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        db = self.connect()
        try:
            db.execute("BEGIN")  # one consistent snapshot
            yield db
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise self._damaged(f"cannot be read ({exc})") from None
        finally:
            db.close()


def now() -> float:
    return time.time()


def log(db: sqlite3.Connection, pid: str, what: str) -> None:
    db.execute(SQL["insert_activity"], (pid, now(), what))
    db.execute(SQL["trim_activity"], (pid, pid, ACTIVITY_KEEP))


# ---- imports: staged whole, then committed in one transaction -------------------------------------------------
@contextlib.contextmanager
def import_staging(root: Path) -> Iterator[Path]:
    """A private folder under the data folder (the same disk: its files move into place by one rename) for one
    import's files, removed when the import ends however it ends. Its name says which process made it, so that
    `settle_imports` at another start-up tells a dead import's leftovers from a live one's."""
    pid = os.getpid()
    folder = root / f"{IMPORT_PREFIX}{pid}-{process_start(pid) or 0}-{secrets.token_hex(6)}"
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sync_to_disk(folder: Path) -> None:
    """Everything written under `folder` on disk before the rows that name it are committed: one os.sync for
    thousands of files (an fsync each takes minutes on a slow disk); an fsync per file where there is none."""
    if hasattr(os, "sync"):
        os.sync()
        return
    for f in folder.rglob("*"):
        if f.is_file():
            with open(f, "rb+") as fh:
                os.fsync(fh.fileno())


def fsync_dir(folder: Path) -> None:
    """The names in `folder` (files renamed into it) on disk; nothing to do where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def settle_imports(db: Database, projects_dir: Path) -> list[str]:
    """At start-up, what imports killed part-way left in the data folder; returns the ids of projects whose
    files it moved into place. An import writes its rows in one transaction, so before its commit the database
    holds nothing of it and its folder just goes; after it, the project exists and its files move in (the one
    rename the import did not live to do). Folders of imports still running (another process) are left alone."""
    settled = []
    for folder in db.root.glob(IMPORT_PREFIX + "*"):
        if not folder.is_dir() or _staging_alive(folder):
            continue
        try:
            pid = (folder / IMPORT_COMMITTED_AS).read_text(encoding="utf-8").strip()
        except OSError:
            pid = ""
        files, target = folder / "project", projects_dir / pid
        if _PROJECT_ID.fullmatch(pid) and files.is_dir() and not target.exists():
            with db.reading() as con:
                committed = con.execute(SQL["project_name"], (pid,)).fetchone() is not None
            if committed:
                try:
                    os.replace(files, target)
                    settled.append(pid)
                except OSError:  # another process settling the same folder got there first
                    pass
        shutil.rmtree(folder, ignore_errors=True)
    return settled


def _staging_alive(folder: Path) -> bool:
    """Whether the import that made `folder` may still be running."""
    found = _STAGING_NAME.fullmatch(folder.name)
    if found is None:  # an older fewshot's temp folder: its process is unknown, so only its age tells
        try:
            return time.time() - folder.stat().st_mtime < OLD_STAGING_AGE_S
        except OSError:
            return False
    started = found.group(2)
    return process_alive(int(found.group(1)), None if started == "0" else started)
