"""The package's import structure: no import cycle between modules, and imports at the top
of modules, except optional heavy dependencies that only some commands need.

How: every module of augur_sim is parsed with ast (nothing is imported); each module-level
`import`/`from ... import` becomes an edge to the module it names (relative imports
resolved; `from pkg import name` points at pkg.name when that is a module, else at pkg),
and networkx checks the graph is acyclic. A package's implicit import of its parent
package is not an edge (every submodule would otherwise point at augur_sim/__init__)."""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PKG = Path(__file__).resolve().parents[1] / "augur_sim"

# Imported inside the functions that need them: heavy, and needed only by some commands
# (export/validate/calibrate need onnx and onnxruntime, sweep files need pyarrow, plots
# need matplotlib, the GPU runner needs torch, --scheduler needs dask.distributed).
LAZY_ALLOWED = {"onnx", "onnxruntime", "torch", "matplotlib", "pyarrow", "distributed", "dask", "pandas"}
# (module, imported module) pairs allowed inside a function for a stated reason, until it goes.
LAZY_PAIRS: set[tuple[str, str]] = set()


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _targets(node, mod: str, is_pkg: bool, known) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = mod.split(".") if is_pkg else mod.split(".")[:-1]
        base = base[:len(base) - (node.level - 1)]
        src = ".".join(base + ([node.module] if node.module else []))
    else:
        src = node.module or ""
    return [f"{src}.{a.name}" if f"{src}.{a.name}" in known else src for a in node.names]


# Modules that import others on demand through a table (importlib), so that start-up imports
# only what is used: (module, its table: a dict literal whose values' first item names a
# module under `package`).
LAZY_TABLES = [("augur_sim.cli", "COMMANDS", "augur_sim.commands"),
               ("augur_sim.frontends", "READERS", "augur_sim.frontends")]


def _table_modules(mods, module: str, table_name: str, package: str) -> list[str]:
    """The modules `module` imports on demand: its table, read with ast like everything here."""
    tree = ast.parse(mods[module].read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == table_name:
            table = ast.literal_eval(node.value)
            return sorted({f"{package}.{v[0]}" for v in table.values()})
    raise AssertionError(f"{module} has no {table_name} table")


def _cli_command_modules(mods) -> list[str]:
    return _table_modules(mods, *LAZY_TABLES[0])


def import_graph():
    mods = _modules()
    g = nx.DiGraph()
    g.add_nodes_from(mods)
    lazy = []
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(), str(path))
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                continue
            targets = _targets(node, mod, path.name == "__init__.py", mods)
            if id(node) not in top:
                lazy += [(mod, node.lineno, t) for t in targets]
                continue
            for t in targets:
                if t in mods and t != mod:
                    g.add_edge(mod, t)
    # The CLI and load_net import each command's / reader's module on first use (importlib):
    # edges all the same.
    for module, table, package in LAZY_TABLES:
        for t in _table_modules(mods, module, table, package):
            g.add_edge(module, t)
    return g, lazy


def test_graph_sees_the_known_edges():
    # The check must be able to fail: it sees imports that certainly exist.
    g, _ = import_graph()
    assert g.has_edge("augur_sim.counts", "augur_sim.ops.registry")
    assert g.has_edge("augur_sim.ops.conv", "augur_sim.ops.counts")
    assert g.has_edge("augur_sim.engine.kernels", "augur_sim.lowering")
    assert g.has_edge("augur_sim.cli", "augur_sim.commands.estimate")
    assert g.has_edge("augur_sim.frontends", "augur_sim.frontends.onnx")
    assert len(g) > 40


def test_cli_command_table_names_real_modules():
    mods = _modules()
    assert set(_cli_command_modules(mods)) == {m for m in mods if m.startswith("augur_sim.commands.")
                                               and m != "augur_sim.commands.args"}


def test_no_import_cycle():
    g, _ = import_graph()
    cycles = list(nx.simple_cycles(g))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c + [c[0]]) for c in cycles[:5])


def test_counts_record_is_a_leaf():
    g, _ = import_graph()
    assert list(g.successors("augur_sim.ops.counts")) == []


def test_function_level_imports_only_for_heavy_optional_deps():
    _, lazy = import_graph()
    bad = [f"{m}:{line} imports {t}" for m, line, t in lazy
           if t.split(".")[0] not in LAZY_ALLOWED and (m, t) not in LAZY_PAIRS]
    assert not bad, "imports inside functions (move them to the module top):\n" + "\n".join(bad)


def test_dynamic_imports_only_in_the_package_facade():
    # importlib would hide an import from the checks above; only the package's lazy
    # public API (PEP 562 __getattr__ in augur_sim/__init__.py) and the modules with a table
    # of modules imported on first use (LAZY_TABLES: the CLI's commands, load_net's readers;
    # import_graph adds their edges) may use it.
    users = []
    for mod, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "import_module" or \
                    isinstance(node, ast.Name) and node.id == "__import__":
                users.append(mod)
    assert sorted(set(users)) == sorted({"augur_sim"} | {m for m, _, _ in LAZY_TABLES})


