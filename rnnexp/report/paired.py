"""Per-seed differences of trial results: the paired comparisons a finding makes.

Two arms run at the same seed share that seed's initialisation and data draw, so
a finding compares them seed by seed (`rnnexp.report.stats.paired_interval`),
not as two unpaired samples.
"""

__all__ = ["by_seed", "gains_by_seed", "weakest_by_seed"]


def by_seed(results, metric: str, axis: str, **where) -> dict[int, dict]:
    """`{seed: {trial[axis]: metric}}` over the finished trials whose fields match `where`."""
    out: dict[int, dict] = {}
    for r in results:
        t = r.trial
        if r.status == "FINISHED" and all(t[k] == v for k, v in where.items()):
            out.setdefault(t["seed"], {})[t[axis]] = r.metrics[metric]
    return out


def gains_by_seed(results, metric: str, axis: str, low, high, **where) -> dict[int, float]:
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
