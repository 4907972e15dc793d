"""Out-of-core columns: a Parquet file read batch by batch into memory-mapped arrays.

`stream_columns` is how `jointrec.data.tables.read_interactions` reads a big Parquet file
(at least `STREAM_MIN_ROWS` rows, integer ids): pyarrow yields ``BATCH_ROWS`` rows at a
time, each column's converter checks and converts them, and the values are written into
one `numpy.memmap` per column. The memory maps sit on unlinked scratch files under the
data cache (`scratch_dir`), so the pages are the kernel's to write back and drop, and the
disk space is freed with the arrays: nothing is left behind, and nothing the user has is
touched. So reading holds one batch of rows in memory, not the whole table as pyarrow
reads it plus a NumPy copy of each column.

Example:
    >>> import pyarrow as pa, pyarrow.parquet as pq, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "log.parquet"
    >>> pq.write_table(pa.table({"user": [3, 1, 2]}), path)
    >>> ids = lambda array, first_row: array.to_numpy()
    >>> columns = stream_columns(path, {"user": (ids, np.int64)}, progress=False)
    >>> type(columns["user"]).__name__, columns["user"].tolist()
    ('memmap', [3, 1, 2])
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from jointrec.errors import JointrecError
from jointrec.progress import progress_task

#: Rows read and converted at a time.
BATCH_ROWS = 1 << 20
#: Parquet files with fewer rows are read whole (`read_interactions`): their columns fit
#: in memory many times over, and one read is simpler to reason about.
STREAM_MIN_ROWS = 1 << 21
#: ``(pyarrow array of one batch, the batch's first row) -> NumPy values``; raises
#: `JointrecError` naming the row (``first_row`` + the row in the batch) for a bad value.
Converter = Callable[[Any, int], np.ndarray]


def scratch_dir() -> Path:
    """Where the memory-mapped columns' (unlinked) files live: ``scratch`` in the data
    cache (``$JOINTREC_DATA_DIR`` or ``~/.cache/jointrec``), on disk rather than in a
    ``/tmp`` that may be memory."""
    from jointrec.data.sources import cache_dir

    return cache_dir() / "scratch"


def stream_columns(
    path: str | os.PathLike[str],
    columns: dict[str, tuple[Converter, Any]],
    *,
    batch_rows: int | None = None,
    progress: bool = True,
    description: str = "reading the data",
) -> dict[str, np.ndarray]:
    """Reads the named columns of a Parquet file into memory-mapped arrays, a batch at a time.

    Args:
        path: The Parquet file (its columns already checked to exist).
        columns: Column name -> ``(converter, dtype)``: how one batch of the column becomes
            values, and their NumPy type.
        batch_rows: Rows read and converted at a time (default `BATCH_ROWS`).
        progress: Show a progress bar (rows).
        description: The bar's text.

    Returns:
        Column name -> a writable `numpy.memmap` of all the file's rows, in file order.

    Raises:
        JointrecError: whatever a converter raises for a bad value.
    """
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(Path(path).expanduser())
    rows = parquet.metadata.num_rows
    out: dict[str, np.ndarray] = {
        name: _scratch_array(dtype, rows) for name, (_, dtype) in columns.items()
    }
    first = 0
    with progress_task(description, total=rows, enabled=progress) as bar:
        batches = parquet.iter_batches(batch_size=batch_rows or BATCH_ROWS, columns=list(columns))
        for batch in batches:
            size = batch.num_rows
            for name, (convert, _) in columns.items():
                array = batch.column(batch.schema.get_field_index(name))
                out[name][first : first + size] = convert(array, first)
            first += size
            bar.advance(size)
    return out


def _scratch_array(dtype: Any, rows: int) -> np.ndarray:
    """A writable memory map of ``rows`` values over an unlinked file in `scratch_dir`: the
    file has no name to clean up, and its space is freed when the array is."""
    folder = scratch_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder) as handle:  # the map outlives the descriptor
            return np.memmap(handle, dtype=dtype, mode="w+", shape=(max(rows, 1),))[:rows]
    except OSError as err:
        size = rows * np.dtype(dtype).itemsize / 1e6
        raise JointrecError(
            f"cannot make a {size:,.1f} MB scratch column in {str(folder)!r} "
            f"({err.strerror or err}): expected a writable folder with room for it; set "
            "JOINTREC_DATA_DIR to a folder on a disk with space"
        ) from None
