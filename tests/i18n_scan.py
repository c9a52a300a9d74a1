"""Finds the English text the engine can show a user: every prose string literal in fewshot/*.py.

Used by tests/test_i18n.py to check that each one has a Chinese translation. An f-string becomes a
template with `{}` where its values go (exactly how fewshot/i18n.py matches messages at run time).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The CLI stays English (its own users read its --help); the locales hold the translations themselves.
SKIP_MODULES = {"cli/__init__.py", "cli/commands.py", "cli/console.py", "progress.py", "__main__.py",
                "i18n.py"}  # console-only text: the CLI stays English (paths under fewshot/)
# Files a model is exported as stay English (README): space.py writes the Space's README and model.json, and
# says nothing to the page (hub.py, which the page uses, is checked); cli/space.py is console-only.
SKIP_MODULES |= {"space.py", "cli/space.py"}
# Exceptions that are programming errors, never meant for a user (the app shows them as "unexpected").
INTERNAL_ERRORS = {"ValueError", "OSError", "RuntimeError", "KeyError", "TypeError", "AssertionError", "AttributeError",
                   "NotImplementedError", "SystemExit"}
# Calls whose string arguments are code, not text for a person.
CODE_CALLS = {"compile", "sub", "match", "search", "fullmatch", "split", "startswith", "endswith", "getenv",
              "get", "warn", "debug", "info", "getLogger", "mkdtemp", "TemporaryDirectory", "NamedTemporaryFile",
              "encode", "decode", "strftime", "environ", "add_argument", "open", "replace", "rstrip", "strip",
              "lstrip", "ArgumentParser", "error", "print"}
WORD = re.compile(r"[A-Za-z]{2,}")
TAG = re.compile(r"<[^>]*>")
# Prose-looking strings that are code (plotly options, decoder messages we search for, a JSON sidecar for
# programs, the app's JavaScript and its folder-drop template, translated in the browser from a prop).
NOT_TEXT = {"bottom right", "lines+markers", "x unified", "broken data stream", "premature end",
            "image file is incomplete", "buffer is not large enough", "not enough data", "unexpected end",
            "float32 RGB in [0,1], NCHW", "system-ui", "Segoe UI",
            "private, max-age={}, immutable", "text/plain; charset=utf-8",  # HTTP headers (fewshot/ui/server/thumbs.py)
            "resize shorter side to `resize` (bilinear), centre-crop `crop`; mean/std are applied inside the model"}


def is_prose(text: str) -> bool:
    """Two or more words and a space: train_loss, OMP_WAIT_POLICY or "{}: {}" are not prose."""
    bare = text.replace("{}", "")
    return len(WORD.findall(bare)) >= 2 and " " in bare.strip() and text not in NOT_TEXT \
        and not text.startswith(("http", "() =>", "//"))


def segments(text: str) -> list[str]:
    """The pieces fewshot/i18n.py translates one by one: the lines of a text (outside ``` code blocks),
    and the text between the tags of HTML."""
    if "\n" in text:
        lines, code = [], False
        for line in text.split("\n"):
            code = code != line.strip().startswith("```")
            if not code and not line.strip().startswith("```"):
                lines += segments(line)
        return lines
    if not TAG.search(text):
        return [text.strip()]
    return [s.strip() for s in TAG.split(text) if s.strip()]


def template(node: ast.AST) -> str | None:
    """The text of a str constant or f-string, each formatted value as `{}`; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(str(v.value).replace("{", "{{").replace("}", "}}"))
            else:
                parts.append("{}")
        return "".join(parts)
    return None


def _call_name(node: ast.Call) -> str:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """ids of string nodes that are not text for a person: docstrings, code arguments, internal errors,
    dict keys, comparisons and pieces inside an f-string (the f-string itself is the template)."""
    skip: set[int] = set()

    def mark(n: ast.AST) -> None:
        skip.update(id(x) for x in ast.walk(n))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            mark(body[0])
        if isinstance(node, ast.JoinedStr):
            for v in node.values:  # its pieces are not messages of their own
                mark(v)
        elif isinstance(node, ast.Call) and _call_name(node) in CODE_CALLS:
            for a in [*node.args, *(k.value for k in node.keywords)]:
                mark(a)
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and \
                _call_name(node.exc) in INTERNAL_ERRORS:
            mark(node.exc)
        elif isinstance(node, ast.Dict):
            for k in node.keys:
                if k is not None:
                    mark(k)
        elif isinstance(node, (ast.Compare, ast.Subscript)):
            mark(node)
    return skip


def module_templates(path: Path) -> dict[str, int]:
    """Prose templates in one module, each with the line it is on."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _skipped_nodes(tree)
    out: dict[str, int] = {}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        text = template(node)
        if text is None or text.lstrip().startswith(("() =>", "(", "//")):  # JavaScript for the page
            continue
        for seg in segments(text):
            if is_prose(seg):
                out.setdefault(seg, node.lineno)
    return out


def engine_templates() -> dict[str, str]:
    """{template: "module.py:line"} over every engine module the app uses, and app.py."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "fewshot").rglob("*.py")) + [ROOT / "app.py"]:
        where = path.relative_to(ROOT / "fewshot").as_posix() if path.parent != ROOT else path.name
        if where in SKIP_MODULES or "locales" in path.parts:
            continue
        for text, line in module_templates(path).items():
            found.setdefault(text, f"{where}:{line}")
    return found
