"""Parameters, GFLOPs, CPU latency and memory of both networks, and the fast student's speed-up."""

import sys

from lircdepth.models.benchmark import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
