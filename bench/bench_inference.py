"""Inference benchmark (same as `lircdepth bench inference`): python bench/bench_inference.py --help"""

import sys

from lircdepth.inference.benchmark import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
