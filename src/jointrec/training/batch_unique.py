"""Each batch's distinct users and items, so the towers and scores run once per distinct id.

A batch of 1,000 MovieLens ratings holds about 500 distinct users and 550 distinct items.
The in-batch softmax scores every row's user against every row's item, so a ``[1000, 1000]``
score matrix holds each (user, item) score many times over. With the distinct ids, their
multiplicities and each row's position among them (computed here, on the host, for a whole
chunk of batches at once), the model runs the towers once per distinct id, computes a
``[users, items]`` matrix of distinct scores and weights each item's term by how often it
occurs. The loss and its gradients are the same numbers
(`jointrec.model.retrieval_task.RetrievalTask.unique_loss` says why); the score matrix is about
a third of the ``[batch, batch]`` one.

The distinct ids of a chunk of batches are padded to one count, `padded_size` of the
largest (a multiple of `SIZE_MULTIPLE` with `HEADROOM` to spare), so that chunks of a run
almost always share one compiled program; padding slots hold id 0 with count 0. The count
depends on the chunk alone, not on earlier chunks, so a resumed run computes exactly what
an uninterrupted one does.

Example:
    >>> import numpy as np
    >>> b = {"user": np.array([[3, 1, 3]]), "item": np.array([[7, 7, 2]]),
    ...      "mask": np.ones((1, 3), "float32")}
    >>> u = with_unique_ids(b, user_size=4, item_size=4)
    >>> u["user_unique"].tolist(), u["user_inverse"].tolist()
    ([[1, 3, 0, 0]], [[1, 0, 1]])
    >>> u["item_unique"].tolist(), u["item_count"].tolist()
    ([[2, 7, 0, 0]], [[1.0, 2.0, 0.0, 0.0]])
"""

from __future__ import annotations

import numpy as np

#: Distinct-id counts are rounded up to a multiple of this (fewer distinct compilations).
SIZE_MULTIPLE = 64
#: Extra slots above a chunk's largest count, so reshuffled epochs mostly get one size.
HEADROOM = 16


def _row_unique(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``[steps, batch]``: sorted distinct ids (left-aligned, padded with 0),
    each element's index among them, and each row's number of distinct ids."""
    steps, batch = ids.shape
    order = np.argsort(ids, axis=1, kind="stable")
    ordered = np.take_along_axis(ids, order, axis=1)
    starts = np.ones((steps, batch), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    group = np.cumsum(starts, axis=1, dtype=np.int32) - 1
    inverse = np.empty_like(group)
    np.put_along_axis(inverse, order, group, axis=1)
    unique = np.zeros((steps, batch), dtype=ids.dtype)
    rows = np.broadcast_to(np.arange(steps)[:, None], (steps, batch))
    unique[rows[starts], group[starts]] = ordered[starts]
    return unique, inverse, group[:, -1] + 1


def padded_size(count: int, batch_size: int) -> int:
    """``count`` plus `HEADROOM`, rounded up to a multiple of `SIZE_MULTIPLE`, at most
    ``batch_size``.

    Example:
        >>> padded_size(530, 1000), padded_size(990, 1000)
        (576, 1000)
    """
    size = -(-(count + HEADROOM) // SIZE_MULTIPLE) * SIZE_MULTIPLE
    return min(size, batch_size)


def with_unique_ids(
    batches: dict[str, np.ndarray], user_size: int = 0, item_size: int = 0
) -> dict[str, np.ndarray]:
    """``batches`` plus each batch's distinct users and items.

    Args:
        batches: ``[steps, batch]`` columns ``user``, ``item`` and ``mask`` (and optionally
            ``log_q``), as `jointrec.training.batches.epoch_batches` cuts them.
        user_size: Slots for distinct users per batch; 0 (the default) or too few for a
            batch: `padded_size` of the largest count.
        item_size: The same for items.

    Returns:
        The same columns plus ``user_unique`` ``[steps, user_size]``, ``user_inverse``
        ``[steps, batch]`` (row ``i``'s user is ``user_unique[user_inverse[i]]``), the same two
        for items, ``item_count`` ``[steps, item_size]`` (how many real rows hold each item;
        0 for padding) and, with ``log_q``, ``item_log_q`` per distinct item.
    """
    out = dict(batches)
    mask = np.asarray(batches["mask"], dtype=np.float32)
    steps = mask.shape[0]
    rows = np.arange(steps)[:, None]
    for key, size in (("user", user_size), ("item", item_size)):
        unique, inverse, counts = _row_unique(np.asarray(batches[key]))
        if size == 0 or counts.max() > size:
            size = padded_size(int(counts.max()), mask.shape[1])
        slots = np.zeros((steps, size), dtype=np.int32)
        width = min(size, unique.shape[1])
        slots[:, :width] = unique[:, :width]
        out[f"{key}_unique"] = slots
        out[f"{key}_inverse"] = inverse
        if key == "item":
            flat = (rows * size + inverse).ravel()
            count = np.bincount(flat, weights=mask.ravel(), minlength=steps * size)
            out["item_count"] = count.reshape(steps, size).astype(np.float32)
            if "log_q" in batches:
                log_q = np.zeros((steps, size), dtype=np.float32)
                log_q[np.broadcast_to(rows, inverse.shape), inverse] = batches["log_q"]
                out["item_log_q"] = log_q
    return out
