"""Move rnnexp's modules into rooms by role and rewrite every reference to them.

    python tools/relayout.py            # apply (idempotent: run it again after `git merge main`)
    python tools/relayout.py --check    # list what it would still change; exit 1 if anything

What it does, in order:
1. `git mv` each module of `MOVES` to its new home (a package folder gets an
   `__init__.py`), unless that is done already.
2. Splits `rnnexp/tracking/tracker.py` (the old `tracking.py`) by `SPLIT`: each
   top-level definition named there goes to its submodule, with the imports it
   uses. A definition that is already there is replaced (a merge may bring a
   newer one into tracker.py).
3. Rewrites every import of a moved module or symbol in rnnexp/, experiments/,
   tests/ and tools/ (read with `ast`, so multi-line and function-level imports
   count too).
4. Rewrites dotted and path references in code, strings and docs:
   `rnnexp.OLD.attr` (mock paths), `-m rnnexp.OLD`, `` `rnnexp.OLD` ``,
   `rnnexp/OLD.py`. A bare "rnnexp.trial" is an MLflow tag name, never rewritten.
"""

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# old module -> new module
MOVES = {
    "rnnexp.runner": "rnnexp.sweep.runner",
    "rnnexp.trial": "rnnexp.sweep.trial",
    "rnnexp.parallel": "rnnexp.sweep.local",
    "rnnexp.ray_executor": "rnnexp.sweep.ray",
    "rnnexp.robustness": "rnnexp.sweep.robustness",
    "rnnexp.tracking": "rnnexp.tracking.tracker",
    "rnnexp.reporting": "rnnexp.tracking.reporter",
    "rnnexp.lease": "rnnexp.tracking.lease",
    "rnnexp.compare": "rnnexp.tracking.compare",
    "rnnexp.plots": "rnnexp.report.plots",
    "rnnexp.pages": "rnnexp.report.pages",
    "rnnexp.stats": "rnnexp.report.stats",
    "rnnexp.false_alarm": "rnnexp.report.false_alarm",
    "rnnexp.experiments_table": "rnnexp.report.experiments_table",
    "rnnexp.reproduction_table": "rnnexp.report.reproduction_table",
    "rnnexp.robustness_table": "rnnexp.report.robustness_table",
    "rnnexp.card": "rnnexp.report.card",
    "rnnexp.recipes": "rnnexp.recipes.supervised",
    "rnnexp.long_range_tasks": "rnnexp.recipes.long_range",
    "rnnexp.generation": "rnnexp.recipes.generation",
}

# (module, symbol) -> the module that now defines it
SYMBOL_MOVES = {
    ("rnnexp.sweep.local", "STOP_GRACE_S"): "rnnexp.sweep.trial",
    ("rnnexp.sweep.local", "DoneCounter"): "rnnexp.sweep.trial",
    ("rnnexp.sweep.local", "set_threads"): "rnnexp.sweep.trial",
    ("rnnexp.sweep.trial", "EPOCHS_EXTRA"): "rnnexp.results",  # records carry it; report/ reads it
    # a trial's identity in the store, apart from the code that runs it
    **{
        ("rnnexp.sweep.trial", name): "rnnexp.sweep.trial_tags"
        for name in (
            "TRIAL", "TRIAL_HASH", "TRIAL_INDEX", "WORKER", "trial_key", "trial_hash",
            "recorded_result",
        )
    },
    ("rnnexp.training", "strategy_scope"): "rnnexp.distribute",
    ("rnnexp.training", "DISTRIBUTE"): "rnnexp.distribute",
    ("rnnexp.recipes.long_range", "ratio_figure"): "rnnexp.report.loss_ratio",
    ("rnnexp.recipes.long_range", "ratio_plots"): "rnnexp.report.loss_ratio",
}

# Old modules that became a package of several modules: `from OLD import X`
# is sent to whichever of the package's modules defines X.
SPLIT_PACKAGES = {"rnnexp.tracking"}

