"""`python -m rnnexp`: list, show, run, robustness, compare, ui, bench, docs.

Bad input (unknown experiment, profile or key; wrong type or value) is refused
before anything trains, with a one-line error and exit status 2.
"""

import argparse
import contextlib
import json
import os
import signal
import sys

from rnnexp import stopping

__all__ = ["main"]

MAX_ROBUSTNESS_SEEDS = 1000  # a seed is a whole sweep: minutes each


def _quiet_backends():
    # TensorFlow's C++ start-up chatter hides the lines users need.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rnnexp",
        description="Recurrent-network experiments, tracked in MLflow.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    listing = sub.add_parser("list", help="every experiment and what it shows")
    listing.add_argument("--format", choices=["text", "markdown"], default="text")
    listing.add_argument(
        "--write", metavar="README", help="replace the markdown table between its markers in README"
    )

    def add_config_args(p):
        p.add_argument("name", help="experiment name (see `list`)")
        p.add_argument("--profile", default="default", help="config profile (default: default)")
        p.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a config value by dotted key, e.g. model.units=64 (repeatable)",
        )
        p.add_argument("--seed", type=int, help="base random seed (same as --set seed=N)")

    show = sub.add_parser("show", help="what an experiment shows, costs and found; its config")
    add_config_args(show)
    show.add_argument(
        "--format", choices=["text", "json"], default="text", help="json: for machines"
    )

    run = sub.add_parser("run", help="run an experiment (a sweep of tracked trials)")
    add_config_args(run)
    run.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlruns/mlflow.db)",
    )
    run.add_argument("--dry-run", action="store_true", help="print config and planned trials only")
    run.add_argument(
        "--workers",
        type=int,
        default=1,
        help="run trials in N processes on this machine (default 1)",
    )
    run.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="where trials run: local (this machine; see --workers) or ray (each trial a Ray "
        "task; needs `pip install rnnexp[ray]`)",
    )
    run.add_argument(
        "--address",
        help="with --executor ray: the Ray cluster (e.g. HOST:6379 from `ray start --head`); "
        "default: a local Ray started for this sweep",
    )
    run.add_argument(
        "--distribute",
        choices=["auto", "none", "mirrored"],
        default="auto",
        help="data-parallel training: auto = MirroredStrategy when >1 GPU is visible",
    )
    run.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        metavar="PARENT_RUN_ID",
        help="finish an interrupted sweep (default: the newest unfinished one): only its "
        "unfinished trials run again",
    )
    run.add_argument(
        "--check",
        action="store_true",
        help="exit 1 unless the experiment's expected finding is reproduced",
    )
    run.add_argument("--wide", action="store_true", help="print every column of the results table")
    _add_verbose(run)

    _add_robustness_parsers(sub)

    compare = sub.add_parser(
        "compare", help="a recorded sweep's trials in the study's order, its pivot and finding"
    )
    compare.add_argument("name", help="experiment name")
    compare.add_argument("--run", help="parent run id (or a prefix); default: the newest sweep")
    compare.add_argument(
        "--metric", help="sort trials by this final metric, best first (default: study order)"
    )
    compare.add_argument(
        "--ascending",
        action="store_true",
        help="sort lowest first (by --metric, or the experiment's metric)",
    )
    compare.add_argument("--format", choices=["table", "markdown", "csv"], default="table")
    compare.add_argument(
        "--wide", action="store_true", help="every metric in the table (default: what fits 120)"
    )
    compare.add_argument(
        "--plots", metavar="DIR", help="download the sweep's summary plots into DIR"
    )
    compare.add_argument("--tracking-uri", help="MLflow tracking URI (as for run)")
    ui = sub.add_parser("ui", help="the MLflow UI on the project's store")
    ui.add_argument("--tracking-uri", help="MLflow tracking URI (as for run)")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=5000)
    bench = sub.add_parser("bench", help="training throughput: our cells vs Keras built-ins")
    from rnnexp.bench import add_arguments

    add_arguments(bench)
    return parser


