"""The package as it is declared and shipped: every import of src/ a declared dependency, and the lock
file found from inside the package, as a non-editable install lays it out."""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

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


def _as_installed(site: Path) -> Path:
    """The package's files as a wheel installs them, away from this checkout: its modules and the
    package data that pyproject.toml declares (`[tool.setuptools.package-data]`), nothing else."""
    package_data = PYPROJECT["tool"]["setuptools"]["package-data"]
    for path in (SRC / "hmicfrs_letters").rglob("*"):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        package_dir = path.parent
        while not (package_dir / "__init__.py").is_file():  # a data folder, such as preview/pages/
            package_dir = package_dir.parent
        package = ".".join(package_dir.relative_to(SRC).parts)
        inside = path.relative_to(package_dir)
        if path.suffix == ".py" or any(inside.match(pattern) for pattern in package_data.get(package, [])):
            (site / path.relative_to(SRC)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, site / path.relative_to(SRC))
    return site


def test_a_non_editable_install_finds_its_lock_file(tmp_path):
    site = _as_installed(tmp_path / "site-packages")
    script = "import json, hmicfrs_letters; from hmicfrs_letters.build.manifest import lock_record; print(json.dumps([hmicfrs_letters.__file__, lock_record()]))"
    # Isolated from this checkout: its src/ (the editable install's path) and the tests come after the copy, or not at all.
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    where, record = json.loads(done.stdout)
    assert Path(where).is_relative_to(site)
    lock = (SRC / "hmicfrs_letters" / "requirements.lock").read_bytes()
    assert record == {"file": "requirements.lock", "sha256": hashlib.sha256(lock).hexdigest(), "differs": {}}
