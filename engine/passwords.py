"""Password hashing with bcrypt (the architecture's choice); the 72-byte limit is a rule, not a surprise."""
from __future__ import annotations

import bcrypt

from engine.errors import ValidationError

MIN_LENGTH = 8
MAX_BYTES = 72
_DUMMY = bcrypt.hashpw(b"timing-equaliser", bcrypt.gensalt(rounds=12))


def validate_password(password: object, field: str = "password") -> str:
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise ValidationError(field, f"must be at least {MIN_LENGTH} characters")
    if len(password.encode()) > MAX_BYTES:
        raise ValidationError(field, f"must be at most {MAX_BYTES} bytes")
    return password


def hash_password(password: str, rounds: int = 12) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def verify_password(password: str, hashed: str | None) -> bool:
    """Constant work whether or not the user exists."""
    try:
        pw = password.encode()[:MAX_BYTES]
        if hashed is None:
            bcrypt.checkpw(pw, _DUMMY)
            return False
        return bcrypt.checkpw(pw, hashed.encode())
    except ValueError:
        return False
