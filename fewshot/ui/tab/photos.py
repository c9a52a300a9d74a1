"""The four ways photos come in (a dropped folder, a zip, class cards, an example) for a Session. No gradio."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path, PurePosixPath
from typing import Callable, Sequence

from ...archive import is_junk
from ...data import Dataset, load_dataset
from ...errors import DataError
from ...examples import download_photo_set, generate_example
from ...images import is_image_name
from .state import MAX_CARDS, Card, Session, is_upload


def _safe_rel(rel: str) -> tuple[str, ...] | None:
    parts = PurePosixPath(str(rel).replace("\\", "/")).parts
    parts = tuple(p for p in parts if p not in ("", ".", "/"))
    if not parts or any(p == ".." for p in parts) or any(len(p.encode()) > 255 for p in parts):
        return None
    return parts


def _link(src: Path, dst: Path) -> None:
    """Hard-link when on the same disk (instant, no extra space), copy otherwise."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)

def _keep(sess: Session, ds: Dataset) -> Dataset:
    """Photos just loaded go into the tab's project, when it has one (fewshot/ui/tab/projects.py): adding, never
    replacing; the session's dataset is then the project's labelled photos."""
    from .projects import absorb
    return absorb(sess, sess.source) or ds


def _need_class_folders(items: Sequence[tuple[str, str]]) -> None:
    """A DataError that says what to do when a dropped folder holds its pictures loose, in no subfolder:
    the subfolders are the classes."""
    parts = [p for p in (_safe_rel(rel) for _, rel in items) if p]
    tops = {p[0] for p in parts}
    if not parts or len(tops) != 1 or any(len(p) != 2 for p in parts):
        return
    top = tops.pop()
    raise DataError(f"The {len(parts)} pictures in “{top}” are not in class folders. Put the photos into one "
                    f"subfolder per class, e.g. {top}/cats and {top}/dogs, then drop “{top}” again.")


def photo_layout(rels: Sequence[str]) -> tuple[str, int, int]:
    """How photos given together are laid out, from their relative paths alone (a dropped folder's, a zip's):
    ("classes" where they sit in two or more subfolders, class folders or train/ and val/ holding them, else
    "pile": loose photos or one folder of them, which goes to labelling; how many photos; how many class folders,
    train/ and val/ counting theirs once). The folder dropped, and any single folder every photo sits in, is not a
    class."""
    parts = [p for p in (_safe_rel(r) for r in rels if is_image_name(str(r))) if p]
    while parts and len({p[0] for p in parts}) == 1 and all(len(p) > 1 for p in parts):
        parts = [p[1:] for p in parts]
    foldered = [p for p in parts if len(p) >= 2]
    if len({p[0] for p in foldered}) < 2 or 2 * len(foldered) < len(parts):
        return "pile", len(parts), 0
    splits = {"train", "val"}
    if {p[0] for p in foldered} <= splits:
        classes = {p[1] for p in foldered if len(p) >= 3}
    else:
        classes = {p[0] for p in foldered}
    return "classes", len(parts), len(classes)


def zip_photo_names(path: str | os.PathLike) -> list[str]:
    """The names of a zip's members, read from its directory only (nothing is unpacked); [] for a zip that
    cannot be read (loading it says why)."""
    import zipfile
    try:
        with zipfile.ZipFile(path) as zf:
            return [n for n in zf.namelist() if not n.endswith("/")]
    except (OSError, zipfile.BadZipFile, ValueError):
        return []


def load_uploaded_folder(sess: Session, items: Sequence[tuple[str, str]], upload_root: Path | None,
                         source: str = "the dropped folder", not_images: Sequence[str] = ()) -> Dataset:
    """Rebuild a dropped folder from (server path, relative path in the user's folder) pairs, then load it.

    The browser sends each file's relative path (e.g. pets/cats/1.jpg) because a plain
    upload keeps only file names; the subfolder names become the class names. `not_images`
    are relative paths the browser did not upload because they are not pictures.
    """
    skipped = [(str(rel), f"{Path(str(rel)).suffix or 'no extension'} is not an image type we read")
               for rel in not_images]
    if not items:
        extra = f" ({len(skipped)} other files were there, e.g. {skipped[0][0]})" if skipped else ""
        raise DataError("No pictures arrived. Drop a folder that holds one subfolder of photos per class "
                        f"(e.g. pets/cats, pets/dogs){extra}.")
    _need_class_folders(items)
    base = sess.fresh_dir("folder")
    for src, rel in items:
        parts = _safe_rel(rel)
        if parts is None:
            skipped.append((str(rel), "its folder path is not allowed (it points outside the folder)"))
            continue
        if any(is_junk(p) for p in parts):
            continue
        real = is_upload(src, upload_root)
        if real is None:
            skipped.append(("/".join(parts), "the upload did not arrive on the server; try again"))
            continue
        target = base.joinpath(*parts)
        if target.exists():
            skipped.append(("/".join(parts), "another file has the same name and folder"))
            continue
        _link(real, target)
        sess.uploads.add(real)
    if not any(base.iterdir()):
        raise DataError("None of the dropped files could be used. " +
                        "; ".join(f"{f}: {r}" for f, r in skipped[:3]))
    ds = load_dataset(base, limits=sess.limits)
    ds.skipped[:0] = skipped
    return _keep(sess, sess.set_dataset(ds, source))


