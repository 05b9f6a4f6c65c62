"""How far the console's ETA was from the truth, replayed from the sweeps in a store.

For each finished sweep of one experiment and profile, the ETA that `run` printed after its
k-th trial is computed again, with the same `EtaModel` and the trials' recorded wall times,
and set against what the remaining trials then took. Two cases per sweep: a fresh store
(the estimate from trial cost) and, where the store has an earlier sweep of the same trials,
the estimate from that sweep's times.

    python -m rnnexp.sweep.eta_accuracy imdb_seqlen --profile ci --at 2 \\
        --tracking-uri sqlite:///mlruns/mlflow.db
"""

import argparse
import json
from types import SimpleNamespace

from rnnexp.eta import EtaModel, trial_cost
from rnnexp.sweep.earlier_sweeps import SAME_SWEEP_TAGS
from rnnexp.sweep.trial_tags import TRIAL, TRIAL_HASH, TRIAL_INDEX
from rnnexp.training import EPOCHS_RUN_TAG

__all__ = ["Replay", "replay_sweep", "main"]


def _number(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _config(params: dict) -> SimpleNamespace:
    """What `trial_cost` reads from a config, rebuilt from a trial run's params."""
    return SimpleNamespace(
        data=SimpleNamespace(length=_number(params.get("data.length"))),
        train=SimpleNamespace(epochs=_number(params.get("train.epochs"))),
    )


class Replay(SimpleNamespace):
    """One sweep's ETA after trial `at`: `eta_s`, `real_s`, `basis`, and `factor` = eta / real."""

    @property
    def factor(self) -> float | None:
        return self.eta_s / self.real_s if self.eta_s is not None and self.real_s else None


def replay_sweep(children, at: int, last_times: dict | None = None) -> Replay:
    """The ETA printed after the first `at` trials of `children` (oldest first), and the truth.

    `last_times` maps a trial hash to its wall time in an earlier sweep, as `run` reads it.
    """
    trials = [json.loads(c.tags[TRIAL]) for c in children]
    costs = [trial_cost(_config(c.params), t) for c, t in zip(children, trials)]
    basis = costs[0][1]
    epochs = _number(children[0].params.get("train.epochs")) if "epochs" in basis else None
    last = [(last_times or {}).get(c.tags.get(TRIAL_HASH)) for c in children]
    eta = EtaModel([c for c, _ in costs], basis, last, epochs)
    for index, child in enumerate(children[:at]):
        eta.observe(index, child.seconds, _number(child.tags.get(EPOCHS_RUN_TAG)))
    seconds, how = eta.remaining(range(at, len(children)))
    real = sum(c.seconds for c in children[at:])
    return Replay(eta_s=seconds, real_s=real, basis=how)


def _finished_sweeps(tracker, profile: str):
    """`(parent, children)` of every sweep whose trials all finished, oldest first."""
    out = []
    for parent in reversed(tracker.sweeps()):
        if parent.tags.get("rnnexp.profile") != profile:
            continue
        children = tracker.trial_runs(parent.run_id)
        if not children or any(c.status != "FINISHED" or not c.seconds for c in children):
            continue
        children.sort(key=lambda c: _number(c.tags.get(TRIAL_INDEX)) or 0)
        out.append((parent, children))
    return out


def table(experiment: str, profile: str, at: int, uri: str | None) -> tuple[str, list[float]]:
    """A markdown table, one row per sweep and case, and every factor it holds."""
    from rnnexp.tracking.tracker import Tracker

    sweeps = _finished_sweeps(Tracker(experiment, uri, reading=True), profile)
    rows, factors = [], []
    for k, (parent, children) in enumerate(sweeps):
        if len(children) <= at:
            continue
        cases = [("fresh store", None)]
        earlier = [
            {c.tags.get(TRIAL_HASH): c.seconds for c in kids}
            for p, kids in sweeps[:k]
            if all(p.tags.get(t) == parent.tags.get(t) for t in SAME_SWEEP_TAGS)
        ]
        if earlier and all(c.tags.get(TRIAL_HASH) in earlier[-1] for c in children):
            cases.append(("last sweep in store", earlier[-1]))
        for case, last in cases:
            r = replay_sweep(children, at, last)
            factor = r.factor
            if factor:
                factors.append(factor)
            rows.append(
                f"| {parent.name} ({parent.run_id[:8]}) | {len(children)} | {case} | "
                f"{f'{r.eta_s:.0f} s' if r.eta_s is not None else '-'} | {r.real_s:.0f} s | "
                f"{f'{factor:.2f}' if factor else '-'} | {r.basis} |"
            )
    head = [
        f"ETA after trial {at} of `{experiment}` (profile {profile}) against the remaining "
        "trials' wall time",
        "",
        "| sweep | trials | case | ETA | real | ETA / real | basis |",
        "|---|---|---|---|---|---|---|",
    ]
    return "\n".join(head + rows) + "\n", factors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rnnexp.sweep.eta_accuracy",
        description="How far the console's ETA was from the truth, replayed from a store.",
    )
    parser.add_argument("experiment")
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--at", type=int, default=2, help="the trial after which the ETA counts")
    parser.add_argument("--tracking-uri", default=None)
    args = parser.parse_args(argv)
    if args.at < 1:
        parser.error(f"--at {args.at}: the ETA needs at least one finished trial")
    text, factors = table(args.experiment, args.profile, args.at, args.tracking_uri)
    print(text, end="")
    if not factors:
        print(f"no finished {args.profile} sweep of {args.experiment} with over {args.at} trials")
        return 1
    worst = max(max(f, 1 / f) for f in factors)
    print(f"\n{len(factors)} estimates; the worst is off by a factor {worst:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
