"""Record what rnnexp does, to prove a refactor changed nothing.

    python tools/behaviour_snapshot.py --out /tmp/before.json   # on the old tree
    python tools/behaviour_snapshot.py --out /tmp/after.json    # on the new tree
    cmp /tmp/before.json /tmp/after.json

It records `list`, every experiment's `show --format json` and `run --dry-run`
at every profile (each in a fresh process, as a user runs them), and the final
metrics, to full precision, of a few cheap experiments at a tiny config, each
trial trained in a fresh process with nothing tracked.
"""

import argparse
import json
import os
import subprocess
import sys

# Cheap experiments and the overrides that make them tiny (same code path, small numbers).
TINY = {
    "adding": ["sweep.lengths=[20]", "data.train_size=128", "data.test_size=32", "train.epochs=1"],
    "copy_memory": [
        "sweep.lengths=[10]", "data.train_size=128", "data.test_size=32", "train.epochs=1",
    ],
    "tanh_vs_relu": [
        "sweep.lengths=[20]", "data.train_size=128", "data.test_size=32", "train.epochs=1",
    ],
}

_TRIALS = """
import json, sys, types
from rnnexp import catalog
from rnnexp.config import parse_assignment

class Null:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None

name, overrides = sys.argv[1], sys.argv[2:]
exp = catalog.get(name)
cfg = exp.resolve("ci", dict(parse_assignment(o) for o in overrides))
out = []
data = exp.prepare(cfg)
for trial in exp.trials(cfg):
    ctx = types.SimpleNamespace(reporter=Null(), label=exp.trial_name(trial), data=data)
    result = exp.run_trial(cfg, trial, ctx)
    out.append({"trial": trial, "status": result.status,
                "metrics": {k: repr(v) for k, v in sorted(result.metrics.items())}})
print("SNAPSHOT" + json.dumps(out, sort_keys=True, default=repr))
"""


def _run(argv: list[str]) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", COLUMNS="120")
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def _cli(*args: str) -> dict:
    return _run([sys.executable, "-m", "rnnexp", *args])


def snapshot(tiny: bool = True) -> dict:
    names = json.loads(
        subprocess.check_output(
            [sys.executable, "-c", "import json; from rnnexp import catalog; "
             "print(json.dumps({n: e.profile_names() for n, e in "
             "sorted(catalog.load_catalog().items())}))"],
            text=True,
        )
    )
    out: dict = {"list": _cli("list"), "experiments": {}, "tiny": {}}
    for name, profiles in names.items():
        for profile in profiles:
            key = f"{name}@{profile}"
            out["experiments"][key] = {
                "show": _cli("show", name, "--profile", profile, "--format", "json"),
                "dry_run": _cli("run", name, "--profile", profile, "--dry-run"),
            }
            print(f"{key}: rc {out['experiments'][key]['dry_run']['rc']}", file=sys.stderr)
    if tiny:
        for name, overrides in TINY.items():
            proc = _run([sys.executable, "-c", _TRIALS, name, *overrides])
            line = [ln for ln in proc["stdout"].splitlines() if ln.startswith("SNAPSHOT")]
            if proc["rc"] or not line:
                raise SystemExit(f"tiny {name} failed (rc {proc['rc']}): {proc['stderr'][-2000:]}")
            out["tiny"][name] = json.loads(line[0][len("SNAPSHOT"):])
            print(f"tiny {name}: {len(out['tiny'][name])} trials", file=sys.stderr)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the snapshot (JSON)")
    parser.add_argument("--no-tiny", action="store_true", help="skip the tiny trainings")
    args = parser.parse_args(argv)
    data = snapshot(tiny=not args.no_tiny)
    with open(args.out, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
