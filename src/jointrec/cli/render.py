"""Rich tables for reports, comparisons and recommendations."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console() if sys.stdout.isatty() else Console(width=160)

REPORT_COLUMNS = (
    ("rmse", "RMSE★"),
    ("mae", "MAE★"),
    ("recall@10", "R@10"),
    ("recall@50", "R@50"),
    ("recall@100", "R@100"),
    ("ndcg@10", "NDCG@10"),
    ("map@10", "MAP@10"),
    ("mrr", "MRR"),
    ("hr@10", "HR@10 5★"),
    ("coverage@10", "Cov@10"),
)


def fmt(value: Any) -> str:
    """Three decimals, or '-' when missing."""
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def print_json(data: Any) -> None:
    """JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def report_table(rows: Sequence[tuple[str, dict[str, float]]], title: str) -> Table:
    """Full report: one row per model."""
    table = Table(title=title)
    table.add_column("model")
    for _, header in REPORT_COLUMNS:
        table.add_column(header, justify="right")
    for name, report in rows:
        table.add_row(name, *(fmt(report.get(key)) for key, _ in REPORT_COLUMNS))
    return table


def tutorial_table(rows: Sequence[tuple[str, dict[str, float]]], k: int = 10) -> Table:
    """The tutorial's own table: top-k accuracy on 5-star ratings (unfiltered) and RMSE on
    the normalised label."""
    table = Table(
        title="The tutorial's table (its metric: unfiltered top-10 accuracy on "
        "5-star test ratings; RMSE on the (r-1)/4 label)"
    )
    table.add_column("Model")
    table.add_column("Top-K Accuracy (↑)", justify="right")
    table.add_column("RMSE (↓)", justify="right")
    for name, report in rows:
        table.add_row(
            name, fmt(report.get(f"tutorial_top{k}_accuracy")), fmt(report.get("rmse_label"))
        )
    return table


def seeds_tables(result: Any) -> tuple[Table, Table]:
    """A `jointrec.experiments.compare_seeds.SeedComparison` as two tables: each model's
    mean ± std, and the joint model's paired differences against the best other model."""
    seeds = ", ".join(map(str, result.seeds))
    models = Table(title=f"Test metrics over seeds {seeds}: mean ± std")
    models.add_column("model")
    columns = [(k, h) for k, h in REPORT_COLUMNS if k in ("rmse", "recall@10", "ndcg@10")]
    columns.append(("recall@100", "R@100"))
    for _, header in columns:
        models.add_column(header, justify="right")
    for name, metrics in result.summaries.items():
        models.add_row(
            name,
            *(
                f"{metrics[k].mean:.4f} ± {metrics[k].std:.4f}" if k in metrics else "-"
                for k, _ in columns
            ),
        )
    paired = Table(title="Joint model minus the best other model, paired over seeds (95% t-CI)")
    for header in ("metric", "best other", "difference", "95% interval", "joint better"):
        paired.add_column(header, justify="left" if header in ("metric", "best other") else "right")
    for metric, d in result.paired.items():
        paired.add_row(
            metric,
            result.best_other[metric],
            f"{d.mean:+.4f}",
            f"[{d.low:+.4f}, {d.high:+.4f}]",
            f"{d.wins}/{d.n}",
        )
    return models, paired
