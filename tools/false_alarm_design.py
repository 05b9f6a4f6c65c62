"""Write the design files of imdb_seqlen's and sentiment's ci checks (robustness/design/).

Each interval check's level was set from per-seed values measured before the fresh records:
the one-seed ci records at the commit before the reshape (their messages hold each seed's
numbers) and, for imdb_seqlen, seeds 5000-5001 from an interrupted sweep in this worktree's
MLflow store (`mlruns/mlflow.db`). `python -m rnnexp.report.false_alarm` reads these files.

    python tools/false_alarm_design.py [--before dc06d85]
"""

import argparse
import json
import re
import sqlite3
import subprocess
from pathlib import Path


def old_record(commit, name):
    text = subprocess.run(
        ["git", "show", f"{commit}:robustness/{name}-ci.json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(text)["outcomes"]


def mlflow_post_gains(db="mlruns/mlflow.db", seeds=(5000, 5001)):
    """`{seed: (lstm gain, rnn gain)}` of imdb_seqlen post trials in the local store."""
    rows = sqlite3.connect(db).execute(
        "select t.value, m.value from tags t join metrics m on m.run_uuid = t.run_uuid "
        "where t.key = 'rnnexp.trial' and m.key = 'final.test_accuracy'"
    )
    acc = {}
    for trial, value in rows:
        t = json.loads(trial)
        if t.get("truncation") == "post" and t["seed"] in seeds:
            acc[(t["model"], t["length"], t["seed"])] = value
    return {
        s: tuple(acc[(m, 200, s)] - acc[(m, 10, s)] for m in ("lstm", "rnn"))
        for s in seeds
        if all((m, n, s) in acc for m in ("lstm", "rnn") for n in (10, 200))
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", default="dc06d85", help="commit of the one-seed records")
    args = parser.parse_args()

    seeds, gain, gap = [], [], []
    for o in old_record(args.before, "imdb_seqlen"):
        m = re.search(r"post rnn (-?[\d.]+) \(1 seed\), lstm (-?[\d.]+)", o["message"])
        rnn, lstm = float(m.group(1)), float(m.group(2))
        seeds.append(o["seed"]), gain.append(lstm), gap.append(lstm - rnn)
    for s, (lstm, rnn) in sorted(mlflow_post_gains().items()):
        seeds.append(s), gain.append(lstm), gap.append(lstm - rnn)
    imdb = {
        "post: LSTM gain L=10->200, low end of its 50% interval over 3 seeds": dict(
            values=gain, level=0.5, threshold=0.0, end="low"
        ),
        "post: LSTM gain - SimpleRNN gain, low end of its 20% paired interval over 3 seeds": dict(
            values=gap, level=0.2, threshold=0.0, end="low"
        ),
    }
    write("imdb_seqlen", imdb, seeds)

    seeds, uni, direction = [], [], []
    for o in old_record(args.before, "sentiment"):
        bi1 = float(re.search(r"lstm-bi1 ([\d.]+)", o["message"]).group(1))
        uni1 = float(re.search(r"lstm-uni1 ([\d.]+)", o["message"]).group(1))
        seeds.append(o["seed"]), uni.append(uni1), direction.append(bi1 - uni1)
    sentiment = {
        "lstm-uni1 accuracy, low end of its 50% interval": dict(
            values=uni, level=0.5, threshold=0.74, end="low"
        ),
        "lstm bi1-uni1 gain, high end of its 50% paired interval over 3 seeds": dict(
            values=direction, level=0.5, threshold=0.04, end="high"
        ),
    }
    write("sentiment", sentiment, seeds)


def write(name, checks, seeds):
    for spec in checks.values():
        spec.update(n_seeds=3, seeds=seeds)
    path = Path("robustness") / "design" / f"{name}-ci.json"
    path.write_text(json.dumps({"experiment": name, "profile": "ci", "checks": checks}, indent=1))
    print(f"wrote {path} (seeds {', '.join(map(str, seeds))})")


if __name__ == "__main__":
    main()
