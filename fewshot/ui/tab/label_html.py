"""The Label step's grid as HTML (assets/label_grid.js makes it selectable and sends its buttons' actions).

No gradio. `tr` puts each of the page's own words in the page's language (fewshot/i18n.py); class and file
names stay as they are.
"""
from __future__ import annotations

import html
from typing import Callable

from .labels import PAGE_SIZE, Desk

PER_GROUP = 24  # suggestion cards shown per class (accepting takes every one above the threshold)
VIEWS = ("ask", "all", "suggest", "suspects")

Tr = Callable[[str], str]
esc = html.escape


def _btn(text: str, act: str, css: str = "", **data) -> str:
    attrs = "".join(f' data-{k.replace("_", "-")}="{esc(str(v))}"' for k, v in data.items())
    return f'<button type="button" class="fl-btn {css}" data-act="{act}"{attrs}>{esc(text)}</button>'


def _plural(n: int, one: str, many: str) -> str:
    """`one` for a count of 1, else `many` (English has two forms; the Chinese of both is the same)."""
    return one if n == 1 else many


def photos_word(n: int, tr: Tr) -> str:
    """"1 photo" or "12 photos", in the page's language."""
    return tr(_plural(n, f"{n} photo", f"{n} photos"))


def _tile(desk: Desk, photo, caption: str = "", group: str = "", extra: str = "", percent: str = "") -> str:
    # a link, not the picture: the browser fetches each thumbnail once and keeps it (fewshot/ui/server/thumbs.py)
    img = f'<img src="{esc(desk.thumb_url(photo.sha1))}" alt="" loading="lazy" decoding="async">'
    # the name gives way to the percentage: a long class name is cut (…), its percentage always shows
    # (assets/steps.css); the caption's tooltip says it whole
    cap = (f'<span class="fl-name">{esc(caption)}</span>' if caption else "") + \
        (f'<span class="fl-pct">{esc(percent)}</span>' if percent else "")
    whole = f"{caption} {percent}".strip()
    return (f'<div class="fl-tile" data-id="{photo.sha1}" data-group="{esc(group)}" title="{esc(photo.path)}">'
            f'{img}<div class="fl-cap" title="{esc(whole)}">{cap}</div>{extra}</div>')


def class_bar(desk: Desk, tr: Tr) -> str:
    """The classes as buttons (keys 1-9), and selecting all or none."""
    chips = [_btn(f"{i + 1 if i < 9 else ''} {c}".strip(), "label", "fl-chip", cls=c, key=i + 1 if i < 9 else "")
             for i, c in enumerate(desk.classes())]
    if not chips:
        chips = [f'<span class="fl-muted">{esc(tr("Make a class first (its name, then Add class)."))}</span>']
    give = esc(tr("Give the selected photos a class (or press its number):"))
    return (f'<div class="fl-bar"><span class="fl-muted">{give}</span>{"".join(chips)}'
            f'{_btn(tr("No class"), "unlabel")}<span class="fl-gap"></span>{_btn(tr("Select all"), "select-all")}'
            f'{_btn(tr("Select none"), "clear")}<span class="fl-count"></span></div>')


def grid(desk: Desk, tr: Tr) -> str:
    """The whole grid for the desk's view."""
    body = {"ask": _ask, "all": _all, "suggest": _suggest, "suspects": _suspects}[desk.view](desk, tr)
    return f'<div class="fl-root" data-view="{desk.view}">{class_bar(desk, tr)}{body}</div>'


def pct(confidence: float) -> str:
    """A confidence as a whole per cent, rounded down: a tile reading 56% is one "at or above 56%" takes (0.556
    rounded to 56% while the count beside it left it out)."""
    return f"{int(confidence * 100 + 1e-9)}%"


def _note(text: str) -> str:
    return f'<div class="fl-note">{esc(text)}</div>'


def _waiting(desk: Desk, tr: Tr) -> str | None:
    if desk.error:
        return _note(tr(f"The photos' features could not be computed: {desk.error}"))
    if desk.pool is None:
        return _note(tr("Drop photos above; once their features are ready the photos to label first show here."))
    return None


def _suggested(desk: Desk) -> dict[str, tuple[str, float]]:
    if desk.result is None or desk.why_no_suggestions():
        return {}
    return {s["path"].split(".")[0]: (s["label"], s["confidence"]) for s in desk.result.suggestions}


