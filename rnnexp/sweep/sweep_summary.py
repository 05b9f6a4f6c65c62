"""What a sweep leaves on its parent run: the results table, the study figure, the Descriptions.

Also the partial summary a Ctrl-C leaves, and the exact command that finishes the sweep.
"""

import csv
import io
import shlex
import tempfile
from pathlib import Path

from rnnexp import console
from rnnexp.results import TrialResult
from rnnexp.report import card as finding_card
from rnnexp.report import plots

__all__ = [
    "describe_sweep",
    "log_answer_figure",
    "log_partial_summary",
    "results_table",
    "resume_command",
    "write_table",
]


def results_table(results: list[TrialResult]) -> list[dict]:
    rows = []
    for r in results:
        row = {**r.trial, "status": r.status}
        row.update(r.metrics)
        if r.error:
            row["error"] = r.error
        rows.append(row)
    return rows


def write_table(rows, directory: Path) -> list[Path]:
    csv_path, md_path = directory / "results.csv", directory / "results.md"
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    csv_path.write_text(buf.getvalue())
    md_path.write_text(console.format_table(rows, columns, markdown=True) + "\n")
    return [csv_path, md_path]


def log_answer_figure(exp, cfg, results, parent):
    """The study's figure, first among the summary's artifacts (`00_answer.png`)."""
    from rnnexp.report import plots

    try:
        figure = exp.answer_figure(cfg, results)
    except Exception as err:  # a figure that cannot be drawn must not cost the finding
        reason = f"{type(err).__name__}: {err}".splitlines()[0]
        console.say(f"rnnexp: no {plots.ANSWER_FIGURE} ({reason})")
        return
    try:
        parent.log_figure(figure, plots.ANSWER_FIGURE)
        narrow = plots.CARD_WIDTH_PX / figure.get_figwidth()
        parent.log_figure(figure, plots.CARD_FIGURE, dpi=min(narrow, figure.dpi))
    finally:
        plots.close(figure)


def log_partial_summary(exp, cfg, parent, tracker, trials, results):
    """Ctrl-C: log and print what the finished trials say, and how to finish the sweep."""
    finished = [r for r in results if r is not None and r.status == "FINISHED"]
    mark = f"{len(finished)} of {len(trials)} trials"
    console.say("")
    console.say(f"interrupted after {mark}; a partial summary ({mark}):")
    try:
        if finished:
            rows = results_table(finished)
            console.say(console.format_table(rows))
            with (
                tempfile.TemporaryDirectory(prefix="rnnexp-partial-") as tmp,
                plots.noted(f"partial: {mark} (interrupted)"),
            ):
                tmp = Path(tmp)
                paths = write_table(rows, tmp)
                try:
                    paths += exp.summarize(cfg, finished, tmp)
                except Exception as err:  # noqa: BLE001 - a partial sweep may lack a figure's data
                    console.say(f"no partial figure: {type(err).__name__}: {err}".splitlines()[0])
                for path in paths:
                    parent.log_artifact(path, "summary")
            parent.set_tags({"summary.partial": mark})
            console.say(f'logged to the parent run\'s summary/ (marked "partial: {mark}")')
    except KeyboardInterrupt:
        console.say("(partial summary skipped: interrupted again)")
    except Exception as err:  # noqa: BLE001 - the resume line below matters more
        console.say(f"no partial summary: {type(err).__name__}: {err}".splitlines()[0])
    console.say(f"finish it with: {resume_command(exp.name, parent.run_id, tracker.uri)}")


def resume_command(name: str, parent_id: str, uri: str) -> str:
    """The exact command that finishes sweep `parent_id` (naming its store unless the default)."""
    from rnnexp.tracking.store_uri import DEFAULT_TRACKING_URI

    store = "" if uri == DEFAULT_TRACKING_URI else f" --tracking-uri {shlex.quote(uri)}"
    return f"python -m rnnexp run {name} --resume {parent_id}{store}"


def describe_sweep(exp, tracker, parent_id, run_name, finding, results, failed):
    """The parent run's Description (the finding card) and the experiment's (its question)."""
    from rnnexp.report import plots
    from rnnexp.tracking import ui

    eid = tracker.experiment_id
    summary = [p for p in tracker.artifact_files(parent_id, "summary") if p.endswith(".png")]
    figure = inline = None
    if plots.ANSWER_FIGURE in tracker.artifact_files(parent_id):
        figure = plots.ANSWER_FIGURE
        inline = plots.CARD_FIGURE if plots.CARD_FIGURE in summary else figure
    elif summary:  # a sweep without a study figure: its first summary plot
        figure = inline = summary[0]
    children = [r.run_id for r in results if r.run_id]
    note = ""
    if failed:
        note = f"{len(failed)} of {len(results)} trial(s) did not finish: " + "; ".join(
            f"`{exp.trial_name(r.trial)}` {r.status}" for r in failed
        )
    markdown = finding_card.run_markdown(
        exp,
        finding,
        results,
        figure_src=inline and ui.artifact_src(parent_id, inline),
        figure_link=figure and ui.run_url("", eid, parent_id, figure),
        compare_link=ui.compare_url("", eid, children) if len(children) > 1 else None,
        trials_note=note,
    )
    tracker.set_note(parent_id, markdown)
    newest = f"Newest sweep: [{run_name}]({ui.run_url('', eid, parent_id)}): " + (
        finding_card.verdict(exp, finding)
    )
    tracker.describe(finding_card.experiment_markdown(exp, latest=newest))
