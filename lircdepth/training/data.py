"""Data loaders for training and validation, with an order that survives a restart.

The training order of epoch e is DistributedSampler's shuffle seeded by (seed, e), so it
depends only on the seed, the epoch, the world size and the rank. As published, the
batch size asked for is the total over all processes (each takes its share), and the
last, partial batch of an epoch is kept: an epoch has ceil(samples / batch) steps
(with several processes the sampler pads every rank to the same count, as torch's
DistributedSampler does by default). A resumed run starts
the interrupted epoch part-way by skipping the batches already done (indices are skipped,
no sample is loaded twice). Worker seeds are drawn from a generator re-seeded per epoch,
never from the global RNG, so resuming does not shift the global random stream.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterable, Iterator, Sized
from typing import cast

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, Subset

from lircdepth.training.distributed import DistributedContext
from lircdepth.training.options import TrainingSetupError


class ResumableSampler(Sampler[int]):
    """This rank's share of a shuffled epoch, optionally starting after `skip` samples."""

    def __init__(self, dataset: Dataset, context: DistributedContext, seed: int) -> None:
        self.inner: DistributedSampler[int] = DistributedSampler(
            dataset,
            num_replicas=context.world_size,
            rank=context.rank,
            shuffle=True,
            seed=seed,
            drop_last=False,
        )
        self.skip = 0

    def set_position(self, epoch: int, samples_done: int) -> None:
        self.inner.set_epoch(epoch)
        self.skip = samples_done

    def __iter__(self):
        return itertools.islice(iter(self.inner), self.skip, None)

    def __len__(self) -> int:
        return max(len(self.inner) - self.skip, 0)


def per_process_batch(total: int, world_size: int) -> int:
    """Each process's share of the total batch (published: the argument is the total)."""
    if total % world_size:
        raise TrainingSetupError(
            f"--batch_size {total} is the total over {world_size} processes and must divide "
            f"evenly by {world_size}"
        )
    return total // world_size


class TrainLoader:
    """Batches of one epoch from any position: `epoch_batches(epoch, batches_done)`.

    `batch_size` is this process's batch (see `per_process_batch`).
    """

    def __init__(
        self,
        dataset: Dataset,
        context: DistributedContext,
        batch_size: int,
        seed: int,
        workers: int,
    ) -> None:
        self.sampler = ResumableSampler(dataset, context, seed)
        self.batch_size = batch_size
        self.steps_per_epoch = math.ceil(len(self.sampler.inner) / batch_size)
        if self.steps_per_epoch == 0:
            raise TrainingSetupError("the training split has no samples")
        self._seed, self._rank = seed, context.rank
        self._generator = torch.Generator()
        self.loader = DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=self.sampler,
            num_workers=workers,
            drop_last=False,
            pin_memory=context.device.type == "cuda",
            generator=self._generator,
        )

    def epoch_batches(self, epoch: int, batches_done: int = 0):
        self.sampler.set_position(epoch, batches_done * self.batch_size)
        self._generator.manual_seed(hash((self._seed, epoch, self._rank)) % 2**63)
        return iter(self.loader)


@contextlib.contextmanager
def batches_of(loader: Iterable) -> Iterator[Iterator]:
    """`iter(loader)` whose DataLoader worker processes are stopped and joined when the
    block ends, error or not.

    Left to the garbage collector, an error's traceback keeps the iterator (and its
    workers) alive to interpreter exit, where a worker still sending a batch created a
    socket in multiprocessing's temp folder while it was being removed: a second traceback
    after the one-line error (seen once in CI).
    """
    iterator = iter(loader)
    try:
        yield iterator
    finally:
        stop = getattr(iterator, "_shutdown_workers", None)  # torch's own, idempotent
        if stop is not None:
            stop()


def build_eval_loader(dataset: Dataset, workers: int, max_images: int = 0) -> DataLoader:
    """One image per batch, in index order; `max_images` > 0 keeps only the first ones."""
    if max_images > 0 and len(cast(Sized, dataset)) > max_images:  # a map-style dataset
        dataset = Subset(dataset, range(max_images))
    return DataLoader(dataset, batch_size=1, shuffle=False, num_workers=workers)
