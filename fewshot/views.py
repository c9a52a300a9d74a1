"""What the app shows, as plain data: plotly figures, small HTML snippets and markdown.

No gradio here: app.py only places these in components. Every user-provided string
(class names, file names) is escaped before it goes into HTML.
"""
from __future__ import annotations

import base64
import html
import io
import unicodedata
from typing import Sequence

import pandas as pd
import plotly.graph_objects as go

from .data import Dataset
from .check_set import CHECK, CHECK_FIRST, Measured
from .evaluate import MARGIN, Diagnostic, more_photos_for_margin, wilson_interval
from .images import UnreadableImage, thumbnail

__all__ = ["THUMBS_PER_CLASS", "accuracy_md", "checked_line", "confusion_figure", "confusion_layout", "curve_figures",
           "data_summary", "data_warnings", "diagnostics_md", "eta_text", "history_frame", "progress_html",
           "split_text", "sureness_md", "thumbnail_strips", "unlabelled_strip"]

TRAIN_COLOUR, VAL_COLOUR = "#4f46e5", "#f97316"
GRID = "#e5e7eb"
THUMBS_PER_CLASS = 8


def _layout(fig: go.Figure, title: str, y_title: str, height: int = 340) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.02, "font": {"size": 15}}, height=height, template="none",
        paper_bgcolor="white", plot_bgcolor="white",
        margin={"l": 48, "r": 12, "t": 40, "b": 10}, font={"size": 13},
        # legend under the plot: on a narrow phone it wraps downwards instead of over the title
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0},
        yaxis_title=y_title, hovermode="x unified",
        modebar={"orientation": "v"})  # a vertical tool bar never covers the legend
    # a bare template keeps each live update small (plotly_white would add ~10 KB per figure)
    fig.update_xaxes(gridcolor=GRID, zeroline=False, linecolor=GRID)
    fig.update_yaxes(gridcolor=GRID, zeroline=False, linecolor=GRID)
    return fig


