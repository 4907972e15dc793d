"""The import graph has a direction: a lower layer never imports a higher one, nothing outside
``jointrec.backend`` imports JAX, and no modules (nor top-level modules and subpackages)
import each other in a circle.

The layers, lowest first, follow the data flow (docs/ARCHITECTURE.md draws it):

    errors, progress, plotting, files  <  settings  <  data  <  features  <  model  <  backend
    <  training  <  scoring  <  evaluation  <  baselines  <  artifact  <  inference  <  serve
    <  experiments  <  cli, testing

Every import counts: module-level, function-local and ``TYPE_CHECKING`` ones alike (a
dependency hidden in a function is still a dependency). The package face
``jointrec/__init__.py`` (lazy names) and ``__main__`` are outside the layers.

The checker reads source with `ast`, so it is cheap and runs on any tree: the tests below run
it on the package and on small trees with a planted upward import, JAX import and cycle.
Run on the layout before this rule (git 4729ecb) it reports that layout's cycles
(``training.trainer <-> training.distributed``; the subpackages ``data <-> features`` and
``retrieval <-> recommender <-> artifact``, with more) and its six modules importing JAX.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

#: Layers, lowest first; a name is a top-level module or subpackage of ``jointrec``.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "progress", "plotting", "files"),
    ("settings",),
    ("data",),
    ("features",),
    ("model",),
    ("backend",),
    ("training",),
    ("scoring",),
    ("evaluation",),
    ("baselines",),
    ("artifact",),
    ("inference",),
    ("serve",),
    ("experiments",),
    ("cli", "testing"),
)
#: Libraries only ``jointrec.backend`` may import.
BACKEND_LIBRARIES = ("jax", "jaxlib")
OUTSIDE = ("__init__", "__main__")


@dataclass
class Report:
    """What the checker found; empty lists mean the rules hold."""

    upward: list[str] = field(default_factory=list)
    backend: list[str] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.upward or self.backend or self.cycles or self.unplaced)


def modules(root: Path, package: str = "jointrec") -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` of the package under ``root``."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Every module ``name`` (the file ``path``) imports: package modules by their dotted
    name (``from X import y`` counts ``X.y`` when that is a module), other libraries by
    their top-level name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(_owner(alias.name, known))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = name.split(".") if is_package else name.split(".")[:-1]
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else _owner(base, known))
    found.discard(name)
    return found


def _owner(dotted: str, known: set[str]) -> str:
    """The longest known module that ``dotted`` names or lies in (else its top level)."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return parts[0]


def layer_of(module: str, package: str = "jointrec") -> int | None:
    """Index of the layer of a package module (``None``: outside the layers)."""
    parts = module.split(".")
    if parts[0] != package or len(parts) == 1 or parts[1] in OUTSIDE:
        return None
    for index, names in enumerate(LAYERS):
        if parts[1] in names:
            return index
    return -1


def check(root: Path, package: str = "jointrec") -> Report:
    """Checks the three rules on the package under ``root``."""
    found = modules(root, package)
    known = set(found)
    graph = {name: imports(path, name, known) for name, path in found.items()}
    report = Report()
    for name, targets in sorted(graph.items()):
        mine = layer_of(name, package)
        if mine == -1:
            report.unplaced.append(name)
        in_backend = name.split(".")[1:2] == ["backend"]
        for target in sorted(targets):
            if target.split(".")[0] in BACKEND_LIBRARIES and not in_backend:
                report.backend.append(f"{name} imports {target}")
            theirs = layer_of(target, package) if target in known else None
            if mine is not None and mine >= 0 and theirs is not None and theirs > mine:
                report.upward.append(
                    f"{name} ({'/'.join(LAYERS[mine])}) imports {target} "
                    f"({'/'.join(LAYERS[theirs])})"
                )
    inside = {k: {t for t in v if t in known} for k, v in graph.items()}
    report.cycles = cycles(inside) + cycles(_by_part(inside, package))
    return report


def _by_part(graph: dict[str, set[str]], package: str) -> dict[str, set[str]]:
    """The graph between the package's top-level modules and subpackages."""

    def part(module: str) -> str:
        return ".".join(module.split(".")[:2])

    out: dict[str, set[str]] = {}
    for name, targets in graph.items():
        if name == package:
            continue
        out.setdefault(part(name), set()).update(
            part(t) for t in targets if t != package and part(t) != part(name)
        )
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _describe(lines: Iterable[str]) -> str:
    return "\n".join(lines)


def test_the_package_keeps_its_layers_and_has_no_cycles():
    report = check(SRC)
    assert not report.unplaced, f"modules outside every layer: {report.unplaced}"
    assert not report.upward, "imports that run up the layers:\n" + _describe(report.upward)
    assert not report.backend, "JAX outside jointrec.backend:\n" + _describe(report.backend)
    assert not report.cycles, "import cycles:\n" + _describe(" <-> ".join(c) for c in report.cycles)


def test_the_checker_catches_an_upward_import_jax_and_a_cycle(tmp_path):
    root = _write(
        tmp_path,
        {
            "jointrec/__init__.py": "",
            "jointrec/errors.py": "",
            "jointrec/data/__init__.py": "",
            "jointrec/data/load.py": "from jointrec.features import spec\n",
            "jointrec/features/__init__.py": "",
            "jointrec/features/spec.py": "import jointrec.data.load\n",
            "jointrec/training/__init__.py": "",
            "jointrec/training/fit.py": (
                "def f():\n    import jax\n    from jointrec.experiments import run\n"
            ),
            "jointrec/experiments/__init__.py": "",
            "jointrec/experiments/run.py": "from jointrec.errors import *\n",
            "jointrec/backend/__init__.py": "import jax.numpy\n",
            "jointrec/misc.py": "",
        },
    )
    report = check(root)
    assert report.upward == [
        "jointrec.data.load (data) imports jointrec.features.spec (features)",
        "jointrec.training.fit (training) imports jointrec.experiments.run (experiments)",
    ]
    assert report.backend == ["jointrec.training.fit imports jax"]  # backend/ may import it
    assert report.cycles == [
        ["jointrec.data.load", "jointrec.features.spec"],
        ["jointrec.data", "jointrec.features"],  # the same loop between subpackages
    ]
    assert report.unplaced == ["jointrec.misc"]
    assert not report.ok


def test_relative_and_package_imports_resolve_to_modules(tmp_path):
    root = _write(
        tmp_path,
        {
            "jointrec/__init__.py": "",
            "jointrec/serve/__init__.py": "from .app import create\n",
            "jointrec/serve/app.py": "from . import schemas\nfrom ..errors import E\n",
            "jointrec/serve/schemas.py": "",
            "jointrec/errors.py": "",
        },
    )
    found = modules(root)
    known = set(found)
    assert imports(found["jointrec.serve"], "jointrec.serve", known) == {"jointrec.serve.app"}
    assert imports(found["jointrec.serve.app"], "jointrec.serve.app", known) == {
        "jointrec.serve.schemas",
        "jointrec.errors",
    }
    assert check(root).ok
