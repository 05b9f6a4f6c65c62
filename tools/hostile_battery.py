"""Hostile-user battery: run odd inputs, signals, stores and records against the CLI.

Each case runs `python -m rnnexp ...` of one checkout in a fresh temporary
folder (its own store, records and HOME) under a timeout, and is classified:
exit status, a traceback on the terminal, "a bug in rnnexp" on the terminal,
the longest silence (seconds without a line), runs left RUNNING in its store,
records changed (the case's `robustness/` folder, which no fault may change),
and peak memory (the case's process tree, from `os.wait4`).

    python tools/hostile_battery.py --python /work/wt/base32/.venv/bin/python --out before.json
    python tools/hostile_battery.py --out after.json
    python tools/hostile_battery.py --report before.json after.json --write docs/notes/hostile-battery.md

Most cases are refused before anything trains; the signal cases train TINY
(one cell, 200 sentences, one epoch). The whole battery takes a few minutes.
"""

import argparse
import dataclasses
import hashlib
import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TINY = [
    "tagging", "--profile", "ci", "--set", "data.train_size=200", "--set", "data.test_size=100",
    "--set", "train.epochs=1", "--set", "sweep.cells=[rnn]",
]  # fmt: skip
STORE = "sqlite:///{tmp}/store/mlflow.db"
BROKEN_EXPERIMENT = '"""broken."""\nimport os\ndef f(:\n'
TOY = '''"""dup: a toy."""
import dataclasses
from rnnexp.catalog import Experiment, register
@dataclasses.dataclass(frozen=True)
class Config:
    seed: int = 0
@register
class Dup(Experiment):
    name = "dup"
    description = "a toy"
    metric = "score"
    config = Config()
    profiles = {"ci": {}}
'''


@dataclasses.dataclass
class Case:
    name: str
    group: str
    argv: list  # after `python -m rnnexp`; "{tmp}" is the case's folder
    env: dict = dataclasses.field(default_factory=dict)
    setup: object = None  # setup(tmp: Path) before the command
    signal_at: tuple | None = None  # (text seen on the terminal, signal) or ("RUNNING trial", sig)
    timeout: float = 75.0
    settle_s: float = 0.0  # after exit: how long workers may take to end their runs


def _fifo(rel):
    def make(tmp: Path):
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)

    return make


def _write(rel, data: bytes | str):
    def make(tmp: Path):
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    return make


def _link(rel, target):
    def make(tmp: Path):
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)

    return make


def _sparse(rel, size):
    def make(tmp: Path):
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.truncate(size)

    return make


def _all(*steps):
    def make(tmp: Path):
        for step in steps:
            step(tmp)

    return make


def _record(text: str):
    return _write("robustness/tagging-ci.json", text)


GOOD_RECORD = json.dumps({"experiment": "tagging", "profile": "ci", "outcomes": []})


class _StallingServer:
    """`/health` answers; every other request waits until the battery ends."""

    def __init__(self):
        release = self.release = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                if self.path.rstrip("/") == "/health":
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"OK")
                    return
                release.wait(600)

            do_GET = do_POST = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


_LOCKS: list = []


def _locked_store(tmp: Path):
    """A store that another process holds (an exclusive transaction) for the whole case."""
    db = tmp / "store" / "mlflow.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    con.execute("CREATE TABLE t (x)")
    con.execute("BEGIN EXCLUSIVE")
    _LOCKS.append(con)