def curve_figures(history: Sequence[dict], epochs: int, num_classes: int,
                  kept: int | None = None) -> tuple[go.Figure, go.Figure]:
    """Loss and accuracy per epoch, training vs validation, one epoch starred.

    The star sits on `kept`, the epoch whose weights the model holds, once training has ended;
    while it runs (`kept` None) on the most accurate epoch so far, named so.

    The x axis spans the planned epochs when they are few; for long runs it grows with the
    curve (twice the epochs so far), so the first points are not squeezed into a corner.
    """
    ep = [h["epoch"] for h in history]
    x_max = epochs if epochs <= 20 else min(epochs, max(10, 2 * len(ep)))
    loss, acc = go.Figure(), go.Figure()
    for fig, key, title, y in ((loss, "loss", "Loss per epoch (lower is better)", "loss"),
                               (acc, "acc", "Accuracy per epoch (higher is better)", "accuracy")):
        fig.add_scatter(x=ep, y=[h[f"train_{key}"] for h in history], name="training photos", mode="lines+markers",
                        line={"color": TRAIN_COLOUR, "width": 3})
        if any(h.get(f"val_{key}") is not None for h in history):
            fig.add_scatter(x=ep, y=[h.get(f"val_{key}") for h in history], name="validation photos",
                            mode="lines+markers", line={"color": VAL_COLOUR, "width": 3})
        _layout(fig, title, y)
        fig.update_xaxes(range=[0.5, max(x_max, len(ep)) + 0.5], dtick=max(1, x_max // 10), title=None)
    acc.update_yaxes(range=[0, 1.02], tickformat=".0%")
    if num_classes:
        acc.add_hline(y=1 / num_classes, line_dash="dot", line_color="#9ca3af",
                      annotation_text="random guessing", annotation_position="bottom right")
    vals = [(h["val_acc"], -(h["val_loss"] or 0), h["epoch"]) for h in history if h.get("val_acc") is not None]
    star = next(((h["val_acc"], 0, h["epoch"]) for h in history if h["epoch"] == kept and h.get("val_acc") is not None),
                None) if kept is not None else (max(vals) if vals else None)
    if star is not None:
        acc.add_scatter(x=[star[2]], y=[star[0]], mode="markers",
                        name="kept" if kept is not None else "most accurate so far",
                        marker={"symbol": "star", "size": 16, "color": "#16a34a"})
    return loss, acc


def _text_px(text: str, size: int = 13) -> float:
    """About how wide `text` is drawn at font `size`: wide (CJK, emoji) characters count as one em, others
    as 0.62 em (a little more than the average Latin letter, so an estimate never falls short)."""
    return sum(size * (1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.62) for ch in text)


def _short(label: str, most: int = 24) -> str:
    return label if len(label) <= most else label[:most - 1].rstrip() + "…"


def confusion_layout(labels: Sequence[str], font: int = 13) -> dict:
    """Where the axis titles go so that they never overlap the class names: the left margin holds the
    longest (shortened) name plus the "really is" title beside it; the bottom margin the slanted names
    plus "predicted as" under them. Plain numbers, so a test can check the room."""
    short = [_short(str(c)) for c in labels]
    widest = max((_text_px(c, font) for c in short), default=0.0)
    slant = len(labels) > 4 or widest > 80  # long names side by side would run into each other
    tick_h = widest * 0.5 + font if slant else font * 1.4  # sin(30°) of the name's width, plus its height
    standoff = 10
    return {"short": short, "slant": slant, "standoff": standoff, "label_px": widest, "tick_h": tick_h,
            "l": int(widest + standoff + 2.2 * font + 14), "b": int(tick_h + standoff + 2.2 * font + 10)}


def confusion_figure(cm: pd.DataFrame) -> go.Figure:
    """Heatmap of true (rows) vs predicted (columns) counts, numbers printed in each cell. Long class names
    are shortened on the axes (in full when hovered); the margins grow with the longest one."""
    labels = [str(c) for c in cm.columns]
    z = cm.values
    room = confusion_layout(labels)
    fig = go.Figure(go.Heatmap(z=z, x=labels, y=labels, colorscale="Blues", showscale=False,
                               text=z, texttemplate="%{text}", textfont={"size": 15},
                               hovertemplate="true %{y}, predicted %{x}: %{z} photos<extra></extra>"))
    side = min(520, 160 + 48 * len(labels)) + room["b"] - 80
    fig.update_layout(height=side, template="none", paper_bgcolor="white",
                      margin={"l": room["l"], "r": 12, "t": 40, "b": room["b"]},
                      title={"text": "Which class was taken for which", "x": 0.02, "font": {"size": 15}},
                      font={"size": 13})
    fig.update_xaxes(title={"text": "predicted as", "standoff": room["standoff"]}, side="bottom",
                     tickangle=-30 if room["slant"] else 0, tickvals=labels, ticktext=room["short"], automargin=True)
    fig.update_yaxes(title={"text": "really is", "standoff": room["standoff"]}, autorange="reversed",
                     tickvals=labels, ticktext=room["short"], automargin=True)
    return fig


def _thumb_uri(path: str, size: int = 72) -> str | None:
    try:
        img = thumbnail(path, size)
    except (UnreadableImage, OSError):
        return None
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def thumbnail_strips(ds: Dataset, per_class: int = THUMBS_PER_CLASS) -> str:
    """One row per class: its name, its photo count and a strip of small previews."""
    rows = []
    counts = ds.counts().set_index("class")["total"].to_dict()
    for i, name in enumerate(ds.classes):
        paths = [s.path for s in ds.train + ds.val if s.label == i][:per_class]
        imgs = "".join(f'<img src="{u}" alt="{html.escape(name)} example" loading="lazy">'
                       for u in map(_thumb_uri, paths) if u)
        rows.append(f'<div class="fs-strip"><div class="fs-strip-name"><b>{html.escape(name)}</b>'
                    f'<span>{counts.get(name, 0)} photos</span></div><div class="fs-strip-imgs">{imgs}</div></div>')
    return '<div class="fs-strips">' + "".join(rows) + "</div>"


def unlabelled_strip(paths: list[str], total: int) -> str:
    """The row of a project's photos that have no class yet: their count and the first few."""
    imgs = "".join(f'<img src="{u}" alt="photo without a class" loading="lazy">'
                   for u in map(_thumb_uri, paths[:THUMBS_PER_CLASS]) if u)
    return (f'<div class="fs-strips"><div class="fs-strip"><div class="fs-strip-name"><i>not labelled yet</i>'
            f'<span>{total} photos</span></div><div class="fs-strip-imgs">{imgs}</div></div></div>')


def split_text(ds: Dataset) -> str:
    """How the validation photos were chosen, as it happened: per class how many of its photos were kept
    aside (a class of 3 gives 1 of 3, not "20%")."""
    if ds.val_given:
        return "your own validation folder"
    if getattr(ds, "validation", None) == CHECK:  # a project's check set (fewshot/check_set.py)
        return ("the check set: photos picked at random from your pool and labelled by you; accepted "
                "suggestions never check the model")
    counts = ds.counts()
    if not len(counts) or not counts["val"].sum():
        return "none could be kept aside"
    if len(counts) <= 6:
        each = ", ".join(f"{r['class']} {r['val']}/{r['total']}" for _, r in counts.iterrows())
        return f"kept aside at random from each class (kept aside/all): {each}"
    share = counts.loc[counts["total"] > 0, "val"] / counts.loc[counts["total"] > 0, "total"]
    return (f"kept aside at random, between {share.min():.0%} and {share.max():.0%} of each class "
            f"({int(counts['val'].sum())} of {int(counts['total'].sum())} photos)")


def data_summary(ds: Dataset, source: str) -> str:
    n_tr, n_va = len(ds.train), len(ds.val)
    return (f"**Loaded {html.escape(source)}: {len(ds.classes)} classes** ({', '.join(ds.classes)}).  \n"
            f"{n_tr} photos to learn from (training) and {n_va} to check on (validation: {split_text(ds)}; "
            f"the model never learns from them, so they show how it does on new photos).")


def data_warnings(ds: Dataset) -> str:
    lines = [f"- ⚠️ {n.message}" for n in ds.notices]
    if ds.skipped:
        lines.append(f"- ⚠️ {len(ds.skipped)} file{'s were' if len(ds.skipped) != 1 else ' was'} skipped: "
                     f"see *Skipped files* below for each one and why.")
    return "\n".join(lines) if lines else "✅ No problems found in these photos."


def progress_html(fraction: float | None, text: str, state: str = "running") -> str:
    """A progress bar with a plain-words line under it (what happens, how long is left)."""
    if fraction is None:
        bar = ""
    else:
        pct = max(0.0, min(1.0, fraction)) * 100
        bar = (f'<div class="fs-bar" role="progressbar" aria-valuenow="{pct:.0f}" aria-valuemin="0" '
               f'aria-valuemax="100"><div style="width:{pct:.1f}%"></div></div>')
    return f'<div class="fs-progress fs-{state}">{bar}<div class="fs-ptext">{html.escape(text)}</div></div>'


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1.5:
        return "almost done"
    if seconds < 60:
        return f"about {seconds:.0f} s left"
    return f"about {seconds // 60:.0f} min {seconds % 60:02.0f} s left"


def diagnostics_md(diags: Sequence[Diagnostic]) -> str:
    icon = {"info": "ℹ️", "warning": "⚠️", "error": "⛔"}
    return "\n".join(f"- {icon.get(d.severity, '⚠️')} **{d.message}** {d.advice}" for d in diags)


def history_frame(history: Sequence[dict]) -> pd.DataFrame:
    cols = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"]
    df = pd.DataFrame([{k: h.get(k) for k in cols} for h in history], columns=cols)
    return df.round({"train_loss": 4, "train_acc": 4, "val_loss": 4, "val_acc": 4, "seconds": 2})


FEW_VAL = 30  # fewer validation photos than this: the page says the figure is rough


def _more_photos_md(right: int, n: int, check: bool = False, validation: bool = True) -> str:
    """How many more photos would bring the 95% interval within ±10 points (evaluate.MARGIN), in words that
    say what to do: in a project that validates on its check set, label them at random; "" when the
    interval is that narrow already."""
    more, points = more_photos_for_margin(right, n, MARGIN), round(MARGIN * 100)
    if more <= 0:
        return ""
    if check:
        return f"Label {more} more photos at random to know it within ±{points} points (the Label step asks for them)."
    if validation:
        return f"With about {more} more validation photos it would be known within ±{points} points."
    return f"With about {more} more photos it would be known within ±{points} points."


def sureness_md(right: int, n: int, chance: float, validation: bool = True, check: bool = False) -> str:
    """How sure a measured accuracy is, in plain words: the 95% Wilson interval, whether it could still be
    guessing, a warning under FEW_VAL photos (`validation`: they are the validation photos) and how many
    more photos would know it within ±10 points (`check`: they are the project's check set)."""
    low, high = wilson_interval(right, n)
    lines = [f"How sure is this? With {n} photos, the true figure is likely between {low:.0%} and {high:.0%} "
             f"(95% interval)."]
    if low <= chance < high:
        lines.append(f"That range includes {chance:.0%}, what random guessing gets: these photos cannot yet "
                     f"show that the model does better than guessing.")
    more = _more_photos_md(right, n, check, validation)
    if n < FEW_VAL and check:  # what to do (the line after) says more than "with 30 or more"
        lines.append(f"⚠️ Only {n} check photos: each one moves the figure by {1 / n:.0%}.")
    elif n < FEW_VAL and validation:
        lines.append(f"⚠️ Only {n} validation photos: each one moves the figure by {1 / n:.0%}. "
                     f"With {FEW_VAL} or more the figure is steadier.")
    elif n < FEW_VAL:
        lines.append(f"⚠️ Only {n} photos: each one moves the figure by {1 / n:.0%}. "
                     f"With {FEW_VAL} or more the figure is steadier.")
    if more:
        lines.append(more)
    return "  \n".join(lines)


def accuracy_md(accuracy: float | None, n_val: int, num_classes: int, source: str = "", check: bool = False) -> str:
    """The validation accuracy, what guessing would get with this many classes, and how sure the figure is.
    `check`: the validation photos are the project's check set (drawn at random, labelled by the person)."""
    if (accuracy is None or n_val <= 0) and check:
        return (f"Not measured yet. The model helped label this project, so only photos picked at random and "
                f"labelled by you can tell how good it is: label the {CHECK_FIRST} check photos the Label "
                f"step asks for, then train again.")
    if accuracy is None or n_val <= 0:
        return "No validation photos, so accuracy could not be measured."
    right = round(accuracy * n_val)
    chance = 1 / max(num_classes, 1)
    verdict = ("no better than random guessing" if accuracy <= chance else
               "poor: only a little better than guessing" if accuracy < chance + 0.2 else
               "fair: more varied photos would help" if accuracy < 0.85 else
               "good" if accuracy < 0.95 else "excellent")
    more = " " + source if source else ""
    said = (f"{right} of {n_val} check photos were named correctly ({verdict}). Random guessing would get "
            f"{chance:.0%} with {num_classes} classes. They were picked at random and labelled by you: no accepted "
            f"suggestion grades the model.{more}" if check else
            f"{right} of {n_val} validation photos were named correctly ({verdict}). Random guessing would get "
            f"{chance:.0%} with {num_classes} classes.{more}")
    return f"### {accuracy:.0%} right\n{said}  \n{sureness_md(right, n_val, chance, check=check)}"


def checked_line(m: Measured) -> str:
    """One line for a run or a model: "Checked on 12 photos picked at random: 83%, likely between 55% and
    95%.", and how many more photos would know it within ±10 points."""
    if m.accuracy is None:
        return ("Not measured yet: label the check photos the Label step asks for." if m.validation == CHECK
                else "Not measured: no validation photos.")
    where = "photos picked at random" if m.validation == CHECK else "validation photos"
    line = (f"Checked on {m.photos} {where}: {m.accuracy:.0%}, likely between {m.low:.0%} and {m.high:.0%}.")
    more = _more_photos_md(m.right, m.photos, m.validation == CHECK)
    return line + ("  \n" + more if more else "")  # a line each: the page translates line by line
