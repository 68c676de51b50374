"""Batches as published: the batch size is the total over processes, and an epoch keeps
its last, partial batch (steps per epoch rounded up)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import Dataset

from lircdepth.training.data import TrainLoader, per_process_batch
from lircdepth.training.distributed import DistributedContext
from lircdepth.training.options import TrainingSetupError


class Numbers(Dataset):
    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.tensor(index)


def _context(rank: int = 0, world_size: int = 1) -> DistributedContext:
    return DistributedContext(rank, rank, world_size, torch.device("cpu"))


def test_batch_size_is_the_total_over_processes():
    """main.py divides the argument by the GPU count: batch 8 on 4 GPUs is 2 each."""
    assert per_process_batch(8, 4) == 2
    assert per_process_batch(6, 1) == 6
    with pytest.raises(TrainingSetupError, match="--batch_size 6 is the total over 4"):
        per_process_batch(6, 4)


def test_last_partial_batch_is_kept():
    """10 samples at batch 4: 3 steps of 4, 4 and 2 samples, every sample once."""
    loader = TrainLoader(Numbers(10), _context(), batch_size=4, seed=0, workers=0)
    assert loader.steps_per_epoch == 3
    batches = list(loader.epoch_batches(0))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(torch.cat(batches).tolist()) == list(range(10))


def test_resuming_inside_an_epoch_skips_whole_batches():
    loader = TrainLoader(Numbers(10), _context(), batch_size=4, seed=0, workers=0)
    full = list(loader.epoch_batches(1))
    rest = list(loader.epoch_batches(1, batches_done=2))
    assert len(rest) == 1 and torch.equal(rest[0], full[2])


def test_each_process_takes_its_share_and_keeps_the_partial_batch():
    """10 samples, total batch 4 on 2 processes: 2 per step each; a rank holds
    ceil(10 / 2) = 5 samples, so 3 steps (2, 2, 1) per epoch."""
    share = per_process_batch(4, 2)
    loaders = [
        TrainLoader(Numbers(10), _context(rank, 2), batch_size=share, seed=0, workers=0)
        for rank in (0, 1)
    ]
    assert [loader.steps_per_epoch for loader in loaders] == [3, 3]
    seen = [torch.cat(list(loader.epoch_batches(0))).tolist() for loader in loaders]
    assert [len(s) for s in seen] == [5, 5]
    assert sorted(seen[0] + seen[1]) == list(range(10))
