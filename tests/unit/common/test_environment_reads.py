"""Only ``common/settings.py`` reads the environment: every other module gets typed settings.

An AST scan of every installed package (pyproject's package list). A use of
``os.environ`` / ``os.getenv`` (or ``environ`` / ``getenv`` imported from ``os``,
or an ``environs.Env``) counts as a read, except an assignment or deletion of one
variable, which only writes the environment for what runs later (prometheus_client,
child processes). The few other uses are listed in :data:`ALLOWED` with the reason.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = Path("common/settings.py")

ALLOWED: dict[tuple[str, str], str] = {
    ("common/devstack.py", "run"): "hands the whole environment on to the processes it starts "
    "(the supervisor gives each child exactly the environment it is handed)",
}
"""(module path, enclosing function) → why its use of the environment is not a settings read."""

ENV_NAMES = frozenset({"environ", "environb", "getenv", "getenvb"})
READERS = frozenset({"environs", "dotenv"})
"""Libraries whose whole purpose is reading the environment."""


def _packages() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted({pattern.rstrip("*").rstrip(".") for pattern in include})


def _modules() -> list[Path]:
    return sorted(
        path.relative_to(ROOT)
        for package in _packages()
        for path in (ROOT / package).rglob("*.py")
        if path.relative_to(ROOT) != SETTINGS
    )


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str:
    """The name of the function (or ``<module>``) a node sits in."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return node.name
    return "<module>"


def _is_env_use(node: ast.AST, imported: set[str]) -> bool:
    """``os.environ``, ``os.getenv`` …, or a bare name imported from ``os``."""
    if isinstance(node, ast.Attribute):
        return node.attr in ENV_NAMES and isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id in imported


def _is_write(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """``os.environ[name] = value`` or ``del os.environ[name]``."""
    parent = parents.get(node)
    return (
        isinstance(parent, ast.Subscript)
        and parent.value is node
        and isinstance(parent.ctx, ast.Store | ast.Del)
    )


def environment_reads(source: str) -> Iterator[tuple[int, str, str]]:
    """(line, enclosing function, what) of every read of the environment in ``source``."""
    tree = ast.parse(source)
    parents = _parents(tree)
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
            if node.module == "os":
                imported |= {a.asname or a.name for a in node.names if a.name in ENV_NAMES}
        else:
            continue
        if any(module.split(".")[0] in READERS for module in modules):
            yield node.lineno, _function(node, parents), "imports an environment reader"
    for node in ast.walk(tree):
        if _is_env_use(node, imported) and not _is_write(node, parents):
            yield node.lineno, _function(node, parents), ast.unparse(parents.get(node, node))


@pytest.fixture(scope="module")
def package_reads() -> list[tuple[str, int, str, str]]:
    """(module, line, enclosing function, what) of every read in the packages, scanned once."""
    return [
        (module.as_posix(), *read)
        for module in _modules()
        for read in environment_reads((ROOT / module).read_text())
    ]


def test_only_settings_read_the_environment(package_reads: list[tuple[str, int, str, str]]) -> None:
    found = sorted(
        f"{module}:{line} ({function}): {what}"
        for module, line, function, what in package_reads
        if (module, function) not in ALLOWED
    )
    assert found == [], "read the environment through common.settings.load_settings()"


def test_every_allowed_use_still_exists(package_reads: list[tuple[str, int, str, str]]) -> None:
    """An entry whose use has gone must go too, or it would allow a later read unseen."""
    assert set(ALLOWED) <= {(module, function) for module, _, function, _ in package_reads}


def test_the_scan_covers_every_package() -> None:
    scanned = {module.parts[0] for module in _modules()}
    assert scanned == set(_packages())
    assert {"common", "worker_enricher", "api_gateway", "auth_service"} <= scanned


SAMPLE = """
import os
from os import environ as env, getenv
from environs import Env

def reads():
    a = os.environ.get("A")
    b = os.environ["B"]
    c = "C" in os.environ
    d = os.getenv("D", "")
    e = env["E"]
    f = getenv("F")
    return {**os.environ}

def writes():
    os.environ["G"] = "1"
    del os.environ["H"]
"""


@pytest.mark.parametrize(
    ("line", "what"),
    [
        (4, "imports an environment reader"),
        (7, "os.environ.get"),
        (8, "os.environ['B']"),
        (9, "'C' in os.environ"),
        (10, "os.getenv('D', '')"),
        (11, "env['E']"),
        (12, "getenv('F')"),
        (13, "{**os.environ}"),
    ],
)
def test_the_scan_sees_every_kind_of_read(line: int, what: str) -> None:
    reads = {(n, w) for n, _, w in environment_reads(SAMPLE)}
    assert (line, what) in reads


def test_the_scan_lets_writes_pass() -> None:
    assert {function for _, function, _ in environment_reads(SAMPLE)} == {"<module>", "reads"}
    assert len(list(environment_reads(SAMPLE))) == 8
