"""Module boundaries: no import cycles in data/, one declared reporter interface."""

import json
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
    from rnnexp.tracking.mlflow_reporter import Reporter as MlflowReporter

    assert isinstance(NullReporter(), Reporter)
    for method in ("log_metrics", "log_series", "set_tags", "log_text", "log_figure"):
        assert callable(getattr(MlflowReporter, method, None)), method


def test_a_reporter_missing_a_method_is_not_one():
    class MetricsOnly:
        def log_metrics(self, metrics, step=None):
            pass

    assert not isinstance(MetricsOnly(), Reporter)
