"""Training examples as in-memory columns, cut into fixed-shape batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from jointrec.errors import JointrecError


@dataclass(frozen=True)
class TrainingArrays:
    """Encoded training examples.

    Args:
        user: ``[n]`` int32 user indices.
        item: ``[n]`` int32 item indices.
        label: ``[n]`` float32 normalised rating labels in ``[0, 1]``; NaN marks an unrated
            row of mixed feedback (a retrieval positive, outside the rating loss).
        log_q: ``[n]`` float32 log sampling probability of each example's item (for logQ
            correction), or ``None``.
    """

    user: np.ndarray
    item: np.ndarray
    label: np.ndarray
    log_q: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.user)
        if len(self.item) != n or len(self.label) != n:
            raise JointrecError(
                f"training columns differ in length: user {n}, item "
                f"{len(self.item)}, label {len(self.label)}"
            )
        if n == 0:
            raise JointrecError("no training examples: expected at least one interaction")
        object.__setattr__(self, "user", np.ascontiguousarray(self.user, dtype=np.int32))
        object.__setattr__(self, "item", np.ascontiguousarray(self.item, dtype=np.int32))
        object.__setattr__(self, "label", np.ascontiguousarray(self.label, dtype=np.float32))
        if self.log_q is not None:
            if len(self.log_q) != n:
                raise JointrecError(f"log_q has {len(self.log_q)} rows: expected {n}")
            object.__setattr__(self, "log_q", np.ascontiguousarray(self.log_q, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.user)


def num_steps(n: int, batch_size: int) -> int:
    """Batches per epoch; the last one is padded when ``batch_size`` does not divide ``n``."""
    return -(-n // batch_size)


def epoch_batches(
    data: TrainingArrays,
    order: np.ndarray,
    batch_size: int,
    columns: tuple[int, int] | None = None,
) -> dict[str, np.ndarray]:
    """Arranges ``data[order]`` as ``[steps, batch_size]`` columns plus a padding ``mask``.

    Args:
        data: Training examples (only the rows the batches hold are read).
        order: The epoch's example order.
        batch_size: Rows per batch; the last batch is padded with masked-out rows (user,
            item, label and ``log_q`` 0).
        columns: ``(lo, hi)``: only columns ``[lo, hi)`` of every batch, the part one
            process of data-parallel training feeds; ``None``: every column.

    Example:
        >>> d = TrainingArrays(np.arange(5), np.arange(5), np.zeros(5))
        >>> b = epoch_batches(d, np.arange(5), 2)
        >>> b["user"].tolist(), b["mask"].tolist()
        ([[0, 1], [2, 3], [4, 0]], [[1.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
        >>> epoch_batches(d, np.arange(5), 2, columns=(1, 2))["user"].tolist()
        [[1], [3], [0]]
    """
    lo, hi = (0, batch_size) if columns is None else columns
    if not 0 <= lo < hi <= batch_size:
        raise JointrecError(
            f"batch columns [{lo}, {hi}) are invalid: expected 0 <= lo < hi <= batch_size="
            f"{batch_size}"
        )
    steps = num_steps(len(order), batch_size)
    total = steps * batch_size
    padded = np.full(total, order[0], dtype=np.int64)
    padded[: len(order)] = order
    rows = padded.reshape(steps, batch_size)[:, lo:hi]
    real = (np.arange(total).reshape(steps, batch_size) < len(order))[:, lo:hi]
    user, item, label = data.user[rows], data.item[rows], data.label[rows]
    if not real.all():
        user[~real], item[~real], label[~real] = 0, 0, 0.0
    batches = {"user": user, "item": item, "label": label, "mask": real.astype(np.float32)}
    if data.log_q is not None:
        log_q = data.log_q[rows]
        log_q[~real] = 0.0
        batches["log_q"] = log_q
    return batches


def epoch_chunks(
    data: TrainingArrays,
    order: np.ndarray,
    batch_size: int,
    max_steps: int,
    columns: tuple[int, int] | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """`epoch_batches` cut into pieces of at most ``max_steps`` batches, built lazily.

    Only one piece of the shuffled epoch exists at a time, so memory stays bounded for
    epochs of tens of millions of examples (and memory-mapped columns are read piece by
    piece); the pieces concatenated equal ``epoch_batches(data, order, batch_size,
    columns)``.

    Example:
        >>> d = TrainingArrays(np.arange(5), np.arange(5), np.zeros(5))
        >>> [c["user"].tolist() for c in epoch_chunks(d, np.arange(5), 2, max_steps=2)]
        [[[0, 1], [2, 3]], [[4, 0]]]
    """
    rows_per_chunk = max_steps * batch_size
    for lo in range(0, len(order), rows_per_chunk):
        yield epoch_batches(data, order[lo : lo + rows_per_chunk], batch_size, columns)


def item_log_frequencies(items: np.ndarray, num_items: int) -> np.ndarray:
    """``log(count(item) / n)`` per item index: the in-batch sampling log-probability.

    Example:
        >>> np.exp(item_log_frequencies(np.array([1, 1, 2, 3]), 4)).round(2).tolist()
        [0.0, 0.5, 0.25, 0.25]
    """
    counts = np.bincount(items, minlength=num_items).astype(np.float64)
    with np.errstate(divide="ignore"):
        return np.log(counts / max(len(items), 1)).astype(np.float32)