def _add_verbose(p):
    p.add_argument(
        "--verbose",
        action="store_true",
        help="also show the frameworks' start-up and INFO lines (TensorFlow, MLflow)",
    )


def _add_robustness_parsers(sub):
    rob = sub.add_parser(
        "robustness", help="run a profile at several seeds: pass rate and margin of each check"
    )
    rob.add_argument("name", help="experiment name (see `list`)")
    rob.add_argument("--profile", default="ci", help="config profile (default: ci)")
    rob.add_argument("--seeds", type=int, default=5, help="how many seeds (default 5)")
    rob.add_argument(
        "--start",
        type=int,
        default=0,
        help="the first absolute seed (default 0)",
    )
    rob.add_argument(
        "--stride",
        type=int,
        help="seeds start, start+stride, ... (default: how many seeds one sweep uses, "
        "so no two sweeps share a trial; 1 for most ci profiles)",
    )
    rob.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value by dotted key for every seed (repeatable)",
    )
    rob.add_argument("--tracking-uri", help="MLflow tracking URI (as for run)")
    rob.add_argument(
        "--record",
        metavar="PATH",
        help="JSON record to merge the outcomes into (default: robustness/NAME-PROFILE.json; "
        "'-' for none)",
    )
    rob.add_argument(
        "--replace",
        action="store_true",
        help="run seeds the record holds again, and drop its outcomes for another config, "
        "finding or layers (each drop is said); without it they are kept and refused",
    )
    rob.add_argument(
        "--check", action="store_true", help="exit 1 unless the finding held at every seed"
    )
    _add_verbose(rob)
    table = sub.add_parser(
        "robustness-table", help="the robustness table (docs/robustness.md), from the records"
    )
    table.add_argument("--records", default="robustness", help="folder of records")
    compact = sub.add_parser(
        "robustness-compact",
        help="drop from a record's trials the extras its experiment no longer keeps "
        "(`Experiment.record_extras`); outcomes and checks stay as they are",
    )
    compact.add_argument("name", help="experiment name (see `list`)")
    compact.add_argument("--records", default="robustness", help="folder of records")
    rejudge = sub.add_parser(
        "robustness-rejudge",
        help="judge a record's outcomes again by the experiment's current finding (a restated "
        "check), from the trials it kept; the sweeps must be those the profile runs now",
    )
    rejudge.add_argument("name", help="experiment name (see `list`)")
    rejudge.add_argument("--records", default="robustness", help="folder of records")
    table.add_argument(
        "--write", metavar="README", help="replace the table between its markers in this file"
    )
    docs = sub.add_parser(
        "docs",
        help="the README's findings table, docs/experiments/*.md and their figures, from the "
        "records: list what drifted (exit 1), or --write",
    )
    docs.add_argument(
        "--write", action="store_true", help="rewrite every generated page, table and figure"
    )
    docs.add_argument(
        "--root", default=".", help="the checkout to write into (default: the working directory)"
    )


def _overrides(args) -> dict:
    from rnnexp.config import parse_assignment

    overrides = dict(parse_assignment(text) for text in args.overrides)
    if args.seed is not None:
        overrides["seed"] = args.seed
    return overrides


def _resolve(args):
    from rnnexp import catalog

    exp = catalog.get(args.name)
    overrides = _overrides(args)
    return exp, exp.resolve(args.profile, overrides), overrides


def _cmd_list(args):
    from rnnexp import catalog

    experiments = catalog.load_catalog()
    if args.format == "markdown" or args.write:
        from rnnexp.report.experiments_table import render, write

        if args.write:
            write(args.write, render(experiments))
            print(f"wrote the experiments table into {args.write}")
        else:
            print(render(experiments))
        return 0
    width = max(len(n) for n in experiments)
    for name in sorted(experiments):
        exp = experiments[name]
        print(
            f"{name.ljust(width)}  {exp.description}  [profiles: {', '.join(exp.profile_names())}]"
        )
    return 0