PACKAGE_DOCS = {
    "rnnexp.sweep": "How a sweep runs: the runner, one trial, the executors side by side "
    "(local: serial or --workers; ray), robustness over seeds.",
    "rnnexp.tracking": "MLflow tracking: the store, provenance, the reporter a trial writes "
    "to, the tracker, the UI, the sweep lease, and comparing runs.",
    "rnnexp.report": "What people read, generated from records: tables, figures, pages, "
    "statistics, finding cards.",
    "rnnexp.recipes": "One home per kind of experiment: supervised, long-range tasks, "
    "sequence generation.",
}

# tracker.py's definitions that move to a sibling; the rest stays in tracker.py.
SPLIT = {
    "rnnexp.tracking.store": [
        "DEFAULT_TRACKING_URI", "SLOW_STORE_S", "_SCHEMES", "SweepStoreError", "StoreError",
        "resolve_tracking_uri", "sqlite_path", "check_uri", "probe_server",
        "describe_store_error", "_SlowStatements", "_SLOW", "server_give_up_s",
        "_SlowRequests", "_SLOW_REQUESTS", "store_errors", "wait_while_locked",
        "relocate_artifacts", "store_lock", "check_store",
    ],
    "rnnexp.tracking.provenance": [
        "_git", "_git_commit", "environment_tags", "git_tags", "_cpu_name", "_device",
    ],
    "rnnexp.tracking.ui": [
        "ui_command", "UI_ADDRESS", "ML_VIEW", "ui_base", "experiments_url", "experiment_url",
        "run_url", "compare_url", "artifact_src", "browse_lines", "ui_links", "_answers",
        "serve_ui", "_group_alive",
    ],
    "rnnexp.tracking.mlflow_reporter": [
        "MAX_PARAM_LENGTH", "Reporter", "_dataset_source", "_BOOKKEEPING", "_SERIES_NAMES",
        "_bookkeeping", "_param_value", "_now_ms", "_active",
    ],
    "rnnexp.tracking.reporter": ["NullReporter"],
    "rnnexp.tracking.naming": [
        "_SHORT_KEYS", "sweep_run_name", "data_label", "trial_run_name", "_short",
        "params_that_apply",
    ],
}
SPLIT_DOCS = {
    "rnnexp.tracking.store": "The MLflow store: its URI, its errors in one line, its locks.",
    "rnnexp.tracking.provenance": "Where a run came from: rnnexp's version, git, the device.",
    "rnnexp.tracking.ui": "The MLflow UI: its links, and serving it (`python -m rnnexp ui`).",
    "rnnexp.tracking.mlflow_reporter": "The reporter of one MLflow run: a trial's "
    "metrics, tags and artifacts, as MLflow keeps them.",
    "rnnexp.tracking.naming": "What runs are called in the store and the UI, and which "
    "params they log.",
}
SPLIT_FROM = "rnnexp.tracking.tracker"

CODE_DIRS = ["rnnexp", "experiments", "tests", "tools"]
TEXT_GLOBS = ["*.md", "docs/**/*.md", ".ci/run", "tools/*.sh", "pyproject.toml"]
NOT_REWRITTEN = {"tools/relayout.py"}
TAG_NAMES = {"rnnexp.trial"}  # MLflow tags that look like module names


def path_of(module: str) -> Path:
    rel = Path(*module.split("."))
    return ROOT / (str(rel) + ".py") if not (ROOT / rel).is_dir() else ROOT / rel / "__init__.py"


def is_module(module: str) -> bool:
    rel = Path(*module.split("."))
    return (ROOT / (str(rel) + ".py")).exists() or (ROOT / rel / "__init__.py").exists()


def git(*args: str):
    subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True)


# -- 1. moves ------------------------------------------------------------------------