# The stage order of docs/ARCHITECTURE.md ("Packages and modules"): each module belongs to
# one stage, and a stage may import only the stages listed for it (and itself). Leaves
# import nothing of the package but errors.
LEAVES = {"errors", "fusion", "memo", "fileio", "progress", "yamlguard", "records",
          "ops.counts", "ops.activations", "ops.facts"}
STAGE_OF_MODULE = {"graph": "graph", "precision": "graph", "ops": "graph", "conventions": "counts",
                   "counts": "counts", "lowering": "lowering", "ort_layout": "lowering", "torch_lowering": "lowering",
                   "evaluate": "evaluate",
                   "result": "estimator", "estimator": "estimator", "api": "estimator", "": "estimator",
                   "report": "report", "report_html": "report", "plots": "report", "views": "report",
                   "cli": "commands"}
STAGE_MAY_IMPORT = {
    "leaves": {"leaves"},
    "hw": {"leaves"},
    "graph": {"leaves"},
    "counts": {"graph", "leaves"},
    "frontends": {"graph", "hw", "leaves"},
    "lowering": {"counts", "graph", "leaves"},
    "engine": {"lowering", "hw", "graph", "leaves"},
    "evaluate": {"engine", "hw", "lowering", "counts", "graph", "leaves"},
    "estimator": {"evaluate", "engine", "hw", "lowering", "counts", "graph", "frontends", "leaves"},
    "report": {"estimator", "evaluate", "engine", "hw", "lowering", "counts", "graph", "frontends", "leaves"},
    "explore": {"report", "estimator", "evaluate", "engine", "hw", "lowering", "counts", "graph",
                "frontends", "leaves"},
    "measure": {"report", "estimator", "evaluate", "engine", "hw", "lowering", "counts", "graph",
                "frontends", "leaves"},
    "commands": {"commands", "measure", "explore", "report", "estimator", "evaluate", "engine", "hw",
                 "lowering", "counts", "graph", "frontends", "leaves"},
}
# Edges against the stage order, each with its reason, until it goes. A listed edge that no
# longer exists fails the test (so the list only shrinks). Empty: the last three (load_net
# reading generated names, lowering reading ORT's conv layout table, the HTML report drawing
# the roofline) went when their code moved to its stage (frontends/generated.py,
# ort_layout.py, plots.py).
STAGE_EXCEPTIONS: set[tuple[str, str]] = set()

def stage(mod: str) -> str:
    rel = mod.removeprefix("augur_sim").removeprefix(".")
    if rel in LEAVES:
        return "leaves"
    head = rel.split(".")[0]
    if head in {"frontends", "hw", "engine", "explore", "measure", "commands"}:
        return head
    if head == "ops":
        return "graph"
    return STAGE_OF_MODULE[head]


def stage_violations(edges) -> list[str]:
    return [f"{u} ({stage(u)}) imports {v} ({stage(v)})" for u, v in edges
            if stage(v) != stage(u) and stage(v) not in STAGE_MAY_IMPORT[stage(u)]
            and (u, v) not in STAGE_EXCEPTIONS]


def test_every_module_has_a_stage():
    g, _ = import_graph()
    assert {stage(m) for m in g} <= set(STAGE_MAY_IMPORT)


def test_imports_follow_the_stage_order():
    g, _ = import_graph()
    bad = stage_violations(g.edges())
    assert not bad, "imports against the stage order (docs/ARCHITECTURE.md):\n" + "\n".join(bad)
    stale = sorted(e for e in STAGE_EXCEPTIONS if not g.has_edge(*e))
    assert not stale, f"listed exceptions that no longer exist (remove them): {stale}"


def test_stage_order_check_catches_an_upward_import():
    # Evaluation reading the ncnn fit through measure/ (the import that moved to engine/) and
    # the hardware model importing the numba engine are both refused.
    assert stage_violations([("augur_sim.estimator", "augur_sim.measure.ncnn_params"),
                             ("augur_sim.hw.load", "augur_sim.engine.hwrow"),
                             ("augur_sim.measure.fit", "augur_sim.explore.sweep")]) != []
    assert len(stage_violations([("augur_sim.estimator", "augur_sim.measure.ncnn_params"),
                                 ("augur_sim.hw.load", "augur_sim.engine.hwrow"),
                                 ("augur_sim.measure.fit", "augur_sim.explore.sweep")])) == 3
    assert stage_violations([("augur_sim.estimator", "augur_sim.engine.ncnn_params")]) == []
    # The three edges once listed as exceptions would be refused now; their code sits where
    # its stage imports it from below.
    assert len(stage_violations([("augur_sim.frontends", "augur_sim.explore.generate"),
                                 ("augur_sim.lowering", "augur_sim.engine.ort_layout"),
                                 ("augur_sim.report_html", "augur_sim.explore.plots")])) == 3
    assert stage_violations([("augur_sim.frontends", "augur_sim.frontends.generated"),
                             ("augur_sim.lowering", "augur_sim.ort_layout"),
                             ("augur_sim.engine.ort_arena", "augur_sim.ort_layout"),
                             ("augur_sim.report_html", "augur_sim.plots"),
                             ("augur_sim.explore.sweep_plots", "augur_sim.plots")]) == []
