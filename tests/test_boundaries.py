"""Module boundaries: the rooms' rules (`tools/import_graph.py` reads the imports with ast)."""

import importlib.util
import json
import pathlib
import subprocess
import sys

from rnnexp.tracking.reporter import Reporter


def _imported_after(module: str) -> list[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def test_the_synthetic_reviews_do_not_import_the_imdb_loader():
    loaded = _imported_after("rnnexp.data.synthetic_reviews")
    assert "rnnexp.data.records" in loaded
    assert "rnnexp.data.imdb" not in loaded


def test_data_errors_live_apart_from_every_loader():
    loaded = _imported_after("rnnexp.data.records")
    assert not [m for m in loaded if m.startswith("rnnexp.data.") and m != "rnnexp.data.records"]


def test_the_trackers_reporters_implement_the_protocol():
    from rnnexp.tracking.reporter import NullReporter
    from rnnexp.tracking.mlflow_reporter import MlflowReporter

    assert isinstance(NullReporter(), Reporter)
    for method in ("log_metrics", "log_series", "set_tags", "log_text", "log_figure"):
        assert callable(getattr(MlflowReporter, method, None)), method


def test_a_reporter_missing_a_method_is_not_one():
    class MetricsOnly:
        def log_metrics(self, metrics, step=None):
            pass

    assert not isinstance(MetricsOnly(), Reporter)


def _graph():
    path = pathlib.Path(__file__).resolve().parent.parent / "tools" / "import_graph.py"
    spec = importlib.util.spec_from_file_location("import_graph", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, module.graph()[0]


def _imports(edges, room: str) -> set[str]:
    return {d for m, deps in edges.items() if m == room or m.startswith(room + ".") for d in deps}


def test_no_module_imports_itself_back():
    module, edges = _graph()
    assert module.circles(edges) == []


def test_the_executors_stand_side_by_side():
    _, edges = _graph()
    assert "rnnexp.sweep.ray" not in edges["rnnexp.sweep.local"]
    assert "rnnexp.sweep.local" not in edges["rnnexp.sweep.ray"]


def test_what_people_read_does_not_run_sweeps():
    _, edges = _graph()
    assert not {d for d in _imports(edges, "rnnexp.report") if d.startswith("rnnexp.sweep")}


def test_lower_rooms_know_nothing_of_the_rooms_above_them():
    _, edges = _graph()
    above = {
        "rnnexp.tracking": ("sweep", "recipes", "cli"),  # compare may read report.stats
        "rnnexp.layers": ("sweep", "recipes", "cli", "report", "tracking"),
        "rnnexp.data": ("sweep", "recipes", "cli", "report", "tracking", "layers"),
    }
    for room, rooms in above.items():
        found = {d for d in _imports(edges, room) if d.split(".")[1] in rooms}
        assert not found, (room, found)


def test_mlflow_is_imported_only_in_tracking():
    root = pathlib.Path(__file__).resolve().parent.parent / "rnnexp"
    users = {
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if any(
            line.lstrip().startswith(("import mlflow", "from mlflow"))
            for line in p.read_text().splitlines()
        )
    }
    assert users and all(u.startswith("tracking/") for u in users), users
