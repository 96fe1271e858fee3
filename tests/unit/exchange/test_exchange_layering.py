"""DESIGN "Layout": exchange/ and sim/ build on sim/, never on venue/ (the HTTP server)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import xsmom

PKG = Path(xsmom.__file__).parent


def _imported_modules(path: Path) -> list[str]:
    """Return every module name a file imports (top level and inside functions)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((PKG / package).glob("*.py")):
        for name in _imported_modules(path):
            if name == "xsmom.venue" or name.startswith(forbidden):
                found.append(f"{path.name}: {name}")
    return found


def test_exchange_sources_never_import_venue() -> None:
    assert (PKG / "exchange" / "paper.py").is_file()  # the walk sees the real package
    assert _offenders("exchange", ("xsmom.venue.",)) == []


def test_sim_sources_import_neither_venue_nor_exchange() -> None:
    assert (PKG / "sim" / "matching.py").is_file()
    assert _offenders("sim", ("xsmom.venue.", "xsmom.exchange")) == []


def test_ast_walk_finds_a_venue_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from xsmom.venue import binance\n    import xsmom.venue.app\n")
    assert _imported_modules(probe) == ["xsmom.venue", "xsmom.venue.binance", "xsmom.venue.app"]


def test_importing_exchange_and_paper_loads_no_venue_module() -> None:
    code = (
        "import sys, xsmom.exchange, xsmom.exchange.paper, xsmom.exchange.store_source,"
        " xsmom.exchange.paper_reports, xsmom.sim\n"
        "print(sorted(m for m in sys.modules if m.startswith('xsmom.venue')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.strip() == "[]"
