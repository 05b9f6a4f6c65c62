"""The command line's grammar (every command and flag), and reading a config from parsed flags."""

import argparse


def parser() -> argparse.ArgumentParser:
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
    table.add_argument(
        "--write", metavar="README", help="replace the table between its markers in this file"
    )
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


def resolve(args):
    from rnnexp import registry

    exp = registry.get(args.name)
    overrides = _overrides(args)
    return exp, exp.resolve(args.profile, overrides), overrides
