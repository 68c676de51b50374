#!/usr/bin/env bash
# Every GPU check of the inference engines in one run, under 5 minutes on an H100-class GPU.
#
#   bash bench/gpu_checks.sh [OUT_DIR]      (from the repository root; OUT_DIR default gpu_out)
#
# Made for a bare GPU machine: it uses the python3 found there (torch preinstalled; set
# PYTHON to choose another) with this checkout on PYTHONPATH and installs nothing. Without
# a CUDA GPU it stops at once with one line saying so. Steps, each time-boxed (limits add
# up to 290 s):
#   1. versions: GPU, torch/CUDA, onnxruntime providers, tensorrt, openvino, what auto picks;
#   2. the engine tests on the GPU (pytest, if installed): TensorRT fp16 depth against
#      torch fp32, its engine cache, `auto` picking tensorrt (or torch CUDA) on a GPU;
#   3. engine cache reuse: a TensorRT fp16 estimator at 896x1600 built twice on one cache;
#      the second load must be much faster and give the same depth;
#   4. the benchmark at 896x1600: reference, torch fp32/fp16 on CUDA, TensorRT fp16
#      (goal: >= 150 FPS); rows whose engine is missing print "unavailable: <why>";
#   5. CUDA graphs at 352x704: TensorRT fp16 with and without them, torch fp16;
#   6. one summary table of every check.
# Output: OUT_DIR/versions.txt, tests.txt, cache.json, bench.txt, bench*.json, summary.txt.
set -u
out=${1:-gpu_out}
py=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if ! "$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    echo "gpu_checks: error: no CUDA GPU here ($py: torch missing or torch.cuda.is_available() is False); run this on a GPU machine" >&2
    exit 1
fi
mkdir -p "$out"
export LIRCDEPTH_CACHE_DIR="$out/engine-cache"

step() { echo "== $1 (limit $2 s) ==" | tee -a "$out/log.txt"; }

step versions 20
timeout 20 "$py" - <<'EOF' 2>&1 | tee "$out/versions.txt"
import importlib, subprocess, sys
import torch
print("python", sys.version.split()[0], "| torch", torch.__version__, "| CUDA", torch.version.cuda,
      "| GPU", torch.cuda.get_device_name(0))
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

step "engine cache reuse 896x1600" 60
timeout 60 "$py" - "$out" <<'EOF' 2>&1 | tee "$out/cache.txt"
import json, sys, time
from pathlib import Path
import numpy as np
from lircdepth.inference import BackendUnavailableError, DepthEstimator
from lircdepth.bench.inference import random_checkpoints, synthetic_frame
out = Path(sys.argv[1])
checkpoint = random_checkpoints(["student"], out)["student"]
frame = synthetic_frame(896, 1600)
loads, depths = [], []
try:
    for _ in range(2):  # first: engine built and cached; second: loaded from the cache
        started = time.perf_counter()
        estimator = DepthEstimator.from_checkpoint(checkpoint, device="cuda", backend="tensorrt", dtype="fp16")
        depths.append(estimator.estimate(*frame).depth)
        loads.append(time.perf_counter() - started)
    result = {"build_s": loads[0], "cached_s": loads[1], "same_depth": bool(np.array_equal(*depths)),
              "reused": loads[1] < loads[0] / 2}
except BackendUnavailableError as error:
    result = {"unavailable": str(error)}
print(json.dumps(result))
(out / "cache.json").write_text(json.dumps(result))
EOF

step "bench 896x1600" 90
timeout 90 "$py" -m lircdepth.bench.inference --device cuda --sizes 896x1600 \
    --repeats 30 --warmup 5 --engines reference:fp32 torch:fp32 torch:fp16 tensorrt:fp16 \
    --json "$out/bench.json" 2>&1 | tee "$out/bench.txt"

step "bench 352x704 CUDA graphs" 60
timeout 60 "$py" -m lircdepth.bench.inference --device cuda --sizes 352x704 \
    --repeats 50 --warmup 5 --engines torch:fp16 tensorrt:fp16 tensorrt:fp16+graph \
    --json "$out/bench_graph.json" 2>&1 | tee -a "$out/bench.txt"

step summary 10
timeout 10 "$py" - "$out" <<'EOF' 2>&1 | tee "$out/summary.txt"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
def load(name):
    path = out / name
    return json.loads(path.read_text()) if path.is_file() else None
lines = ["| check | result |", "|---|---|"]
tests = (out / "tests.txt").read_text().strip().splitlines() if (out / "tests.txt").is_file() else []
lines.append(f"| engine tests (pytest) | {tests[-1] if tests else 'no output'} |")
cache = load("cache.json")
if cache is None:
    lines.append("| engine cache reuse | did not finish (see cache.txt) |")
elif "unavailable" in cache:
    lines.append(f"| engine cache reuse | unavailable: {cache['unavailable']} |")
else:
    lines.append(f"| engine cache reuse | {'ok' if cache['reused'] and cache['same_depth'] else 'FAILED'}: "
                 f"build {cache['build_s']:.1f} s, cached load {cache['cached_s']:.1f} s, same depth {cache['same_depth']} |")
for name in ("bench.json", "bench_graph.json"):
    rows = load(name)
    if rows is None:
        lines.append(f"| {name} | did not finish (see bench.txt) |")
        continue
    for row in rows:
        label = f"{row['engine']} {row['dtype']} {row['size'][0]}x{row['size'][1]}"
        if "total" in row:
            fps = 1 / row["total"]
            goal = " (goal >= 150 FPS: " + ("met" if fps >= 150 else "missed") + ")" if (
                row["engine"], row["dtype"], row["size"]) == ("tensorrt", "fp16", [896, 1600]) else ""
            lines.append(f"| {label} | {row['total'] * 1e3:.2f} ms, {fps:.1f} FPS, peak {row['peak_mb']:.0f} MB{goal} |")
        else:
            lines.append(f"| {label} | {'unavailable' if 'unavailable' in row else 'failed'}: "
                         f"{row.get('unavailable') or row.get('error')} |")
print("\n".join(lines))
EOF
echo "done" | tee -a "$out/log.txt"
