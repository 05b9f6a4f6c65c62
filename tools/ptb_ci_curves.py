"""Per-batch learning curves of ptb_lm trials: why a seed's LSTM does or does not beat the unigram.

A `ci` trial trains one epoch, so its per-epoch curve is one point. In a first
epoch every batch is text the model has not seen, so the batch loss is a
held-out estimate: this prints it, averaged over blocks of batches, next to the
add-one unigram's cross-entropy on the same training text, with the global
gradient norm before clipping, then the trial's validation perplexity.

    python tools/ptb_ci_curves.py --seeds 3610 3611 [--profile ci] [--set train.learning_rate=1e-3]
"""

import argparse
import json
import math
import sys

import numpy as np


def run(seed, profile, overrides, block, probe_every=0):
    import keras

    from rnnexp.catalog import get
    from rnnexp.data import ptb
    from rnnexp.tracking.reporter import NullReporter
    from rnnexp.sweep.trial import TrialContext

    exp = get("ptb_lm")
    ptb_lm = sys.modules[type(exp).__module__]
    cfg = exp.resolve(profile, overrides)
    data = exp.prepare(cfg)
    uni = ptb.unigram_nats(data["train"], data["train"], len(data["corpus"].vocab))
    batches, norms, probes = [], [], []
    x_va, y_va = ptb.stream_windows(data["valid"], cfg.data.batch_size, cfg.data.num_steps)

    def valid_nats(model):
        """Validation loss of the weights now, the training streams' state kept."""
        layers = model.get_layer("recurrent").rnn_layers
        kept = [[v.numpy() for v in layer.states] for layer in layers]
        ptb_lm.reset_states(model)
        nats = float(model.evaluate(x_va, y_va, batch_size=cfg.data.batch_size, verbose=0))
        for layer, values in zip(layers, kept):
            for v, value in zip(layer.states, values):
                v.assign(value)
        return nats

    class BatchLoss(keras.callbacks.Callback):
        """The batch's own loss from Keras's running mean, and the gradient norm it got."""

        def on_train_begin(self, logs=None):
            # the train step is traced at its first call: record the norm clipping sees
            opt = self.model.optimizer
            self.norm = keras.Variable(0.0, trainable=False, name="grad_norm")
            clip = opt._clip_gradients

            def clip_logged(grads):
                import tensorflow as tf  # the embedding's gradient is IndexedSlices on TF

                self.norm.assign(tf.linalg.global_norm(grads))
                return clip(grads)

            opt._clip_gradients = clip_logged

        def on_epoch_begin(self, epoch, logs=None):
            self.prev = 0.0

        def on_train_batch_end(self, batch, logs=None):
            mean = float(logs["loss"])
            batches.append((batch + 1) * mean - batch * self.prev)
            self.prev = mean
            norms.append(float(self.norm.numpy()))
            if probe_every and (batch + 1) % probe_every == 0:
                probes.append((batch + 1, round(valid_nats(self.model), 3)))

    made = ptb_lm.perplexity_callbacks
    ptb_lm.perplexity_callbacks = lambda *a, **k: made(*a, **k) + [BatchLoss()]
    try:
        ctx = TrialContext(reporter=NullReporter(), label=f"seed={seed}", data=data)
        result = exp.run_trial(cfg, {"cell": cfg.model.cell, "seed": seed}, ctx)
    finally:
        ptb_lm.perplexity_callbacks = made
    blocks = [float(np.mean(batches[i : i + block])) for i in range(0, len(batches), block)]
    return {
        "seed": seed,
        "unigram_train_nats": uni,
        "block": block,
        "batch_nats_by_block": [round(b, 3) for b in blocks],
        "last_batches_nats": [round(b, 3) for b in batches[-10:]],
        "valid_nats_at_batch": probes,
        "valid_perplexity": result.metrics["valid_perplexity"],
        "unigram_valid_perplexity": result.metrics["unigram_valid_perplexity"],
        "grad_norm_by_block": [
            round(float(np.mean(norms[i : i + block])), 2) for i in range(0, len(norms), block)
        ],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--profile", default="ci")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--block", type=int, default=25, help="batches per printed mean")
    parser.add_argument(
        "--probe-every", type=int, default=0, help="score validation every N batches (0: never)"
    )
    args = parser.parse_args(argv)
    from rnnexp.config import parse_assignment

    overrides = dict(parse_assignment(text) for text in args.set)
    for seed in args.seeds:
        out = run(seed, args.profile, overrides, args.block, args.probe_every)
        print(json.dumps(out), flush=True)
        print(
            f"seed {seed}: valid ppl {out['valid_perplexity']:.1f} "
            f"(unigram {out['unigram_valid_perplexity']:.1f}); batch loss by "
            f"{args.block} batches {out['batch_nats_by_block']} vs unigram "
            f"{out['unigram_train_nats']:.3f} nats ({math.exp(out['unigram_train_nats']):.0f}); gradient norm {out['grad_norm_by_block']}",
            file=sys.stderr,
            flush=True,
        )


if __name__ == "__main__":
    main()