def move_files(dry: bool) -> list[str]:
    done = []
    for old, new in MOVES.items():
        src = ROOT / (old.replace(".", "/") + ".py")
        dst = ROOT / (new.replace(".", "/") + ".py")
        if not src.exists() or dst.exists():
            continue
        done.append(f"git mv {src.relative_to(ROOT)} {dst.relative_to(ROOT)}")
        if dry:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        git("mv", str(src), str(dst))
    for package, doc in PACKAGE_DOCS.items():
        init = ROOT / package.replace(".", "/") / "__init__.py"
        if init.parent.is_dir() and not init.exists():
            done.append(f"create {init.relative_to(ROOT)}")
            if not dry:
                init.write_text(f'"""{doc}"""\n')
                git("add", str(init))
    return done


# -- 2. the tracking split -----------------------------------------------------------


def _bound_names(stmt) -> list[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    return []


def _chunks(source: str):
    """Top-level statements, each with the blank and comment lines above it: (stmt, a, b)."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    out, prev_end = [], 0
    for stmt in tree.body:
        out.append((stmt, prev_end, stmt.end_lineno))
        prev_end = stmt.end_lineno
    return tree, lines, out


def _used_names(stmts) -> set[str]:
    used = set()
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name):
                used.add(node.id)
            for ann in _annotations(node):
                if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
                    used.update(re.findall(r"[A-Za-z_]\w*", ann.value))  # "keras.Model"
    return used


def _annotations(node) -> list:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
        return [a.annotation for a in args if a.annotation] + (
            [node.returns] if node.returns else []
        )
    if isinstance(node, ast.AnnAssign):
        return [node.annotation]
    return []


def _import_lines(imports, used: set[str]) -> list[str]:
    """The module's top-level import statements, each cut to the names `used` binds."""
    out = []
    for stmt in imports:
        if isinstance(stmt, ast.Import):
            keep = [a for a in stmt.names if (a.asname or a.name.split(".")[0]) in used]
            if keep:
                out.append("import " + ", ".join(_alias(a) for a in keep))
        else:
            keep = [a for a in stmt.names if (a.asname or a.name) in used]
            if keep:
                out.append(f"from {stmt.module} import " + ", ".join(_alias(a) for a in keep))
    return out


def _alias(a) -> str:
    return f"{a.name} as {a.asname}" if a.asname else a.name


def _render_imports(lines: list[str]) -> str:
    std, third, own = [], [], []
    for line in lines:
        top = line.split()[1].split(".")[0]
        (own if top == "rnnexp" else third if top in _THIRD else std).append(line)
    blocks = [sorted(b, key=lambda s: (s.startswith("from"), s)) for b in (std, third, own) if b]
    return "\n\n".join("\n".join(b) for b in blocks)


_THIRD = {"mlflow", "numpy", "keras", "tensorflow", "matplotlib", "psutil", "ray", "sqlalchemy"}


def split_tracking(dry: bool) -> list[str]:
    src_path = path_of(SPLIT_FROM)
    if not src_path.exists():
        return []
    source = src_path.read_text()
    tree, lines, chunks = _chunks(source)
    where = {name: mod for mod, names in SPLIT.items() for name in names}
    moving = [(s, a, b) for s, a, b in chunks if any(n in where for n in _bound_names(s))]
    if not moving:
        return []
    imports = [s for s, _, _ in chunks if isinstance(s, (ast.Import, ast.ImportFrom))]
    public = set()
    for s, _, _ in chunks:
        if _bound_names(s) == ["__all__"]:
            public = {e.value for e in s.value.elts}
    # every top-level name of tracker.py, and of the siblings, by home
    home: dict[str, str] = {}
    for s, _, _ in chunks:
        for n in _bound_names(s):
            if n != "__all__":
                home[n] = where.get(n, SPLIT_FROM)
    for mod in SPLIT:
        if path_of(mod).exists():
            for s, _, _ in _chunks(path_of(mod).read_text())[2]:
                for n in _bound_names(s):
                    if n != "__all__":
                        home.setdefault(n, mod)
    report = []
    by_target: dict[str, list] = {}
    for s, a, b in moving:
        target = where[next(n for n in _bound_names(s) if n in where)]
        by_target.setdefault(target, []).append((s, "".join(lines[a:b])))
    for target, parts in by_target.items():
        report.append(f"split {len(parts)} definitions of {SPLIT_FROM} -> {target}")
        if dry:
            continue
        path = path_of(target)
        old = {}
        if path.exists():
            for s, a, b in _chunks(path.read_text())[2]:
                for n in _bound_names(s):
                    old[n] = (a, b)
        body_parts = []
        existing = path.read_text() if path.exists() else None
        if existing is not None:
            ex_lines = existing.splitlines(keepends=True)
            for s, text in parts:
                name = _bound_names(s)[0]
                if name in old:
                    a, b = old[name]
                    ex_lines[a:b] = [text]
                else:
                    ex_lines.append(text)
            path.write_text("".join(ex_lines))
            continue
        body_parts = [text for _, text in parts]
        stmts = [s for s, _ in parts]
        _write_module(path, target, stmts, body_parts, imports, home, public)
        git("add", str(path))
    if dry:
        return report
    # what stays in tracker.py
    keep_chunks = [(s, a, b) for s, a, b in chunks if (s, a, b) not in moving]
    doc = ast.get_docstring(tree)
    stmts = [
        s for s, _, _ in keep_chunks
        if not isinstance(s, (ast.Import, ast.ImportFrom)) and _bound_names(s) != ["__all__"]
        and not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
    ]
    texts = ["".join(lines[a:b]) for s, a, b in keep_chunks if s in stmts]
    _write_module(src_path, SPLIT_FROM, stmts, texts, imports, home, public, doc=doc)
    return report


def _write_module(path, module, stmts, texts, imports, home, public, doc=None):
    used = _used_names(stmts)
    defined = {n for s in stmts for n in _bound_names(s)}
    lines = _import_lines(imports, used)
    siblings: dict[str, list[str]] = {}
    for name in sorted(used - defined):
        if name in home and home[name] != module:
            siblings.setdefault(home[name], []).append(name)
    for mod, names in sorted(siblings.items()):
        lines.append(f"from {mod} import {', '.join(names)}")
    doc = doc or SPLIT_DOCS.get(module, "")
    exported = sorted(n for n in defined if n in public)
    head = f'"""{doc}\n"""\n\n' if "\n" in doc else f'"""{doc}"""\n\n'
    out = head + _render_imports(lines) + "\n\n"
    if exported:
        out += "__all__ = [\n" + "".join(f'    "{n}",\n' for n in exported) + "]\n\n"
    out += "\n"
    body = "".join(t if t.endswith("\n") else t + "\n" for t in texts)
    out += re.sub(r"\n{4,}", "\n\n\n", body).lstrip("\n")
    path.write_text(_wrap_long_imports(out))


def _wrap_long_imports(text: str, indent: str = "") -> str:
    out = []
    for line in text.splitlines():
        if line.startswith("from ") and " import " in line and len(indent + line) > 100:
            head, names = line.split(" import ", 1)
            out.append(f"{indent}{head} import (")
            out.extend(f"{indent}    {n.strip()}," for n in names.split(","))
            out.append(f"{indent})")
        else:
            out.append(indent + line)
    return "\n".join(out) + "\n"


# -- 3. imports ----------------------------------------------------------------------


def _split_home(package: str, name: str) -> str | None:
    folder = ROOT / package.replace(".", "/")
    for path in sorted(folder.glob("*.py")):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text())
        for stmt in tree.body:
            if name in _bound_names(stmt):
                return f"{package}.{path.stem}"
    return None


