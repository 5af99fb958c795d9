"""The package as it is declared: every import of src/ a declared dependency."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from conftest import ROOT

SRC = ROOT / "src"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_levels() -> dict[str, str]:
    """Every top-level module src/ imports, absolute imports only, with one place that imports it."""
    found: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_package_src_imports_is_a_declared_dependency():
    declared = {_normalised(re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0]) for spec in PYPROJECT["project"]["dependencies"]}
    distributions = packages_distributions()
    undeclared = {}
    for module, place in _imported_top_levels().items():
        if module in sys.stdlib_module_names or module in {"__future__", "hmicfrs_letters"}:
            continue
        provided_by = {_normalised(d) for d in distributions.get(module, [module])}
        if not provided_by & declared:
            undeclared[module] = place
    assert undeclared == {}, "imported by src/ but not in [project] dependencies of pyproject.toml"
