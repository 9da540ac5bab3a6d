"""The package's shape: stage packages over a small shared bottom, imports only going down.

Every import of every module is read from its source (top-level and inside functions, where
the heavy ones live), so a lazy import cannot hide an upward dependency or a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "chatclone"

# Lower numbers are lower layers; a module may import its own package or any lower layer.
BOTTOM = (
    "errors",
    "atomic",
    "quiet",
    "options",
    "inputs",
    "config",
    "sampling",
    "speaker_format",
    "prompt_style",
    "rundir",
)
LAYERS = {
    **{f"chatclone.{name}": 0 for name in BOTTOM},
    "chatclone.data": 1,
    "chatclone.training": 2,
    "chatclone.inference": 3,
    "chatclone.evaluation": 4,
    "chatclone.serving": 5,
    "chatclone.exporting": 5,
    "chatclone.cli": 6,
    "chatclone": 7,  # the library facade (`chatclone/__init__.py`) and `python -m chatclone`
}
MAX_LINES = 300


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def resolve(name: str) -> str:
    """The module an import names: the module itself, or its closest known package."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from chatclone.training import loop` imports the module chatclone.training.loop.
            found |= {
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                for a in node.names
            }
    return {resolve(n) for n in found if n == "chatclone" or n.startswith("chatclone.")}


GRAPH = {name: imports(path) - {name} for name, path in MODULES.items()}


def layer(module: str) -> tuple[str, int]:
    """(the layer's key, its rank) for a module; the shared bottom is one layer."""
    if module in {f"chatclone.{name}" for name in BOTTOM}:
        return "bottom", 0
    key = max((k for k in LAYERS if module == k or module.startswith(k + ".")), key=len)
    if key == "chatclone" and module != "chatclone" and module != "chatclone.__main__":
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")
    return key, LAYERS[key]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_go_down(module):
    key, rank = layer(module)
    upward = [
        target for target in GRAPH[module] if layer(target)[1] >= rank and layer(target)[0] != key
    ]
    assert not upward, f"{module} (layer {key}) imports {upward} from its own level or above"


def test_no_import_cycles():
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH.get(node, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])


def test_the_data_stage_never_imports_torch():
    for name, path in MODULES.items():
        if name.startswith("chatclone.data"):
            tree = ast.parse(path.read_text())
            names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
            names |= {
                n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
            }
            assert not {n for n in names if n.split(".")[0] in ("torch", "transformers")}, name


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_short(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it (at most {MAX_LINES})"


def test_the_checker_sees_an_upward_import(tmp_path):
    """The rule is not vacuous: a lazy upward import inside a function is found."""
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from chatclone.cli.main import main\n")
    assert "chatclone.cli.main" in imports(source)
    assert layer("chatclone.cli.main")[1] > layer("chatclone.training.loop")[1]
