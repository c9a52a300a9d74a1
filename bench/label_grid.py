"""The Label step's grid with a big pool: how long the page's server side takes to render a page of it.

N generated photos (320x240 JPEGs of coloured noise, default 5,000) go into a project as unlabelled photos;
the pool's features are each photo's mean colour (this measures the grid, not the network: the engine's
own timings are bench/labelling.py's). Timed: adding the photos, rendering "All photos" page 1, page 2, page 1
again, a labelling batch of 20 + retrain + the suggestions
view re-rendered (what a click costs before the browser draws it). Each render's HTML size is printed too: it is
what the page sends the browser at every event (the thumbnails come by URL, cached by the browser; the
first "page 1" row also gives the bytes of its 60 thumbnails, fetched once).

    python bench/label_grid.py [--photos 5000] [--from ../shared/data/flowers]

--from takes real photos (every .jpg below the folder, up to --photos) instead of generated noise: their
thumbnails weigh what a user's do.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def kb(html: str) -> float:
    return len(html.encode()) / 1024


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=5000)
    ap.add_argument("--from", dest="source", type=Path, default=None, help="a folder of real photos to use instead")
    a = ap.parse_args()
    from fewshot.archive import Limits
    from fewshot.project import ProjectStore
    from fewshot.ui.tab import label_html as H
    from fewshot.ui.tab.labels import Desk
    from test_label_step import colour_features

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        items = []
        real = sorted(a.source.rglob("*.jpg"))[:a.photos] if a.source else []
        for i, f in enumerate(real):
            items.append((f, f"pile/{i:05d}.jpg"))
        for i in range(a.photos if not real else 0):
            colour = rng.integers(0, 255, 3)
            arr = np.clip(colour + rng.normal(0, 30, (240, 320, 3)), 0, 255).astype(np.uint8)
            f = tmp / "pile" / f"{i:05d}.jpg"
            f.parent.mkdir(exist_ok=True)
            Image.fromarray(arr).save(f, quality=85)
            items.append((f, f"pile/{f.name}"))
        desk = Desk(ProjectStore(tmp / "store").create("me", "big"), features=colour_features)
        t_add, _ = timed(lambda: desk.add_uploaded(items, Limits(max_images=10**6)))
        t_feat, _ = timed(lambda: desk.wait())
        desk.view = "all"
        rows = [("add photos to the project", t_add, None), ("features (mean colour) + first suggest", t_feat, None)]

        def page():  # as the page does per event: the project's photos read afresh, then the grid
            desk.invalidate()
            return H.grid(desk, str)
        rows.append(("page 1 (60 tiles) rendered", *timed(page)))
        fetched = thumbs_fetched(desk)
        if fetched is not None:
            rows.append((f"page 1's 60 thumbnails made and fetched by URL (once; {fetched[1] / 1024:.0f} KB)",
                         fetched[0], None))
        desk.page = 1
        rows.append(("page 2 rendered", *timed(page)))
        desk.page = 0
        rows.append(("page 1 again (median of 5)", *timed(page, 5)))
        photos = [p.sha1 for p in desk.project.photos()]
        desk.create_class("a")
        desk.create_class("b")

        def batch(k=[0]):
            k[0] += 1
            desk.invalidate()
            desk.assign(photos[40 * k[0]:40 * k[0] + 20], "a" if k[0] % 2 else "b")
            desk.refresh()
            desk.view = "suggest"
            return H.grid(desk, str)
        batch()
        rows.append(("label 20 + retrain + suggestions view (median of 5)", *timed(batch, 5)))
        print(f"{len(items)} photos" + (f" from {a.source}" if real else " (generated)"))
        print("| step | seconds | HTML sent (KB) |\n|---|---|---|")
        for name, t, html in rows:
            print(f"| {name} | {t:.3f} | {f'{kb(html):.1f}' if isinstance(html, str) else ''} |")


def thumbs_fetched(desk) -> tuple[float, int] | None:
    """(seconds, bytes) to make and read the thumbnails page 1 links to, as the thumbnail route does; None where
    the grid has no thumbnail links (thumbnails inline)."""
    if not hasattr(desk, "thumb_jpeg"):
        return None
    t0, total = time.perf_counter(), 0
    for p in list(desk.photos().values())[:60]:
        total += len(desk.thumb_jpeg(p.sha1) or b"")
    return time.perf_counter() - t0, total


if __name__ == "__main__":
    main()
