"""Bounds on a data file a user names: every loader that reads one refuses it here.

A file given as `data.path` (or found inside it) could be a FIFO (reading it
waits forever for a writer), a device (`/dev/zero` never ends), or simply far
larger than the data it claims to be (a 200 MB "review", a 40 GB "corpus").
Each loader states what its data is and how large it can reasonably be; the
helpers here refuse anything else in one line naming the file and the limit,
before it is opened or read.
"""

import stat
from pathlib import Path

from rnnexp.data.records import DataError

__all__ = ["check_size", "human", "read_bounded", "refuse_special"]


def human(size: int) -> str:
    """`1 MB`, `64 MB`, `4 GB`: a limit as a person reads it."""
    for unit, shift in (("GB", 30), ("MB", 20), ("KB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size:,} bytes"


def refuse_special(path, hint: str = "", *, folder_ok: bool = True):
    """Refuse a FIFO, device or socket (after following links) without opening it.

    `os.stat` never blocks on a FIFO; `open` would, until something writes to it.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None
    if stat.S_ISREG(mode) or (folder_ok and stat.S_ISDIR(mode)):
        return
    kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO, device or socket"
    raise DataError(f"{path}: not a regular file ({kind}){'; ' + hint if hint else ''}")


def check_size(where, size: int, limit: int, what: str):
    """Refuse `size` bytes above `limit`: `what` says what the data is and how large it is."""
    if size > limit:
        raise DataError(f"{where}: more than {human(limit)} ({what})")


def read_bounded(path, limit: int, what: str, hint: str = "") -> bytes:
    """The bytes of the regular file `path`, refused (in one line) beyond `limit`.

    The size is checked from `stat` before the file is opened, and the read
    stops at `limit + 1` bytes in case the file grows meanwhile.
    """
    path = Path(path)
    refuse_special(path, hint, folder_ok=False)
    check_size(path, path.stat().st_size, limit, what)
    try:
        with open(path, "rb") as stream:
            raw = stream.read(limit + 1)
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None
    check_size(path, len(raw), limit, what)
    return raw
