"""The layers hold: docs/ARCHITECTURE.md draws the contract that lint-imports
checks, and no import of the project hides inside a function."""

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["portail", "familles", "factures", "paiements", "signalements", "fusions"]


def contract_layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]
    (layers,) = [
        contract["layers"]
        for contract in config["importlinter"]["contracts"]
        if contract["type"] == "layers"
    ]
    return layers


def test_the_architecture_page_draws_the_contracts_layers():
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    block = re.search(r"<!-- layers:.*?-->\n```\n(.*?)\n```", page, re.S).group(1)

    assert block.splitlines() == contract_layers()


def test_every_app_is_in_a_layer():
    named = {
        part.strip().split(".")[0]
        for layer in contract_layers()
        for part in re.split(r"[:|]", layer)
    }

    assert set(PACKAGES) <= named


def imports_inside_functions(path: Path) -> list[str]:
    found = []
    for function in ast.walk(ast.parse(path.read_text())):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        # The app's own receivers, connected when Django is ready.
        if path.name == "apps.py" and function.name == "ready":
            continue
        for node in ast.walk(function):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno} {name}"
                for name in names
                if name.split(".")[0] in PACKAGES
            ]
    return found


def test_no_import_of_the_project_hides_inside_a_function():
    found = [
        line
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
        for line in imports_inside_functions(path)
    ]

    assert found == []
