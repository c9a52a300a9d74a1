"""English or Simplified Chinese for everything the app shows, without touching how the engine words things.

The engine writes its messages in English (f-strings, Notice, Diagnostic, exceptions). The catalog in
fewshot/locales/zh_CN.py maps each English template, exactly as written in the source with `{}` where a
value goes, to a Chinese template that puts the values back by number: `{0}` as they are (file and class
names never change), `{0!t}` translated in turn (a reason inside a sentence). `translate(text, lang)`
matches a whole message against the templates; text made of several messages (lines, list items,
sentences, HTML with text between its tags) is translated piece by piece. Anything without a translation
stays English: a new message shows, untranslated, rather than break. The CLI stays English.
"""
from __future__ import annotations

import copy
import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .locales.zh_CN import COLUMNS, MESSAGES, UI

__all__ = ["EN", "LANGS", "ZH", "lang_from_header", "normalize_lang", "numbered", "plural", "translate",
           "translate_figure", "translate_frame"]

EN, ZH = "en", "zh-CN"
LANGS = (EN, ZH)
MAX_DEPTH = 8

TAG = re.compile(r"(<[^>]*>)")
FILL = re.compile(r"\{(\d+)(!t)?\}")
ICON = re.compile(r"^((?:[⚠ℹ⛔✅❌✓⬇▶■📁🗜🃏✨📷]\ufe0f?\s*)+)(.*)$", re.S)
LIST_ITEM = re.compile(r"^((?:[-*+]|#{1,6}|\d+\.)\s+)(.*)$", re.S)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
CJK_END = "。！？；：）"


def normalize_lang(value: str | None) -> str:
    """'zh', 'zh-CN', 'zh_CN', 'zh-Hans', 'zh-Hans-CN', 'zh-SG' -> 'zh-CN'; everything else -> 'en'.

    Traditional Chinese (zh-TW, zh-HK, zh-MO, zh-Hant) gets English: there is no translation for it yet.
    """
    tag = str(value or "").strip().replace("_", "-").lower()
    if not tag.startswith("zh") or (len(tag) > 2 and tag[2] != "-"):
        return EN
    parts = tag.split("-")[1:]
    return EN if any(p in ("tw", "hk", "mo", "hant") for p in parts) else ZH


def lang_from_header(accept_language: str | None) -> str:
    """The page's language for a browser's Accept-Language header: its first choice decides, as it does for
    the page itself (Gradio and assets/i18n.js read navigator.language), so server and page agree."""
    ranked = []
    for i, item in enumerate(str(accept_language or "").split(",")):
        tag, _, q = item.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        if tag.strip():
            ranked.append((-weight, i, tag.strip()))
    return normalize_lang(min(ranked)[2]) if ranked else EN


# ---------------------------------------------------------------- the catalog, compiled

def _pattern(template: str) -> re.Pattern:
    """A template as a regex: each `{}` a lazy group, `{#}` a number, `{{` `}}` braces, the rest literal.

    A value never spans a line or " · ", so 'Epoch {#}/{#}' does not swallow the ' · about 5 s left' the
    app adds after it, nor "{}: {}" a whole page of markdown.
    """
    groups = {"{}": "((?:(?! · )[^\n])*?)", "{#}": "([-+]?[0-9][0-9.,]*%?)", "{{": r"\{", "}}": r"\}"}
    pieces = re.split(r"(\{\}|\{#\}|\{\{|\}\})", template)
    return re.compile("".join(groups.get(p) or re.escape(p) for p in pieces), re.S | re.I)


@dataclass(frozen=True)
class _Tables:
    """One compiled catalog: literal messages (also by casefolded key) and [(pattern, Chinese)], most specific
    first. Messages use the engine's catalog; labels (the app's own words) the page's words too."""

    literal: dict
    folded: dict
    templates: list


def _compile(*sources: dict[str, str]) -> _Tables:
    merged = {k.strip(): v for src in sources for k, v in src.items()}
    literal = {k: v for k, v in merged.items() if "{" not in k}
    templates = [(k, v) for k, v in merged.items() if "{" in k]
    # the longer the fixed text, the more specific: "{} is not a zip archive…" before "{}: {}"
    templates.sort(key=lambda kv: -len(kv[0].replace("{}", "").replace("{#}", "")))
    return _Tables(literal, {k.casefold(): v for k, v in literal.items()}, [(_pattern(k), v) for k, v in templates])


