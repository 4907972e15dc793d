"""Out-of-core columns: a Parquet file read batch by batch into memory-mapped arrays.

`stream_columns` is how `jointrec.data.tables.read_interactions` reads a big file with
integer ids (Parquet of at least `STREAM_MIN_ROWS` rows, CSV of at least
`STREAM_MIN_BYTES`): pyarrow yields a batch of rows at a time, each column's converter
checks and converts it, and the values are appended to one scratch file per column, which
is then memory-mapped (`numpy.memmap`). The memory maps sit on unlinked scratch files under the
data cache (`scratch_dir`), so the pages are the kernel's to write back and drop, and the
disk space is freed with the arrays: nothing is left behind, and nothing the user has is
touched. So reading holds one batch of rows in memory, not the whole table as pyarrow
reads it plus a NumPy copy of each column.

Example:
    >>> import pyarrow as pa, pyarrow.parquet as pq, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "log.parquet"
    >>> pq.write_table(pa.table({"user": [3, 1, 2]}), path)
    >>> ids = lambda array, first_row: array.to_numpy()
    >>> batches = pq.ParquetFile(path).iter_batches(batch_size=2)
    >>> columns = stream_columns(batches, {"user": (ids, np.int64)})
    >>> type(columns["user"]).__name__, columns["user"].tolist()
    ('memmap', [3, 1, 2])
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from jointrec.errors import JointrecError

#: Rows of a Parquet file, and bytes of a CSV file, read and converted at a time.
BATCH_ROWS = 1 << 20
CSV_BLOCK_BYTES = 32 << 20
#: Parquet files with fewer rows, and CSV files with fewer bytes, are read whole
#: (`read_interactions`): their columns fit in memory many times over.
STREAM_MIN_ROWS = 1 << 21
STREAM_MIN_BYTES = 64 << 20
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
    batches: Iterable[Any], columns: dict[str, tuple[Converter, Any]]
) -> dict[str, np.ndarray]:
    """Converts a file's record batches, one at a time, into memory-mapped columns.

    Args:
        batches: pyarrow record batches in file order (``ParquetFile.iter_batches``, a
            streaming CSV reader), holding the named columns.
        columns: Column name -> ``(converter, dtype)``: how one batch of the column becomes
            values, and their NumPy type.

    Returns:
        Column name -> a writable `numpy.memmap` of all the rows, in file order.

    Raises:
        JointrecError: whatever a converter raises for a bad value; or when the scratch
            folder cannot hold the columns.
    """
    sinks = {name: _ScratchColumn(dtype) for name, (_, dtype) in columns.items()}
    first = 0
    for batch in batches:
        for name, (convert, _) in columns.items():
            sinks[name].append(convert(batch.column(batch.schema.get_field_index(name)), first))
        first += batch.num_rows
    return {name: sink.mapped() for name, sink in sinks.items()}


class _ScratchColumn:
    """Values appended to an unlinked file in `scratch_dir`, then memory-mapped: the file
    has no name to clean up, and its space is freed when the array is."""

    def __init__(self, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)
        self.rows = 0
        self.folder = scratch_dir()
        with self._disk():
            self.folder.mkdir(parents=True, exist_ok=True)
            self.handle = tempfile.TemporaryFile(dir=self.folder)  # noqa: SIM115 (closed in mapped)

    def append(self, values: np.ndarray) -> None:
        with self._disk():
            self.handle.write(np.ascontiguousarray(values, dtype=self.dtype).tobytes())
        self.rows += len(values)

    def mapped(self) -> np.ndarray:
        with self._disk(), self.handle:  # the map outlives the descriptor
            self.handle.flush()
            if self.rows == 0:
                return np.empty(0, dtype=self.dtype)
            return np.memmap(self.handle, dtype=self.dtype, mode="r+", shape=(self.rows,))

    @contextmanager
    def _disk(self) -> Iterator[None]:
        try:
            yield
        except OSError as err:
            size = self.rows * self.dtype.itemsize / 1e6
            raise JointrecError(
                f"cannot write a scratch column ({size:,.1f} MB so far) in "
                f"{str(self.folder)!r} ({err.strerror or err}): expected a writable folder "
                "with room for the data's columns; set JOINTREC_DATA_DIR to a folder on a "
                "disk with space"
            ) from None