def cases(stall_uri: str) -> list[Case]:
    run = ["run", *TINY, "--tracking-uri", STORE]
    dry = ["run", *TINY, "--dry-run"]
    rob = ["robustness", "tagging", "--profile", "ci", "--tracking-uri", STORE]
    big = "9" * 401
    c = [
        # --set, seeds, flags
        Case("unknown --set key", "config", [*dry, "--set", "nope=1"]),
        Case("401-digit --set integer", "config", [*dry, "--set", f"train.epochs={big}"]),
        Case("--set float overflow 1e999", "config", [*dry, "--set", "train.learning_rate=1e999"]),
        Case("--set nan", "config", [*dry, "--set", "train.learning_rate=nan"]),
        Case("--set negative epochs", "config", [*dry, "--set", "train.epochs=-1"]),
        Case("--set repeated grid value", "config", [*dry, "--set", "sweep.cells=[rnn,rnn]"]),
        Case("--set unclosed list", "config", [*dry, "--set", "sweep.cells=[rnn"]),
        Case("--set without =", "config", [*dry, "--set", "train.epochs"]),
        Case("--set NUL byte in value", "config", [*dry, "--set", "sweep.cells=[r\x01nn]"]),
        Case("run --seed 2**32", "config", [*dry, "--seed", str(2**32)]),
        Case("run --seed -1", "config", [*dry, "--seed", "-1"]),
        Case("run --workers 0", "config", [*dry, "--workers", "0"]),
        Case("unknown experiment", "config", ["run", "nope", "--dry-run"]),
        Case("unknown profile", "config", ["run", "tagging", "--profile", "nope", "--dry-run"]),
        Case("bench --batch 0", "config", ["bench", "--batch", "0"]),
        Case("bench --batch 2**31", "config", ["bench", "--batch", str(2**31)]),
        # environment
        Case("KERAS_BACKEND=nonsense --dry-run", "env", dry, env={"KERAS_BACKEND": "nonsense"}),
        Case("KERAS_BACKEND=jax (no jax)", "env", dry, env={"KERAS_BACKEND": "jax"}),
        Case("RNNEXP_HEARTBEAT_S=abc", "env", run, env={"RNNEXP_HEARTBEAT_S": "abc"}),
        Case("RNNEXP_HEARTBEAT_S=0", "env", run, env={"RNNEXP_HEARTBEAT_S": "0"}),
        Case(
            "experiments folder empty", "env", ["list"],
            env={"RNNEXP_EXPERIMENTS_DIR": "{tmp}/exps"}, setup=lambda t: (t / "exps").mkdir(),
        ),  # fmt: skip
        Case(
            "experiments folder: syntax error", "env", ["list"],
            env={"RNNEXP_EXPERIMENTS_DIR": "{tmp}/exps"}, setup=_write("exps/b.py", BROKEN_EXPERIMENT),
        ),  # fmt: skip
        Case(
            "experiments folder: duplicate name", "env", ["list"],
            env={"RNNEXP_EXPERIMENTS_DIR": "{tmp}/exps"},
            setup=_all(_write("exps/a.py", TOY), _write("exps/b.py", TOY)),
        ),  # fmt: skip
        Case("experiments folder missing", "env", ["list"], env={"RNNEXP_EXPERIMENTS_DIR": "{tmp}/no"}),
        Case("MLFLOW_TRACKING_URI=foo://x", "env", ["run", *TINY], env={"MLFLOW_TRACKING_URI": "foo://x"}),
        # stores
        Case("--tracking-uri ''", "store", ["run", *TINY, "--tracking-uri", ""]),
        Case("plain-folder store file://", "store", ["run", *TINY, "--tracking-uri", "file:///{tmp}"]),
        Case("store file is garbage", "store", run, setup=_write("store/mlflow.db", b"x" * 5000)),
        Case("store file is a FIFO", "store", run, setup=_fifo("store/mlflow.db")),
        Case("store under /proc", "store", ["run", *TINY, "--tracking-uri", "sqlite:////proc/rnnexp/mlflow.db"]),
        Case("sqlite:///~/mlflow.db", "store", ["run", *TINY, "--dry-run", "--tracking-uri", "sqlite:///~/mlflow.db"]),
        Case("store path runs through a file", "store", ["run", *TINY, "--tracking-uri", "sqlite:///{tmp}/f/sub/mlflow.db"], setup=_write("f", "x")),
        Case("server not listening", "store", ["run", *TINY, "--tracking-uri", "http://127.0.0.1:9"]),
        Case("server answers /health, stalls", "store", ["run", *TINY, "--tracking-uri", stall_uri], timeout=120),
        Case("store locked by another process", "store", run, setup=_locked_store, timeout=120),
        Case("compare on an empty store", "store", ["compare", "tagging", "--tracking-uri", STORE]),
        Case("ui on a missing store", "store", ["ui", "--tracking-uri", STORE]),
        # records
        Case("record truncated JSON", "records", [*rob, "--record", "{tmp}/robustness/tagging-ci.json"], setup=_record(GOOD_RECORD[:20])),
        Case("record outcome without seed", "records", [*rob, "--record", "{tmp}/robustness/tagging-ci.json"],
             setup=_record(json.dumps({"experiment": "tagging", "profile": "ci", "outcomes": [{"passed": True}]}))),  # fmt: skip
        Case("--record names a folder", "records", [*rob, "--record", "{tmp}/robustness"], setup=lambda t: (t / "robustness").mkdir()),
        Case("--record is a FIFO", "records", [*rob, "--record", "{tmp}/robustness/r.json"], setup=_fifo("robustness/r.json")),
        Case("robustness --seeds 1000000000", "records", [*rob, "--seeds", "1000000000", "--record", "{tmp}/robustness/tagging-ci.json"]),
        Case("robustness --start 2**32", "records", [*rob, "--start", str(2**32), "--record", "{tmp}/robustness/tagging-ci.json"]),
        Case("robustness-table --records missing", "records", ["robustness-table", "--records", "{tmp}/none"]),
        Case("list --format markdown, no records", "records", ["list", "--format", "markdown"]),
        # data files
        Case("char_lm data.path FIFO", "data", ["run", "char_lm", "--profile", "ci", "--set", "data.source=path", "--set", "data.path={tmp}/t.txt", "--tracking-uri", STORE], setup=_fifo("t.txt")),
        Case("char_lm data.path -> /dev/zero", "data", ["run", "char_lm", "--profile", "ci", "--set", "data.source=path", "--set", "data.path={tmp}/t.txt", "--tracking-uri", STORE], setup=_link("t.txt", "/dev/zero")),
        Case("char_lm data.path 3 GB (sparse)", "data", ["run", "char_lm", "--profile", "ci", "--set", "data.source=path", "--set", "data.path={tmp}/t.txt", "--tracking-uri", STORE], setup=_sparse("t.txt", 3 << 30)),
        Case("translation data.path 3 GB (sparse)", "data", ["run", "translation", "--profile", "ci", "--set", "data.source=path", "--set", "data.path={tmp}/fra.txt", "--tracking-uri", STORE], setup=_sparse("fra.txt", 3 << 30)),
        Case("captioning captions.txt FIFO", "data", ["run", "captioning", "--profile", "ci", "--set", "data.source=path", "--set", "data.path={tmp}/f", "--tracking-uri", STORE],
             setup=_all(lambda t: (t / "f" / "Images").mkdir(parents=True), _fifo("f/captions.txt"))),  # fmt: skip
        Case("imdb data.path .tar.gz -> /dev/zero", "data", ["run", "imdb_seqlen", "--profile", "ci", "--set", "data.source=path", "--set", "data.path={tmp}/aclImdb_v1.tar.gz", "--tracking-uri", STORE], setup=_link("aclImdb_v1.tar.gz", "/dev/zero")),
        # signals while TINY trains
        Case("SIGTERM mid-trial", "signals", run, signal_at=("RUNNING trial", signal.SIGTERM), timeout=240),
        Case("SIGHUP mid-trial", "signals", run, signal_at=("RUNNING trial", signal.SIGHUP), timeout=240),
        Case("SIGINT (Ctrl-C) mid-trial, --workers 2", "signals", [*run, "--workers", "2"],
             signal_at=("RUNNING trial", signal.SIGINT), timeout=240, settle_s=30),  # fmt: skip
        Case("kill -9 of a --workers 2 parent", "signals", [*run, "--workers", "2"],
             signal_at=("RUNNING trial", signal.SIGKILL), timeout=240, settle_s=30),  # fmt: skip
    ]
    return c


