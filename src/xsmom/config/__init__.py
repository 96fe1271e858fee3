"""Configuration: schema, loading, canonical form and version ids."""

from xsmom.config.load import (
    canonical_json,
    config_from_dict,
    dump_yaml,
    load_config,
    recorded_version_id,
    save_config,
    version_id,
)
from xsmom.config.schema import Config

__all__ = [
    "Config",
    "canonical_json",
    "config_from_dict",
    "dump_yaml",
    "load_config",
    "recorded_version_id",
    "save_config",
    "version_id",
]
