"""Score a checkpoint: `python training/evaluate.py --checkpoint CKPT --data OUT [--split test] [--json FILE]`.

The same as `lircdepth evaluate ...`.
"""

import sys

from lircdepth.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["evaluate", *sys.argv[1:]]))
