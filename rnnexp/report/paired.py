"""Per-seed differences of trial results: the paired comparisons a finding makes.

Two arms run at the same seed share that seed's initialisation and data draw, so
a finding compares them seed by seed (`rnnexp.report.stats.paired_interval`),
not as two unpaired samples. An arm is named by one trial field (`"cell"`) or
several (`("cell", "direction")`, keyed by the tuple of their values).
"""

__all__ = ["arm_by_seed", "by_arm", "by_seed", "gains_by_seed", "weakest_by_seed"]


def _arm(trial, fields):
    return trial[fields] if isinstance(fields, str) else tuple(trial[f] for f in fields)


def _finished(results, where):
    for r in results:
        if r.status == "FINISHED" and all(r.trial[k] == v for k, v in where.items()):
            yield r


def by_seed(results, metric: str, axis, **where) -> dict[int, dict]:
    """`{seed: {arm: metric}}` over the finished trials whose fields match `where`."""
    out: dict[int, dict] = {}
    for r in _finished(results, where):
        out.setdefault(r.trial["seed"], {})[_arm(r.trial, axis)] = r.metrics[metric]
    return out


def by_arm(results, metric: str, axis, **where) -> dict:
    """`{arm: {seed: metric}}` over the finished trials whose fields match `where`."""
    out: dict = {}
    for r in _finished(results, where):
        out.setdefault(_arm(r.trial, axis), {})[r.trial["seed"]] = r.metrics[metric]
    return out


def arm_by_seed(results, metric: str, **where) -> dict[int, float]:
    """`{seed: metric}` of the one arm whose fields match `where`."""
    return {r.trial["seed"]: r.metrics[metric] for r in _finished(results, where)}


def gains_by_seed(results, metric: str, axis, low, high, **where) -> dict[int, float]:
    """`{seed: metric at axis=high minus at axis=low}` over the seeds with both.

    `gains_by_seed(results, "test_accuracy", "length", 10, 200, model="lstm")`
    is the LSTM's gain from 10 to 200 tokens at each seed.
    """
    table = by_seed(results, metric, axis, **where)
    return {s: v[high] - v[low] for s, v in table.items() if low in v and high in v}


def weakest_by_seed(arms: list[dict[int, float]]) -> dict[int, float]:
    """`{seed: the smallest of the arms' values}` over the seeds every arm has, in order."""
    seeds = set.intersection(*(set(a) for a in arms)) if arms else set()
    return {s: min(a[s] for a in arms) for s in sorted(seeds)}
