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


# ---------------------------------------------------------------- the page in a browser: English left in 中文

# Latin words a Chinese page may show: names of products, models and formats the product keeps, units, and what
# the person named (class names, file and folder names: passed to `english_left` as `names`)
PAGE_NAMES = {"fewshot", "ONNX", "TorchScript", "F1", "f1", "ImageNet", "MobileNetV2", "mobilenet_v2", "ResNet",
              "EfficientNet", "ConvNeXt", "ViT", "API", "zip", "json", "md", "csv", "CSV", "safetensors", "px", "MB",
              "GB", "KB", "GPU", "CPU", "Gradio", "PyTorch", "Teachable", "Machine", "Ctrl", "Shift", "val", "train",
              "png", "jpg", "jpeg", "Plotly", "English", "Hugging", "Face", "Space", "Hub", "ms"}

# Every text of the page a person can see, not a sample: each visible text node (whatever its place: header,
# steps, tables, footer), the placeholders and values of visible boxes (a dropdown shows its choice as a value),
# the hover texts (title) of visible elements and the tab's title; each as [where, text]. Left out: code
# (an API example), the plots' toolbar, and the language switch itself (each language named in its own words).
PAGE_TEXTS = """() => {
  const out = [], skip = 'script, style, code, pre, .modebar, .fs-lang';
  const shown = (el) => { if (!el || el.closest(skip)) return false;
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.opacity !== '0'; };
  const where = (el) => { const c = el.closest('[id]:not([id=""])');
    return c ? '#' + c.id : el.tagName.toLowerCase(); };
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const t = n.textContent.trim();
    if (t && shown(n.parentElement)) out.push([where(n.parentElement), t]);
  }
  for (const el of document.querySelectorAll('input, textarea')) {
    if (!shown(el) || ['file', 'hidden', 'checkbox', 'radio'].includes(el.type)) continue;
    if (el.placeholder) out.push([where(el) + ' placeholder', el.placeholder.trim()]);
    if (el.value && el.type !== 'number') out.push([where(el) + ' value', el.value.trim()]);
  }
  for (const el of document.querySelectorAll('[title]'))
    if (el.title.trim() && shown(el)) out.push([where(el) + ' hover', el.title.trim()]);
  if (document.title) out.push(['title', document.title]);
  return out;
}"""

# model names with their sizes and versions (ResNet18, EfficientNet-B0, ConvNeXt-Tiny, ViT-B/16)
_MODEL = re.compile(r"^(ResNet|EfficientNet|ConvNeXt|ViT|MobileNet|resnet|efficientnet|convnext|vit_|mobilenet)"
                    r"[\w\-/]*$")
_FILE = re.compile(r"\.(png|jpe?g|zip|pth|safetensors|onnx|md|json|csv|pt|webp|gif|bmp|tiff?)$", re.I)


def english_left(texts: list, names: set[str] = frozenset()) -> list:
    """Of `texts` (strings, or [where, text] as PAGE_TEXTS gives them), those that still hold an English word (two
    or more Latin letters) that is neither a name the page keeps (PAGE_NAMES) nor one of `names`; links, file
    names, folder paths and a term followed by its Chinese (precision（精确率）) are names too."""
    left = []
    for item in texts:
        t = item[1] if isinstance(item, (list, tuple)) else item
        bare = re.sub(r"https?://\S+", "", t)
        bare = re.sub(r"(?<![\w/])/(?:[\w.\-]+/)+[\w.\-]*", "", bare)  # a path on the server: a name, as a file's
        bare = re.sub(r"[A-Za-z0-9_-]+（[^）]*[\u4e00-\u9fff][^）]*）", "", bare)
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_.\-/]*[A-Za-z0-9]", bare)
                 if w not in PAGE_NAMES and w not in names and not _FILE.search(w) and not _MODEL.match(w)
                 and not all(part in names or _FILE.search(part) or part in PAGE_NAMES
                             for part in w.split("/") if part)]
        if words:
            left.append(item)
    return left
