"""A disk cache of tokenized reviews, so a sweep or a second run does not re-read them.

Tokenizing the 50,000 IMDB reviews of a tarball takes ~10 s (read, strip, fit a
vocabulary, map); a cache hit takes a fraction of a second. An entry is keyed
by the SHA-256 of the source (a file's bytes; for a folder, every file's
relative path, size and modification time) and by the tokenizer settings, so a
changed file or setting is a miss, never a stale hit.

Entries are plain `.npz` files (flat int32 ids with offsets, no pickled
objects: `np.load(allow_pickle=False)` reads them) written atomically, so two
processes filling the same entry at once cannot leave a torn file. A damaged
entry (a disk fault, a truncated copy) is named on the console and rebuilt.

Location: `$RNNEXP_CACHE_DIR`, else `~/.cache/rnnexp`.
"""

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["cache_dir", "fingerprint", "load_or_build"]

_FORMAT = 1  # bump when the stored layout changes


def cache_dir() -> Path:
    root = os.environ.get("RNNEXP_CACHE_DIR")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "rnnexp"


def fingerprint(path: Path) -> str:
    """SHA-256 of a file's bytes, or of a folder's listing (names, sizes, mtimes)."""
    digest = hashlib.sha256()
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            stat = f.stat()
            digest.update(f"{f.relative_to(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    else:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _pack(sequences) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.fromiter((len(s) for s in sequences), dtype="int64", count=len(sequences))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    ids = np.concatenate(sequences).astype("int32") if len(sequences) else np.zeros(0, "int32")
    return ids, offsets


def _checked(ids, offsets) -> tuple[np.ndarray, np.ndarray]:
    """`(ids, offsets)` if the offsets cut `ids` into reviews; else ValueError."""
    if offsets.ndim != 1 or len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(ids):
        raise ValueError("offsets do not span the token ids")
    if np.any(np.diff(offsets) < 0):
        raise ValueError("offsets go backwards")
    return ids, offsets


def _unpack(ids, offsets) -> list:
    return [ids[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]


def load_or_build(path: Path, settings: dict, build, kind: str = "imdb"):
    """Tokenized splits for `path` under `settings`, from the cache or from `build()`.

    Args:
        path: the source file or folder (its fingerprint is part of the key).
        settings: everything else that changes the tokens (vocabulary size,
            tokenizer version); JSON-serialisable.
        build: `() -> dict` with `x_train`, `y_train`, `x_test`, `y_test`
            (lists of int arrays and label arrays); called on a miss.

    Returns:
        `(splits, status)`: the dict `build` returns, and `"hit"` or `"miss"`.
    """
    key_text = json.dumps(
        {"format": _FORMAT, "source": fingerprint(path), **settings}, sort_keys=True
    )
    key = hashlib.sha256(key_text.encode()).hexdigest()[:24]
    entry = cache_dir() / kind / f"{key}.npz"
    if entry.is_file():
        try:
            with np.load(entry, allow_pickle=False) as f:
                if str(f["key"]) == key_text:
                    splits = {
                        "x_train": _unpack(*_checked(f["train_ids"], f["train_offsets"])),
                        "y_train": f["y_train"],
                        "x_test": _unpack(*_checked(f["test_ids"], f["test_offsets"])),
                        "y_test": f["y_test"],
                    }
                    if len(splits["y_train"]) == len(splits["x_train"]) and len(
                        splits["y_test"]
                    ) == len(splits["x_test"]):
                        return splits, "hit"
                    raise ValueError("labels and reviews differ in number")
        except Exception as err:  # noqa: BLE001 -- any unreadable entry: zip, zlib, CRC, layout
            reason = (str(err).splitlines() or [type(err).__name__])[0][:200]
            print(f"token cache: {entry} is damaged ({reason}): rebuilding it", flush=True)
    splits = build()
    _write(entry, key_text, splits)
    return splits, "miss"


def _write(entry: Path, key_text: str, splits: dict):
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        train_ids, train_offsets = _pack(splits["x_train"])
        test_ids, test_offsets = _pack(splits["x_test"])
        fd, tmp = tempfile.mkstemp(dir=entry.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(
                f,
                key=np.array(key_text),
                train_ids=train_ids,
                train_offsets=train_offsets,
                y_train=np.asarray(splits["y_train"]),
                test_ids=test_ids,
                test_offsets=test_offsets,
                y_test=np.asarray(splits["y_test"]),
            )
        os.replace(tmp, entry)
    except OSError:
        # A cache that cannot be written (read-only home, full disk) only
        # costs time: the run goes on with the tokens it has.
        try:
            os.unlink(tmp)
        except (OSError, UnboundLocalError):
            pass
