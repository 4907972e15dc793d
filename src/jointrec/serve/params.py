"""Query parameters of the user recommendation route, read without FastAPI's per-parameter
validation (it cost more than the recommendation).

The FastAPI route and the ASGI fast path (`jointrec.serve.fastpath`) both read them here,
so they accept and refuse the same values with the same messages. Both see the query
string as Starlette does: ``parse_qsl(latin-1 text, keep_blank_values=True)``, the last
value of a repeated name winning.

Example:
    >>> user_query("5", {"k": "3"})
    UserQuery(k=3, candidates=100, exclude_seen=True, rank_by='retrieval')
    >>> try:
    ...     user_query("5", {"k": "0"})
    ... except JointrecError as err:
    ...     print(err)
    query parameter 'k'='0' is invalid: expected an integer 1 <= k <= 100
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl, unquote

from jointrec.errors import JointrecError
from jointrec.inference.recommender import RANK_BY, RankBy
from jointrec.serve.schemas import MAX_CANDIDATES, MAX_ID_LENGTH, MAX_K

if TYPE_CHECKING:
    from jointrec.inference.recommender import Recommendations, Recommender

#: ``GET /v1/users/{user_id}/recommendations`` around its id.
USER_PREFIX = "/v1/users/"
USER_SUFFIX = "/recommendations"


class UserQuery(NamedTuple):
    """Validated parameters of ``GET /v1/users/{user_id}/recommendations``."""

    k: int
    candidates: int
    exclude_seen: bool
    rank_by: RankBy


def query_params(query_string: bytes) -> dict[str, str]:
    """An ASGI ``query_string`` as Starlette's ``request.query_params`` reads it.

    Example:
        >>> query_params(b"k=3&k=4&exclude_seen=")
        {'k': '4', 'exclude_seen': ''}
    """
    if not query_string:
        return {}
    return dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))


def path_id(scope: Mapping[str, Any], prefix: str, suffix: str) -> str | None:
    """The id in a request path ``{prefix}{id}{suffix}`` (after the ``root_path``), or ``None``
    when the path has another shape.

    The id is read from the undecoded ``raw_path`` when the server gives one, so an encoded
    slash (``a%2Fb``) is part of the id while a literal one separates path segments; it is
    then percent-decoded once, as the server decodes ``path``. Without ``raw_path`` an id
    cannot hold a slash. The fast path and the FastAPI routes read ids here alike.

    Example:
        >>> path_id({"path": "/u/a/b/r", "raw_path": b"/u/a%2Fb/r"}, "/u/", "/r")
        'a/b'
        >>> path_id({"path": "/u/a/b/r", "raw_path": b"/u/a/b/r"}, "/u/", "/r") is None
        True
    """
    raw = scope.get("raw_path")
    path: str = scope["path"] if raw is None else raw.decode("latin-1")
    root = scope.get("root_path")
    if root and path.startswith(root):
        path = path[len(root) :]
    if (
        len(path) <= len(prefix) + len(suffix)
        or not path.startswith(prefix)
        or not path.endswith(suffix)
    ):
        return None
    found = path[len(prefix) : -len(suffix)]
    if "/" in found:
        return None
    return unquote(found) if raw is not None and "%" in found else found


def typed_id(kind: str, value: int | str) -> int | str:
    """``value`` with the type of a vocabulary's ids: a text that reads as an integer becomes
    one when they are integers (``kind`` is their NumPy dtype kind), as the recommender reads
    it; anything else is returned unchanged.

    Example:
        >>> typed_id("i", "7"), typed_id("i", "nobody"), typed_id("U", "7")
        (7, 'nobody', '7')
    """
    if kind != "i" or not isinstance(value, str):
        return value
    try:
        number = int(value)
    except ValueError:
        return value
    return number if -(2**63) <= number < 2**63 else value


def user_query(user_id: str, params: Mapping[str, str]) -> UserQuery:
    """Checks the user id's length and reads ``k``, ``candidates``, ``exclude_seen`` and
    ``rank_by``.

    Raises:
        JointrecError: naming the parameter, the value received and what is expected.
    """
    if not 1 <= len(user_id) <= MAX_ID_LENGTH:
        raise JointrecError(
            f"path parameter 'user_id' has {len(user_id)} characters: expected 1 to {MAX_ID_LENGTH}"
        )
    return UserQuery(
        query_int(params, "k", 10, 1, MAX_K),
        query_int(params, "candidates", 100, 1, MAX_CANDIDATES),
        query_bool(params, "exclude_seen", True),
        typing.cast(RankBy, query_choice(params, "rank_by", RANK_BY)),
    )


def recommend_for_user(
    recommender: Recommender, user_id: str, params: Mapping[str, str]
) -> Recommendations:
    """Answers ``GET /v1/users/{user_id}/recommendations``: reads the query with
    `user_query` and asks the recommender (at least ``k`` candidates are retrieved).

    Both the FastAPI route and the ASGI fast path answer through this one function.
    """
    q = user_query(user_id, params)
    return recommender.recommend(
        user_id,
        k=q.k,
        exclude_seen=q.exclude_seen,
        candidates=max(q.candidates, q.k),
        rank_by=q.rank_by,
    )


def query_int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer parameter in ``low..high`` (``default`` when absent)."""
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value: int | None = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise JointrecError(
            f"query parameter {name!r}={raw[:40]!r} is invalid: expected an integer "
            f"{low} <= {name} <= {high}"
        )
    return value


def query_bool(params: Mapping[str, str], name: str, default: bool) -> bool:
    """A boolean parameter (true/false, 1/0, yes/no, on/off; ``default`` when absent)."""
    raw = params.get(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise JointrecError(f"query parameter {name!r}={raw[:40]!r} is invalid: expected true or false")


def query_choice(params: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first when absent).

    Example:
        >>> query_choice({"rank_by": "rating"}, "rank_by", ("retrieval", "rating"))
        'rating'
    """
    raw = params.get(name)
    if raw is None:
        return choices[0]
    if raw not in choices:
        raise JointrecError(
            f"query parameter {name!r}={raw[:40]!r} is invalid: expected one of "
            + ", ".join(choices)
        )
    return raw
