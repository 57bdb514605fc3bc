"""Signing keys generated on first start and kept in the data directory (outside production).

The file is written in full to a private temporary file (mode 0600) and then hard-linked into
place, which fails if the name exists: two processes starting at once both end up reading the
one key that won, never a half-written file.
"""
from __future__ import annotations

import os
import secrets
import stat
import tempfile
import threading
from pathlib import Path

MIN_KEY_CHARS = 32
_lock = threading.Lock()
_cache: dict[Path, str] = {}


def _read(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise RuntimeError(f"{path} is readable by others: chmod 600 it (or delete it to have "
                           "a new key generated, which signs everyone out)")
    key = path.read_text().strip()
    if len(key) < MIN_KEY_CHARS:
        raise RuntimeError(f"{path} holds no usable key: delete it to have one generated")
    return key


def _create(path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:  # mkstemp makes the file 0600
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process was first: use its key
    finally:
        os.unlink(tmp)


def load_or_create_key(path: Path) -> str:
    """The key in `path`, created (random, 0600) if the file does not exist yet."""
    path = Path(path).resolve()
    with _lock:
        if path in _cache:
            return _cache[path]
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _create(path)
        key = _cache[path] = _read(path)
        return key


def clear_cache() -> None:
    """Forget keys read so far (tests; a process otherwise reads each file once)."""
    with _lock:
        _cache.clear()
