"""`python -m lircdepth ...` (and `torchrun -m lircdepth train ...`)."""

from lircdepth.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
