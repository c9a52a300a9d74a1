"""Safe zip extraction: no path tricks, no symlinks, no bombs, limits that say which was hit.

Only picture files are unpacked, each into a fresh folder, by name parts that were checked
one by one; nothing is ever written outside that folder and no link is ever created.
"""
from __future__ import annotations

import errno
import os
import re
import stat
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .errors import DataError, FewshotError, LimitExceeded
from .images import is_image_name

__all__ = ["Limits", "copy_member", "extract_zip", "human_size", "is_junk", "member_over_limit", "open_zip"]

JUNK_NAMES = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}
CHUNK = 1 << 20  # bytes copied at a time out of a zip
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    """What one upload may be. Every refusal names the limit that was hit."""

    max_upload_bytes: int = 2 * 1024**3  # a zip file, or all the files of a folder/mapping together
    max_images: int = 20_000
    max_pixels: int = 64_000_000  # per image, from its header, before decoding
    max_zip_files: int = 50_000
    max_extract_bytes: int = 4 * 1024**3
    max_zip_ratio: int = 200  # uncompressed/compressed per member and overall
    max_depth: int = 12
    max_photo_bytes: int = 256 * 1024**2  # one picture in a zip: a 64-megapixel photo even uncompressed
    max_classes: int = 5_000  # classes in one imported project
    max_runs: int = 5_000  # training runs in one imported project archive
    max_model_bytes: int = 1024**3  # one model file in a project archive (VGG16's is about 530 MB)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise FewshotError(f"limit {f.name} must be a positive whole number, not {value!r}")

    @classmethod
    def from_env(cls) -> "Limits":
        """Override any default with FEWSHOT_<FIELD> (e.g. FEWSHOT_MAX_IMAGES=5000, FEWSHOT_MAX_UPLOAD_BYTES=500M)."""
        kw = {}
        for name in cls.__dataclass_fields__:
            var = "FEWSHOT_" + name.upper()
            val = os.environ.get(var, "").strip()
            if val:
                kw[name] = _parse_size(var, val)
        return cls(**kw)


def _parse_size(var: str, text: str) -> int:
    """'5000', '1_000', '500M', '2G' (powers of 1024) -> int; a clear error naming the variable otherwise."""
    found = _SIZE.match(text.replace("_", ""))
    if not found:
        raise FewshotError(f"{var}={text!r} is not a number (write e.g. 5000, 500M or 2G)")
    scale = 1024 ** " kmgt".index(found.group(2).lower() or " ")
    value = int(float(found.group(1)) * scale)
    if value < 1:
        raise FewshotError(f"{var}={text!r} must be at least 1")
    return value


def human_size(n: float) -> str:
    """1536 -> '1.5 KB', 3_000_000_000 -> '2.8 GB' (powers of 1024, as the limits are written)."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" or n >= 100 else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"


def is_junk(part: str) -> bool:
    return part in JUNK_NAMES or part.startswith(".") or part.startswith("._")


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """Relative path parts of a zip member, or None if it tries to leave the folder."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = PurePosixPath(name).parts
    if any(p in ("..", "") for p in parts):
        return None
    return tuple(p for p in parts if p != ".")


def _display_name(m: zipfile.ZipInfo) -> str:
    """The member's name as its maker meant it: zips from many tools hold UTF-8 without saying so."""
    if m.flag_bits & 0x800:
        return m.filename
    try:
        return m.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return m.filename