def _cmd_show(args):
    from rnnexp.config import to_dict
    from rnnexp.report.experiments_table import row

    exp, cfg, _ = _resolve(args)
    shown = {
        "experiment": exp.name,
        "profile": args.profile,
        "description": exp.description,
        **row(exp),
        "config": to_dict(cfg),
    }
    if args.format == "json":
        print(json.dumps(shown, indent=2, ensure_ascii=False))
    else:
        from rnnexp.console import show_text

        print(show_text(shown))
    return 0


def _cmd_run(args):
    from rnnexp import console, startup
    from rnnexp.sweep import runner
    from rnnexp.config import ConfigError, to_dict
    from rnnexp.sweep.trial import trial_key

    exp, cfg, overrides = _resolve(args)
    if args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    if args.address is not None and args.executor != "ray":
        raise ConfigError("--address names a Ray cluster; add --executor ray")
    backend = startup.check_backend()  # read without importing Keras
    if args.distribute == "mirrored" and backend != "tensorflow":
        raise ConfigError(
            "--distribute mirrored is TensorFlow's MirroredStrategy; Keras's backend here is "
            f"{backend!r}: use --distribute none, or KERAS_BACKEND=tensorflow"
        )
    if args.executor == "ray" and not args.dry_run:
        from rnnexp.sweep.ray import check_ray

        check_ray(args.address)  # Ray missing, or an address that is not one: before any run
    tracker, resume, finished = None, None, set()
    if args.resume is not None:
        if not args.resume.strip():
            raise ConfigError(
                "--resume takes a parent run id, or nothing for the newest unfinished sweep; got ''"
            )
        if args.overrides or args.seed is not None or args.profile != "default":
            raise ConfigError(
                "--resume reuses the sweep's own profile and overrides; "
                "drop --set, --seed and --profile"
            )
        from rnnexp.tracking.tracker import Tracker

        tracker = Tracker(exp.name, args.tracking_uri)
        sweep = _sweep_to_resume(tracker, None if args.resume == "latest" else args.resume)
        resume, args.profile = sweep.run_id, sweep.tags.get("rnnexp.profile", "default")
        overrides = json.loads(sweep.tags.get("rnnexp.overrides", "{}"))
        cfg = exp.resolve(args.profile, overrides)
        finished = {
            c.tags.get("rnnexp.trial") for c in tracker.trial_runs(resume) if c.status == "FINISHED"
        }
    if args.dry_run:
        trials = runner.plan(exp, cfg)
        print(
            json.dumps(
                {
                    "experiment": exp.name,
                    "profile": args.profile,
                    "data_source": exp.data_source(cfg),
                    "config": to_dict(cfg),
                    **({"resume": resume} if resume else {}),
                },
                indent=2,
            )
        )
        print(f"data: {_planned_data(exp, cfg)}")
        print(
            f"estimated time: {console.recorded_estimate(exp, args.profile, cfg, overrides)}, "
            "on the machine that recorded them"
        )
        kept = [t for t in trials if trial_key(t) in finished]
        detail = f", {len(trials) - len(kept)} to run, {len(kept)} kept" if resume else ""
        print(f"planned trials ({len(trials)}{detail}):")
        for i, trial in enumerate(trials):
            mark = "  (finished, kept)" if trial in kept else ""
            print(f"  {i + 1:3d}. {console.trial_label(trial)}{mark}")
        return 0
    if tracker is None:
        from rnnexp.tracking.tracker import Tracker

        tracker = Tracker(exp.name, args.tracking_uri)  # checks the store; creates nothing yet
    startup.import_backend(args.verbose)
    outcome = runner.run_experiment(
        exp,
        cfg,
        profile=args.profile,
        tracker=tracker,
        overrides=overrides,
        workers=args.workers,
        resume=resume,
        distribute=args.distribute,
        executor=args.executor,
        address=args.address,
        wide=args.wide,
    )
    if outcome.lost:
        console.say(
            f"{outcome.lost} trial(s) lost with a dead worker process; the sweep is marked "
            f"FAILED: `python -m rnnexp run {exp.name} --resume` runs them"
        )
        return 1
    if args.check and not outcome.finding.passed:
        console.say(f"--check: the expected finding was not reproduced ({exp.name})")
        return 1
    return 0