def _fill(value: str, tmp: Path) -> str:
    return value.replace("{tmp}", str(tmp))


def _store_runs(db: Path) -> list[tuple[str, str]]:
    """`(status, role)` of every run in the case's sqlite store (read-only; [] if none)."""
    if not db.is_file() or db.stat().st_size == 0:
        return []
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
        try:
            return con.execute(
                "SELECT r.status, COALESCE(t.value, '') FROM runs r LEFT JOIN tags t "
                "ON t.run_uuid = r.run_uuid AND t.key = 'rnnexp.role'"
            ).fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return []


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    if folder.is_dir():
        for f in sorted(folder.rglob("*")):
            if f.is_file():  # not a FIFO: that would block
                h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def run_case(case: Case, python: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="hostile-") as name:
        tmp = Path(name)
        (tmp / "home").mkdir()
        if case.setup:
            case.setup(tmp)
        records_before = _digest(tmp / "robustness")
        env = {
            **os.environ,
            "HOME": str(tmp / "home"),
            "PYTHONUNBUFFERED": "1",
            "RNNEXP_CACHE_DIR": str(tmp / "cache"),
            **{k: _fill(v, tmp) for k, v in case.env.items()},
        }
        env.pop("MLFLOW_TRACKING_URI", None) if "MLFLOW_TRACKING_URI" not in case.env else None
        argv = [python, "-m", "rnnexp", *(_fill(a, tmp) for a in case.argv)]
        start = time.monotonic()
        proc = subprocess.Popen(
            argv, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_as_in_a_terminal,
        )  # fmt: skip
        events = []  # (seconds since start, line): what the terminal showed, when

        def read():
            for raw in proc.stdout:
                events.append((time.monotonic() - start, raw.decode("utf-8", "replace")))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        db = tmp / "store" / "mlflow.db"
        sent, status, rusage, timed_out = None, None, None, False
        while True:
            pid, wait_status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                status, rusage = os.waitstatus_to_exitcode(wait_status), usage
                proc.returncode = status
                break
            now = time.monotonic()
            if now - start > case.timeout:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                continue
            if case.signal_at and sent is None:
                if any(s == "RUNNING" and r == "trial" for s, r in _store_runs(db)):
                    time.sleep(1.0)
                    os.kill(proc.pid, case.signal_at[1])
                    sent = time.monotonic()
            time.sleep(0.2)
        ended = time.monotonic()
        # Workers left behind (kill -9 of the parent) keep the terminal: what they
        # say, and how long they take to say it, counts too.
        reader.join(timeout=max(5.0, case.settle_s))
        closed = time.monotonic()
        if case.settle_s:
            deadline = time.monotonic() + case.settle_s
            while time.monotonic() < deadline and any(s == "RUNNING" for s, _ in _store_runs(db)):
                time.sleep(0.5)
        text = "".join(line for _, line in events)
        running = sum(1 for s, _ in _store_runs(db) if s == "RUNNING")
        with __import__("contextlib").suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # a worker left behind
        marks = [(0.0, "(start)"), *events, (max(ended, closed) - start, "(exit)")]
        gaps = [(b[0] - a[0], a, b) for a, b in zip(marks, marks[1:])]
        gap, before, after = max(gaps, key=lambda g: g[0])
        return {
            "name": case.name,
            "group": case.group,
            "exit": "timeout" if timed_out else status,
            "seconds": round(max(ended, closed) - start, 1),
            "traceback": "Traceback (most recent call last)" in text,
            "bug": "a bug in rnnexp" in text,
            "silence_s": round(gap, 1),
            "silence_between": [round(before[0], 1), before[1].strip()[:80], round(after[0], 1), after[1].strip()[:80]],
            "signal_at_s": round(sent - start, 1) if sent else None,
            "exit_at_s": round(ended - start, 1),
            "transcript": [[round(t, 1), line.rstrip("\n")[:300]] for t, line in events][-200:],
            "running_left": running,
            "records_changed": _digest(tmp / "robustness") != records_before,
            "peak_rss_mb": round(rusage.ru_maxrss / 1024) if rusage else None,
            "tilde_folder": (tmp / "~").exists(),
            "signal_sent": sent is not None,
            "last_line": (text.strip().splitlines() or [""])[-1][:160],
        }