class _Names:
    """Places members so that names differing only in upper/lower case never overwrite each other.

    Folders that differ only in case are one folder (as on Windows and macOS, where such a zip is
    usually made); files that differ only in case, or repeat a name, are kept under a new name.
    """

    def __init__(self) -> None:
        self.dirs: dict[str, str] = {}
        self.files: set[str] = set()
        self.merged: dict[str, set[str]] = {}  # a folder's path as kept -> the other spellings merged into it

    def place(self, parts: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
        out: list[str] = []
        note = None
        for p in parts[:-1]:
            canon = self.dirs.setdefault("/".join(out + [p]).casefold(), p)
            if canon != p:
                self.merged.setdefault("/".join(out + [canon]), set()).add(p)
                if note is None:
                    note = f"its folder '{p}' differs from '{canon}' only in upper/lower case, so they were merged"
            out.append(canon)
        name = parts[-1]
        stem, suffix = os.path.splitext(name)
        candidate, k = name, 2
        while "/".join(out + [candidate]).casefold() in self.files:
            candidate, k = f"{stem} ({k}){suffix}", k + 1
        if candidate != name:
            note = f"another file in the zip has the same name (ignoring upper/lower case); kept as '{candidate}'"
        self.files.add("/".join(out + [candidate]).casefold())
        return tuple(out + [candidate]), note


def _check_member(m: zipfile.ZipInfo, name: str, limits: Limits) -> tuple[tuple[str, ...] | None, str | None]:
    """(safe parts, None) for a member to unpack, (None, reason) to skip it, (None, None) for junk."""
    parts = _safe_parts(name)
    if parts is None:
        return None, "its path points outside the upload folder; ignored for safety"
    if not parts or any(is_junk(p) for p in parts):
        return None, None
    if stat.S_ISLNK(m.external_attr >> 16):
        return None, "it is a symbolic link; links are not followed"
    if not is_image_name(parts[-1]):
        return None, f"{PurePosixPath(parts[-1]).suffix or 'no extension'} is not an image type we read"
    if len(parts) > limits.max_depth:
        return None, f"nested deeper than {limits.max_depth} folders (limit: max depth)"
    if m.flag_bits & 0x1:
        return None, "it is encrypted (password-protected); unzip it first"
    if m.file_size > 10 * 1024**2 and m.file_size / max(m.compress_size, 1) > limits.max_zip_ratio:
        return None, (f"it would grow {m.file_size // max(m.compress_size, 1):,} times when unpacked "
                      f"(limit: max compression ratio {limits.max_zip_ratio})")
    return parts, None


def open_zip(path: Path, limits: Limits) -> zipfile.ZipFile:
    """The zip at `path`, refused whole when it is over the upload limit or not a readable zip."""
    size = path.stat().st_size
    if size > limits.max_upload_bytes:
        raise LimitExceeded(f"{path.name} is {human_size(size)}, over the upload limit of "
                            f"{human_size(limits.max_upload_bytes)} (limit: max upload size)")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise DataError(f"{path.name} is not a zip archive, or it is damaged or cut off "
                        f"(it could not be opened as one)") from None


class _PastLimit(ValueError):
    """A member that unpacks past its own limit although its header said it would not: it is skipped."""


def _unpack(zf: zipfile.ZipFile, m: zipfile.ZipInfo, target: Path, budget: list[int], zip_name: str,
            limits: Limits) -> None:
    """Copy one member in bounded chunks, so a lying header cannot blow past the extraction limit."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zf.open(m) as src, open(target, "xb") as out:
        while chunk := src.read(CHUNK):
            budget[0] += len(chunk)
            if budget[0] > limits.max_extract_bytes:
                raise LimitExceeded(f"{zip_name} unpacks past {human_size(limits.max_extract_bytes)} "
                                    f"(limit: max extraction size)")
            if out.tell() + len(chunk) > limits.max_photo_bytes:
                raise _PastLimit(f"it unpacks past {human_size(limits.max_photo_bytes)} (limit: max photo size)")
            out.write(chunk)


def member_over_limit(m: zipfile.ZipInfo, limit: int, limit_name: str, limits: Limits) -> str | None:
    """Why one member is over a limit by what its header says (more than `limit` bytes, or a bomb), or None:
    judged before a byte of it is unpacked (copy_member enforces the same while copying, for a lying header)."""
    if m.file_size > limit:
        return (f"it would unpack to {human_size(m.file_size)}, over the limit of {human_size(limit)} "
                f"(limit: {limit_name})")
    if m.file_size > 10 * 1024**2 and m.file_size / max(m.compress_size, 1) > limits.max_zip_ratio:
        return (f"it would grow {m.file_size // max(m.compress_size, 1):,} times when unpacked "
                f"(limit: max compression ratio {limits.max_zip_ratio})")
    return None


def copy_member(zf: zipfile.ZipFile, m: zipfile.ZipInfo, dst: BinaryIO, limit: int, what: str,
                limit_name: str) -> int:
    """Stream one member into `dst` a chunk at a time and return its size; LimitExceeded as soon as it goes
    past `limit` bytes, so a header that understates the size is caught while copying, before the bytes
    pile up in memory or on disk. zipfile's own errors (a damaged member, a bad CRC) pass through."""
    n = 0
    with zf.open(m) as src:
        while chunk := src.read(CHUNK):
            n += len(chunk)
            if n > limit:
                raise LimitExceeded(f"{what} unpacks past {human_size(limit)} (limit: {limit_name})")
            dst.write(chunk)
    return n


def _remove_partial(target: Path) -> None:
    try:
        target.unlink(missing_ok=True)
    except OSError:  # e.g. a name too long to exist at all
        pass


def _unpack_reason(exc: BaseException) -> str:
    if isinstance(exc, _PastLimit):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        return "its name is too long to be stored on disk"
    if isinstance(exc, RuntimeError) and "encrypted" in str(exc):
        return "it is encrypted (password-protected); unzip it first"
    if isinstance(exc, (zipfile.BadZipFile, EOFError)):
        return f"it is damaged inside the zip ({exc})"
    if isinstance(exc, NotImplementedError):
        return f"it is packed with a method we cannot unpack ({exc})"
    return f"it could not be unpacked ({exc})"


def extract_zip(path: str | os.PathLike, dest: str | os.PathLike, limits: Limits,
                notes: list[tuple[str, str]] | None = None,
                merged: dict[str, set[str]] | None = None) -> list[tuple[str, str]]:
    """Extract the picture members of a zip into `dest`.

    Returns skipped members as (name, reason); members kept under another name are added to
    `notes` as (name, message), and folders whose names differ only in case to `merged` as
    {folder path as kept: {other spellings}}. Raises DataError for a file that is not a zip and LimitExceeded
    when the archive as a whole has too many files or unpacks too big.
    """
    path, dest = Path(path), Path(dest)
    size = path.stat().st_size
    skipped: list[tuple[str, str]] = []
    with open_zip(path, limits) as zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        if len(members) > limits.max_zip_files:
            raise LimitExceeded(f"{path.name} holds {len(members):,} files, over the limit of "
                                f"{limits.max_zip_files:,} (limit: max files per zip)")
        chosen = []
        for m in members:
            name = _display_name(m)
            parts, reason = _check_member(m, name, limits)
            if parts is not None:
                chosen.append((m, name, parts))
            elif reason is not None:
                skipped.append((name, reason))
        if len(chosen) > limits.max_images:  # refused before tens of thousands of files are written
            raise LimitExceeded(f"{path.name} holds {len(chosen):,} images, over the limit of "
                                f"{limits.max_images:,} (limit: max images)")
        total = sum(m.file_size for m, _, _ in chosen)
        if total > limits.max_extract_bytes:
            raise LimitExceeded(f"{path.name} would unpack to {human_size(total)}, over the limit of "
                                f"{human_size(limits.max_extract_bytes)} (limit: max extraction size)")
        if size and total > 50 * 1024**2 and total / size > limits.max_zip_ratio:
            raise LimitExceeded(f"{path.name} is a zip bomb: it would grow {total / size:,.0f} times "
                                f"(limit: max compression ratio {limits.max_zip_ratio})")
        names, budget = _Names(), [0]
        for m, name, parts in chosen:
            if m.file_size > limits.max_photo_bytes:  # after the totals: a zip far too big says so as a whole
                skipped.append((name, f"it would unpack to {human_size(m.file_size)}, over the limit of "
                                      f"{human_size(limits.max_photo_bytes)} per photo (limit: max photo size)"))
                continue
            placed, note = names.place(parts)
            target = dest.joinpath(*placed)
            try:
                _unpack(zf, m, target, budget, path.name, limits)
            except LimitExceeded:
                raise
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, ValueError) as exc:
                if not isinstance(exc, FileExistsError):  # never remove a file this member did not write
                    _remove_partial(target)
                skipped.append((name, _unpack_reason(exc)))
                continue
            if note is not None and notes is not None:
                notes.append((name, note))
    if merged is not None:
        merged.update(names.merged)
    return skipped
