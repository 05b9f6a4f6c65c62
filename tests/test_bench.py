"""`python -m rnnexp bench`: the row it reports, at toy sizes."""

import argparse
import math

from rnnexp import bench
from rnnexp.layers.recurrent import time_loop


def test_bench_reports_ratios_spread_and_matmul_fractions():
    p = argparse.ArgumentParser()
    bench.add_arguments(p)
    args = p.parse_args(
        ["--cells", "gru", "--batch", "4", "--timesteps", "3", "--input-dim", "2", "--units", "3"]
        + ["--batches", "1", "--repeats", "2", "--no-track"]
    )
    bench.check_arguments(args)
    (row,) = bench.measure(args)
    assert row["cell"] == "gru" and row["keras_steps_per_s"] > 0 and row["rnnexp_steps_per_s"] > 0
    assert row["jit_compile"] is False  # --jit auto: Keras's default, no XLA on TensorFlow-CPU
    ratio = row["rnnexp_steps_per_s"] / row["keras_steps_per_s"]
    assert math.isclose(row["ratio_vs_keras"], ratio, rel_tol=1e-9)
    assert 0 < row["ratio_min"] <= row["ratio_mean"] <= row["ratio_max"]
    assert math.isfinite(row["ratio_half"]) and row["ratio_half"] >= 0  # 2 rounds: an interval
    assert row["instance_spread"] >= 1.0  # slowest of 3 model instances over the fastest
    gflops = row["rnnexp_steps_per_s"] * 6 * (2 + 3) * 3 * 3 / 1e9  # 6 (d+u) G u
    assert math.isclose(row["rnnexp_gflops"], gflops, rel_tol=1e-9)
    assert math.isclose(row["of_peak"], gflops / row["peak_matmul_gflops"], rel_tol=1e-9)
    (line,) = bench.summary_lines([row])
    assert line.startswith(f"gru ({time_loop()}): rnnexp/keras ")  # the backend's default loop
    assert " ± " in line and "% of a 1024^3 matmul" in line


def test_both_loops_are_benched_and_set_on_our_layer():
    p = argparse.ArgumentParser()
    bench.add_arguments(p)
    args = p.parse_args(
        ["--cells", "rnn", "--batch", "2", "--timesteps", "2", "--input-dim", "2", "--units", "2"]
        + ["--batches", "1", "--repeats", "1", "--no-track", "--loop", "both"]
    )
    rows = bench.measure(args)
    assert [r["loop"] for r in rows] == ["project", "step"]
    assert bench._our_layer("lstm", 2, False, "step").projects_first() is False
    assert bench._our_layer("lstm", 2, False, "project").projects_first() is True


def test_matmul_rate_is_a_finite_positive_flop_rate():
    rate = bench.matmul_rate(8, 16, 32, repeats=2)
    assert math.isfinite(rate) and rate > 1e6
