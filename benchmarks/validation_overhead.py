"""What the loader's data validation costs, relative to parsing the file.

Measures, in one run on one machine: parsing a MovieLens-style ratings file with pyarrow (what
the loader did before validation) and the checks `load_movielens` now adds on the happy path
(rating range, timestamps, duplicate (user, item) pairs), on ML-100k and on synthetic files of
1M and 5M ratings. Writes JSON with the machine and the raw timings (median of repeats).

Usage:
    python benchmarks/validation_overhead.py --data ../shared/data/movielens/ml-100k.zip \\
        --out benchmarks/results/validation_overhead.json
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from pathlib import Path

import numpy as np
from machine import machine_info


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def parse(raw: bytes) -> dict[str, np.ndarray]:
    """The pyarrow parse the loader runs (same options)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = ["user_id", "item_id", "rating", "timestamp"]
    types = {"user_id": pa.int64(), "item_id": pa.int64(), "rating": pa.float32()}
    types["timestamp"] = pa.int64()
    table = pacsv.read_csv(
        io.BytesIO(raw),
        read_options=pacsv.ReadOptions(column_names=names),
        parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
        convert_options=pacsv.ConvertOptions(column_types=types, null_values=[""]),
    )
    return {n: table.column(n).to_numpy() for n in names}


def checks(columns: dict[str, np.ndarray]) -> None:
    """The happy-path checks `load_movielens` adds after parsing."""
    from jointrec.data.validation import check_no_duplicate_pairs, check_numeric

    check_numeric("f", "rating", columns["rating"], low=1, high=5, dtype=np.float32)
    check_numeric("f", "timestamp", columns["timestamp"], low=0)
    check_no_duplicate_pairs("f", columns["user_id"], columns["item_id"])


def synthetic(n: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    users = max(n // 100, 10)
    keys = rng.choice(users * 20_000, size=n, replace=False)  # distinct (user, item) pairs
    user, item = keys // 20_000 + 1, keys % 20_000 + 1
    rating = rng.integers(1, 6, n)
    stamp = rng.integers(800_000_000, 1_600_000_000, n)
    lines = np.char.add(np.char.add(user.astype(str), "\t"), item.astype(str))
    lines = np.char.add(np.char.add(lines, "\t"), rating.astype(str))
    lines = np.char.add(np.char.add(lines, "\t"), stamp.astype(str))
    return ("\n".join(lines.tolist()) + "\n").encode()


def measure(raw: bytes, repeats: int) -> dict[str, float]:
    columns = parse(raw)
    t_parse = median_seconds(lambda: parse(raw), repeats)
    t_checks = median_seconds(lambda: checks(columns), repeats)
    return {
        "rows": len(columns["rating"]),
        "parse_s": t_parse,
        "checks_s": t_checks,
        "checks_over_parse": t_checks / t_parse,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="ml-100k.zip", default=None)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 5_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    default_out = Path("benchmarks/results/validation_overhead.json")
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()

    results: dict[str, object] = {"machine": machine_info(), "runs": {}}
    runs: dict[str, object] = results["runs"]  # type: ignore[assignment]
    if args.data is not None:
        from jointrec.data.movielens import load_movielens
        from jointrec.data.sources import FileSource

        raw = FileSource(args.data).read_bytes("u.data")
        runs["ml-100k"] = measure(raw, args.repeats)
        runs["ml-100k"]["load_movielens_s"] = median_seconds(  # type: ignore[index]
            lambda: load_movielens("100k", path=args.data, progress=False), args.repeats
        )
    for n in args.sizes:
        runs[f"synthetic-{n}"] = measure(synthetic(n), max(1, args.repeats // 2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
