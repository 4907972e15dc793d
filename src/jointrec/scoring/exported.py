"""`ExportedModel`: a trained joint model as plain NumPy arrays, for fast scoring and serving.

Loading it needs NumPy only (no Keras start-up), and it answers the `Scorer` protocol: user
and item vectors for retrieval, and the rating head's forward pass. That forward pass is
written once, here, in three steps that everyone uses (`predict_labels_from` for scoring,
`jointrec.inference.ranker.RatingRanker` with the item step precomputed for serving, and
`jointrec.inference.foldin` with the activations kept for its gradient):

1. `item_first` / `user_first`: the first layer's kernel split in the item and user halves,
   ``[u, e] @ W + b = u @ W_u + (e @ W_e + b)``;
2. `head_from_first`: ReLU, the remaining layers, a linear output;
3. `add_biases`: user and item biases and the global offset (a biased head), and the
   rating autoencoder's ``user_code . item_code`` term when the head has one.

`jointrec.artifact.export.export_model` makes one from a trained Keras model.

Example:
    >>> m = ExportedModel(np.ones((2, 2), "float32"), np.ones((3, 2), "float32"),
    ...                   mlp=[(np.ones((4, 1), "float32"), np.zeros(1, "float32"))])
    >>> m.predict_labels(np.array([1]), np.array([2])).tolist()
    [4.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jointrec.errors import JointrecError
from jointrec.files import load_npz


@dataclass
class ExportedModel:
    """Arrays of a trained joint model.

    Args:
        user_embeddings: ``[num_users, d]`` query tower outputs for every user index.
        item_embeddings: ``[num_items, d]`` candidate tower outputs for every item index.
        mlp: Rating head layers as ``(kernel, bias)``; ReLU between them, linear output.
        user_bias: ``[num_users]`` rating biases, or ``None``.
        item_bias: ``[num_items]`` rating biases, or ``None``.
        offset: Global rating offset (label scale).
        user_codes: ``[num_users, k]`` per-user vectors of the rating autoencoder, or ``None``.
        item_codes: ``[num_items, k]`` autoencoder codes of each item's training ratings.
        head_weight: Weight of the MLP's output in the rating (0.5 when the head averages
            its MLP and its autoencoder, 1 otherwise).
        code_weight: Weight of the ``user_code . item_code`` term.
        l2_normalize: Retrieval uses unit vectors.
        rating_scale: ``(low, high)`` stars; labels map to ``low + (high - low) * label``.
        clip_predictions: Clip predicted labels to ``[0, 1]``.
        name: Shown in reports.
        can_retrieve: Whether retrieval scores are meaningful.
        can_rate: Whether the rating head was trained (``False`` for data without ratings).
        user_prior: ``[num_users]`` weight of the popularity prior in each user's retrieval
            scores (``retrieval.newcomer_popularity`` for a user with no training
            interaction, ``retrieval.recent_popularity`` or 0 for the others), or ``None``.
        item_prior: ``[num_items]`` each item's ``log(1 + interactions)`` (over all of
            training, or its latest rows: ``retrieval.newcomer_window``). With
            both priors, the retrieval vectors carry them as one more column, so every
            dot product (exact, compiled, ANN) scores ``u . v + user_prior * item_prior``.
        known_prior: The prior's weight for a user with interactions who is not in
            ``user_prior`` (a visitor folded in from ratings).
        rating_prior: ``[num_items]`` the head's mean label of each item over the training
            users (what it predicts for the average user), or ``None``.
        rating_weight: ``[num_users]`` each user's weight ``n / (n + k)`` of their own
            prediction against ``rating_prior`` (``n`` training ratings, ``k`` =
            ``rating_shrinkage``; 0 for a newcomer), or ``None`` for no shrinkage.
        rating_shrinkage: ``k`` (``rating.shrinkage``), for users given by value: a
            visitor folded in from ``m`` ratings weighs their prediction ``m / (m + k)``.
    """

    user_embeddings: np.ndarray
    item_embeddings: np.ndarray
    mlp: list[tuple[np.ndarray, np.ndarray]]
    user_bias: np.ndarray | None = None
    item_bias: np.ndarray | None = None
    offset: float = 0.0
    user_codes: np.ndarray | None = None
    item_codes: np.ndarray | None = None
    head_weight: float = 1.0
    code_weight: float = 1.0
    l2_normalize: bool = False
    rating_scale: tuple[float, float] = (1.0, 5.0)
    clip_predictions: bool = True
    name: str = "joint"
    can_retrieve: bool = True
    can_rate: bool = True
    user_prior: np.ndarray | None = None
    item_prior: np.ndarray | None = None
    known_prior: float = 0.0
    rating_prior: np.ndarray | None = None
    rating_weight: np.ndarray | None = None
    rating_shrinkage: float = 0.0
    _user_vectors: np.ndarray | None = field(default=None, repr=False)
    _item_vectors: np.ndarray | None = field(default=None, repr=False)

    @property
    def num_users(self) -> int:
        """User indices, the unknown index 0 included."""
        return len(self.user_embeddings)

    @property
    def num_items(self) -> int:
        """Item indices, the unknown index 0 included."""
        return len(self.item_embeddings)

    @property
    def user_dim(self) -> int:
        """Width of the user vectors (the user half of the head's first layer)."""
        return int(self.user_embeddings.shape[1])

    @property
    def has_prior(self) -> bool:
        """Whether the retrieval vectors end with the popularity-prior column."""
        return self.user_prior is not None and self.item_prior is not None

    @property
    def user_vectors(self) -> np.ndarray:
        """Retrieval query vectors (unit length when the model normalises), with the
        user's prior weight as a last column when the model has a prior."""
        if self._user_vectors is None:
            vectors = _maybe_normalize(self.user_embeddings, self.l2_normalize)
            self._user_vectors = _with_column(vectors, self.user_prior if self.has_prior else None)
        return self._user_vectors

    @property
    def item_vectors(self) -> np.ndarray:
        """Retrieval candidate vectors (unit length when the model normalises), with the
        item's ``log(1 + training interactions)`` as a last column when the model has a
        prior."""
        if self._item_vectors is None:
            vectors = _maybe_normalize(self.item_embeddings, self.l2_normalize)
            self._item_vectors = _with_column(vectors, self.item_prior if self.has_prior else None)
        return self._item_vectors

    def tower_vectors(self, vectors: np.ndarray) -> np.ndarray:
        """``vectors`` (rows of `user_vectors` or `item_vectors`) without the prior column:
        the towers' own directions, for fold-in and item-to-item similarity."""
        return vectors[..., : self.user_dim] if self.has_prior else vectors

    def as_query(self, vector: np.ndarray, prior: float = 0.0) -> np.ndarray:
        """A tower-space ``[d]`` vector (a folded-in visitor or item) as a row of the
        retrieval vectors: with ``prior`` as its last column when the model has a prior."""
        vector = np.asarray(vector, dtype=np.float32)
        if not self.has_prior:
            return vector
        return np.append(vector, np.float32(prior)).astype(np.float32)

    def append_item(self, embedding: np.ndarray, bias: float, vector: np.ndarray) -> int:
        """Adds an item to the catalogue (e.g. one folded in from its ratings) and returns
        its index.

        Args:
            embedding: ``[d]`` candidate tower output, seen by the rating head.
            bias: Its rating bias (ignored by a head without biases).
            vector: ``[d]`` retrieval vector (unit length for a normalising model); with a
                prior, ``d + 1`` wide (`as_query`; a new item has no training interactions).
        """
        vectors = self.item_vectors  # before the new row: these are the trained items' vectors
        self.item_embeddings = np.vstack([self.item_embeddings, embedding[None, :]])
        if self.item_prior is not None:
            self.item_prior = np.append(self.item_prior, np.float32(0.0))
        if self.item_bias is not None:
            self.item_bias = np.append(self.item_bias, np.float32(bias))
        if self.item_codes is not None:  # no training ratings: the code of an unrated item
            self.item_codes = np.vstack([self.item_codes, self.item_codes[:1]])
        if self.rating_prior is not None and self.rating_weight is not None:
            users = prior_users(self.rating_weight)
            labels = self.predict_labels_from(
                self.user_embeddings[users],
                np.broadcast_to(embedding, (len(users), len(embedding))),
                users,
                np.full(len(users), self.num_items - 1),
            )
            self.rating_prior = np.append(self.rating_prior, np.float32(labels.mean()))
        self._item_vectors = np.vstack([vectors, vector[None, :]]).astype(np.float32)
        return self.num_items - 1

    def score_users(self, users: np.ndarray) -> np.ndarray:
        """``[len(users), num_items]`` retrieval scores."""
        return self.user_vectors[np.asarray(users)] @ self.item_vectors.T

    def score_vectors(self, queries: np.ndarray) -> np.ndarray:
        """Retrieval scores of arbitrary query vectors (e.g. folded-in new users)."""
        return np.asarray(queries, dtype=np.float32) @ self.item_vectors.T

    def user_first(self, query: np.ndarray) -> np.ndarray:
        """The user half of the rating head's first layer: ``query @ W_u``."""
        return np.asarray(query, dtype=np.float32) @ self.mlp[0][0][: self.user_dim]

    def item_first(self, candidate: np.ndarray) -> np.ndarray:
        """The item half of the first layer plus its bias: ``candidate @ W_e + b``."""
        kernel, bias = self.mlp[0]
        return np.asarray(candidate, dtype=np.float32) @ kernel[self.user_dim :] + bias

    def head_from_first(
        self, first: np.ndarray, keep: list[np.ndarray] | None = None
    ) -> np.ndarray:
        """The head's ``[n]`` outputs from the first layer's ``[n, h]`` pre-activations
        (modified in place); with ``keep``, every layer's pre-activations are appended to it
        (for backpropagation)."""
        x = first
        if len(self.mlp) == 1:
            return x[:, 0]
        if keep is not None:
            keep.append(x.copy())
        np.maximum(x, 0.0, out=x)
        for kernel, bias in self.mlp[1:-1]:
            x = x @ kernel
            x += bias
            if keep is not None:
                keep.append(x.copy())
            np.maximum(x, 0.0, out=x)
        kernel, bias = self.mlp[-1]
        return (x @ kernel)[:, 0] + bias[0]

    def add_biases(
        self,
        out: np.ndarray,
        users: np.ndarray | None = None,
        items: np.ndarray | None = None,
        user_bias: float | None = None,
        item_bias: float | None = None,
        user_code: np.ndarray | None = None,
    ) -> np.ndarray:
        """``out`` plus the biases of a biased head: each pair's user bias (``user_bias``
        for a user given by value, e.g. folded in), item bias (likewise) and the global
        offset; ``out`` itself for a head without biases. With a rating autoencoder, the
        pairs' ``user_code . item_code`` too (``user_code`` for a user given by value; a
        user given by value without one, such as a new visitor, gets the MLP's rating alone)."""
        if self.user_bias is None or self.item_bias is None:
            return out
        term = None
        if self.user_codes is not None and self.item_codes is not None:
            codes = self.item_codes[items] if items is not None else self.item_codes[:1]
            if user_code is not None:
                term = codes @ np.asarray(user_code, dtype=np.float32)
            elif users is not None and user_bias is None:
                term = (self.user_codes[users] * codes).sum(axis=-1)
        if term is not None:  # else a user without a code (a visitor): the MLP alone
            out = self.head_weight * out + self.code_weight * term
        if user_bias is not None:
            out = out + user_bias
        elif users is not None:
            out = out + self.user_bias[users]
        if item_bias is not None:
            out = out + item_bias
        elif items is not None:
            out = out + self.item_bias[items]
        return out + self.offset

    def predict_labels_from(
        self,
        query: np.ndarray,
        candidate: np.ndarray,
        users: np.ndarray | None = None,
        items: np.ndarray | None = None,
    ) -> np.ndarray:
        """Rating head on raw tower outputs; biases looked up when indices are given."""
        first = self.item_first(candidate)
        first += self.user_first(query)
        return self.add_biases(self.head_from_first(first), users, items)

    def predict_labels(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Normalised rating predictions (unclipped), shrunk towards the average user's
        (`shrink`) when the model has ``rating.shrinkage``."""
        users, items = np.asarray(users), np.asarray(items)
        labels = self.predict_labels_from(
            self.user_embeddings[users], self.item_embeddings[items], users, items
        )
        if self.rating_weight is None:
            return labels
        return self.shrink(labels, items, self.rating_weight[users])

    def shrink(self, labels: np.ndarray, items: np.ndarray, weight: Any) -> np.ndarray:
        """``weight * labels + (1 - weight) * rating_prior[items]``: a prediction shrunk
        towards the average training user's rating of the item; ``labels`` unchanged
        without a ``rating_prior``.

        Example:
            >>> m = ExportedModel(np.zeros((2, 1)), np.zeros((3, 1)), [(np.zeros((2, 1)),
            ...     np.zeros(1))], rating_prior=np.array([0.0, 0.5, 1.0]))
            >>> m.shrink(np.array([0.0, 0.0]), np.array([1, 2]), 0.5).tolist()
            [0.25, 0.5]
        """
        if self.rating_prior is None:
            return labels
        weight = np.asarray(weight, dtype=np.float32)
        return (weight * labels + (1.0 - weight) * self.rating_prior[items]).astype(np.float32)

    def visitor_weight(self, ratings: int) -> float:
        """The shrinkage weight ``m / (m + k)`` of a user given by ``ratings`` values (a
        visitor folded in); 1 without shrinkage."""
        if self.rating_prior is None or self.rating_shrinkage <= 0:
            return 1.0
        return ratings / (ratings + self.rating_shrinkage)

    def labels_to_stars(self, labels: np.ndarray) -> np.ndarray:
        """Maps labels to stars, clipping to the scale when the model does."""
        if self.clip_predictions:
            labels = np.clip(labels, 0.0, 1.0)
        low, high = self.rating_scale
        return low + (high - low) * labels

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted ratings in stars."""
        return self.labels_to_stars(self.predict_labels(users, items))

    def save(self, path: Path) -> None:
        """Writes one ``.npz`` (no pickles)."""
        arrays: dict[str, np.ndarray | np.generic] = {
            "user_embeddings": self.user_embeddings,
            "item_embeddings": self.item_embeddings,
            "offset": np.float32(self.offset),
            "l2_normalize": np.bool_(self.l2_normalize),
            "rating_scale": np.asarray(self.rating_scale, dtype=np.float32),
            "clip_predictions": np.bool_(self.clip_predictions),
            "num_layers": np.int32(len(self.mlp)),
            "can_rate": np.bool_(self.can_rate),
        }
        for j, (kernel, bias) in enumerate(self.mlp):
            arrays[f"kernel_{j}"], arrays[f"bias_{j}"] = kernel, bias
        if self.user_bias is not None and self.item_bias is not None:
            arrays["user_bias"], arrays["item_bias"] = self.user_bias, self.item_bias
        if self.user_codes is not None and self.item_codes is not None:
            arrays["user_codes"], arrays["item_codes"] = self.user_codes, self.item_codes
            arrays["head_weight"] = np.float32(self.head_weight)
            arrays["code_weight"] = np.float32(self.code_weight)
        if self.user_prior is not None and self.item_prior is not None:
            arrays["user_prior"], arrays["item_prior"] = self.user_prior, self.item_prior
            arrays["known_prior"] = np.float32(self.known_prior)
        if self.rating_prior is not None and self.rating_weight is not None:
            arrays["rating_prior"], arrays["rating_weight"] = self.rating_prior, self.rating_weight
            arrays["rating_shrinkage"] = np.float32(self.rating_shrinkage)
        with open(path, "wb") as f:
            # Named so mypy does not match **arrays against this bool; loads refuse pickles too.
            np.savez(f, allow_pickle=False, **arrays)

    @classmethod
    def load(cls, path: Path, name: str = "joint") -> ExportedModel:
        """Reads a file written by `save`."""
        arrays = load_npz(path, "exported model")
        try:
            layers = int(arrays["num_layers"])
            return cls(
                user_embeddings=arrays["user_embeddings"],
                item_embeddings=arrays["item_embeddings"],
                mlp=[(arrays[f"kernel_{j}"], arrays[f"bias_{j}"]) for j in range(layers)],
                user_bias=arrays.get("user_bias"),
                item_bias=arrays.get("item_bias"),
                offset=float(arrays["offset"]),
                user_codes=arrays.get("user_codes"),
                item_codes=arrays.get("item_codes"),
                head_weight=float(arrays.get("head_weight", 1.0)),
                code_weight=float(arrays.get("code_weight", 1.0)),
                l2_normalize=bool(arrays["l2_normalize"]),
                rating_scale=(float(arrays["rating_scale"][0]), float(arrays["rating_scale"][1])),
                clip_predictions=bool(arrays["clip_predictions"]),
                name=name,
                can_rate=bool(arrays.get("can_rate", True)),
                user_prior=arrays.get("user_prior"),
                item_prior=arrays.get("item_prior"),
                known_prior=float(arrays.get("known_prior", 0.0)),
                rating_prior=arrays.get("rating_prior"),
                rating_weight=arrays.get("rating_weight"),
                rating_shrinkage=float(arrays.get("rating_shrinkage", 0.0)),
            )
        except (KeyError, ValueError, IndexError, TypeError) as err:
            raise JointrecError(
                f"{path} is not a valid exported model ({err}): re-run 'jointrec train'"
            ) from None


#: Most training users the average user's rating (`ExportedModel.rating_prior`) is taken over.
PRIOR_USERS = 1024


def prior_users(weight: np.ndarray, limit: int = PRIOR_USERS) -> np.ndarray:
    """The user indices the average user's rating is taken over: those with training
    ratings (``weight > 0``), at most ``limit`` of them evenly spaced.

    Example:
        >>> prior_users(np.array([0.0, 0.5, 0.0, 0.9, 0.2]), limit=2).tolist()
        [1, 4]
    """
    users = np.flatnonzero(np.asarray(weight) > 0)
    if len(users) > limit:
        users = users[np.linspace(0, len(users) - 1, limit).round().astype(np.int64)]
    return users


def _maybe_normalize(x: np.ndarray, normalize: bool) -> np.ndarray:
    if not normalize:
        return x
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norm, 1e-12)).astype(np.float32)


def _with_column(vectors: np.ndarray, column: np.ndarray | None) -> np.ndarray:
    """``vectors`` with ``column`` appended as one more float32 column (itself for ``None``)."""
    if column is None:
        return vectors
    return np.hstack([vectors, np.asarray(column, dtype=np.float32)[:, None]]).astype(np.float32)
