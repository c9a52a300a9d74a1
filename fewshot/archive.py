"""Safe zip extraction: no path tricks, no symlinks, no bombs, limits that say which was hit."""
from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import DataError, LimitExceeded

JUNK_NAMES = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class Limits:
    """What one upload may be. Every refusal names the limit that was hit."""

    max_upload_bytes: int = 2 * 1024**3
    max_images: int = 20_000
    max_pixels: int = 64_000_000
    max_zip_files: int = 50_000
    max_extract_bytes: int = 4 * 1024**3
    max_zip_ratio: int = 200  # uncompressed/compressed per member and overall
    max_depth: int = 12

    @classmethod
    def from_env(cls) -> "Limits":
        """Override any default with FEWSHOT_MAX_<FIELD> (e.g. FEWSHOT_MAX_IMAGES=5000)."""
        kw = {}
        for name in cls.__dataclass_fields__:
            val = os.environ.get("FEWSHOT_" + name.upper())
            if val:
                kw[name] = int(val)
        return cls(**kw)


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


def extract_zip(path: str | os.PathLike, dest: str | os.PathLike, limits: Limits) -> list[tuple[str, str]]:
    """Extract the image-bearing members of a zip into `dest`.

    Returns skipped members as (name, reason). Raises DataError for a file that is not
    a zip and LimitExceeded when the archive as a whole is too big or too many files.
    """
    path, dest = Path(path), Path(dest)
    size = path.stat().st_size
    if size > limits.max_upload_bytes:
        raise LimitExceeded(f"{path.name} is {size / 1e6:.0f} MB, over the upload limit of "
                            f"{limits.max_upload_bytes / 1e6:.0f} MB (limit: max upload size)")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise DataError(f"{path.name} is not a zip archive (it could not be opened as one)") from None
    skipped: list[tuple[str, str]] = []
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        if len(members) > limits.max_zip_files:
            raise LimitExceeded(f"{path.name} holds {len(members):,} files, over the limit of "
                                f"{limits.max_zip_files:,} (limit: max files per zip)")
        total = sum(m.file_size for m in members)
        if total > limits.max_extract_bytes:
            raise LimitExceeded(f"{path.name} would unpack to {total / 1e6:.0f} MB, over the limit of "
                                f"{limits.max_extract_bytes / 1e6:.0f} MB (limit: max extraction size)")
        if size and total / size > limits.max_zip_ratio and total > 50 * 1024**2:
            raise LimitExceeded(f"{path.name} is a zip bomb: it would grow {total / size:.0f} times "
                                f"(limit: max compression ratio {limits.max_zip_ratio})")
        written = 0
        for m in members:
            parts = _safe_parts(m.filename)
            if parts is None:
                skipped.append((m.filename, "its path points outside the upload folder; ignored for safety"))
                continue
            if any(is_junk(p) for p in parts):
                continue
            if len(parts) > limits.max_depth:
                skipped.append((m.filename, f"nested deeper than {limits.max_depth} folders (limit: max depth)"))
                continue
            if stat.S_ISLNK(m.external_attr >> 16):
                skipped.append((m.filename, "it is a symbolic link; links are not followed"))
                continue
            if m.flag_bits & 0x1:
                skipped.append((m.filename, "it is encrypted (password-protected); unzip it first"))
                continue
            if m.compress_size and m.file_size / max(m.compress_size, 1) > limits.max_zip_ratio and m.file_size > 10 * 1024**2:
                skipped.append((m.filename, f"it would grow {m.file_size // max(m.compress_size, 1)} times when "
                                            f"unpacked (limit: max compression ratio)"))
                continue
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():  # same name differing only in case on a case-insensitive disk
                skipped.append((m.filename, "another file in the zip has the same name"))
                continue
            try:
                with zf.open(m) as src, open(target, "wb") as out:
                    # read in bounded chunks so a lying header cannot blow past the limit
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > limits.max_extract_bytes:
                            raise LimitExceeded(f"{path.name} unpacks past {limits.max_extract_bytes / 1e6:.0f} MB "
                                                f"(limit: max extraction size)")
                        out.write(chunk)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as exc:
                target.unlink(missing_ok=True)
                skipped.append((m.filename, f"it could not be unpacked ({exc})"))
    return skipped
