"""One process's slice of every global batch, gathered without building the global batches.

In data-parallel training each global batch of ``batch_size`` rows is split column-wise
between processes: process ``p`` feeds rows ``[lo, hi)`` of every batch to its devices.
`local_epoch_batches` returns exactly ``epoch_batches(data, order, batch_size)[k][:, lo:hi]``
for every column ``k``, but reads only those rows of ``data``.

Example:
    >>> import numpy as np
    >>> from jointrec.training.batches import TrainingArrays
    >>> d = TrainingArrays(np.arange(5), np.arange(5), np.zeros(5))
    >>> b = local_epoch_batches(d, np.arange(5), 4, lo=2, hi=4)
    >>> b["user"].tolist(), b["mask"].tolist()
    ([[2, 3], [0, 0]], [[1.0, 1.0], [0.0, 0.0]])
"""

from __future__ import annotations

import numpy as np

from jointrec.errors import JointrecError
from jointrec.training.batches import TrainingArrays, num_steps


def local_epoch_batches(
    data: TrainingArrays, order: np.ndarray, batch_size: int, *, lo: int, hi: int
) -> dict[str, np.ndarray]:
    """Columns ``[lo, hi)`` of each of the epoch's ``[steps, batch_size]`` batches.

    Args:
        data: All training examples (only the selected rows are read).
        order: The epoch's example order over all of ``data`` (the same on every process).
        batch_size: The global batch size.
        lo: First batch column of this process.
        hi: One past its last column.

    Returns:
        ``user``, ``item``, ``label``, ``mask`` (and ``log_q``) of shape ``[steps, hi - lo]``,
        padded like `jointrec.training.batches.epoch_batches`.
    """
    if not 0 <= lo < hi <= batch_size:
        raise JointrecError(
            f"batch columns [{lo}, {hi}) are invalid: expected 0 <= lo < hi <= batch_size="
            f"{batch_size}"
        )
    steps = num_steps(len(order), batch_size)
    total = steps * batch_size
    # The padded tail repeats order[0], exactly as epoch_batches does.
    padded = np.full(total, order[0], dtype=np.int64)
    padded[: len(order)] = order
    rows = padded.reshape(steps, batch_size)[:, lo:hi]
    real = (np.arange(total).reshape(steps, batch_size) < len(order))[:, lo:hi]
    user = data.user[rows]
    item = data.item[rows]
    label = data.label[rows]
    user[~real], item[~real], label[~real] = 0, 0, 0.0
    batches = {"user": user, "item": item, "label": label, "mask": real.astype(np.float32)}
    if data.log_q is not None:
        batches["log_q"] = data.log_q[rows]
    return batches
