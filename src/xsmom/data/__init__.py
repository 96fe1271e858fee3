"""Market data: the Parquet store, validation, importers, download and the bundled sample."""

from xsmom.data.panel import MarketPanel, load_panel
from xsmom.data.store import ParquetStore
from xsmom.data.validate import Kind, ValidationReport, validate_frame

__all__ = [
    "Kind",
    "MarketPanel",
    "ParquetStore",
    "ValidationReport",
    "load_panel",
    "validate_frame",
]
