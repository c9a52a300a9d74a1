"""The page's three layers import one way (README, "The code"):

    page (fewshot/ui/*.py, gradio) -> tab logic (fewshot/ui/tab/) and web edge (fewshot/ui/server/) -> engine
                                      web edge -> tab logic

Nothing below the page imports gradio, and no step module of the page imports another: where one step's
event shows another's, fewshot/ui/__init__.py passes the other's function in. Every import counts, also one
inside a function. Read from the source with `ast`: nothing is imported.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UI = ROOT / "fewshot" / "ui"
GRADIO = {"gradio", "gradio_client"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports(path: Path) -> set[str]:
    """Every module `path` imports, by its full name (`from . import x` names the module x where x is one)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names if is_module(f"{target}.{a.name}"))
    return out


def layer(name: str) -> str | None:
    """page, tab, server or engine for a module of this project; None for anything else."""
    if name.startswith("fewshot.ui.tab"):
        return "tab"
    if name.startswith("fewshot.ui.server"):
        return "server"
    if name == "fewshot.ui" or name.startswith("fewshot.ui."):
        return "page"
    if name == "fewshot" or name.startswith("fewshot."):
        return "engine"
    return None


ALLOWED = {"page": {"page", "tab", "server", "engine"}, "server": {"server", "tab", "engine"},
           "tab": {"tab", "engine"}}
FILES = sorted(UI.rglob("*.py"))


def test_the_three_folders_hold_the_page_the_tab_logic_and_the_web_edge():
    names = {module_name(p) for p in FILES}
    assert {"fewshot.ui.tab.state", "fewshot.ui.tab.labels", "fewshot.ui.server.guard", "fewshot.ui.server.thumbs",
            "fewshot.ui.server.gate", "fewshot.ui.step_label", "fewshot.ui.page"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(UI)))
def test_imports_run_one_way(path):
    here = layer(module_name(path))
    wrong = sorted(n for n in imports(path) if layer(n) is not None and layer(n) not in ALLOWED[here])
    assert not wrong, f"{module_name(path)} ({here}) imports {wrong}"


@pytest.mark.parametrize("path", [p for p in FILES if layer(module_name(p)) in ("tab", "server")],
                         ids=lambda p: str(p.relative_to(UI)))
def test_nothing_below_the_page_imports_gradio(path):
    found = sorted(n for n in imports(path) if n.split(".")[0] in GRADIO)
    assert not found, f"{module_name(path)} imports {found}"


STEPS = [p for p in UI.glob("*.py") if p.name.startswith("step_") or p.name == "share.py"]


@pytest.mark.parametrize("path", STEPS, ids=lambda p: p.name)
def test_no_step_imports_another(path):
    steps = {module_name(p) for p in STEPS} - {module_name(path)}
    found = sorted(imports(path) & steps)
    assert not found, f"{module_name(path)} imports the steps {found}"


def test_the_checker_sees_imports_inside_functions_and_relative_ones(tmp_path):
    """The checker itself: a late import of the page from the tab logic would be caught."""
    found = imports(UI / "tab" / "training.py")
    assert "fewshot.ui.tab.projects" in found  # imported inside a function
    assert "fewshot.train_events" in found and "fewshot.ui.tab.jobs" in found
    assert "fewshot.ui.step_space" in imports(UI / "__init__.py")  # `from . import step_space`


def test_no_module_level_dictionary_keyed_by_tab():
    """What one tab keeps lives in its Session (fewshot/ui/tab/steps.py), not in a module's weak dictionary."""
    found = []
    for path in FILES:
        for node in ast.parse(path.read_text(), str(path)).body:
            value = getattr(node, "value", None) if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
            if isinstance(value, ast.Call) and "WeakKeyDictionary" in ast.unparse(value.func):
                found.append(f"{path.relative_to(UI)}:{node.lineno}")
    assert not found
