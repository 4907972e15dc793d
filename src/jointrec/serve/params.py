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
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import parse_qsl

from jointrec.errors import JointrecError
from jointrec.inference.recommender import RANK_BY, RankBy
from jointrec.serve.schemas import MAX_CANDIDATES, MAX_ID_LENGTH, MAX_K

if TYPE_CHECKING:
    from jointrec.inference.recommender import Recommendations, Recommender


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
