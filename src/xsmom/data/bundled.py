"""The bundled sample store (see sample/README.md for its provenance)."""

from __future__ import annotations

from pathlib import Path

from xsmom.data.store import ParquetStore

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
SAMPLE_NAME = "sample"


def sample_store() -> ParquetStore:
    """Return the store bundled with the package."""
    return ParquetStore(SAMPLE_DIR)


def resolve_store(spec: str | Path) -> ParquetStore:
    """Return the store for ``--store``: a folder path, or ``sample`` for the bundled one."""
    if str(spec) == SAMPLE_NAME:
        return sample_store()
    return ParquetStore(Path(spec))
