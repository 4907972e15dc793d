"""Pydantic request and response bodies of the HTTP API (they also make its OpenAPI schema).

Request fields are strict about JSON types: ``true`` is not the integer 1 (nor the rating
1.0), an integer is not a boolean, and an id is a JSON integer or string.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt
from pydantic_core import PydanticCustomError


def _integer_or_string(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PydanticCustomError(
            "id_type",
            "Input should be an integer or a string id, got {kind}",
            {"kind": _kind(value)},
        )
    return value


def _kind(value: Any) -> str:
    """The JSON type of a decoded value that is no id, for error messages."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else "null"


#: A raw user or item id: a JSON integer or string (never a boolean or a float).
Id = Annotated[int | str, BeforeValidator(_integer_or_string)]
MAX_K = 100
MAX_ID_LENGTH = 64
MAX_CANDIDATES = 1000
MAX_RATINGS = 100
MAX_PAIRS = 1000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Item(BaseModel):
    """A catalogue item."""

    item_id: Id
    title: str
    year: int | None = None
    genres: list[str] = []


class Recommendation(Item):
    """A recommended item: stars from the rating head, score from retrieval (``None`` where
    that step did not run)."""

    predicted_rating: float | None
    retrieval_score: float | None


class Recommendations(BaseModel):
    """A ranked list; ``fallback`` is true when popularity answered instead of the model."""

    user_id: Id | None
    source: Literal["model", "fold-in", "popularity"]
    fallback: bool
    items: list[Recommendation]


class Rating(_Strict):
    """One (item, stars) pair sent by an anonymous visitor."""

    item_id: Id
    rating: float = Field(allow_inf_nan=False, strict=True)


class AnonymousRequest(_Strict):
    """Ratings of a visitor the model never saw; the answer is folded in from them."""

    ratings: list[Rating] = Field(default_factory=list, max_length=MAX_RATINGS)
    k: StrictInt = Field(10, ge=1, le=MAX_K)
    candidates: StrictInt = Field(100, ge=1, le=MAX_CANDIDATES)
    exclude_rated: StrictBool = True
    rank_by: Literal["retrieval", "rating"] = "retrieval"


class Pair(_Strict):
    """A (user, item) pair to rate."""

    user_id: Id
    item_id: Id


class PredictionRequest(_Strict):
    """Pairs whose ratings to predict."""

    pairs: list[Pair] = Field(min_length=1, max_length=MAX_PAIRS)


class Prediction(BaseModel):
    """Predicted stars of one pair."""

    user_id: Id
    item_id: Id
    predicted_rating: float


class Predictions(BaseModel):
    """Predictions, in the order of the request's pairs."""

    predictions: list[Prediction]


class Similar(BaseModel):
    """An item and its nearest items by retrieval vector (cosine)."""

    item: Item
    items: list[Recommendation]


class RatedItem(Item):
    """An item the user rated in the training data."""

    rating: float | None


class History(BaseModel):
    """A user's top-rated training items."""

    user_id: Id
    items: list[RatedItem]


class ItemSearch(BaseModel):
    """Catalogue items whose title contains the query."""

    query: str
    items: list[Item]


class Health(BaseModel):
    """Liveness and what is loaded."""

    status: Literal["ok"]
    artifact: str
    users: int
    items: int
    index: str


class Plot(BaseModel):
    """A plot of the artifact."""

    name: str
    url: str
    title: str


class ComparisonRow(BaseModel):
    """One model of ``jointrec compare``."""

    name: str
    metrics: dict[str, float | None]


class ModelReport(BaseModel):
    """What the web page's report shows."""

    name: str
    artifact: str
    created: str | None
    preset: str | None
    data: dict[str, object]
    users: int
    items: int
    index: str
    metrics: dict[str, float]
    comparison: list[ComparisonRow] | None
    plots: list[Plot]


class Error(BaseModel):
    """Every 4xx/5xx body: one readable message."""

    error: str
