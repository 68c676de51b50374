"""The package's layers, read from the source: every import statement of every module,
those inside functions included, so an import deferred into a function cannot hide a
breach the import-time test (`test_package.py`) would miss."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lircdepth", "lircdepth_ros")
# What the ROS-free core must never reach: the ROS side and ROS's Python packages.
ROS_ROOTS = {
    "lircdepth_ros",
    "rclpy",
    "rosidl_runtime_py",
    "launch",
    "launch_ros",
    "ament_index_python",
    "tf2_ros",
    "message_filters",
    "cv_bridge",
    "sensor_msgs_py",
}
ROS_MESSAGE_SUFFIX = "_msgs"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path) -> set[str]:
    """Every module an import statement in `path` names, relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }


def is_ros(name: str) -> bool:
    root = name.split(".")[0]
    return root in ROS_ROOTS or root.endswith(ROS_MESSAGE_SUFFIX)


def test_core_names_no_ros_anywhere_in_its_source():
    breaches = [
        f"{module} imports {name}"
        for module, path in project_modules().items()
        if module.split(".")[0] == "lircdepth"
        for name in sorted(imported_names(path))
        if is_ros(name)
    ]
    assert not breaches, "\n".join(breaches)


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports (a `from pkg import name` of a submodule
    counts as importing that submodule)."""
    modules = project_modules()
    return {
        module: {name for name in imported_names(path) if name in modules and name != module}
        for module, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules, or None (depth-first search, colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_cycle_finder_finds_a_planted_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circles_between_modules():
    graph = import_graph()
    # Edges into a package's own __init__ from its submodules (and back) are how Python
    # packages export names; drop them so only module-to-module circles remain.
    for module, targets in graph.items():
        graph[module] = {
            t for t in targets if not (module.startswith(t + ".") or t.startswith(module + "."))
        }
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)
