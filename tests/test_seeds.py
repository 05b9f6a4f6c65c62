"""`seed` means the absolute seed in every experiment, so `--seed 7` runs seed 7.

Three experiments once treated `trial["seed"]` as an offset added to
`cfg.seed` inside `run_trial`: their trials said seed 0, 1, 2 whatever
`--seed` was, and the console and run names showed the offset.
"""

import pytest

from rnnexp import catalog

EXPERIMENTS = catalog.load_catalog()


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_trials_carry_the_absolute_seed(name):
    exp = EXPERIMENTS[name]
    trials = exp.trials(exp.resolve("ci", {"seed": 7}))
    seeds = sorted({t["seed"] for t in trials if "seed" in t})
    assert seeds, f"{name}: every trial names its seed"
    assert seeds == list(range(7, 7 + len(seeds))), f"{name}: trials at --seed 7 use {seeds}"
    assert all("seed=7" in exp.trial_name(t) for t in trials if t["seed"] == 7)


@pytest.mark.parametrize("name", ["exploding_clipping", "gradient_flow", "adding"])
def test_run_trial_trains_at_the_trial_seed(name, monkeypatch):
    """The seed a trial trains with is `trial["seed"]`, not `cfg.seed + trial["seed"]`."""
    exp = EXPERIMENTS[name]
    module = __import__(type(exp).__module__, fromlist=["x"])
    used = []

    class Stop(Exception):
        pass

    def record(*args, **kwargs):
        used.append(args[-1] if args else kwargs["seed"])
        raise Stop

    # each place a trial hands its seed on, up to the model's seeding
    if name == "exploding_clipping":
        monkeypatch.setattr(module, "adding_problem", lambda n, length, rng: (None, None))
        monkeypatch.setattr(module, "set_seed", record)
        seedings = 1
    else:
        from rnnexp import training
        from rnnexp.recipes.long_range import TaskConfig

        draw = TaskConfig.draw

        def record_draw(task, length, seed):
            used.append(seed)
            return draw(task, length, seed)

        # the data's generator (the trial's split), then SupervisedExperiment.run_trial's set_seed
        monkeypatch.setattr(TaskConfig, "draw", record_draw)
        monkeypatch.setattr(training, "set_seed", record)
        seedings = 2
    cfg = exp.resolve("ci", {"seed": 7})
    trial = exp.trials(cfg)[-1]
    with pytest.raises(Stop):
        exp.run_trial(cfg, trial, ctx=None)
    assert used == [trial["seed"]] * seedings and trial["seed"] >= 7