def _ask(desk: Desk, tr: Tr) -> str:
    wait = _waiting(desk, tr)
    if wait:
        return wait
    photos, picks, guess = desk.photos(), desk.ask(), _suggested(desk)
    if not picks:
        return _note(tr("Every photo has a class: go on to the Train step."))
    check = [s for s in picks if s in desk.asked_check]
    n = len(picks) - len(check)
    head = (tr(_plural(n, "This photo covers your pool best: label it first.",
                       f"These {n} photos cover your pool best: label them first.")) if desk.asked_cold else
            tr(_plural(n, "This photo would teach the model most: label it next.",
                       f"These {n} photos would teach the model most: label them next."))) if n else ""
    if check:  # the check set, in words a non-expert understands (fewshot/check_set.py)
        head += "\n" + tr(f"To tell you honestly how good the model is, label the {len(check)} marked 🎲 too: "
                          f"they were picked at random, so don't skip the hard ones.")
    tiles = []
    for s in picks:
        label, conf = guess.get(s, ("", 0))
        # a check photo shows no guess: the person's own eye decides its label
        caption, percent = ("🎲", "") if s in check else (label, pct(conf)) if label else ("", "")
        tiles.append(_tile(desk, photos[s], caption, "ask", percent=percent))
    return "".join(_note(line) for line in head.split("\n") if line) + f'<div class="fl-tiles">{"".join(tiles)}</div>'


def _all(desk: Desk, tr: Tr) -> str:
    photos = list(desk.photos().values())
    filters = [("unlabelled", tr("Unlabelled")), ("all", tr("All"))] + [(c, c) for c in desk.classes()]
    if desk.filter not in {k for k, _ in filters}:
        desk.filter = "unlabelled"
    shown = [p for p in photos if desk.filter == "all" or (desk.filter == "unlabelled" and p.label is None)
             or p.label == desk.filter]
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    desk.page = min(max(desk.page, 0), pages - 1)
    part = shown[desk.page * PAGE_SIZE:(desk.page + 1) * PAGE_SIZE]
    bar = "".join(_btn(t, "filter", "fl-on" if k == desk.filter else "", cls=k) for k, t in filters)
    nav = (_btn("‹", "page", page=desk.page - 1) + f'<span>{esc(tr(f"Page {desk.page + 1} of {pages}"))} · '
           f'{esc(photos_word(len(shown), tr))}</span>' + _btn("›", "page", page=desk.page + 1))
    tiles = "".join(_tile(desk, p, p.label or (f"({_said(p.hint, p.hint_source, tr)})" if p.hint else "—"), "page")
                    for p in part)
    return f'<div class="fl-filters">{bar}</div><div class="fl-nav">{nav}</div><div class="fl-tiles">{tiles}</div>'


def risk_line(desk: Desk, tr: Tr) -> str:
    """What accepting at the default threshold promises, or why there is no default: judged on the labels a
    person gave to the check photos (drawn at random) only, as a lower bound, never as the model's opinion of
    its own suggestions."""
    t, right = desk.risk()
    if t is None:
        return tr(desk.threshold_note() or "Nothing is accepted by default yet.")
    line = tr(f"Accepting at or above {t:.0%}: at least {right:.0%} of those suggestions should be right "
              f"(90% sure, judged on your {desk.evidence()} check photos).")
    record = desk.check_record(t)
    if record and record[1]:  # the random check photos: the fairest sample the person has labelled
        line += " " + tr(f"On your check photos, picked at random, suggestions this sure were right {record[0]} "
                         f"times of {record[1]}.")
    return line


def _said(hint: str, kind: str | None, tr: Tr) -> str:
    """A hint as a tile's caption: what visitors said, or a folder's name with a question mark."""
    return tr(f"visitors say “{hint}”") if kind == "visitor" else f"{hint}?"


def _visitors(desk: Desk, tr: Tr, photos: dict) -> str:
    """The photos visitors of a demo link sent, by the class they said: Confirm or Reject, one by one or selected."""
    groups = desk.visitors()
    if not groups:
        return ""
    out = [_note(tr("Photos sent by visitors of your demo links, with the class they said. They are not labels "
                    "until you confirm them: Confirm makes the class your label, Reject drops what the visitor "
                    "said (the photo stays, without a class)."))]
    for cls, sha1s in sorted(groups.items()):
        g, said = "visitor:" + cls, _said(cls, "visitor", tr)
        out.append(f'<div class="fl-group"><b>{esc(said)}</b> <span>{esc(photos_word(len(sha1s), tr))}</span>'
                   f'{_btn(tr("Confirm selected"), "confirm-visitor", "fl-primary")}'
                   f'{_btn(tr("Reject selected"), "reject-visitor")}'
                   f'{_btn(tr("Select group"), "select-group", group=g)}</div>')
        tiles = [_tile(desk, photos[s], said, g, _btn(tr("Confirm"), "confirm-visitor", "fl-fix", id=s) +
                       _btn(tr("Reject"), "reject-visitor", "fl-keep", id=s))
                 for s in sha1s[:PER_GROUP] if s in photos]
        more = len(sha1s) - PER_GROUP
        out.append(f'<div class="fl-tiles fl-review">{"".join(tiles)}</div>' +
                   (_note(tr(f"and {more} more, shown once you have gone through these")) if more > 0 else ""))
    return "".join(out)


