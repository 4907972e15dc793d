"""`ExportedModel`: a trained `JointModel` as plain NumPy arrays, for fast scoring and serving.

Loading it needs NumPy only (no Keras start-up), and it answers the `Scorer` protocol: user
and item vectors for retrieval, and the rating head's forward pass.

Example:
    >>> exported = ExportedModel.from_model(model)  # doctest: +SKIP
    >>> exported.predict_ratings(np.array([1]), np.array([50]))  # doctest: +SKIP
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
        l2_normalize: Retrieval uses unit vectors.
        rating_scale: ``(low, high)`` stars; labels map to ``low + (high - low) * label``.
        clip_predictions: Clip predicted labels to ``[0, 1]``.
        name: Shown in reports.
        can_retrieve: Whether retrieval scores are meaningful.
        can_rate: Whether the rating head was trained (``False`` for data without ratings).
    """

    user_embeddings: np.ndarray
    item_embeddings: np.ndarray
    mlp: list[tuple[np.ndarray, np.ndarray]]
    user_bias: np.ndarray | None = None
    item_bias: np.ndarray | None = None
    offset: float = 0.0
    l2_normalize: bool = False
    rating_scale: tuple[float, float] = (1.0, 5.0)
    clip_predictions: bool = True
    name: str = "joint"
    can_retrieve: bool = True
    can_rate: bool = True
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
    def user_vectors(self) -> np.ndarray:
        """Retrieval query vectors (unit length when the model normalises)."""
        if self._user_vectors is None:
            self._user_vectors = _maybe_normalize(self.user_embeddings, self.l2_normalize)
        return self._user_vectors

    @property
    def item_vectors(self) -> np.ndarray:
        """Retrieval candidate vectors (unit length when the model normalises)."""
        if self._item_vectors is None:
            self._item_vectors = _maybe_normalize(self.item_embeddings, self.l2_normalize)
        return self._item_vectors

    def score_users(self, users: np.ndarray) -> np.ndarray:
        """``[len(users), num_items]`` retrieval scores."""
        return self.user_vectors[np.asarray(users)] @ self.item_vectors.T

    def score_vectors(self, queries: np.ndarray) -> np.ndarray:
        """Retrieval scores of arbitrary query vectors (e.g. folded-in new users)."""
        return np.asarray(queries, dtype=np.float32) @ self.item_vectors.T

    def predict_labels_from(
        self,
        query: np.ndarray,
        candidate: np.ndarray,
        users: np.ndarray | None = None,
        items: np.ndarray | None = None,
    ) -> np.ndarray:
        """Rating head on raw tower outputs; biases looked up when indices are given."""
        x = np.concatenate([query, candidate], axis=-1).astype(np.float32)
        for kernel, bias in self.mlp[:-1]:
            x = np.maximum(x @ kernel + bias, 0.0)
        kernel, bias = self.mlp[-1]
        out = (x @ kernel + bias)[..., 0]
        if self.user_bias is not None and users is not None:
            out = out + self.user_bias[users]
        if self.item_bias is not None and items is not None:
            out = out + self.item_bias[items]
        if self.user_bias is not None:
            out = out + self.offset
        return out

    def predict_labels(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Normalised rating predictions (unclipped)."""
        users, items = np.asarray(users), np.asarray(items)
        return self.predict_labels_from(
            self.user_embeddings[users], self.item_embeddings[items], users, items
        )

    def labels_to_stars(self, labels: np.ndarray) -> np.ndarray:
        """Maps labels to stars, clipping to the scale when the model does."""
        if self.clip_predictions:
            labels = np.clip(labels, 0.0, 1.0)
        low, high = self.rating_scale
        return low + (high - low) * labels

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted ratings in stars."""
        return self.labels_to_stars(self.predict_labels(users, items))

    @classmethod
    def from_model(
        cls,
        model: Any,
        rating_scale: tuple[float, float] = (1.0, 5.0),
        clip_predictions: bool = True,
        name: str = "joint",
        can_rate: bool = True,
    ) -> ExportedModel:
        """Extracts the arrays of a trained `JointModel` (``can_rate=False``: retrieval only)."""
        from jointrec.backend.jax.forward import tower_outputs as run

        head = model.rating_head
        num_users = int(model.query_tower.vocabulary_size)
        num_items = int(model.candidate_tower.vocabulary_size)
        mlp = [
            (np.asarray(layer.kernel.numpy()), np.asarray(layer.bias.numpy()))
            for layer in [*head.hidden, head.output_layer]
        ]
        biases: dict[str, Any] = {}
        if head.use_biases:
            biases = {
                "user_bias": head.user_bias.embeddings.numpy()[:, 0],
                "item_bias": head.item_bias.embeddings.numpy()[:, 0],
                "offset": float(head.offset.numpy()),
            }
        return cls(
            user_embeddings=run(model.query_tower, num_users),
            item_embeddings=run(model.candidate_tower, num_items),
            mlp=mlp,
            l2_normalize=model.retrieval_task.l2_normalize,
            rating_scale=rating_scale,
            clip_predictions=clip_predictions,
            name=name,
            can_rate=can_rate,
            **biases,
        )

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
                l2_normalize=bool(arrays["l2_normalize"]),
                rating_scale=(float(arrays["rating_scale"][0]), float(arrays["rating_scale"][1])),
                clip_predictions=bool(arrays["clip_predictions"]),
                name=name,
                can_rate=bool(arrays.get("can_rate", True)),
            )
        except (KeyError, ValueError, IndexError, TypeError) as err:
            raise JointrecError(
                f"{path} is not a valid exported model ({err}): re-run 'jointrec train'"
            ) from None


def _maybe_normalize(x: np.ndarray, normalize: bool) -> np.ndarray:
    if not normalize:
        return x
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norm, 1e-12)).astype(np.float32)
