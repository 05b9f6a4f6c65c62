"""The commands on the robustness records and the pages made from them.

docs, robustness-table, robustness-compact, robustness-rejudge.
"""

import sys


def cmd_docs(args):
    from pathlib import Path

    from rnnexp import registry
    from rnnexp.report import pages

    root = Path(args.root)
    experiments = registry.load_catalog()
    for name in pages.unpublished(experiments, root):
        print(
            f"{name}: no record yet, so no README row or page; "
            f"`python -m rnnexp robustness {name} --seeds 5` records it"
        )
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

    from rnnexp import registry
    from rnnexp.config import ConfigError

    exp = registry.get(args.name)
    paths = sorted(Path(args.records).glob(f"{exp.name}-*.json"))
    if not paths:
        raise ConfigError(f"no records of {exp.name} in {args.records}/")
    return exp, paths


def cmd_robustness_compact(args):
    from rnnexp.sweep.robustness_write import compact_record

    exp, paths = _records_of(args)
    for path in paths:
        before, after, dropped = compact_record(path, exp)
        what = f"dropped the extras {', '.join(dropped)}" if dropped else "nothing to drop"
        print(f"{path}: {what} ({before / 1e6:.2f} MB -> {after / 1e6:.2f} MB)")
    return 0


def cmd_robustness_rejudge(args):
    from rnnexp.sweep.robustness_record import RecordError
    from rnnexp.sweep.robustness_write import rejudge_record

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


def cmd_robustness_table(args):
    from rnnexp.report.robustness_table import render, write_between_markers

    table = render(args.records)
    if args.write:
        write_between_markers(args.write, table)
        print(f"wrote the robustness table into {args.write}")
    else:
        print(table)
    return 0
