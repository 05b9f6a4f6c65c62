"""Per-epoch diagnosis of a long-range arm that does not take off at some seeds.

For each (arch, seed): per-epoch test loss / baseline, the largest per-batch
global gradient norm before clipping, and the recurrent matrix's spectral radius,
with a constant learning rate or a cosine decay to zero over the epochs.

    python tools/diag_takeoff.py --archs irnn rnn_relu --seeds 65 60 --schedule constant cosine
"""

import argparse
import json

import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--archs", nargs="+", default=["irnn", "rnn_relu"])
    p.add_argument("--seeds", nargs="+", type=int, default=[65, 60])
    p.add_argument("--schedule", nargs="+", default=["constant", "cosine"])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--train-size", type=int, default=5000)
    p.add_argument("--length", type=int, default=100)
    p.add_argument("--out", default="/tmp/diag_takeoff.jsonl")
    a = p.parse_args()

    import keras
    import tensorflow as tf

    from rnnexp.registry import get
    from rnnexp.training import set_seed

    # the adding experiment's data and model (units 32), built as its trials build them
    exp = get("adding")
    overrides = {"data.train_size": a.train_size, "train.epochs": a.epochs, "train.learning_rate": a.lr}
    cfg = exp.resolve("default", overrides)
    train = cfg.train
    for seed in a.seeds:
        for arch in a.archs:
            for sched in a.schedule:
                trial = {"arch": arch, "length": a.length, "seed": seed}
                split = exp.split(cfg, trial, None)
                set_seed(seed)
                model = exp.build(cfg, trial, split)
                steps = int(np.ceil(a.train_size / train.batch_size)) * a.epochs
                lr = (
                    keras.optimizers.schedules.CosineDecay(a.lr, steps)
                    if sched == "cosine"
                    else a.lr
                )
                gmax = tf.Variable(0.0, trainable=False)

                class Adam(keras.optimizers.Adam):
                    def _clip_gradients(self, grads):
                        gmax.assign(tf.maximum(gmax, tf.linalg.global_norm(grads)))
                        return super()._clip_gradients(grads)

                model.compile(optimizer=Adam(lr, clipnorm=1.0), loss="mse")
                kernel = [w for w in model.weights if "recurrent_kernel" in w.path][0]
                rows = []

                class Log(keras.callbacks.Callback):
                    def on_epoch_end(self, epoch, logs=None):
                        rho = float(np.max(np.abs(np.linalg.eigvals(kernel.numpy()))))
                        rows.append(
                            (round(logs["val_loss"] * 6, 3), round(float(gmax.numpy()), 2), round(rho, 3))
                        )
                        gmax.assign(0.0)

                model.fit(split.x_train, split.y_train, epochs=a.epochs, batch_size=train.batch_size,
                          validation_data=(split.x_val, split.y_val), callbacks=[Log()], verbose=0)
                rec = {"seed": seed, "arch": arch, "schedule": sched, "epochs": rows}
                print(json.dumps(rec), flush=True)
                with open(a.out, "a") as f:
                    f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
