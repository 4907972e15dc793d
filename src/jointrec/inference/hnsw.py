"""`HNSWIndex`: approximate top-k by a hierarchical navigable small-world graph (faiss-cpu).

faiss-cpu was picked over hnswlib on measurement (benchmarks/ann_libraries.py): it ships
binary wheels (hnswlib compiles from source on Python 3.11) and was as fast and as accurate
on the same graph settings. New vectors can be added at any time, without retraining.

Example:
    >>> import numpy as np
    >>> vectors = np.random.default_rng(0).normal(size=(500, 8)).astype(np.float32)
    >>> vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    >>> index = HNSWIndex(8)
    >>> index.add(vectors, np.arange(1, 501))
    >>> int(index.search(vectors[:1], 1)[0][0, 0])
    1
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from jointrec.errors import JointrecError
from jointrec.inference.index import VectorIndex


def _faiss() -> Any:
    try:
        import faiss
    except ImportError:
        raise JointrecError(
            "the HNSW index needs faiss-cpu, which is not installed: "
            "pip install 'jointrec[serve]' (or pip install faiss-cpu)"
        ) from None
    return faiss


class HNSWIndex(VectorIndex):
    """Approximate maximum-inner-product search on an HNSW graph.

    Args:
        dim: Vector width.
        m: Graph neighbours per node (memory and accuracy grow with it).
        ef_construction: Candidate list size while building (build time vs graph quality).
        ef_search: Candidate list size while searching (latency vs recall); raised to the
            number of results asked for when that is larger.
        threads: Threads for building; searches of a single query use one thread.
        storage: ``"flat"`` (float32 vectors) or ``"fp16"`` (half-precision vectors: half
            the memory and ~20% faster searches on a 1M-item catalogue, the same recall;
            scores are then approximate, `exact_scores` is ``False`` and callers re-score
            the candidates exactly, as `jointrec.inference.recommender.Recommender` does).
    """

    kind = "hnsw"
    STORAGES = ("flat", "fp16")

    def __init__(
        self,
        dim: int,
        *,
        m: int = 32,
        ef_construction: int = 100,
        ef_search: int = 128,
        threads: int | None = None,
        storage: str = "flat",
    ) -> None:
        super().__init__(dim)
        if storage not in self.STORAGES:
            raise JointrecError(f"storage={storage!r} is invalid: expected 'flat' or 'fp16'")
        for name, value in (
            ("m", m),
            ("ef_construction", ef_construction),
            ("ef_search", ef_search),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise JointrecError(f"{name}={value!r} is invalid: expected an integer >= 2")
        self.m, self.ef_construction, self.ef_search = m, ef_construction, ef_search
        self.threads = threads
        self.storage = storage
        self.exact_scores = storage == "flat"
        faiss = _faiss()
        if storage == "flat":
            self._index = faiss.IndexHNSWFlat(self.dim, m, faiss.METRIC_INNER_PRODUCT)
        else:
            self._index = faiss.IndexHNSWSQ(
                self.dim, faiss.ScalarQuantizer.QT_fp16, m, faiss.METRIC_INNER_PRODUCT
            )
        self._index.hnsw.efConstruction = ef_construction

    def _add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        faiss = _faiss()
        before = faiss.omp_get_max_threads()
        if self.threads is not None:
            faiss.omp_set_num_threads(self.threads)
        try:
            self._index.add(vectors)
        finally:
            faiss.omp_set_num_threads(before)

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        faiss = _faiss()
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(self.ef_search, k)
        before = faiss.omp_get_max_threads()
        if len(queries) == 1 and before != 1:
            faiss.omp_set_num_threads(1)
            try:
                scores, rows = self._index.search(queries, k, params=params)
            finally:
                faiss.omp_set_num_threads(before)
        else:
            scores, rows = self._index.search(queries, k, params=params)
        labels = np.where(rows >= 0, self.labels[np.maximum(rows, 0)], -1)
        return labels, np.where(rows >= 0, scores, -np.inf).astype(np.float32)

    def _search_one(
        self, query: np.ndarray, k: int, excluded: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Excluded items are skipped inside the graph search (a faiss ID selector), so
        ``k`` stays small however many items a user has rated."""
        if not len(excluded):
            labels, scores = self._search(query, min(k, len(self)))
            keep = labels[0] >= 0
            return labels[0][keep], scores[0][keep]
        faiss = _faiss()
        rows = self._rows_of(excluded)
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(self.ef_search, k)
        batch = faiss.IDSelectorBatch(rows)  # kept referenced until the search returns:
        selector = faiss.IDSelectorNot(batch)  # the C++ selectors do not own each other
        params.sel = selector
        k = min(k, len(self))
        scores, found = self._index.search(query, k, params=params)
        keep = found[0] >= 0
        return self.labels[found[0][keep]], scores[0][keep].astype(np.float32)

    _row_of: np.ndarray | None = None
    _row_of_size = -1

    def _rows_of(self, labels: np.ndarray) -> np.ndarray:
        """Graph rows of item labels (the map is rebuilt after additions)."""
        row_of, size = self._row_of, len(self.labels)
        if row_of is None or self._row_of_size != size:  # built, then published whole:
            row_of = np.full(int(self.labels.max(initial=0)) + 1, -1, dtype=np.int64)
            row_of[self.labels] = np.arange(size)  # concurrent searches see old or new
            self._row_of, self._row_of_size = row_of, size
        inside = labels[(labels >= 0) & (labels < len(row_of))]
        rows = row_of[inside]
        return rows[rows >= 0]

    def save(self, path: Path) -> None:
        """Writes ``path`` (the faiss graph) and ``path.json`` (settings and labels)."""
        faiss = _faiss()
        faiss.write_index(self._index, str(path))
        meta = {
            "dim": self.dim,
            "m": self.m,
            "ef_construction": self.ef_construction,
            "ef_search": self.ef_search,
            "storage": self.storage,
        }
        Path(f"{path}.json").write_text(json.dumps(meta))
        with open(f"{path}.labels.npy", "wb") as f:
            np.save(f, self.labels)

    @classmethod
    def load(cls, path: Path, ef_search: int | None = None) -> HNSWIndex:
        """Reads an index written by `save`; ``ef_search`` overrides the saved value."""
        faiss = _faiss()
        try:
            meta = json.loads(Path(f"{path}.json").read_text())
            labels = np.load(f"{path}.labels.npy", allow_pickle=False)
            raw = faiss.read_index(str(path))
        except (OSError, ValueError, RuntimeError) as err:
            raise JointrecError(
                f"{path} is not a valid HNSW index ({err}): rebuild it with 'jointrec index --ann'"
            ) from None
        index = cls(
            int(meta["dim"]),
            m=int(meta["m"]),
            ef_construction=int(meta["ef_construction"]),
            ef_search=int(ef_search or meta["ef_search"]),
            storage=str(meta.get("storage", "flat")),
        )
        if raw.ntotal != len(labels) or raw.d != index.dim:
            raise JointrecError(f"{path} does not match its labels: rebuild it")
        index._index = raw
        index.labels = labels.astype(np.int64)
        return index
