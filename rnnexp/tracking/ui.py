"""The MLflow UI: its links, and serving it (`python -m rnnexp ui`)."""

import contextlib
import json
import os
import subprocess

from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from rnnexp.tracking.store import store_errors
from rnnexp.tracking.store_uri import DEFAULT_TRACKING_URI

__all__ = [
    "browse_lines",
    "compare_url",
    "experiment_url",
    "experiments_url",
    "run_url",
    "serve_ui",
    "ui_base",
    "ui_command",
    "ui_links",
]


def ui_command(uri: str) -> str:
    """The command that serves the MLflow UI on store `uri`."""
    if uri.startswith(("http://", "https://")):
        return f"open {uri}"  # a tracking server serves its own UI
    if uri == DEFAULT_TRACKING_URI:
        return "python -m rnnexp ui"
    return f"python -m rnnexp ui --tracking-uri {uri}"


# -- what a person reads in the UI: run names and deep links -------------------
UI_ADDRESS = "http://127.0.0.1:5000"  # where `python -m rnnexp ui` serves by default
# Without it the UI opens an experiment on its GenAI view (traces, prompts), whatever
# the experiment's kind tag says (see EXPERIMENT_KIND); with it, on the Model-training view.
ML_VIEW = "workflowType=machine_learning"


def ui_base(uri: str, address: str | None = None) -> str:
    """The UI's address for store `uri`: `address`, a tracking server itself, or `rnnexp ui`'s."""
    if address:
        return address.rstrip("/")
    if uri.startswith(("http://", "https://")):
        return uri.rstrip("/")
    return UI_ADDRESS


def experiments_url(base: str) -> str:
    """The UI's experiment list, opening experiments on their Model-training view."""
    return f"{base}/#/experiments?{ML_VIEW}"


def experiment_url(base: str, experiment_id) -> str:
    return f"{base}/#/experiments/{experiment_id}/runs?{ML_VIEW}"


def run_url(base: str, experiment_id, run_id: str, artifact: str | None = None) -> str:
    """A run's page (or one of its artifacts) in the Model-training view."""
    tail = f"/artifactPath/{artifact}" if artifact else ""
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}{tail}?{ML_VIEW}"


def compare_url(base: str, experiment_id, run_ids) -> str:
    """The UI's page comparing `run_ids` side by side (a sweep's trials)."""
    from urllib.parse import quote

    runs = quote(json.dumps(list(run_ids), separators=(",", ":")), safe="")
    experiments = quote(json.dumps([str(experiment_id)]), safe="")
    return f"{base}/#/compare-runs?runs={runs}&experiments={experiments}&{ML_VIEW}"


def artifact_src(run_id: str, path: str) -> str:
    """An artifact's URL relative to the UI's root (an image in a run's Description)."""
    from urllib.parse import quote

    return f"get-artifact?path={quote(path)}&run_uuid={run_id}"


def browse_lines(tracker, parent_id: str, children: list[str], address: str | None = None):
    """Where to see a sweep in the UI: its parent run and its trials side by side."""
    base, eid = ui_base(tracker.uri, address), tracker.experiment_id
    if address or tracker.uri.startswith(("http://", "https://")):
        lines = ["browse:"]
    else:
        lines = [f"browse: `{ui_command(tracker.uri)}`, then open"]
    lines.append(f"  the study   {run_url(base, eid, parent_id)}")
    if len(children) > 1:
        lines.append(f"  its trials  {compare_url(base, eid, children)}")
    return lines


def ui_links(uri: str, address: str) -> list[str]:
    """What `rnnexp ui` prints once its server answers: deep links into the UI.

    The experiment list, then each experiment's newest sweep (its parent run)
    and that sweep's trials side by side, all in the Model-training view.
    """
    lines = [f"MLflow UI: {experiments_url(address)}"]
    client = MlflowClient(tracking_uri=uri)
    with store_errors(uri):
        for experiment in client.search_experiments(order_by=["name ASC"]):
            eid = experiment.experiment_id
            sweeps = client.search_runs(
                [eid],
                filter_string="tags.`rnnexp.role` = 'sweep'",
                order_by=["attributes.start_time DESC"],
                max_results=1,
            )
            if not sweeps:
                continue
            sweep = sweeps[0]
            children = client.search_runs(
                [eid],
                filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{sweep.info.run_id}'",
                order_by=["attributes.start_time ASC"],
                max_results=50000,
            )
            state = sweep.data.tags.get("finding", sweep.info.status)
            lines.append(f"{experiment.name}: newest sweep {sweep.info.run_name} ({state})")
            lines.append(f"  the study   {run_url(address, eid, sweep.info.run_id)}")
            if len(children) > 1:
                ids = [c.info.run_id for c in children]
                lines.append(f"  its trials  {compare_url(address, eid, ids)}")
    lines.append(
        "(in a fresh browser MLflow opens an experiment clicked in its list on the GenAI "
        "view: these links, or 'Got it' and then the sidebar's 'Model training' switch, "
        "which the browser remembers, show its runs)"
    )
    return lines


def _answers(server, address: str, every: float = 0.5) -> bool:
    """Wait until the UI at `address` answers (True) or its server process exits (False)."""
    import time
    import urllib.error
    import urllib.request

    while server.poll() is None:
        try:
            urllib.request.urlopen(address + "/health", timeout=2).close()
            return True
        except urllib.error.HTTPError:
            return True  # it answers, if not with a page
        except OSError:
            time.sleep(every)
    return False


def serve_ui(uri: str, host: str = "127.0.0.1", port: int = 5000, on_ready=None) -> int:
    """Run the MLflow UI on the store `uri` until Ctrl-C or SIGTERM; its exit code.

    The server runs in its own process group (it starts a web server and job
    consumers), and stopping this process stops the whole group.

    Args:
        on_ready: called with the UI's address (`http://HOST:PORT`) once it answers.
    """
    import signal
    import sys

    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri]
    command += ["--host", host, "--port", str(port)]
    server = subprocess.Popen(command, start_new_session=True)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        if on_ready is not None:
            local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
            address = f"http://[{local}]:{port}" if ":" in local else f"http://{local}:{port}"
            if _answers(server, address):
                on_ready(address)
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        # Also when the server exits by itself (a bad store): its job runner
        # would otherwise linger on for many seconds.
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, sig)
            try:
                server.wait(timeout=wait)
                if not _group_alive(server.pid):
                    break
            except subprocess.TimeoutExpired:
                continue
        signal.signal(signal.SIGTERM, previous)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
