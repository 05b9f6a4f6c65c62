"""Read `.npz` files without running code from them.

`np.load(..., allow_pickle=True)` unpickles whatever a file holds, and a
pickle can call any function (`os.system` included): a data file from the
internet must never get that. Keras's own `imdb.npz` does hold pickles --
object arrays of int lists -- so object arrays are read here with an
unpickler that can only rebuild NumPy arrays, dtypes and scalars; any other
callable in the stream is refused before it is called. Plain (non-object)
arrays are read with pickling off.
"""

import io
import pickle
import zipfile

import numpy as np

from rnnexp.data import limits

__all__ = ["BadNpz", "load_arrays"]

# The arrays read from one archive, unpacked, all together (Keras's imdb.npz
# unpacks to tens of MB): a small download that unpacks to gigabytes is refused
# from the zip directory's sizes, before anything is decompressed.
MAX_NPZ_BYTES = 512 << 20

# What NumPy itself writes when it pickles an object array (numpy 1.x and 2.x
# module names); constructing any of these runs no user code.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class BadNpz(ValueError):
    """The file is not a readable npz, or holds something it must not; one line."""


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise BadNpz(
                f"holds a pickled {module}.{name}, which is never loaded (a data file must "
                "not run code); save plain arrays or object arrays of int lists"
            )
        return super().find_class(module, name)


def _read_npy(raw: bytes, key: str) -> np.ndarray:
    buf = io.BytesIO(raw)
    version = np.lib.format.read_magic(buf)
    header = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    _, _, dtype = header(buf)
    if not dtype.hasobject:
        buf.seek(0)
        return np.lib.format.read_array(buf, allow_pickle=False)
    try:
        array = _ArraysOnly(buf).load()
    except BadNpz as err:
        raise BadNpz(f"{key}: {err}") from None
    except Exception as err:  # a truncated or corrupt pickle stream
        raise BadNpz(f"{key}: unreadable object array ({type(err).__name__}: {err})") from None
    if not isinstance(array, np.ndarray):
        raise BadNpz(f"{key}: holds a pickled {type(array).__name__}, not an array")
    return array


def load_arrays(path, keys) -> dict[str, np.ndarray]:
    """`{key: array}` for `keys` from the npz archive `path`.

    Raises:
        BadNpz: not a zip archive, a key missing, a corrupt array, or a
            pickle that would construct anything but NumPy arrays.
    """
    limits.refuse_special(path, "point data.path at an .npz file", folder_ok=False)
    if not zipfile.is_zipfile(path):
        raise BadNpz("not an .npz archive (np.savez writes one; pickles are never read)")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {n[: -len(".npy")]: n for n in archive.namelist() if n.endswith(".npy")}
            missing = [k for k in keys if k not in members]
            if missing:
                raise BadNpz(
                    f"missing arrays {missing} (found {sorted(members)}; need {list(keys)})"
                )
            infos = {k: archive.getinfo(members[k]) for k in keys}
            total = 0
            for key, info in infos.items():
                total += info.file_size
                if total > MAX_NPZ_BYTES:
                    raise BadNpz(
                        f"its arrays unpack to more than {limits.human(MAX_NPZ_BYTES)} (at "
                        f"{key}: {info.file_size:,} bytes); not the data this loader expects"
                    )
            # zipfile reads a member only up to its declared size (a lie is a CRC error)
            return {k: _read_npy(archive.read(infos[k]), k) for k in keys}
    except BadNpz:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise BadNpz(f"not a readable .npz file ({type(err).__name__}: {err})") from None