def battery(python: str, only: str | None = None, groups=None) -> list[dict]:
    server = _StallingServer()
    results = []
    try:
        for case in cases(server.uri):
            if (only and only not in case.name) or (groups and case.group not in groups):
                continue
            result = run_case(case, python)
            for con in _LOCKS:
                con.close()
            _LOCKS.clear()
            results.append(result)
            print(
                f"{result['exit']!s:>7} {result['seconds']:6.1f} s  silence "
                f"{result['silence_s']:5.1f} s  {case.name}: {result['last_line'][:90]}",
                flush=True,
            )
    finally:
        server.release.set()
        server.server.shutdown()
    return results


def _flags(r: dict) -> str:
    bad = []
    if r["traceback"]:
        bad.append("traceback")
    if r["bug"]:
        bad.append("'a bug'")
    if r["silence_s"] > 30:
        bad.append(f"silent {r['silence_s']:.0f} s")
    if r["running_left"]:
        bad.append(f"{r['running_left']} RUNNING")
    if r["records_changed"]:
        bad.append("record changed")
    if r["exit"] == "timeout":
        bad.append("hung")
    if r.get("tilde_folder"):
        bad.append("made ~/")
    return ", ".join(bad) or "ok"


def _load(path: Path) -> dict:
    """A results file, or the *before* columns of an earlier report (its `.md`)."""
    if path.suffix != ".md":
        return json.loads(path.read_text())
    text = path.read_text()
    label = text.split("Before: ", 1)[1].split(". After:", 1)[0]
    results = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        if len(cells) < 11 or not line.startswith("| ") or cells[0] in ("case", "---"):
            continue
        name, group, code, silence, rss, problems = cells[:6]
        if problems == "(not run)":
            continue
        results.append({
            "name": name, "group": group,
            "exit": code if code == "timeout" else int(code),
            "silence_s": float(silence), "peak_rss_mb": int(rss),
            "traceback": "traceback" in problems, "bug": "'a bug'" in problems,
            "running_left": int(problems.split(" RUNNING")[0].split()[-1]) if " RUNNING" in problems else 0,
            "records_changed": "record changed" in problems, "tilde_folder": "made ~/" in problems,
        })  # fmt: skip
    return {"label": label, "results": results}


