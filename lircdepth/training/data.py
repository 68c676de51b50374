"""Data loaders for training and validation, with an order that survives a restart.

The training order of epoch e is DistributedSampler's shuffle seeded by (seed, e), so it
depends only on the seed, the epoch, the world size and the rank. A resumed run starts
the interrupted epoch part-way by skipping the batches already done (indices are skipped,
no sample is loaded twice). Worker seeds are drawn from a generator re-seeded per epoch,
never from the global RNG, so resuming does not shift the global random stream.
"""

from __future__ import annotations

import itertools

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, Subset

from lircdepth.training.distributed import DistributedContext
from lircdepth.training.options import TrainingSetupError


class ResumableSampler(Sampler[int]):
    """This rank's share of a shuffled epoch, optionally starting after `skip` samples."""

    def __init__(self, dataset: Dataset, context: DistributedContext, seed: int) -> None:
        self.inner = DistributedSampler(
            dataset,
            num_replicas=context.world_size,
            rank=context.rank,
            shuffle=True,
            seed=seed,
            drop_last=True,
        )
        self.skip = 0

    def set_position(self, epoch: int, samples_done: int) -> None:
        self.inner.set_epoch(epoch)
        self.skip = samples_done

    def __iter__(self):
        return itertools.islice(iter(self.inner), self.skip, None)

    def __len__(self) -> int:
        return max(len(self.inner) - self.skip, 0)


class TrainLoader:
    """Batches of one epoch from any position: `epoch_batches(epoch, batches_done)`."""

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
        self.steps_per_epoch = len(self.sampler.inner) // batch_size
        if self.steps_per_epoch == 0:
            raise TrainingSetupError(
                f"the training split has {len(dataset)} samples: too few for batch size {batch_size}"
                f" on {context.world_size} process(es)"
            )
        self._seed, self._rank = seed, context.rank
        self._generator = torch.Generator()
        self.loader = DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=self.sampler,
            num_workers=workers,
            drop_last=True,
            pin_memory=context.device.type == "cuda",
            generator=self._generator,
        )

    def epoch_batches(self, epoch: int, batches_done: int = 0):
        self.sampler.set_position(epoch, batches_done * self.batch_size)
        self._generator.manual_seed(hash((self._seed, epoch, self._rank)) % 2**63)
        return iter(self.loader)


def build_eval_loader(dataset: Dataset, workers: int, max_images: int = 0) -> DataLoader:
    """One image per batch, in index order; `max_images` > 0 keeps only the first ones."""
    if max_images > 0 and len(dataset) > max_images:
        dataset = Subset(dataset, range(max_images))
    return DataLoader(dataset, batch_size=1, shuffle=False, num_workers=workers)
