"""`python -m rnnexp bench`: training throughput of our layers vs Keras's.

Each contender trains the same model (`Input(T, d) -> RNN(units) -> Dense(1)`,
Adam, MSE) on the same data in this one process; contenders are interleaved
repeat by repeat so drifting machine load hits them alike, and the best of
`--repeats` timed epochs is kept. Throughput is sample-steps per second
(`batch * T * batches / seconds`); ratios are ours / Keras built-in.
"""

import json
import time

__all__ = ["add_arguments", "run_bench"]


def add_arguments(p):
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--timesteps", type=int, default=200)
    p.add_argument("--input-dim", type=int, default=64)
    p.add_argument("--units", type=int, default=128)
    p.add_argument("--batches", type=int, default=8, help="batches per timed epoch")
    p.add_argument("--repeats", type=int, default=5, help="timed epochs per contender (best kept)")
    p.add_argument("--cells", default="rnn,gru,lstm", help="comma-separated: rnn,gru,lstm")
    p.add_argument(
        "--jit",
        choices=["off", "on", "both"],
        default="off",
        help="XLA jit_compile for both contenders",
    )
    p.add_argument("--unroll", action="store_true", help="unroll the time loop (short T only)")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    p.add_argument("--tracking-uri", help="MLflow tracking URI")


def _keras_layer(cell, units, unroll):
    import keras

    cls = {"rnn": keras.layers.SimpleRNN, "gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[cell]
    return cls(units, unroll=unroll)


def _our_layer(cell, units, unroll):
    from rnnexp.layers import recurrent_layer

    return recurrent_layer(cell, units, unroll=unroll)


def _model(layer, args, jit):
    import keras

    inputs = keras.Input((args.timesteps, args.input_dim))
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    model.compile(optimizer="adam", loss="mse", jit_compile=jit)
    return model


def _torch_contender(cell, args):
    """A train-step closure for the torch.nn equivalent, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell]
    torch.manual_seed(0)
    rnn = cls(args.input_dim, args.units, batch_first=True)
    head = torch.nn.Linear(args.units, 1)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params)
    x = torch.randn(args.batch, args.timesteps, args.input_dim)
    y = torch.randn(args.batch, 1)

    def epoch():
        for _ in range(args.batches):
            opt.zero_grad()
            out, _ = rnn(x)
            loss = torch.nn.functional.mse_loss(head(out[:, -1]), y)
            loss.backward()
            opt.step()

    return epoch


def measure(args) -> list[dict]:
    import numpy as np

    rng = np.random.default_rng(0)
    n = args.batch * args.batches
    x = rng.standard_normal((n, args.timesteps, args.input_dim)).astype("float32")
    y = rng.standard_normal((n, 1)).astype("float32")
    jits = {"off": [False], "on": [True], "both": [False, True]}[args.jit]
    rows = []
    for cell in args.cells.split(","):
        for jit in jits:
            contenders = {
                "keras": _model(_keras_layer(cell, args.units, args.unroll), args, jit),
                "rnnexp": _model(_our_layer(cell, args.units, args.unroll), args, jit),
            }
            epochs = {
                name: (
                    lambda m=m: m.fit(
                        x, y, batch_size=args.batch, epochs=1, verbose=0, shuffle=False
                    )
                )
                for name, m in contenders.items()
            }
            torch_epoch = _torch_contender(cell, args) if not jit else None
            if torch_epoch is not None:
                epochs["torch"] = torch_epoch
            for fn in epochs.values():  # warm-up: tracing and compilation
                fn()
            best = {name: float("inf") for name in epochs}
            for _ in range(args.repeats):
                for name, fn in epochs.items():
                    t0 = time.perf_counter()
                    fn()
                    best[name] = min(best[name], time.perf_counter() - t0)
            work = args.batch * args.timesteps * args.batches
            row = {"cell": cell, "jit_compile": jit, "unroll": args.unroll}
            for name, seconds in best.items():
                row[f"{name}_steps_per_s"] = work / seconds
            row["ratio_vs_keras"] = row["rnnexp_steps_per_s"] / row["keras_steps_per_s"]
            if "torch_steps_per_s" in row:
                row["ratio_vs_torch"] = row["rnnexp_steps_per_s"] / row["torch_steps_per_s"]
            rows.append(row)
    return rows


def check_arguments(args):
    """Refuse bad sizes and cell names in one line, before TensorFlow starts."""
    from rnnexp.config import ConfigError

    cells = [c.strip() for c in args.cells.split(",")]
    unknown = [c for c in cells if c not in ("rnn", "gru", "lstm")]
    if unknown or not cells:
        raise ConfigError(f"--cells {args.cells!r}: unknown {unknown}; choose from rnn,gru,lstm")
    args.cells = ",".join(cells)
    for flag in ("batch", "timesteps", "input_dim", "units", "batches", "repeats"):
        value = getattr(args, flag)
        if value < 1:
            raise ConfigError(f"--{flag.replace('_', '-')} must be >= 1, got {value}")


def run_bench(args) -> int:
    from rnnexp import console

    check_arguments(args)
    tracker = None
    if not args.no_track:  # a bad store fails now, not after minutes of measuring
        from rnnexp.tracking import Tracker

        tracker = Tracker("bench", args.tracking_uri)
    shape = (
        f"batch {args.batch}, T {args.timesteps}, input {args.input_dim}, "
        f"units {args.units}, {args.batches} batches/epoch, best of {args.repeats}"
    )
    if not args.json:
        console.say(f"bench: training throughput (sample-steps/s), {shape}")
    rows = measure(args)
    if args.json:
        print(json.dumps({"shape": shape, "results": rows}, indent=2))
    else:
        console.say(console.format_table(rows))
    if tracker is not None:
        with tracker.run(f"bench-T{args.timesteps}-u{args.units}") as run:
            run.log_params({k: v for k, v in vars(args).items() if k not in ("json", "no_track")})
            for row in rows:
                prefix = f"{row['cell']}{'.jit' if row['jit_compile'] else ''}"
                run.log_metrics(
                    {f"{prefix}.{k}": v for k, v in row.items() if isinstance(v, float)}
                )
            run.log_text(console.format_table(rows, markdown=True) + "\n", "bench.md")
    return 0