@lru_cache(maxsize=1)
def _tables() -> tuple[_Tables, _Tables]:
    """(for messages, for labels)."""
    return _compile(MESSAGES), _compile(MESSAGES, UI)


def numbered(template: str, lang: str) -> str:
    """A catalog template for code that fills values itself (JavaScript): `{}` numbered `{0}`, `{1}` … in
    English, the Chinese template as it is (values by number, without the `!t` marks) in Chinese."""
    if normalize_lang(lang) == ZH:
        if template in MESSAGES:
            return MESSAGES[template].replace("!t}", "}")
    count = iter(range(template.count("{}")))
    return re.sub(r"\{\}", lambda m: "{%d}" % next(count), template)


# ---------------------------------------------------------------- plurals

def plural(n: int, one: str, many: str) -> str:
    """English's singular or plural of a message with a count: `one` when `n` is 1, else `many`.

    Write both forms out in full at the call site, as ordinary English messages (f-strings), so that each is
    a message of its own that tests/i18n_scan.py finds and that the catalog must hold; give both the same
    Chinese template in fewshot/locales/zh_CN.py (Chinese has no plural: translate() maps either form to it):

        note = L.plural(n, f"{n} photo is now '{cls}'.", f"{n} photos are now '{cls}'.")
        # zh_CN.py: "{} photo is now '{}'.": "{0} 张照片现在属于“{1}”。" beside "{} photos are now '{}'."

    A count inside a longer message works the same way, piece by piece: plural(n, f"{n} photo", f"{n} photos")
    as a value of the longer one, whose Chinese template translates it in turn (`{1!t}`). Page code translates
    the result as it translates any message (its callbacks' outputs are translated by `friendly`).
    """
    return one if n == 1 else many


# ---------------------------------------------------------------- translating text

def translate(text: Any, lang: str | None, label: bool = False) -> Any:
    """`text` in `lang` ('en' or 'zh-CN'); English (unchanged) where no translation is known.

    `label=True` is for the app's own words (labels, buttons, titles): those may be a single word ("Train"),
    which in a message could be a class name, so single words are only translated there.
    """
    if not isinstance(text, str) or normalize_lang(lang) != ZH or not text.strip():
        return text
    messages, labels = _tables()
    return _text(text, 1, labels) if label else _text(text, 0, messages)


def _text(text: str, depth: int, tb: _Tables) -> str:
    """`text` translated whole if it is one message, else split into the pieces it is made of."""
    if depth > MAX_DEPTH or not text.strip():
        return text
    lead, core, trail = re.match(r"(\s*)(.*?)(\s*)$", text, re.S).groups()
    if TAG.search(core):
        return lead + _html(core, depth, tb) + trail
    for step in (_whole, _lines, _icon, _list_item, _dots, _sentences):
        out = step(core, depth, tb)
        if out is not None:
            return lead + out + trail
    return text


def _whole(text: str, depth: int, tb: _Tables) -> str | None:
    """The translation when the whole text is one message of the catalog."""
    hit = tb.literal.get(text) or tb.folded.get(text.casefold())
    if hit and (depth > 0 or len(text.split()) > 1):  # one word alone may be a class name
        return hit
    for pattern, target in tb.templates:
        m = pattern.fullmatch(text)
        if m and (not _structural(pattern) or _all_known(target, m.groups(), depth, tb)):
            return _fill(target, m.groups(), depth, tb)
    return None


def _structural(pattern: re.Pattern) -> bool:
    """A template with no words of its own ("{}: {}", "**{}** {}"): it matches almost anything."""
    return not re.search(r"[A-Za-z]", re.sub(r"\(\(\?.*?\)\*\?\)|\(\[.*?\)", "", pattern.pattern))


def _all_known(target: str, values: tuple[str, ...], depth: int, tb: _Tables) -> bool:
    """Whether every value the template translates has a translation: only then does a structural
    template fit ("file: reason" yes; "Class 'x' has …; something new" is a sentence, not a list)."""
    parts = [values[int(i)] for i, t in FILL.findall(target) if t and int(i) < len(values)]
    return all(_text(v, depth + 1, tb) != v for v in parts if v.strip())


