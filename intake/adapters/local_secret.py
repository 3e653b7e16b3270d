"""The status links' key in local mode: made once, kept in the data folder (``status-secret``).

Local mode has no Key Vault; a key made per start would break every link already in the
outbox. The file is readable by its owner only, and appears whole: it is written under a
temporary name, then hard-linked into place, which fails if another process (``make dev``
beside ``python -m intake status link``) got there first; then theirs is the key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE_NAME = "status-secret"


def status_secret(data_dir: Path) -> str:
    """The data folder's status key, created on first use."""
    path = data_dir / FILE_NAME
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    draft = data_dir / f".{FILE_NAME}.{secrets.token_hex(8)}"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text(encoding="ascii").strip()
