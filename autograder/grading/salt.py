"""The grading term's secret salt for hidden cases, kept in the grading folder."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def term_salt(grading) -> str:
    """The salt in ``<grading>/hidden_seed``, made (64 random bits) the first time.

    The file is readable by its owner only; it never enters a sandbox, and grading again
    with it draws the same hidden cases."""
    path = Path(grading) / "hidden_seed"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(str(secrets.randbits(64)))
    return path.read_text().strip()
