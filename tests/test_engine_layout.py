"""The code's layout: files and functions a reader can take in at once, gradio kept to the page (fewshot/ui), and
every engine module saying what it offers (`__all__`). Read from the source with `ast`; nothing is imported."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fewshot"
PAGE = PACKAGE / "ui"
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 60
NOT_CODE = {"bench", "tests"}  # scripts and checks, not the app: their functions may run long


def _inside(path: Path, folder: Path) -> bool:
    return folder in path.parents


def _python_files() -> list[Path]:
    """Every .py file of the repository outside bench/, tests/ and hidden or cache folders."""
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] in NOT_CODE or any(p.startswith(".") or p == "__pycache__" for p in parts):
            continue
        out.append(path)
    return out


def _engine_files() -> list[Path]:
    """fewshot/'s Python files outside the page (fewshot/ui)."""
    return [p for p in _python_files() if _inside(p, PACKAGE) and not _inside(p, PAGE)]


def _long_functions(files: list[Path]) -> list[str]:
    """'path:line name (N lines)' for each function over MAX_FUNCTION_LINES, from its def to its last line."""
    out = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    out.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    return out


def _top_level_names(tree: ast.Module) -> set[str]:
    """What a module defines or imports at its top level (what `from module import name` finds)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names |= {t.id for t in ast.walk(target) if isinstance(t, ast.Name)}  # `A, B = ...` too
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            names |= _top_level_names(ast.Module(body=node.body, type_ignores=[]))  # loaded late (fewshot/__init__)
    return names


def _declared_all(tree: ast.Module) -> list[str] | None:
    """The module's `__all__` list, or None without one."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return None


def _public_engine_modules() -> list[Path]:
    """The engine's modules (fewshot/ and its packages, outside the page and the translations) whose name has no
    leading underscore, and every package's __init__.py (its own API)."""
    return [p for p in _engine_files() if not _inside(p, PACKAGE / "locales")
            and (not p.name.startswith("_") or p.name == "__init__.py")]


def _long_files(folder: Path, skip: tuple[Path, ...] = ()) -> list[str]:
    """'path (N lines)' for each source file under `folder` (outside `skip`) over MAX_FILE_LINES."""
    return [f"{p.relative_to(ROOT)} ({n} lines)" for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix in (".py", ".sql", ".js", ".css", ".html")
            and not any(_inside(p, s) for s in skip) and "__pycache__" not in p.parts
            and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES]


def test_no_engine_file_is_over_500_lines():
    too_long = _long_files(PACKAGE, skip=(PACKAGE / "locales", PAGE))
    assert not too_long, f"split these files (the translations in fewshot/locales may run long): {too_long}"


def test_no_page_file_is_over_500_lines():
    too_long = _long_files(PAGE)
    assert not too_long, f"split these files: {too_long}"


def test_no_function_outside_the_page_is_over_60_lines():
    files = [p for p in _python_files() if not _inside(p, PAGE)]
    assert PACKAGE / "train.py" in files and ROOT / "app.py" in files  # the scan finds the code
    long = _long_functions(files)
    assert not long, f"extract named helpers from these functions: {long}"


def test_no_page_function_is_over_60_lines():
    files = [p for p in _python_files() if _inside(p, PAGE)]
    assert files
    long = _long_functions(files)
    assert not long, f"extract named helpers from these functions: {long}"


def _gradio_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "gradio"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "gradio":
            found.append(node.module)
    return found


def test_only_the_page_imports_gradio():
    assert _gradio_imports(PAGE / "page.py"), "the scan sees the page's own gradio import"
    offenders = {str(p.relative_to(ROOT)): names for p in _engine_files() if (names := _gradio_imports(p))}
    assert not offenders, f"the engine imports gradio; move this to fewshot/ui: {offenders}"


def test_every_public_engine_module_lists_its_public_names_in___all__():
    missing = [str(p.relative_to(PACKAGE)) for p in _public_engine_modules()
               if _declared_all(ast.parse(p.read_text(encoding="utf-8"))) is None]
    assert not missing, f"add __all__ (the names other modules may use) to: {missing}"


def test_every_name_in___all___exists_in_its_module():
    unknown = {}
    for path in _public_engine_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = set(_declared_all(tree) or ()) - _top_level_names(tree)
        if names:
            unknown[str(path.relative_to(PACKAGE))] = sorted(names)
    assert not unknown, f"__all__ names what the module does not define: {unknown}"