def _fill(target: str, values: tuple[str, ...], depth: int, tb: _Tables) -> str:
    def put(m: re.Match) -> str:
        i = int(m.group(1))
        value = values[i] if i < len(values) else ""
        return _text(value, depth + 1, tb) if m.group(2) else value
    return FILL.sub(put, target)


def _lines(text: str, depth: int, tb: _Tables) -> str | None:
    """Line by line; lines inside ``` code fences stay as they are."""
    if "\n" not in text:
        return None
    out, code = [], False
    for line in text.split("\n"):
        if line.strip().startswith("```"):
            code = not code
            out.append(line)
        else:
            out.append(line if code else _text(line, depth + 1, tb))
    return "\n".join(out)


def _icon(text: str, depth: int, tb: _Tables) -> str | None:
    m = ICON.match(text)
    return m.group(1) + _text(m.group(2), depth + 1, tb) if m and m.group(2) else None


def _list_item(text: str, depth: int, tb: _Tables) -> str | None:
    m = LIST_ITEM.match(text)
    return m.group(1) + _text(m.group(2), depth + 1, tb) if m and m.group(2) else None


def _dots(text: str, depth: int, tb: _Tables) -> str | None:
    """'a · b · c' (progress lines, hints): each part on its own."""
    parts = text.split(" · ")
    return " · ".join(_text(p, depth + 1, tb) for p in parts) if len(parts) > 1 else None


def _sentences(text: str, depth: int, tb: _Tables) -> str | None:
    """Several sentences: each one that has a translation is translated."""
    parts = SENTENCE_END.split(text)
    if len(parts) < 2:
        return None
    done = [_text(p, depth + 1, tb) for p in parts]
    out = done[0]
    for piece in done[1:]:
        out += ("" if out.endswith(tuple(CJK_END)) else " ") + piece
    return out


def _html(text: str, depth: int, tb: _Tables) -> str:
    """Only the text between tags is translated; tags and attributes stay as they are."""
    out = []
    for piece in TAG.split(text):
        if not piece or TAG.fullmatch(piece) or not piece.strip():
            out.append(piece)
        else:
            # same depth: a lone word between tags (<b>cats</b>) is a name in a message, a word in a label
            out.append(html.escape(_text(html.unescape(piece), depth, tb), quote=False))
    return "".join(out)


# ---------------------------------------------------------------- tables and figures

def translate_frame(df: Any, lang: str | None, text_columns: tuple[str, ...] = ("reason", "problem")) -> Any:
    """A copy of a DataFrame with translated column names and translated text in `text_columns`
    (skipped-file reasons, prediction problems) and in the columns its maker lists in df.attrs["translate"]
    (the runs table's status and notes); names of classes and files stay as they are."""
    if normalize_lang(lang) != ZH or df is None or not hasattr(df, "columns"):
        return df
    out = df.copy()
    own = tuple(getattr(df, "attrs", {}).get("translate", ()))  # the app's own words: one word ("failed") too
    for col in dict.fromkeys([*text_columns, *own]):
        if col in out.columns:
            out[col] = [translate(v, lang, label=col in own) for v in out[col]]
    return out.rename(columns={c: COLUMNS.get(str(c), c) for c in out.columns})


def translate_figure(fig: Any, lang: str | None) -> Any:
    """A copy of a plotly figure with its titles, axis titles, legend names and notes translated."""
    if normalize_lang(lang) != ZH or fig is None or not hasattr(fig, "layout"):
        return fig
    fig = copy.deepcopy(fig)
    tr = lambda s: translate(s, lang, label=True)  # noqa: E731  (a figure's words are the app's own)
    lay = fig.layout
    if lay.title.text:
        lay.title.text = tr(lay.title.text)
    for axis in (lay.xaxis, lay.yaxis):
        if axis.title.text:
            axis.title.text = tr(axis.title.text)
    for trace in fig.data:
        if getattr(trace, "name", None):
            trace.name = tr(trace.name)
        if getattr(trace, "hovertemplate", None):
            trace.hovertemplate = tr(trace.hovertemplate)
    for note in lay.annotations or ():
        if note.text:
            note.text = tr(note.text)
    return fig
