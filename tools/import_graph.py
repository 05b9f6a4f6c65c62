"""The shape of rnnexp's import graph, read with `ast` (nothing is imported).

    python tools/import_graph.py            # counts: modules, floors, circles, long modules
    python tools/import_graph.py --floors   # also every module, by floor
    python tools/import_graph.py --json     # the same counts, for machines

A floor is a module's height: 1 for a module that imports no other rnnexp
module, else one more than its highest import. A circle is a set of modules
that import each other (a strongly connected component of more than one).
Every import counts, at module level or inside a function.
"""

import argparse
import ast
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LONG_MODULE_LINES = 400


def modules(root: pathlib.Path = ROOT) -> dict[str, pathlib.Path]:
    """Every module of the `rnnexp` package, by dotted name."""
    found = {}
    for path in sorted((root / "rnnexp").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _targets(node, here: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "rnnexp"]
    base = node.module or ""
    if node.level:
        parts = here.split(".") if is_package else here.split(".")[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join(parts + ([base] if base else []))
    if base.split(".")[0] != "rnnexp":
        return []
    return [f"{base}.{a.name}" for a in node.names] + [base]


def graph(root: pathlib.Path = ROOT):
    """(edges, function-level import count) over the package's own modules."""
    mods = modules(root)
    edges: dict[str, set[str]] = {}
    in_functions = 0
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        is_package = path.name == "__init__.py"
        deps: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(node, name, is_package):
                    if target in mods and target != name:
                        deps.add(target)
        nested = set()
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, (ast.Import, ast.ImportFrom)) and _targets(
                        node, name, is_package
                    ):
                        nested.add(id(node))
        in_functions += len(nested)
        # a submodule's own package `__init__` is not an edge worth drawing
        edges[name] = {d for d in deps if not name.startswith(d + ".")}
    return edges, in_functions


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def floors(edges: dict[str, set[str]]) -> dict[str, int]:
    """Each module's floor; the modules of a circle share one."""
    comp_of = {}
    for comp in circles(edges):
        for m in comp:
            comp_of[m] = tuple(comp)
    memo: dict[str, int] = {}

    def floor(v, seen=()):
        if v in memo:
            return memo[v]
        group = comp_of.get(v, (v,))
        below = [
            floor(w, seen + group)
            for m in group
            for w in edges[m]
            if w not in group and w not in seen
        ]
        value = 1 + max(below, default=0)
        for m in group:
            memo[m] = value
        return value

    return {m: floor(m) for m in edges}


def summary(root: pathlib.Path = ROOT) -> dict:
    edges, in_functions = graph(root)
    mods = modules(root)
    levels = floors(edges)
    long = {
        name: n
        for name, path in mods.items()
        if (n := len(path.read_text().splitlines())) > LONG_MODULE_LINES
    }
    return {
        "modules": len(mods),
        "imports": sum(len(v) for v in edges.values()),
        "floors": max(levels.values()),
        "circles": circles(edges),
        "modules_over_400_lines": dict(sorted(long.items(), key=lambda kv: -kv[1])),
        "function_level_imports_of_rnnexp": in_functions,
        "by_floor": {
            str(f): sorted(m for m, lv in levels.items() if lv == f)
            for f in sorted(set(levels.values()))
        },
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=pathlib.Path, default=ROOT)
    parser.add_argument("--floors", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    s = summary(args.root)
    if args.json:
        print(json.dumps(s, indent=1))
        return 0
    print(f"modules {s['modules']}, imports {s['imports']}, floors {s['floors']}")
    print(f"circles {len(s['circles'])}: {s['circles']}")
    print(f"function-level imports of rnnexp modules: {s['function_level_imports_of_rnnexp']}")
    print(f"modules over {LONG_MODULE_LINES} lines: {len(s['modules_over_400_lines'])}")
    for name, n in s["modules_over_400_lines"].items():
        print(f"  {n:5d}  {name}")
    if args.floors:
        for f, names in s["by_floor"].items():
            print(f"floor {f}: {' '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