def _planned_data(exp, cfg) -> str:
    """Which data a run of `cfg` will use, decided without loading it (nor a framework)."""
    from rnnexp.data import imdb
    from rnnexp.names import plain

    data = getattr(cfg, "data", None)
    if not isinstance(data, imdb.ImdbDataConfig):
        return plain(exp.data_source(cfg))
    source, path = data.source, data.path or os.environ.get(imdb.PATH_ENV, "")
    if source == "synthetic":
        return "the synthetic stand-in (data.source=synthetic), not IMDB"
    if source == "path" or (source == "auto" and path):
        return f"real IMDB at {path or '(data.path is empty)'}"
    if source in ("tfds", "keras"):
        return f"real IMDB from {'TFDS' if source == 'tfds' else 'the Keras cache or a download'}"
    return (
        "real IMDB from TFDS or the Keras cache if prepared or downloadable, else the synthetic "
        f"stand-in (set ${imdb.PATH_ENV} to a local copy to be sure)"
    )


def _cmd_robustness(args):
    from pathlib import Path

    from rnnexp import catalog, startup
    from rnnexp.config import ConfigError, parse_assignment
    from rnnexp.sweep.robustness_record import load_record, sweep_seed_span
    from rnnexp.sweep.robustness import run_robustness
    from rnnexp.tracking.tracker import Tracker

    startup.check_backend()
    if not 1 <= args.seeds <= MAX_ROBUSTNESS_SEEDS:
        raise ConfigError(f"--seeds must be 1-{MAX_ROBUSTNESS_SEEDS}, got {args.seeds}")
    exp = catalog.get(args.name)
    overrides = dict(parse_assignment(text) for text in args.overrides)
    if "seed" in overrides:
        raise ConfigError("robustness sets the seed itself; use --start and --seeds")
    # refuses bad input before anything trains
    cfg = exp.resolve(args.profile, {**overrides, "seed": args.start})
    stride = args.stride or sweep_seed_span(exp, cfg)
    if stride < 1:
        raise ConfigError(f"--stride must be >= 1, got {stride}")
    seeds = [args.start + k * stride for k in range(args.seeds)]
    exp.resolve(args.profile, {**overrides, "seed": seeds[-1]})  # the last seed is in range too
    if args.record == "-":
        record_path = None
    else:
        record_path = Path(args.record or f"robustness/{exp.name}-{args.profile}.json")
        load_record(record_path)  # a record that cannot be merged into: before any import
    startup.import_backend(args.verbose)
    record = run_robustness(
        exp,
        profile=args.profile,
        seeds=seeds,
        tracker=Tracker(exp.name, args.tracking_uri),
        overrides=overrides,
        record_path=record_path,
        replace=args.replace,
    )
    this_run = [o for o in record["outcomes"] if o["seed"] in seeds]
    return 1 if args.check and not all(o["passed"] for o in this_run) else 0


def _cmd_docs(args):
    from pathlib import Path

    from rnnexp import catalog
    from rnnexp.report import pages

    root = Path(args.root)
    experiments = catalog.load_catalog()
    if args.write:
        written = pages.write_all(experiments, root)
        print(f"wrote {len(written)} files: the README's table, docs/ pages and figures")
        return 0
    drifted = pages.stale(experiments, root)
    for path in drifted:
        print(f"stale: {path}")
    if drifted:
        print("regenerate with `python -m rnnexp docs --write`")
        return 1
    print("every generated page and table matches the records")
    return 0


