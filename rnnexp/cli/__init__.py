"""`python -m rnnexp`: list, show, run, robustness, compare, ui, bench, docs.

Bad input (unknown experiment, profile or key; wrong type or value) is refused
before anything trains, with a one-line error and exit status 2.

This module parses, dispatches and turns every error into an exit status; it
also holds the two commands that train (run, robustness). The grammar is in
`arguments`, the commands that read in `browse`, those on records in `records`.
"""

import contextlib
import json
import os
import signal
import sys

from rnnexp import stopping
from rnnexp.cli import browse, records
from rnnexp.cli.arguments import parser, resolve

__all__ = ["main"]

MAX_ROBUSTNESS_SEEDS = 1000  # a seed is a whole sweep: minutes each


def _quiet_backends():
    # TensorFlow's C++ start-up chatter hides the lines users need.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _cmd_run(args):
    from rnnexp import console, startup
    from rnnexp.sweep import runner
    from rnnexp.config import ConfigError, to_dict
    from rnnexp.sweep.robustness_record import recorded_estimate
    from rnnexp.sweep.trial_tags import trial_key

    exp, cfg, overrides = resolve(args)
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
            f"estimated time: {recorded_estimate(exp, args.profile, cfg, overrides)}, "
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


def _cmd_robustness(args):
    from pathlib import Path

    from rnnexp import registry, startup
    from rnnexp.config import ConfigError, parse_assignment
    from rnnexp.sweep.robustness_record import load_record, sweep_seed_span
    from rnnexp.sweep.robustness import run_robustness
    from rnnexp.tracking.tracker import Tracker

    startup.check_backend()
    if not 1 <= args.seeds <= MAX_ROBUSTNESS_SEEDS:
        raise ConfigError(f"--seeds must be 1-{MAX_ROBUSTNESS_SEEDS}, got {args.seeds}")
    exp = registry.get(args.name)
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

    args = parser().parse_args(argv)
    startup.configure_logging(getattr(args, "verbose", False))
    handlers = {
        "list": browse.cmd_list,
        "show": browse.cmd_show,
        "run": _cmd_run,
        "robustness": _cmd_robustness,
        "robustness-table": records.cmd_robustness_table,
        "robustness-compact": records.cmd_robustness_compact,
        "robustness-rejudge": records.cmd_robustness_rejudge,
        "docs": records.cmd_docs,
        "compare": browse.cmd_compare,
        "ui": browse.cmd_ui,
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
