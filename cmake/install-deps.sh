#!/usr/bin/env bash
# Installs what emofuse needs on Debian 12, idempotently: it does nothing (and prints nothing)
# when every package is already present. Usage: cmake/install-deps.sh [--python]
#   --python  also install the Python stack (PyTorch, SciPy, h5py) that regenerates test
#             fixtures and runs the PyTorch comparisons (and the Python tests' torch round
#             trip). The default set builds the Python module and runs its pytest suite.
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config
    libxtensor-dev libxsimd-dev libboost-dev doctest-dev libbenchmark-dev
    nlohmann-json3-dev libhdf5-dev
    libexpat1-dev # emofuse::xlsx: the OV-MER emotion-wheel folder's .xlsx files
    libutf8proc-dev # emofuse::unicode: NFKC case folding of LLM answers
    libopenmpi-dev openmpi-bin
    clang libclang-rt-14-dev
    # The Python module (EMOFUSE_BUILD_PYTHON) and its pytest suite, which the test workflow runs.
    python3-dev pybind11-dev python3-pybind11 python3-numpy python3-pytest python3-sklearn
)
if [[ "${1:-}" == "--python" ]]; then
    # OpenBLAS: without it numpy falls back to the reference BLAS and the GEMM comparison is moot.
    packages+=(python3-torch python3-scipy python3-h5py python3-matplotlib libopenblas0-pthread)
    # tests/metrics/generate_wheel_fixtures.py runs MERTools' wheel.py, which reads Excel.
    packages+=(python3-pandas python3-openpyxl)
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
        echo "install-deps: need root to install: ${missing[*]}" >&2
        exit 1
    fi
else
    SUDO=
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