def load_zip_file(sess: Session, path: str, upload_root: Path | None = None) -> Dataset:
    """A .zip of class folders (or of train/ and val/)."""
    if not path:
        raise DataError("Choose a .zip file first.")
    name = Path(path).name
    if not name.lower().endswith(".zip"):
        raise DataError(f"{name} is not a .zip file. Zip your class folders (e.g. cats/ and dogs/) and upload the zip.")
    real = is_upload(path, upload_root) if upload_root is not None else None
    if real is not None:  # noted first: a zip that fails to load is deleted with the session too
        sess.uploads.add(real)
    # unpacked under the session's own folder, so closing the tab removes it (not the system temp folder)
    return _keep(sess, sess.set_dataset(load_dataset(path, limits=sess.limits, unpack_dir=sess.dir), name))


def load_example(sess: Session, seed: int = 0, per_class: int = 40) -> Dataset:
    """The offline example: three classes of generated shapes."""
    folder = generate_example(sess.fresh_dir("example"), per_class=per_class, seed=seed)
    return _keep(sess, sess.set_dataset(load_dataset(folder, limits=sess.limits), "the shapes example (generated)"))


def load_photo_set(sess: Session, key: str, progress: Callable[[int, int], None] | None = None) -> Dataset:
    """A real photo set downloaded on demand (DataError in plain words when offline)."""
    folder = download_photo_set(key, sess.fresh_dir("download"), progress=progress)
    return _keep(sess, sess.set_dataset(load_dataset(folder, limits=sess.limits), f"the {key} photo set"))


# ---------------------------------------------------------------- class cards

def _card(sess: Session, card_id: int) -> Card:
    for c in sess.cards:
        if c.id == card_id:
            return c
    raise DataError("That class card no longer exists.")


def card_add(sess: Session) -> Card:
    if len(sess.cards) >= MAX_CARDS:
        raise DataError(f"Up to {MAX_CARDS} class cards fit here; for more classes, drop a folder or a zip instead.")
    card = Card(sess.next_card, f"Class {sess.next_card}")
    sess.next_card += 1
    sess.cards.append(card)
    return card


def card_rename(sess: Session, card_id: int, name: str) -> Card:
    card = _card(sess, card_id)
    card.name = re.sub(r"\s+", " ", str(name or "")).strip()[:60]
    return card


def card_delete(sess: Session, card_id: int) -> None:
    card = _card(sess, card_id)
    sess.cards.remove(card)
    for f in card.files:
        Path(f).unlink(missing_ok=True)


def card_clear(sess: Session, card_id: int) -> Card:
    card = _card(sess, card_id)
    for f in card.files:
        Path(f).unlink(missing_ok=True)
    card.files = []
    return card


def card_add_images(sess: Session, card_id: int, paths: Sequence[str], upload_root: Path | None) -> list[str]:
    """Copy uploaded or webcam images into a card; returns plain-words problems (file: reason)."""
    card = _card(sess, card_id)
    folder = sess.dir / "cards" / str(card.id)
    problems = []
    for p in paths or []:
        real = is_upload(p, upload_root)
        name = Path(p).name
        if real is None:
            problems.append(f"{name}: the upload did not arrive on the server")
        elif not is_image_name(name):
            problems.append(f"{name}: {Path(name).suffix or 'no extension'} is not an image type we read")
        else:
            target = folder / f"{len(card.files) + 1:04d}-{name}"
            _link(real, target)
            card.files.append(str(target))
            sess.uploads.add(real)
    return problems


def load_cards(sess: Session) -> Dataset:
    """Turn the class cards into a dataset ({class name: [photos]})."""
    names = [c.name.strip() for c in sess.cards]
    for i, n in enumerate(names):
        if not n:
            raise DataError(f"Class card {i + 1} has no name: type one in its name box.")
    seen: dict[str, str] = {}
    for n in names:
        if n.casefold() in seen:
            raise DataError(f"Two class cards are both called '{n}'. Give each class its own name.")
        seen[n.casefold()] = n
    mapping = {c.name.strip(): list(c.files) for c in sess.cards}
    return _keep(sess, sess.set_dataset(load_dataset(mapping, limits=sess.limits), "your class cards"))


def uploaded_items(payload: dict, upload_root: Path | None, is_upload: Callable) -> tuple[list, list]:
    """(file, relative path) pairs of a folder drop's payload whose files really are uploads of this server,
    and (relative path, reason) for the ones that are not."""
    items, skipped = [], []
    for item in payload.get("items", []):
        rel = str(item.get("rel") or "").replace("\\", "/").strip("/")
        real = is_upload(str(item.get("path") or ""), upload_root)
        if not rel or ".." in PurePosixPath(rel).parts:
            skipped.append((rel or "?", "its folder path is not allowed (it points outside the folder)"))
        elif real is None:
            skipped.append((rel, "the upload did not arrive on the server; try again"))
        elif is_image_name(rel):
            items.append((real, rel))
    for rel in payload.get("others", []):
        skipped.append((str(rel), f"{Path(str(rel)).suffix or 'no extension'} is not an image type we read"))
    return items, skipped


__all__ = ["photo_layout", "zip_photo_names", "card_add", "card_add_images", "card_clear", "card_delete",
           "card_rename", "load_cards", "load_example",
           "load_photo_set", "load_uploaded_folder", "load_zip_file", "uploaded_items"]
