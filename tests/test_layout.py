"""Dependencies point one way (DESIGN.md §3). Read from the source, every import statement counted,
those inside functions and under `if TYPE_CHECKING:` too, so that a lazy import cannot hide one:

- `starter/` and `edge/` never reach `worker`, `workflows` or `activities`, however indirectly;
- `config.py` imports only `domain/`, the standard library and third-party packages;
- `domain/` imports only `domain/`, the standard library and third-party packages without I/O.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from config import ROOT

SERVER_SIDE = frozenset({"worker", "workflows", "activities"})
# Temporal, databases and migrations: what the pure rules must not bring in.
NOT_IN_DOMAIN = frozenset({"temporalio", "sqlalchemy", "aiosqlite", "asyncpg", "alembic"})


class Imports:
    """The import graph of the project under `root`, read with `ast` (nothing is imported)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # Every top-level package or module of ours: a directory with Python files, or a file.
        self.project = frozenset(
            path.stem if path.is_file() else path.name
            for path in root.iterdir()
            if not path.name.startswith(".")
            and (path.suffix == ".py" or (path.is_dir() and any(path.rglob("*.py"))))
        )
        self.of = cache(self._of)

    def file(self, module: str) -> Path | None:
        """What runs when `module` is imported (None: a namespace package, or not ours)."""
        base = self.root.joinpath(*module.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    def module(self, path: Path) -> str:
        parts = path.relative_to(self.root).with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    def modules_of(self, package: str) -> list[str]:
        return sorted(self.module(path) for path in (self.root / package).rglob("*.py"))

    def named(self, module: str) -> Iterator[str]:
        """Every module name an import statement of `module` names, wherever the statement is."""
        path = self.file(module)
        if path is None:
            return
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                yield base
                # `from package import module` imports that module too.
                for alias in node.names:
                    if self.file(f"{base}.{alias.name}"):
                        yield f"{base}.{alias.name}"

    def _of(self, module: str) -> tuple[str, ...]:
        """Our modules that `module` imports itself, with their parent packages (whose
        `__init__` runs first)."""
        found: dict[str, None] = {}
        for name in self.named(module):
            parts = name.split(".")
            if parts[0] in self.project:
                for depth in range(1, len(parts) + 1):
                    found.setdefault(".".join(parts[:depth]))
        found.pop(module, None)
        return tuple(found)

    def chain(self, start: str, forbidden: frozenset[str]) -> list[str] | None:
        """The shortest chain of imports from `start` to a module in a `forbidden` package."""
        came_from: dict[str, str | None] = {start: None}
        queue = [start]
        for module in queue:
            if module.split(".")[0] in forbidden:
                chain = [module]
                while (previous := came_from[chain[-1]]) is not None:
                    chain.append(previous)
                return chain[::-1]
            for imported in self.of(module):
                if imported not in came_from:
                    came_from[imported] = module
                    queue.append(imported)
        return None


TREE = Imports(ROOT)


def test_a_lazy_import_two_modules_away_is_found(tmp_path: Path) -> None:
    """The walk itself, on a small tree: what it must see for the tests below to mean anything."""
    files = {
        "starter/__init__.py": "",
        "starter/cli.py": "def main():\n    from .helpers import run\n",
        "starter/helpers.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from store import db\n",
        "store/db.py": "import json\nfrom workflows import registration\n",
        "workflows/registration.py": "",
        "edge/intake.py": "import store.other\n",
        "store/other.py": "from . import db as _\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    tree = Imports(tmp_path)
    assert tree.project == {"starter", "store", "workflows", "edge"}
    assert tree.chain("starter.cli", SERVER_SIDE) == [
        "starter.cli",
        "starter.helpers",
        "store.db",
        "workflows",
    ]
    assert tree.chain("edge.intake", SERVER_SIDE) == [
        "edge.intake",
        "store.other",
        "store.db",
        "workflows",
    ]
    assert tree.chain("workflows.registration", frozenset({"starter"})) is None


def test_the_real_tree_is_read() -> None:
    assert {"starter", "edge", "workflows", "activities", "worker", "config"} <= TREE.project
    assert "workflows.registration" in TREE.of("worker")
    assert "plumbing.codec" in TREE.of("starter.cli")  # imported inside a command


@pytest.mark.parametrize("module", TREE.modules_of("starter") + TREE.modules_of("edge"))
def test_clients_and_the_edge_never_reach_the_server_side(module: str) -> None:
    chain = TREE.chain(module, SERVER_SIDE)
    assert chain is None, f"{module} reaches {chain[-1]}: {' → '.join(chain)}"


def test_config_imports_nothing_above_it() -> None:
    above = [m for m in TREE.of("config") if m.split(".")[0] != "domain"]
    assert not above, f"config imports {', '.join(above)}: only domain/ may be imported there"


@pytest.mark.parametrize("module", TREE.modules_of("domain"))
def test_domain_imports_only_domain_and_no_io(module: str) -> None:
    ours = [m for m in TREE.of(module) if m.split(".")[0] != "domain"]
    assert not ours, f"{module} imports {', '.join(ours)}"
    heavy = sorted({n for n in TREE.named(module) if n.split(".")[0] in NOT_IN_DOMAIN})
    assert not heavy, f"{module} imports {', '.join(heavy)}"