def _records_of(args):
    """`(experiment, its record files in --records)`; none is an error."""
    from pathlib import Path

    from rnnexp import catalog
    from rnnexp.config import ConfigError

    exp = catalog.get(args.name)
    paths = sorted(Path(args.records).glob(f"{exp.name}-*.json"))
    if not paths:
        raise ConfigError(f"no records of {exp.name} in {args.records}/")
    return exp, paths


def _cmd_robustness_compact(args):
    from rnnexp.sweep.robustness_record import compact_record

    exp, paths = _records_of(args)
    for path in paths:
        before, after, dropped = compact_record(path, exp)
        what = f"dropped the extras {', '.join(dropped)}" if dropped else "nothing to drop"
        print(f"{path}: {what} ({before / 1e6:.2f} MB -> {after / 1e6:.2f} MB)")
    return 0


def _cmd_robustness_rejudge(args):
    from rnnexp.sweep.robustness_record import RecordError, rejudge_record

    exp, paths = _records_of(args)
    refused = 0
    for path in paths:
        try:
            verdicts = rejudge_record(path, exp)
        except RecordError as err:  # the others may still be judged
            print(f"error: {err}", file=sys.stderr)
            refused += 1
            continue
        flipped = [f"seed {s} {'PASS' if n else 'FAIL'}" for s, was, n in verdicts if was != n]
        passed = sum(now for _, _, now in verdicts)
        print(
            f"{path}: {passed} of {len(verdicts)} outcomes pass as judged now"
            + (f" (changed: {', '.join(flipped)})" if flipped else "")
        )
    return 2 if refused else 0


def _cmd_robustness_table(args):
    from rnnexp.report.robustness_table import render, write_between_markers

    table = render(args.records)
    if args.write:
        write_between_markers(args.write, table)
        print(f"wrote the robustness table into {args.write}")
    else:
        print(table)
    return 0


def _sweep_to_resume(tracker, run_id: str | None):
    """The sweep `--resume` finishes: `run_id`, or the newest unfinished one nobody runs."""
    from rnnexp.tracking.compare import find_sweep
    from rnnexp.config import ConfigError
    from rnnexp.tracking.lease import SweepBusy, live_owner

    sweep = find_sweep(tracker, run_id, unfinished=run_id is None)
    if run_id is None:  # skip sweeps other processes are running now
        candidates = [s for s in tracker.sweeps() if s.status != "FINISHED"]
        sweep = next((s for s in candidates if live_owner(s.tags) is None), sweep)
    if sweep.status == "FINISHED":
        raise ConfigError(
            f"sweep {sweep.run_id} already FINISHED; `compare {tracker.experiment_name} --run "
            f"{sweep.run_id[:8]}` shows it, `run {tracker.experiment_name}` starts a new one"
        )
    who = live_owner(sweep.tags)
    if who:
        raise SweepBusy(
            f"sweep {sweep.run_id} is still being run by {who}; let it finish, or stop it "
            "and --resume again"
        )
    return sweep


def _cmd_compare(args):
    from pathlib import Path

    from rnnexp import catalog
    from rnnexp.tracking.compare import compare
    from rnnexp.config import ConfigError

    exp = catalog.get(args.name)
    if args.run is not None and not args.run.strip():
        raise ConfigError("--run takes a parent run id (or a prefix); got ''")
    if args.plots is not None and not args.plots.strip():
        raise ConfigError("--plots takes a folder; got ''")
    if args.plots and Path(args.plots).exists() and not Path(args.plots).is_dir():
        raise ConfigError(f"--plots takes a folder to download into; {args.plots} is a file")
    from rnnexp.tracking.tracker import Tracker

    tracker = Tracker(exp.name, args.tracking_uri, reading=True)
    compare(
        tracker,
        run_id=args.run,
        metric=args.metric or exp.metric,
        ascending=args.ascending or (args.metric is None and not exp.higher_is_better),
        fmt=args.format,
        plots_dir=args.plots,
        metric_given=args.metric is not None,
        sort=args.metric is not None or args.ascending,
        exp=exp,
        wide=args.wide,
    )
    return 0


