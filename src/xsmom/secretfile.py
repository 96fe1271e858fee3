"""Private secret files: API keys and webhook URLs are read only from files of ours.

API keys (:mod:`xsmom.exchange.keys`) and webhook URLs (:mod:`xsmom.notify.secrets`) are read
from files that must be owned by the current user and unreadable to group and others
(:func:`check_private`). Masking secrets in logs and texts is :mod:`xsmom.redaction`'s job.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from xsmom.errors import ConfigError


def check_private(path: Path, what: str = "key file") -> None:
    """Raise ConfigError unless ``path`` is a regular file of ours, unreadable to others."""
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{what} {path} is not a regular file")
    if st.st_mode & 0o077:
        raise ConfigError(
            f"{what} {path} has mode {stat.S_IMODE(st.st_mode):04o}; "
            f"refusing it: run `chmod 600 {path}`"
        )
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise ConfigError(f"{what} {path} is not owned by the current user")
