"""Train the teacher or the student: `python training/train.py teacher|student ARGS.txt [--flag value ...]`.

The same as `lircdepth train ...`; also works under `torchrun --nproc_per_node N training/train.py ...`.
"""

import sys

from lircdepth.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["train", *sys.argv[1:]]))
