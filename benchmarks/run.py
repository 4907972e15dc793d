"""Runs every benchmark, writes their JSON to results/ and the summary table into
benchmarks/README.md (between the ``<!-- results -->`` markers).

Run: ``python benchmarks/run.py`` (full, ~25 min on 2 cores, most of it the 25M size) or
``python benchmarks/run.py --quick`` (a smoke test at tiny sizes, ~2 min; its JSON goes to
results/*_quick.json and its table to results/summary_quick.md, leaving the README alone).
``--only train_throughput,compare_wall`` runs a subset (the tables keep the other
benchmarks' saved results); ``--render`` only rewrites the tables from the saved JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common
import compare_wall
import eval_throughput
import scaling
import train_throughput

BENCHMARKS: dict[str, Callable[[bool], dict[str, Any]]] = {
    "train_throughput": train_throughput.run,
    "compare_wall": compare_wall.run,
    "eval_throughput": eval_throughput.run,
    "scaling": scaling.run,
}
MARKERS = ("<!-- results -->", "<!-- /results -->")


def _f(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def summary(results: dict[str, dict[str, Any]]) -> str:
    """Markdown tables of the headline figures, with the machine and date."""
    lines: list[str] = []
    any_result = next(iter(results.values()))
    m = any_result["machine"]
    lines.append(
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, AVX2 {m['avx2']}; "
        f"load average at start {m['load_average_1_5_15']}; {m['date']}; "
        f"jax {m['versions']['jax']}, keras {m['versions']['keras']}."
    )
    if any(r.get("quick") for r in results.values()):
        lines.append("**Quick mode (tiny sizes): a smoke test, not a measurement.**")
    t = results.get("train_throughput")
    if t:
        lines += [
            "",
            f"**Training** (MovieLens 100k layout, {t['reference']['examples_per_epoch']:,} "
            "examples/epoch, batch 1000; matmul "
            f"{_f(t['matmul_flops_per_second'] / 1e9, 1)} GFLOP/s measured, "
            f"{t['flops_per_example'] / 1e6:.2f} MFLOP/example, so the arithmetic limit is "
            f"{_f(t['arithmetic_limit_epoch_seconds'])} s/epoch; reference pipeline: "
            f"{t['reference']['pipeline']})",
            "",
            "| run | first epoch s | steady epoch s | CPU-s/epoch | examples/s | vs reference "
            "| of arithmetic limit |",
            "|---|---|---|---|---|---|---|",
        ]
        for key, label in (
            ("reference", "tutorial code, Keras fit"),
            ("jointrec_tutorial", "jointrec, tutorial preset"),
            ("jointrec_tutorial_per_row", "jointrec, tutorial preset, `distinct_ids` off"),
            ("jointrec_default", "jointrec, default preset (another model)"),
        ):
            if key not in t:
                continue
            r = t[key]
            share = _share(r["fraction_of_arithmetic_limit"])
            if r.get("executed_fraction_of_arithmetic_limit") is not None:
                share += f" (executed: {_share(r['executed_fraction_of_arithmetic_limit'])})"
            lines.append(
                f"| {label} | {_f(r['first_epoch_seconds'])} | {_f(r['steady_epoch_seconds'])} "
                f"| {_f(r['steady_epoch_cpu_seconds'])} | {_f(r['examples_per_second'], 0)} "
                f"| {_f(r.get('speedup_vs_reference', 1.0))}x | {share} |"
            )
        if t.get("rounds", 1) > 1:
            lines += [
                "",
                f"Steady epochs: median of {t['rounds']} interleaved rounds (reference, then "
                "jointrec); the speed-ups are medians of the per-round ratios. The share of "
                'the arithmetic limit counts the tutorial model\'s FLOPs; "executed" counts '
                "what the distinct-id step computes (distinct users x items scores, "
                f"{t['jointrec_tutorial'].get('distinct_id_slots')} slots per batch).",
            ]
    c = results.get("compare_wall")
    if c:
        lines += [
            "",
            f"**compare** (3 models x {c['epochs']} epochs + evaluation, fresh process each)",
            "",
            "| run | wall s (cold compile cache) | vs reference | wall s (warm cache) "
            "| vs reference |",
            "|---|---|---|---|---|",
            f"| tutorial code ({c['reference']['pipeline']}) | "
            f"{_f(c['reference']['wall_seconds'], 1)} | 1.00x | | |",
        ]
        for key in ("jointrec_tutorial", "jointrec_default"):
            if key not in c:
                continue
            r = c[key]
            warm = r.get("warm_cache_wall_seconds")
            warm_cells = (
                f"{_f(warm, 1)} | {_f(r['warm_cache_speedup_vs_reference'])}x" if warm else " | "
            )
            lines.append(
                f"| `jointrec compare --preset {key.split('_')[1]}` | {_f(r['wall_seconds'], 1)} "
                f"| {_f(r['speedup_vs_reference'])}x | {warm_cells} |"
            )
    e = results.get("eval_throughput")
    if e:
        lines += [
            "",
            "**Evaluation** (full catalogue, training items excluded)",
            "",
            "| data | items | ranker | users/s |",
            "|---|---|---|---|",
        ]
        for case in e["cases"]:
            for r in case["runs"]:
                lines.append(
                    f"| {case['dataset']} | {case['items']:,} | {r['ranker']} "
                    f"| {_f(r['users_per_second'], 0)} |"
                )
    s = results.get("scaling")
    if s:
        lines += [
            "",
            f"**Scaling** (synthetic, one epoch of each preset through `jointrec train`, "
            f"compilation included; {_when(s)})",
            "",
            "| size | preset | users x items | read + split + features s | epoch s "
            "| examples/s | vs smallest | evaluate s | whole command s "
            "| Recall@10 (popularity) | peak RSS MB |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in s["sizes"]:
            before = sum(
                _stage(r, d)
                for d in ("reading the data", "splitting and encoding", "building features")
            )
            lines.append(
                f"| {r['size']} ({r['train_examples'] + r['test_examples']:,}) | {r['preset']} "
                f"| {r['users']:,} x {r['items']:,} | {_f(before, 1)} "
                f"| {_f(r['epoch_seconds'], 1)} | {_f(r['examples_per_second'], 0)} "
                f"| {_f(r['throughput_vs_smallest'])}x | {_f(_stage(r, 'evaluating'), 1)} "
                f"| {_f(r['command_seconds'], 1)} | {_recall(r)} | {_f(r['peak_rss_mb'], 0)} |"
            )
    return "\n".join(lines) + "\n"


def headline(results: dict[str, dict[str, Any]]) -> str:
    """The few figures the project README shows, with the machine and date."""
    m = next(iter(results.values()))["machine"]
    rows = ["| figure | jointrec | reference | ratio |", "|---|---|---|---|"]
    t = results.get("train_throughput")
    if t:
        ref, tut = t["reference"], t["jointrec_tutorial"]
        rows.append(
            f"| training, tutorial preset, examples/s | {_f(tut['examples_per_second'], 0)} "
            f"| {_f(ref['examples_per_second'], 0)} | {_f(tut['speedup_vs_reference'])}x |"
        )
        share = _share(tut["fraction_of_arithmetic_limit"])
        if tut.get("executed_fraction_of_arithmetic_limit") is not None:
            share = (
                f"{share} of the model's FLOPs; "
                f"{_share(tut['executed_fraction_of_arithmetic_limit'])} of those executed"
            )
        rows.append(
            f"| share of the arithmetic limit | {share} "
            f"| {_share(ref['fraction_of_arithmetic_limit'])} | |"
        )
    c = results.get("compare_wall")
    if c:
        r = c["jointrec_tutorial"]
        rows.append(
            f"| `compare --preset tutorial`, wall s | {_f(r['wall_seconds'], 1)} "
            f"| {_f(c['reference']['wall_seconds'], 1)} | {_f(r['speedup_vs_reference'])}x |"
        )
        if r.get("warm_cache_wall_seconds"):
            rows.append(
                f"| the same, warm compilation cache | {_f(r['warm_cache_wall_seconds'], 1)} "
                f"| {_f(c['reference']['wall_seconds'], 1)} "
                f"| {_f(r['warm_cache_speedup_vs_reference'])}x |"
            )
    s = results.get("scaling")
    if s:
        for r in s["sizes"]:
            rows.append(
                f"| {r['size']} interactions, {r['preset']} preset: epoch s / examples/s / "
                f"whole `jointrec train` s / peak RSS MB | {_f(r['epoch_seconds'], 0)} / "
                f"{_f(r['examples_per_second'], 0)} / {_f(r['command_seconds'], 0)} / "
                f"{_f(r['peak_rss_mb'], 0)} | | |"
            )
    note = f"\nScaling rows: {_when(s)}.\n" if s and s["machine"] != m else ""
    return (
        f"Measured {m['date'][:10]} on {m['cpu']}, {m['cores']} cores (load average "
        f"{m['load_average_1_5_15'][0]}):\n\n" + "\n".join(rows) + "\n" + note
    )


def _when(result: dict[str, Any]) -> str:
    """When and under what load one benchmark ran (each JSON names its own machine)."""
    m = result["machine"]
    return f"run {m['date']}, load average {m['load_average_1_5_15']}"


def _stage(size: dict[str, Any], start: str) -> float:
    """Seconds of the run's stage whose description starts with ``start`` (0 if none)."""
    return sum(s["seconds"] for s in size["stages"] if s["description"].startswith(start))


