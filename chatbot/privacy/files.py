"""Everything under var/ is the owner's alone: the databases, logs, keys and mail outbox.

var/ holds special-category data at rest (the conversations, the referrals, the outbox),
so it is made owner-only when the assistant starts (existing files are fixed too), and
the processes it starts create files with umask 077.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077


def keep_private(var_dir: Path) -> int:
    """Make var_dir and all within it owner-only (0700 folders, 0600 files). Returns how many changed."""
    var_dir.mkdir(parents=True, exist_ok=True)
    changed = 0
    for path in [var_dir, *var_dir.rglob("*")]:
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue  # removed meanwhile (a SQLite journal)
        if stat.S_ISLNK(info.st_mode):
            continue
        wanted = 0o700 if stat.S_ISDIR(info.st_mode) else stat.S_IMODE(info.st_mode) & 0o700 | 0o600
        if stat.S_IMODE(info.st_mode) != wanted:
            os.chmod(path, wanted)
            changed += 1
    return changed