def _defines(module: str, name: str) -> bool:
    path = path_of(module)
    if not path.exists():
        return False
    return any(name in _bound_names(stmt) for stmt in ast.parse(path.read_text()).body)


def new_home(module: str, name: str | None) -> str:
    """Where `name` of the old `module` lives now (the module itself when name is None)."""
    if name is not None and is_module(f"{module}.{name}") and (
        f"{module}.{name}" not in MOVES
    ):
        return module  # `from rnnexp.tracking import store`: a real submodule
    target = MOVES.get(module, module)
    if name is None:
        return target
    if (module in SPLIT_PACKAGES or target.rsplit(".", 1)[0] in SPLIT_PACKAGES) and not (
        _defines(target, name)
    ):
        found = _split_home(target.rsplit(".", 1)[0], name)
        if found:
            target = found
    return SYMBOL_MOVES.get((target, name), target)


def _rewrite_from(node) -> list[str] | None:
    module = node.module or ""
    if node.level or module.split(".")[0] != "rnnexp":
        return None
    groups: dict[str, list[str]] = {}
    changed = False
    for a in node.names:
        full = f"{module}.{a.name}"
        if full in MOVES and not (is_module(full) and full not in MOVES):
            new = MOVES[full]
            parent, base = new.rsplit(".", 1)
            alias = a.asname or (a.name if base != a.name else None)
            groups.setdefault(parent, []).append(f"{base} as {alias}" if alias else base)
            changed = True
            continue
        home = new_home(module, a.name)
        if home != module:
            changed = True
        groups.setdefault(home, []).append(_alias(a))
    if not changed:
        return None
    return [f"from {mod} import {', '.join(names)}" for mod, names in groups.items()]