def _cmd_ui(args):
    import socket

    from rnnexp.config import ConfigError
    from rnnexp.tracking.store import check_store, resolve_tracking_uri
    from rnnexp.tracking.ui import serve_ui, ui_links

    if not 1 <= args.port <= 65535:
        raise ConfigError(f"--port must be 1-65535, got {args.port}")
    uri = resolve_tracking_uri(args.tracking_uri)
    check_store(uri)
    try:  # MLflow's server would log a traceback and exit 0 on a busy port
        with socket.create_server((args.host, args.port)):
            pass
    except OSError as err:
        raise ConfigError(
            f"cannot serve on {args.host}:{args.port} ({err.strerror or err}); "
            "pick another --port or --host"
        ) from None
    print(f"MLflow UI on {uri}: starting on {args.host}:{args.port} (Ctrl-C stops it)", flush=True)

    def ready(address):
        try:
            lines = ui_links(uri, address)
        except Exception as err:  # noqa: BLE001 - the UI itself still serves
            lines = [f"MLflow UI: {address} (its sweeps could not be listed: {err})"]
        print("\n".join(lines), flush=True)

    code = serve_ui(uri, args.host, args.port, on_ready=ready)
    if code:
        print(f"error: the MLflow UI server stopped (exit status {code})", file=sys.stderr)
        return 1
    return 0


def _unexpected(err: Exception) -> str:
    """One line for an error no handler expected: a store fault, or a bug to report."""
    tracking = sys.modules.get("rnnexp.tracking.store")
    described = tracking.describe_store_error(err) if tracking else None
    if described:
        return described
    if isinstance(err, OSError) and err.filename:
        return f"{err.filename}: {err.strerror or err}"
    first = (str(err).splitlines() or [""])[0][:300]
    return (
        f"unexpected {type(err).__name__}: {first} (a bug in rnnexp; "
        "RNNEXP_DEBUG=1 shows the traceback)"
    )


def _interrupted(err: KeyboardInterrupt, command: str) -> int:
    """Say how the command was stopped (if anyone still reads it); 128 + the signal."""
    name = err.args[0] if err.args else "Ctrl-C"
    where = ""
    if command in ("run", "bench", "robustness"):
        where = "; the run is marked KILLED in MLflow"
    if command == "robustness":
        where += ", and the seeds finished before are kept in the record"
    with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
        print(f"interrupted ({name}){where}", file=sys.stderr, flush=True)
    signum = getattr(signal, str(name), signal.SIGINT)
    return 128 + int(signum)


def main(argv=None) -> int:
    _quiet_backends()
    from rnnexp import startup
    from rnnexp.config import ConfigError

    args = _parser().parse_args(argv)
    startup.configure_logging(getattr(args, "verbose", False))
    handlers = {
        "list": _cmd_list,
        "show": _cmd_show,
        "run": _cmd_run,
        "robustness": _cmd_robustness,
        "robustness-table": _cmd_robustness_table,
        "robustness-compact": _cmd_robustness_compact,
        "robustness-rejudge": _cmd_robustness_rejudge,
        "docs": _cmd_docs,
        "compare": _cmd_compare,
        "ui": _cmd_ui,
    }
    try:
        with stopping.on_stop_signals():
            if args.command == "bench":
                from rnnexp.bench import check_arguments, run_bench

                check_arguments(args)  # a bad flag: one line, without TensorFlow's seconds
                startup.check_backend()
                startup.import_backend()
                return run_bench(args)
            return handlers[args.command](args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader left (`list | head`): nothing more to say
        sys.stderr = open(os.devnull, "w")  # and no complaint at interpreter exit
        return 0
    except KeyboardInterrupt as err:
        return _interrupted(err, args.command)
    except Exception as err:  # no traceback for a user: one line, and the exit status says
        if os.environ.get("RNNEXP_DEBUG") == "1":
            raise
        print(f"error: {_unexpected(err)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
