"""`python -m rnnexp`: list, show, run, robustness, compare, ui, bench.

Bad input (unknown experiment, profile or key; wrong type or value) is refused
before anything trains, with a one-line error and exit status 2.
"""

import argparse
import json
import os
import sys

__all__ = ["main"]


def _quiet_backends():
    # TensorFlow's C++ start-up chatter hides the lines users need.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rnnexp",
        description="Recurrent-network experiments, tracked in MLflow.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="every experiment and what it shows")

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

    show = sub.add_parser("show", help="the fully resolved config")
    add_config_args(show)

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

    _add_robustness_parsers(sub)

    compare = sub.add_parser("compare", help="a recorded sweep's trials, best first")
    compare.add_argument("name", help="experiment name")
    compare.add_argument("--run", help="parent run id (or a prefix); default: the newest sweep")
    compare.add_argument("--metric", help="sort by this final metric (default: the experiment's)")
    compare.add_argument(
        "--ascending", action="store_true", help="lowest first (the default for loss metrics)"
    )
    compare.add_argument("--format", choices=["table", "markdown", "csv"], default="table")
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
        "--check", action="store_true", help="exit 1 unless the finding held at every seed"
    )
    table = sub.add_parser(
        "robustness-table", help="the README's robustness table, from the JSON records"
    )
    table.add_argument("--records", default="robustness", help="folder of records")
    table.add_argument(
        "--write", metavar="README", help="replace the table between its markers in this file"
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
    width = max(len(n) for n in experiments)
    for name in sorted(experiments):
        exp = experiments[name]
        print(
            f"{name.ljust(width)}  {exp.description}  [profiles: {', '.join(exp.profile_names())}]"
        )
    return 0


def _cmd_show(args):
    from rnnexp.config import to_dict

    exp, cfg, _ = _resolve(args)
    print(
        json.dumps(
            {"experiment": exp.name, "profile": args.profile, "config": to_dict(cfg)}, indent=2
        )
    )
    return 0


def _cmd_run(args):
    from rnnexp import console, runner
    from rnnexp.config import ConfigError, to_dict

    exp, cfg, overrides = _resolve(args)
    if args.dry_run:
        trials = runner.plan(exp, cfg)
        print(
            json.dumps(
                {
                    "experiment": exp.name,
                    "profile": args.profile,
                    "data_source": exp.data_source(cfg),
                    "config": to_dict(cfg),
                },
                indent=2,
            )
        )
        print(f"planned trials ({len(trials)}):")
        for i, trial in enumerate(trials):
            print(f"  {i + 1:3d}. {exp.trial_name(trial)}")
        return 0
    from rnnexp.tracking import Tracker

    if args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    tracker = Tracker(exp.name, args.tracking_uri)
    resume = None
    if args.resume:
        from rnnexp.compare import find_sweep

        if args.overrides or args.seed is not None or args.profile != "default":
            raise ConfigError(
                "--resume reuses the sweep's own profile and overrides; "
                "drop --set, --seed and --profile"
            )
        sweep = find_sweep(
            tracker,
            None if args.resume == "latest" else args.resume,
            unfinished=args.resume == "latest",
        )
        resume, args.profile = sweep.run_id, sweep.tags.get("rnnexp.profile", "default")
        overrides = json.loads(sweep.tags.get("rnnexp.overrides", "{}"))
        cfg = exp.resolve(args.profile, overrides)
    outcome = runner.run_experiment(
        exp,
        cfg,
        profile=args.profile,
        tracker=tracker,
        overrides=overrides,
        workers=args.workers,
        resume=resume,
        distribute=args.distribute,
    )
    if args.check and not outcome.finding.passed:
        console.say(f"--check: the expected finding was not reproduced ({exp.name})")
        return 1
    return 0


def _cmd_robustness(args):
    from pathlib import Path

    from rnnexp import catalog
    from rnnexp.config import ConfigError, parse_assignment
    from rnnexp.robustness import run_robustness, sweep_seed_span
    from rnnexp.tracking import Tracker

    if args.seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {args.seeds}")
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
    if args.record == "-":
        record_path = None
    else:
        record_path = Path(args.record or f"robustness/{exp.name}-{args.profile}.json")
    record = run_robustness(
        exp,
        profile=args.profile,
        seeds=seeds,
        tracker=Tracker(exp.name, args.tracking_uri),
        overrides=overrides,
        record_path=record_path,
    )
    this_run = [o for o in record["outcomes"] if o["seed"] in seeds]
    return 1 if args.check and not all(o["passed"] for o in this_run) else 0


def _cmd_robustness_table(args):
    from rnnexp.robustness_table import render, write_between_markers

    table = render(args.records)
    if args.write:
        write_between_markers(args.write, table)
        print(f"wrote the robustness table into {args.write}")
    else:
        print(table)
    return 0


def _cmd_compare(args):
    from rnnexp import catalog
    from rnnexp.compare import compare
    from rnnexp.tracking import Tracker

    exp = catalog.get(args.name)
    tracker = Tracker(exp.name, args.tracking_uri)
    compare(
        tracker,
        run_id=args.run,
        metric=args.metric or exp.metric,
        ascending=args.ascending or (args.metric is None and not exp.higher_is_better),
        fmt=args.format,
        plots_dir=args.plots,
    )
    return 0


def _cmd_ui(args):
    from rnnexp.tracking import resolve_tracking_uri, serve_ui

    uri = resolve_tracking_uri(args.tracking_uri)
    print(f"MLflow UI on {uri}: http://{args.host}:{args.port}  (Ctrl-C stops it)", flush=True)
    return serve_ui(uri, args.host, args.port)


def main(argv=None) -> int:
    _quiet_backends()
    from rnnexp.config import ConfigError

    args = _parser().parse_args(argv)
    handlers = {
        "list": _cmd_list,
        "show": _cmd_show,
        "run": _cmd_run,
        "robustness": _cmd_robustness,
        "robustness-table": _cmd_robustness_table,
        "compare": _cmd_compare,
        "ui": _cmd_ui,
    }
    try:
        if args.command == "bench":
            from rnnexp.bench import run_bench

            return run_bench(args)
        return handlers[args.command](args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the run is marked KILLED in MLflow", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