def _rewrite_import(node) -> list[str] | None:
    out, changed = [], False
    for a in node.names:
        if a.name in MOVES:
            changed = True
            new = MOVES[a.name]
            out.append(f"import {new} as {a.asname}" if a.asname else f"import {new}")
        else:
            out.append(f"import {_alias(a)}")
    return out if changed else None


def rewrite_imports(path: Path) -> bool:
    source = path.read_text()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    lines = source.splitlines(keepends=True)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            new = _rewrite_from(node)
        elif isinstance(node, ast.Import):
            new = _rewrite_import(node)
        else:
            continue
        if new is None:
            continue
        first = lines[node.lineno - 1]
        indent = first[: len(first) - len(first.lstrip())]
        if node.col_offset != len(indent):
            print(f"  skipped (not alone on its line): {path}:{node.lineno}", file=sys.stderr)
            continue
        last = lines[node.end_lineno - 1]
        tail = last[node.end_col_offset :].rstrip("\n")
        text = "\n".join(_wrap_long_imports(line, indent).rstrip("\n") for line in new)
        edits.append((node.lineno - 1, node.end_lineno, text + tail + "\n"))
    import_lines = {
        i
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for i in range(node.lineno - 1, node.end_lineno)
    }
    for i, line in enumerate(lines):
        if i not in import_lines and "rnnexp" in line:
            new_line = _CODE_IN_STRING.sub(_rewrite_in_string, line)
            if new_line != line:
                edits.append((i, i + 1, new_line))
    if not edits:
        return False
    for a, b, text in sorted(edits, reverse=True):
        lines[a:b] = [text]
    path.write_text("".join(lines))
    return True


# `from rnnexp.x import a, b` inside a string: code run by a subprocess or a test
_CODE_IN_STRING = re.compile(r"^(\s*)(from rnnexp[\w.]* import [\w ,]+?)(?=$|;|\"|'|\\n)", re.M)


def _rewrite_in_string(match) -> str:
    indent, code = match.group(1), match.group(2)
    new = _rewrite_from(ast.parse(code.strip()).body[0])
    if new is None:
        return match.group(0)
    alone = match.end() == len(match.string.rstrip("\n"))
    return indent + (("\n" + indent) if alone else "; ").join(new)


_CODE_AFTER_QUOTE = re.compile(r"(?<=[\"'])from rnnexp[\w.]* import [\w ,]+?(?=;|\"|'|\\n)")


def _rewrite_after_quote(match) -> str:
    new = _rewrite_from(ast.parse(match.group(0)).body[0])
    return match.group(0) if new is None else "; ".join(new)


# -- 4. dotted and path references --------------------------------------------------


def _dotted(match) -> str:
    old, attr = match.group(1), match.group(2)
    if attr and is_module(f"{old}.{attr}") and f"{old}.{attr}" not in MOVES:
        return match.group(0)
    if attr:
        return f"{new_home(old, attr)}.{attr}"
    return MOVES[old]