def _between(r: dict) -> str:
    """Where the longest silence was: the lines (and times) around it."""
    if not r.get("silence_between"):
        return ""
    t0, first, t1, second = r["silence_between"]
    return f"{t0:.0f} s `{first[:45]}` to {t1:.0f} s `{second[:45]}`".replace("|", "\\|")


def _as_in_a_terminal():
    # A battery started with `&` from a script ignores SIGINT, one under `nohup` SIGHUP, and
    # a case would inherit it (a run keeps what it inherits ignored): give it a terminal's.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def report(before_path: Path, after_path: Path) -> str:
    before_doc = _load(before_path)
    before = {r["name"]: r for r in before_doc["results"]}
    after_doc = _load(after_path)
    after = {r["name"]: r for r in after_doc["results"]}
    names = [r["name"] for r in after_doc["results"]]
    lines = [
        "# Hostile-user battery (issue 32)",
        "",
        "Generated by `python tools/hostile_battery.py --report BEFORE.json AFTER.json --write "
        "docs/notes/hostile-battery.md`; do not edit by hand.",
        "",
        f"Before: {before_doc['label']}. "
        f"After: {after_doc['label']}. Each case ran in a fresh temporary folder with its own "
        "store, records and HOME. *exit*: exit status; *silence*: the longest time without a "
        "line on the terminal; *RSS*: peak memory of the case's process tree; *problems*: a "
        "traceback or \"a bug in rnnexp\" on the terminal, more than 30 s of silence, runs "
        "left RUNNING, a record changed, a hang (killed at the timeout), a folder named `~`; "
        "*longest silence, after*: the seconds since the start and the lines on each side of it "
        "(`(exit)`: until the last process of the case closed the terminal).",
        "",
        "| case | group | before: exit | silence s | RSS MB | problems | after: exit | silence s "
        "| RSS MB | problems | after: last line | longest silence, after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    totals = {"before": 0, "after": 0}
    for name in names:
        a, b = after[name], before.get(name)
        fa = _flags(a)
        fb = _flags(b) if b else "(not run)"
        totals["after"] += fa != "ok"
        totals["before"] += b is not None and fb != "ok"
        last = a["last_line"].replace("|", "\\|")
        cells = [name, a["group"]]
        cells += [str(b["exit"]), f"{b['silence_s']:.1f}", str(b["peak_rss_mb"]), fb] if b else ["", "", "", fb]
        cells += [str(a["exit"]), f"{a['silence_s']:.1f}", str(a["peak_rss_mb"]), fa, f"`{last[:100]}`", _between(a)]
        lines.append("| " + " | ".join(cells) + " |")
    n = len(names)
    lines += [
        "",
        f"**Totals** ({n} cases): cases with a problem, before {totals['before']}, after "
        f"{totals['after']}. Tracebacks: before "
        f"{sum(before[x]['traceback'] for x in names if x in before)}, after "
        f"{sum(after[x]['traceback'] for x in names)}; \"a bug in rnnexp\": before "
        f"{sum(before[x]['bug'] for x in names if x in before)}, after "
        f"{sum(after[x]['bug'] for x in names)}; runs left RUNNING: before "
        f"{sum(before[x]['running_left'] for x in names if x in before)}, after "
        f"{sum(after[x]['running_left'] for x in names)}; longest silence: before "
        f"{max(before[x]['silence_s'] for x in names if x in before):.1f} s, after "
        f"{max(after[x]['silence_s'] for x in names):.1f} s; records changed: before "
        f"{sum(before[x]['records_changed'] for x in names if x in before)}, after "
        f"{sum(after[x]['records_changed'] for x in names)}; peak RSS: before "
        f"{max(before[x]['peak_rss_mb'] or 0 for x in names if x in before)} MB, after "
        f"{max(after[x]['peak_rss_mb'] or 0 for x in names)} MB.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="the checkout's Python (its venv)")
    parser.add_argument("--out", type=Path, help="write the results (JSON) here")
    parser.add_argument("--label", default="", help="what was run (a commit), for the report")
    parser.add_argument("--only", help="run only the cases whose name contains this")
    parser.add_argument("--group", action="append", help="run only this group (repeatable)")
    parser.add_argument(
        "--merge", action="store_true", help="with --out: replace those cases in an existing file"
    )
    parser.add_argument("--report", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--write", type=Path, help="with --report: write the markdown here")
    args = parser.parse_args(argv)
    if args.report:
        text = report(*args.report)
        if args.write:
            args.write.write_text(text)
        else:
            print(text)
        return 0
    start = time.monotonic()
    results = battery(args.python, args.only, args.group)
    print(f"{len(results)} cases in {time.monotonic() - start:.0f} s", flush=True)
    if args.out and args.merge and args.out.is_file():
        old = json.loads(args.out.read_text())
        new = {r["name"]: r for r in results}
        old["results"] = [new.pop(r["name"], r) for r in old["results"]] + list(new.values())
        old["label"] = args.label or old["label"]
        args.out.write_text(json.dumps(old, indent=1))
    elif args.out:
        args.out.write_text(json.dumps({"label": args.label, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
