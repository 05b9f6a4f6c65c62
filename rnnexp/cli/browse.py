"""The commands that read and serve: list, show, compare, ui."""

import json
import sys

from rnnexp.cli.arguments import resolve


def cmd_list(args):
    from rnnexp import registry

    experiments = registry.load_catalog()
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


def cmd_show(args):
    from rnnexp.config import to_dict
    from rnnexp.report.experiments_table import row

    exp, cfg, _ = resolve(args)
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


def cmd_compare(args):
    from pathlib import Path

    from rnnexp import registry
    from rnnexp.tracking.compare import compare
    from rnnexp.config import ConfigError

    exp = registry.get(args.name)
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


def cmd_ui(args):
    import socket

    from rnnexp.config import ConfigError
    from rnnexp.tracking.store import check_store
    from rnnexp.tracking.store_uri import resolve_tracking_uri
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
