"""The password policy and bcrypt hashing: the one place that says what a password must be.

The engine, the API (422 naming the field) and the dashboard's help text all read POLICY.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import bcrypt
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from engine.errors import ValidationError

MAX_BYTES = 72  # bcrypt reads no further: a longer password would be silently cut
_DUMMY = bcrypt.hashpw(b"timing-equaliser", bcrypt.gensalt(rounds=12))


@dataclass(frozen=True)
class PasswordPolicy:
    """NIST SP 800-63B style: long enough, not blank, not a well-known password; no composition
    rules. The common-password list is zxcvbn's 30,000 most used passwords."""

    min_length: int = 10
    max_bytes: int = MAX_BYTES

    @cached_property
    def common(self) -> frozenset[str]:
        return frozenset(FREQUENCY_LISTS["passwords"])

    def rules(self) -> list[str]:
        """The rules in words, in the order they are checked (the dashboard shows these)."""
        return [f"at least {self.min_length} characters",
                f"at most {self.max_bytes} bytes (about {self.max_bytes} letters)",
                "not only spaces",
                "not one of the 30,000 most common passwords"]

    def help_text(self) -> str:
        return "Your password must be " + "; ".join(self.rules()) + "."

    def validate(self, password: object, field: str = "password") -> str:
        """The password unchanged, or ValidationError(field, the first rule it breaks)."""
        if not isinstance(password, str) or len(password) < self.min_length:
            raise ValidationError(field, f"must be at least {self.min_length} characters")
        if len(password.encode()) > self.max_bytes:
            raise ValidationError(field, f"must be at most {self.max_bytes} bytes")
        if not password.strip():
            raise ValidationError(field, "must not be only spaces")
        if password.strip().lower() in self.common:
            raise ValidationError(field, "is one of the most common passwords: choose another")
        return password


POLICY = PasswordPolicy()


def validate_password(password: object, field: str = "password") -> str:
    return POLICY.validate(password, field)


def hash_password(password: str, rounds: int = 12) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def verify_password(password: str, hashed: str | None) -> bool:
    """Constant work whether or not the user exists (a dummy hash stands in for a missing one)."""
    try:
        pw = password.encode()[:MAX_BYTES]
        if hashed is None:
            bcrypt.checkpw(pw, _DUMMY)
            return False
        return bcrypt.checkpw(pw, hashed.encode())
    except ValueError:
        return False