def _hints(desk: Desk, tr: Tr, photos: dict) -> str:
    groups = desk.hints()
    if not groups:
        return ""
    out = [_note(tr("Hints from folder names, to review: accept a folder's name as the class of its photos."))]
    for hint, sha1s in groups.items():
        g = "hint:" + hint
        out.append(f'<div class="fl-group"><b>{esc(hint)}</b> <span>{esc(photos_word(len(sha1s), tr))}</span>'
                   f'{_btn(tr("Accept the hint"), "accept-hint", "fl-primary", cls=hint)}'
                   f'{_btn(tr("Select group"), "select-group", group=g)}</div>')
        out.append('<div class="fl-tiles">' + "".join(_tile(desk, photos[s], f"{hint}?", g)
                                                     for s in sha1s[:PER_GROUP] if s in photos) + "</div>")
    return "".join(out)


def _suggest(desk: Desk, tr: Tr) -> str:
    wait = _waiting(desk, tr)
    if wait:
        return wait
    photos = desk.photos()
    out = [_visitors(desk, tr, photos), _hints(desk, tr, photos)]
    why = desk.why_no_suggestions()
    if why:
        return "".join(out) + _note(tr(why))
    t, _ = desk.risk()
    out.append(_note(risk_line(desk, tr)))
    for label, items in sorted(desk.groups().items()):
        g = "s:" + label
        # without a default threshold the box starts empty and Accept is no primary button: nothing by default
        counts = esc(tr(f"{len(items)} suggested") if t is None else
                     tr(f"{len(items)} suggested, {sum(c >= t for _, c in items)} at or above {t:.0%}"))
        value = "" if t is None else f' value="{round(t * 100)}"'
        out.append(f'<div class="fl-group"><b>{esc(label)}</b> <span>{counts}</span><label>{esc(tr("accept all at or above"))} <input type="number" min="50" max="100" step="1" '
                   f'data-thr="{esc(g)}"{value}>%</label>'
                   f'{_btn(tr("Accept"), "accept", "fl-primary" if t is not None else "", cls=label, group=g)}'
                   f'{_btn(tr("Select group"), "select-group", group=g)}'
                   f'{_btn(tr("Reject selected"), "reject", cls=label)}</div>')
        tiles = [_tile(desk, photos[s], "", g, _btn("✕", "reject", "fl-x", cls=label, id=s), percent=pct(c))
                 for s, c in items[:PER_GROUP] if s in photos]
        more = len(items) - PER_GROUP
        out.append(f'<div class="fl-tiles">{"".join(tiles)}</div>' +
                   (_note(tr(f"and {more} more, less sure")) if more > 0 else ""))
    return "".join(out)


def _suspects(desk: Desk, tr: Tr) -> str:
    wait = _waiting(desk, tr)
    if wait:
        return wait
    photos, found = desk.photos(), desk.suspects()
    if not found:
        return _note(tr("No label looks wrong to the model right now."))
    likely = sum(s.get("strength") == "likely" for s in found)
    out = [_note(tr(f"These {len(found)} labels may be wrong (or the photos may be in the wrong folder): "
                    f"fix or keep each one. {likely} of them are likely wrong; for the others the model is "
                    f"only unsure, so look before you fix."))]
    tiles = []
    for s in found:
        if s["sha1"] not in photos:
            continue
        sure = s.get("strength") == "likely"  # a weak case does not make Fix the button to press
        buttons = (_btn(tr(f"Fix: {s['suggested']}"), "fix", "fl-fix" if sure else "fl-keep", cls=s["suggested"],
                        id=s["sha1"]) + _btn(tr("Keep"), "keep", "fl-keep", cls=s["given"], id=s["sha1"]))
        kind, words = ("likely", tr("likely wrong")) if sure else ("maybe", tr("maybe wrong"))
        how = f'<div class="fl-how fl-{kind}">{esc(words)}</div>'
        tiles.append(_tile(desk, photos[s["sha1"]], f"{s['given']} → {s['suggested']}", "suspects", how + buttons))
    return "".join(out) + f'<div class="fl-tiles fl-review">{"".join(tiles)}</div>'


__all__ = ["PER_GROUP", "VIEWS", "class_bar", "grid", "pct", "photos_word", "risk_line"]