def _recall(size: dict[str, Any]) -> str:
    """The model's Recall@10, with popularity's on the same users when measured."""
    q = size.get("quality_sample")
    if not q:
        return f"{size['report']['recall@10']:.3f}"
    return f"{q['model_recall@10']:.3f} ({q['popularity_recall@10']:.3f})"


def write_readme(table: str, readme: Path) -> None:
    """Replaces the text between the markers of ``readme`` with ``table``."""
    text = readme.read_text()
    start, end = MARKERS
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    readme.write_text(pattern.sub(lambda _: f"{start}\n{table}{end}", text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--only", help="comma-separated subset of " + ",".join(BENCHMARKS))
    parser.add_argument("--out", type=Path, default=common.RESULTS, help="results folder")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite the tables from the saved JSON"
    )
    args = parser.parse_args()
    names = [] if args.render else args.only.split(",") if args.only else list(BENCHMARKS)
    suffix = "_quick" if args.quick else ""
    results = {}
    for name in names:
        print(f"running {name}{' (quick)' if args.quick else ''} ...", end=" ", flush=True)
        start = time.perf_counter()
        results[name] = BENCHMARKS[name](args.quick)
        results[name]["benchmark_seconds"] = time.perf_counter() - start
        common.write_result(name + suffix, results[name], args.out)
        print(f"{results[name]['benchmark_seconds']:.0f} s", flush=True)
    if not args.quick:  # the README keeps all four: fill in any not re-run from their JSON
        for name in BENCHMARKS:
            path = args.out / f"{name}.json"
            if name not in results and path.exists():
                results[name] = json.loads(path.read_text())
        results = {k: results[k] for k in BENCHMARKS if k in results}
    table = summary(results)
    (args.out / f"summary{suffix}.md").write_text(table)
    if not args.quick and args.out == common.RESULTS:
        write_readme(table, common.HERE / "README.md")
        write_readme(headline(results), common.ROOT / "README.md")
    print(table)


if __name__ == "__main__":
    main()
