"""`python -m rnnexp`: list, show, run, bench.

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
        "--check",
        action="store_true",
        help="exit 1 unless the experiment's expected finding is reproduced",
    )

    bench = sub.add_parser("bench", help="training throughput: our cells vs Keras built-ins")
    from rnnexp.bench import add_arguments

    add_arguments(bench)
    return parser


def _resolve(args):
    from rnnexp import catalog
    from rnnexp.config import parse_assignment

    exp = catalog.get(args.name)
    overrides = dict(parse_assignment(text) for text in args.overrides)
    if args.seed is not None:
        overrides["seed"] = args.seed
    return exp, exp.resolve(args.profile, overrides)


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

    exp, cfg = _resolve(args)
    print(
        json.dumps(
            {"experiment": exp.name, "profile": args.profile, "config": to_dict(cfg)}, indent=2
        )
    )
    return 0


def _cmd_run(args):
    from rnnexp import console, runner
    from rnnexp.config import to_dict

    exp, cfg = _resolve(args)
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

    tracker = Tracker(exp.name, args.tracking_uri)
    outcome = runner.run_experiment(exp, cfg, profile=args.profile, tracker=tracker)
    if args.check and not outcome.finding.passed:
        console.say(f"--check: the expected finding was not reproduced ({exp.name})")
        return 1
    return 0


def main(argv=None) -> int:
    _quiet_backends()
    from rnnexp.config import ConfigError

    args = _parser().parse_args(argv)
    handlers = {"list": _cmd_list, "show": _cmd_show, "run": _cmd_run}
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
