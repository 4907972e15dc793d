"""The one exception type users see for bad input."""

from __future__ import annotations


class JointrecError(ValueError):
    """Bad input or state, with a message that names the value, what was expected and a fix.

    The CLI prints the message on one line and exits non-zero instead of a traceback.

    Example:
        >>> raise JointrecError("k=0 is out of range: expected 1 <= k <= 1000")
        Traceback (most recent call last):
        ...
        jointrec.errors.JointrecError: k=0 is out of range: expected 1 <= k <= 1000
    """


def check_positive_int(name: str, value: int, *, maximum: int | None = None) -> int:
    """Returns ``value`` if it is an int in ``[1, maximum]``, else raises `JointrecError`.

    Example:
        >>> check_positive_int("k", 10)
        10
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise JointrecError(f"{name}={value!r} is invalid: expected a positive integer")
    if maximum is not None and value > maximum:
        raise JointrecError(f"{name}={value!r} is too large: expected at most {maximum}")
    return value