def rewrite_text(path: Path) -> bool:
    text = path.read_text()
    new = text
    olds = sorted(MOVES, key=len, reverse=True)
    names = "|".join(re.escape(o) for o in olds)
    # rnnexp.OLD.attr: attribute paths (mock targets, docs); `rnnexp.OLD`; -m rnnexp.OLD
    new = re.sub(
        rf"(?<![\w.])({names})\.([A-Za-z_]\w*)",
        _dotted,
        new,
    )
    new = re.sub(rf"(?<=-m )({names})(?![\w.])", lambda m: MOVES[m.group(1)], new)
    new = re.sub(
        rf"(?<=[`(])({names})(?=[`)])",
        lambda m: m.group(1) if m.group(1) in TAG_NAMES else MOVES[m.group(1)],
        new,
    )
    # "from rnnexp[.X] import a, b" in a string (`python -c`): each name to its home, as
    # in code; a name that already lives where it is asked for is left alone.
    new = _CODE_AFTER_QUOTE.sub(_rewrite_after_quote, new)
    new = re.sub(
        rf"(?<=[\"'])import ({names})(?=[ ;\"'])",
        lambda m: m.group(0).replace(m.group(1), MOVES[m.group(1)]),
        new,
    )
    if path.suffix == ".md":
        new = _CODE_IN_STRING.sub(_rewrite_in_string, new)
    paths = "|".join(re.escape(o.replace(".", "/") + ".py") for o in olds)
    new = re.sub(
        rf"(?<![\w/])({paths})",
        lambda m: MOVES[m.group(1)[:-3].replace("/", ".")].replace(".", "/") + ".py",
        new,
    )
    if new != text:
        path.write_text(new)
        return True
    return False


def _pyproject(dry: bool) -> bool:
    path = ROOT / "pyproject.toml"
    text = path.read_text()
    m = re.search(r"^packages = \[(.*)\]$", text, re.M)
    have = [p.strip().strip('"') for p in m.group(1).split(",")]
    want = list(have)
    for package in PACKAGE_DOCS:
        if package not in want and (ROOT / package.replace(".", "/")).is_dir():
            want.insert(want.index("rnnexp.experiments"), package)
    if want == have:
        return False
    if not dry:
        new = "packages = [" + ", ".join(f'"{p}"' for p in want) + "]"
        path.write_text(text[: m.start()] + new + text[m.end() :])
    return True


def files(patterns) -> list[Path]:
    out = []
    for pattern in patterns:
        out.extend(p for p in ROOT.glob(pattern) if p.is_file())
    return sorted(set(out))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; say what would")
    args = parser.parse_args(argv)
    changes = move_files(args.check)
    changes += split_tracking(args.check)
    if _pyproject(args.check):
        changes.append("pyproject.toml: packages")
    code = [p for d in CODE_DIRS for p in (ROOT / d).rglob("*.py")]
    code = [p for p in code if str(p.relative_to(ROOT)) not in NOT_REWRITTEN]
    for path in sorted(code):
        if args.check:
            before = path.read_text()
            if rewrite_imports(path) or rewrite_text(path):
                changes.append(f"rewrite {path.relative_to(ROOT)}")
            path.write_text(before)
        elif rewrite_imports(path) | rewrite_text(path):
            changes.append(f"rewrite {path.relative_to(ROOT)}")
    for path in files(TEXT_GLOBS):
        if str(path.relative_to(ROOT)) in NOT_REWRITTEN:
            continue
        if args.check:
            before = path.read_text()
            if rewrite_text(path):
                changes.append(f"rewrite {path.relative_to(ROOT)}")
            path.write_text(before)
        elif rewrite_text(path):
            changes.append(f"rewrite {path.relative_to(ROOT)}")
    for line in changes:
        print(line)
    return 1 if args.check and changes else 0


if __name__ == "__main__":
    sys.exit(main())
