#!/usr/bin/env bash
# Every GPU check of the inference engines in one run, under 5 minutes on an H100-class GPU.
#
#   bash bench/gpu_checks.sh [OUT_DIR]      (from the repository root; OUT_DIR default gpu_out)
#
# Made for a bare GPU machine: it uses the python3 found there (torch preinstalled) with
# this checkout on PYTHONPATH and installs nothing. Steps, each time-boxed:
#   1. versions: GPU, torch/CUDA, onnxruntime providers, tensorrt, openvino;
#   2. the engine tests on the GPU: TensorRT fp16 depth against torch fp32, its engine
#      cache, `auto` picking tensorrt (or torch CUDA) on a GPU (pytest; skips say why);
#   3. the benchmark table at 896x1600: reference, torch fp32/fp16 on CUDA, TensorRT fp16
#      (goal: >= 150 FPS), then at 352x704 TensorRT fp16 with and without CUDA graphs.
#      Rows whose engine is missing print "unavailable: <why>". An engine build takes up
#      to a minute per shape; the engine cache (OUT_DIR/engine-cache) makes reruns fast.
# Output: OUT_DIR/versions.txt, tests.txt, bench.txt, bench*.json (and the same on stdout).
set -u
out=${1:-gpu_out}
mkdir -p "$out"
py=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export LIRCDEPTH_CACHE_DIR="$out/engine-cache"

step() { echo "== $1 (limit $2 s) ==" | tee -a "$out/log.txt"; }

step versions 30
timeout 30 "$py" - <<'EOF' 2>&1 | tee "$out/versions.txt"
import importlib, subprocess, sys
import torch
print("python", sys.version.split()[0], "| torch", torch.__version__, "| CUDA", torch.version.cuda,
      "| GPU", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")
for name in ("onnxruntime", "tensorrt", "openvino", "nncf", "pytest"):
    try:
        module = importlib.import_module(name)
        extra = module.get_available_providers() if name == "onnxruntime" else ""
        print(name, getattr(module, "__version__", "?"), extra)
    except Exception as error:
        print(name, "missing:", type(error).__name__, error)
from lircdepth.inference.selection import choose_backend
print("auto on this machine:", choose_backend("auto"))
subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv"])
EOF

step tests 60
timeout 60 "$py" -m pytest -q -p no:cacheprovider test/inference/test_inference_engines.py \
    -k "tensorrt or gpu or auto" -rs 2>&1 | tee "$out/tests.txt"

step "bench 896x1600" 120
timeout 120 "$py" -m lircdepth.inference.benchmark --device cuda --sizes 896x1600 \
    --repeats 30 --warmup 5 --engines reference:fp32 torch:fp32 torch:fp16 tensorrt:fp16 \
    --json "$out/bench.json" 2>&1 | tee "$out/bench.txt"

step "bench 352x704 CUDA graphs" 60
timeout 60 "$py" -m lircdepth.inference.benchmark --device cuda --sizes 352x704 \
    --repeats 50 --warmup 5 --engines torch:fp16 tensorrt:fp16 tensorrt:fp16+graph \
    --json "$out/bench_graph.json" 2>&1 | tee -a "$out/bench.txt"
echo "done" | tee -a "$out/log.txt"
