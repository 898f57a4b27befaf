"""The layout is part of the design: these fail when the code drifts from it.

Computed from the source with `ast`, so a lazy import inside a function counts like any
other: a cycle hidden behind one is still a cycle.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from checks import REGISTRY

ROOT = Path(__file__).parents[1]
PACKAGES = ("checks", "monitor")
MAX_LINES = 400
README = (ROOT / "README.md").read_text(encoding="utf-8")
# Where a check may be named by a string: the checks themselves, the config's sections (one
# key per check), and the simulator, which plays the API and knows nothing of our checks.
CHECK_NAMES_ALLOWED = ("checks/", "monitor/config.py", "monitor/simulator/")


def source_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in source_files()}


def resolve(name: str) -> str | None:
    """The project module an import names (a name inside a module resolves to the module)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> Iterator[tuple[str, int]]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (target := resolve(alias.name)) is not None:
                    yield target, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                target = resolve(f"{base}.{alias.name}") or resolve(base)
                if target is not None:
                    yield target, node.lineno


GRAPH = {m: sorted({t for t, _ in imports_of(m) if t != m}) for m in MODULES}


def find_cycle() -> list[str] | None:
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        stack.append(module)
        for target in GRAPH[module]:
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[module] = 2
        return None

    for module in MODULES:
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_the_import_graph_covers_the_project() -> None:
    assert "monitor.runner" in GRAPH
    assert "checks.base" in GRAPH["monitor.runner"]


def test_nothing_in_checks_imports_monitor() -> None:
    offenders = [
        f"{MODULES[m].relative_to(ROOT)}:{line} imports {target}"
        for m in MODULES
        if m.startswith("checks")
        for target, line in imports_of(m)
        if target.startswith("monitor")
    ]
    assert offenders == []


def test_there_is_no_import_cycle() -> None:
    cycle = find_cycle()
    assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_400_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


# Words that are also check names, used in a module for something else: the page's chart of
# what the probes spent is named "spend", as the `spend` check is.
OTHER_MEANINGS = {("monitor/page/history.py", "spend")}


def test_no_check_name_is_spelled_outside_checks_and_config() -> None:
    offenders = []
    for path in source_files():
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(CHECK_NAMES_ALLOWED):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # A JSON document's field ({"spend": …}, document["spend"]) is not a check's name.
        fields = {
            id(node)
            for parent in ast.walk(tree)
            for node in (
                parent.keys
                if isinstance(parent, ast.Dict)
                else [parent.slice]
                if isinstance(parent, ast.Subscript)
                else []
            )
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and node.value in REGISTRY
                and id(node) not in fields
                and (relative, node.value) not in OTHER_MEANINGS
            ):
                offenders.append(f"{relative}:{node.lineno} {node.value!r}")
    assert offenders == []


def test_every_check_is_registered_and_in_the_readme_check_list() -> None:
    modules = {p.stem for p in (ROOT / "checks").glob("*.py")}
    defined = {
        node.name
        for p in (ROOT / "checks").glob("*.py")
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
        and any(
            isinstance(item, ast.AnnAssign)
            and isinstance(item.target, ast.Name)
            and item.target.id == "name"
            and item.value is not None
            for item in node.body
        )
    }
    registered = {type(check).__name__ for check in REGISTRY.values()}
    assert defined <= registered, f"check classes outside the registry: {defined - registered}"
    assert set(REGISTRY) <= modules, "each check lives in a module of its own name"
    sections = re.findall(r"^### ([a-z_]+)$", README, flags=re.MULTILINE)
    assert sections == list(REGISTRY)


def command_paths(group: click.Group, prefix: str = "imagewatch") -> Iterator[str]:
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            yield from command_paths(command, f"{prefix} {name}")
        else:
            yield f"{prefix} {name}"


def test_every_cli_command_is_in_the_readme_table() -> None:
    from monitor.cli import main

    table = re.findall(r"^\| `(imagewatch [a-z ]+?) *(?:\[|--|`)", README, flags=re.MULTILINE)
    missing = sorted(set(command_paths(main)) - set(table))
    assert missing == []


def test_every_package_ships_in_the_wheel() -> None:
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    packages = {module_name(p) for p in source_files() if p.name == "__init__.py"}
    assert packages <= listed, f"missing from [tool.setuptools] packages: {packages - listed}"


def test_the_config_has_one_section_per_check_typed_by_the_check() -> None:
    from monitor.config import ChecksSection

    fields = ChecksSection.model_fields
    assert list(fields) == list(REGISTRY)
    for name, check in REGISTRY.items():
        assert fields[name].annotation is check.settings_type, name
