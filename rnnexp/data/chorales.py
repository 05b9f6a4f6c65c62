"""Bach's four-part chorales from music21's bundled corpus, as quarter-note piano rolls.

Each chorale with exactly four parts becomes a binary roll `(T, 88)`: frame
t is quarter-note beat t, key k (MIDI 21 + k, the piano's 88 keys) is 1 when
any voice sounds that pitch at the beat. This is the encoding of the JSB
Chorales set of Boulanger-Lewandowski et al. 2012 (quarter notes, 88 keys);
the chorales and the split are music21's, not that set's pickle.

Parsing the ~350 scores takes tens of seconds, so the rolls are cached as an
`.npz` (no pickled objects) under the rnnexp cache folder (`$RNNEXP_CACHE_DIR`,
else `~/.cache/rnnexp`), keyed by music21's version and the settings here.
music21's own parse cache is switched off (`forceSource`) and its scratch
folder pointed at a temporary folder, so nothing is left in the user's home.
"""

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from rnnexp.config import ConfigError
from rnnexp.data.token_cache import cache_dir

__all__ = ["LOWEST", "KEYS", "load_rolls", "roll_of", "split_indices"]

LOWEST = 21  # MIDI number of the piano's lowest key (A0)
KEYS = 88
_FORMAT = 1  # bump when the encoding changes


def roll_of(notes, length: int) -> np.ndarray:
    """A `(length, 88)` uint8 roll from `(offset, duration, midi)` notes, offsets in quarters.

    A note sounds at beat t when `offset <= t < offset + duration`; a note
    shorter than a beat that starts and ends between two beats is not seen.
    """
    roll = np.zeros((length, KEYS), dtype="uint8")
    for offset, duration, midi in notes:
        key = int(midi) - LOWEST
        if not 0 <= key < KEYS:
            continue
        first = int(np.ceil(offset - 1e-9))
        last = int(np.ceil(offset + duration - 1e-9))  # exclusive
        roll[max(first, 0) : min(last, length), key] = 1
    return roll


def _parse(limit: int) -> list[np.ndarray]:
    try:
        import music21  # noqa: F401
    except ImportError as err:
        raise ConfigError(
            "the Bach chorales need the `music21` package: pip install music21"
        ) from err
    from music21 import corpus, environment

    rolls = []
    with tempfile.TemporaryDirectory(prefix="rnnexp-music21-") as scratch:
        env = environment.Environment("rnnexp")
        previous = env["directoryScratch"]
        env["directoryScratch"] = scratch  # in memory only: music21's settings file is untouched
        try:
            for name in corpus.chorales.Iterator(returnType="filename"):
                score = corpus.parse(name, forceSource=True)
                if len(score.parts) != 4:
                    continue
                notes = [
                    (float(n.offset), float(n.quarterLength), p.midi)
                    for part in score.parts
                    for n in part.flatten().notes
                    for p in n.pitches
                ]
                rolls.append(roll_of(notes, int(np.ceil(float(score.highestTime)))))
                if limit and len(rolls) >= limit:
                    break
        finally:
            env["directoryScratch"] = previous
    return rolls


def load_rolls(limit: int = 0) -> tuple[list[np.ndarray], str]:
    """The four-part chorales' rolls in corpus order (the first `limit`; 0 = all).

    Returns:
        `(rolls, status)`: a list of uint8 `(T, 88)` arrays, and `"hit"` or
        `"miss"` for the cache.
    """
    try:
        import music21
    except ImportError as err:
        raise ConfigError(
            "the Bach chorales need the `music21` package: pip install music21"
        ) from err
    key_text = json.dumps(
        {"format": _FORMAT, "music21": music21.__version__, "limit": limit, "keys": KEYS},
        sort_keys=True,
    )
    key = hashlib.sha256(key_text.encode()).hexdigest()[:24]
    entry = cache_dir() / "chorales" / f"{key}.npz"
    if entry.is_file():
        try:
            with np.load(entry, allow_pickle=False) as f:
                if str(f["key"]) == key_text:
                    offsets = f["offsets"]
                    frames = f["frames"]
                    return [frames[a:b] for a, b in zip(offsets[:-1], offsets[1:])], "hit"
        except (OSError, ValueError, KeyError, EOFError):
            pass  # a torn or foreign file: rebuild it
    rolls = _parse(limit)
    _write(entry, key_text, rolls)
    return rolls, "miss"


def _write(entry: Path, key_text: str, rolls):
    tmp = None
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        offsets = np.concatenate([[0], np.cumsum([len(r) for r in rolls])]).astype("int64")
        fd, tmp = tempfile.mkstemp(dir=entry.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, key=np.array(key_text), offsets=offsets, frames=np.concatenate(rolls))
        os.replace(tmp, entry)
    except OSError:
        # An unwritable cache only costs time: the run goes on with the rolls it has.
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def split_indices(n: int, valid: float, test: float, seed: int = 0):
    """A fixed random split of `n` chorales: `(train, valid, test)` index arrays."""
    order = np.random.default_rng(seed).permutation(n)
    n_test, n_valid = int(round(n * test)), int(round(n * valid))
    return (
        np.sort(order[n_test + n_valid :]),
        np.sort(order[n_test : n_test + n_valid]),
        np.sort(order[:n_test]),
    )
