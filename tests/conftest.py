import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# Unit tests never read the developer's token cache, nor fill it.
os.environ["RNNEXP_CACHE_DIR"] = tempfile.mkdtemp(prefix="rnnexp-test-cache-")
# `.ci/run` points RNNEXP_IMDB_PATH at the real IMDB copy for the `ci` profiles
# (tests/test_experiments_ci.py hands it on); unit tests of `data.source=auto`
# must not see it.
if "RNNEXP_IMDB_PATH" in os.environ:
    os.environ["RNNEXP_CI_IMDB_PATH"] = os.environ.pop("RNNEXP_IMDB_PATH")
