"""DataLoader workers end with the loop that used them, error or not (`batches_of`)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Run in a child: DataLoader workers forked from the pytest process made later OpenVINO
# tests in it crash (see test/errors/test_faults.py).
SCRIPT = textwrap.dedent(
    """
    import multiprocessing, sys
    from torch.utils.data import DataLoader, Dataset
    from lircdepth.training.data import batches_of

    class Failing(Dataset):
        def __len__(self):
            return 8
        def __getitem__(self, index):
            if index == 3:
                raise ValueError("bad sample 3")
            return index

    loader = DataLoader(Failing(), batch_size=1, num_workers=2)
    try:
        with batches_of(loader) as batches:
            for _ in batches:
                pass
    except ValueError as error:  # the traceback keeps every frame of the loop alive here
        alive = [p for p in multiprocessing.active_children() if p.is_alive()]
        print(f"{len(alive)} workers alive; {str(error).splitlines()[-1]}")
        sys.exit(0)
    sys.exit("no error")
    """
)


def test_workers_are_joined_before_the_error_leaves_the_loop():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0 workers alive; ValueError: bad sample 3", result.stdout
    assert "Traceback" not in result.stderr, result.stderr
