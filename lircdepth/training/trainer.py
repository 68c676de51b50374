"""One Trainer for both networks: the teacher (CaFNet) alone, or the student (LiRCDepth)
distilled from a frozen teacher checkpoint.

A run lives in `<log_directory>/<model_name>/`: `last.pt` (written every `save_freq`
steps, at every epoch end and every validation), `best.pt` (lowest validation MAE at
the 80 m cap; with `--best_per_metric` also one `best_<metric>.pt` per metric, the
published protocol), `options.txt` (the resolved options) and `tensorboard/`. A run whose
folder already holds `last.pt` continues from it (model, optimiser, scheduler, step,
RNG states, best metric, place in the epoch's data order). A non-finite loss stops the
run with `TrainingDiverged` and leaves the last good checkpoint untouched. A new run
with `--init_checkpoint FILE` starts from that file's weights (see init_checkpoint.py).
"""

from __future__ import annotations

import argparse
import logging
import math
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from lircdepth.errors import JobError
from lircdepth.locks import folder_lock
from lircdepth.metrics import HEADLINE_CAP
from lircdepth.training import distributed
from lircdepth.training.data import (
    TrainLoader,
    batches_of,
    build_eval_loader,
    per_process_batch,
)
from lircdepth.training.evaluate import autocast, evaluate_model, panel_of
from lircdepth.training.init_checkpoint import (
    initial_model_config,
    load_initial_weights,
    read_init_checkpoint,
)
from lircdepth.training.logger import TrainingLogger
from lircdepth.training.optim import build_optimizer, freeze
from lircdepth.training.options import TrainingSetupError, write_argument_file
from lircdepth.training.rerun import clean_run_folder, refuse_changed_options
from lircdepth.training.rng import capture_rng_state, restore_rng_state, seed_everything
from lircdepth.training.schedule import build_scheduler
from lircdepth.training.selection import best_metric_path, update_best_per_metric

if TYPE_CHECKING:
    from lircdepth.models.bts_decoder import GatedRadarFusion
    from lircdepth.models.teacher import CaFNet

LOG = logging.getLogger(__name__)

ARCH_OF_MODE = {"teacher": "cafnet", "student": "lircdepth"}
# Validation MAE at this cap chooses best.pt (the papers' headline range).
BEST_CAP = HEADLINE_CAP
BATCH_TENSOR_KEYS = ("image", "radar", "lidar_single", "lidar_accum", "depth_interp", "assoc_label")
DISTILL_WEIGHTS = (
    "w_image_feature_distill",
    "w_radar_feature_distill",
    "w_pairwise_distill",
    "w_inter_depth_distill",
)


class TrainingDiverged(JobError, RuntimeError):
    """The loss became NaN or infinite; the message names the last good checkpoint."""


def train(options: argparse.Namespace) -> dict:
    """Run (or continue) training as `options` say; returns {"global_step", "best"}."""
    context = distributed.init_distributed(options.device)
    run_dir = Path(options.log_directory) / options.model_name
    lock = folder_lock(run_dir, "lircdepth train") if context.is_main else nullcontext()
    try:
        with lock:
            return Trainer(options, context).fit()
    finally:
        distributed.shutdown_distributed()


class Trainer:
    def __init__(
        self, options: argparse.Namespace, context: distributed.DistributedContext
    ) -> None:
        from lircdepth.data import RadarCameraDataset
        from lircdepth.models import build_model

        self.options, self.context, self.device = options, context, context.device
        if options.amp == "fp16" and self.device.type != "cuda":
            raise TrainingSetupError("--amp fp16 needs a CUDA device (use bf16 or none on CPU)")
        if options.num_threads > 0:
            torch.set_num_threads(options.num_threads)
        seed_everything(options.seed, context.rank, options.deterministic)
        self.run_dir = Path(options.log_directory) / options.model_name
        self.last_path, self.best_path = self.run_dir / "last.pt", self.run_dir / "best.pt"
        if context.is_main:
            clean_run_folder(self.run_dir)
        self.arch = ARCH_OF_MODE[options.mode]
        self.init = self._read_init_checkpoint()

        crop = (options.input_height, options.input_width)
        train_set = RadarCameraDataset(
            options.data_path, options.train_split, "train", crop, options.augment
        )
        self.train_loader = TrainLoader(
            train_set,
            context,
            per_process_batch(options.batch_size, context.world_size),
            options.seed,
            options.workers,
        )
        self.val_loader: DataLoader | None = None  # rank 0's
        if context.is_main:
            val_set = RadarCameraDataset(options.data_path, options.val_split, mode="eval")
            self.val_loader = build_eval_loader(val_set, options.workers, options.max_val_images)
        steps = options.num_epochs * self.train_loader.steps_per_epoch
        self.total_steps = min(steps, options.max_steps) if options.max_steps > 0 else steps

        self.model_config = self._model_config()
        self.memory_format = torch.channels_last if options.channels_last else torch.preserve_format
        # Module.to takes memory_format at run time; torch's overloads leave it out.
        self.model = build_model(self.arch, **self.model_config).to(  # type: ignore[call-overload]
            self.device, memory_format=self.memory_format
        )
        resuming = options.resume and self.last_path.is_file()
        if self.init is not None and not resuming:
            load_initial_weights(self.model, self.init, options.init_checkpoint)
        if options.mode == "teacher" and options.freeze_as_published:
            freeze(self.model.published_frozen_parameters())
        self.teacher = self._load_teacher()
        self.loss_fn = self._build_loss()
        self.optimizer = build_optimizer(
            self.model, options.learning_rate, options.weight_decay, options.adam_eps
        )
        self.scheduler = build_scheduler(
            self.optimizer, self.total_steps, options.learning_rate, options.end_learning_rate
        )
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=options.amp == "fp16")
        self.global_step, self._last_loss = 0, math.nan
        self.best: dict[str, Any] | None = None
        self.best_by_metric: dict[str, dict] = {}
        if resuming:
            self._resume()
        self.network = self.model
        if context.is_distributed:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self.network = DistributedDataParallel(self.model, device_ids=device_ids)
        if context.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_argument_file(options, self.run_dir / "options.txt")
        self.logger = TrainingLogger(
            self.run_dir,
            context.is_main,
            self.total_steps,
            self.global_step,
            options.progress,
            options.batch_size,
        )

    # set-up -------------------------------------------------------------------------

    def _model_config(self) -> dict:
        """The network's options; the student's encoders map to the teacher's widths
        (feature_distill) unless both pixel-wise feature weights are 0, as published:
        the authors' network follows those weights."""
        o = self.options
        config = {"max_depth": o.max_depth, **o.model_config}
        if self.init is not None:
            config = initial_model_config(self.init, o, o.init_checkpoint)
        if o.mode != "student":
            return config
        feature_weights = (o.w_image_feature_distill, o.w_radar_feature_distill)
        wanted = any(weight > 0 for weight in feature_weights)
        config.setdefault("feature_distill", wanted)
        if wanted and not config["feature_distill"] and self.init is not None:
            raise TrainingSetupError(
                f"--init_checkpoint {o.init_checkpoint} is a student without the feature "
                "distillation projections (feature_distill false): set "
                "--w_image_feature_distill 0 and --w_radar_feature_distill 0 to fine-tune it"
            )
        if wanted and not config["feature_distill"]:
            raise TrainingSetupError(
                "--model_config feature_distill false leaves the student's features narrower "
                "than the teacher's: set --w_image_feature_distill and "
                "--w_radar_feature_distill to 0 or drop feature_distill"
            )
        return config

    def _read_init_checkpoint(self) -> dict | None:
        """The --init_checkpoint file (weights only), checked against the mode's network."""
        if not self.options.init_checkpoint:
            return None
        return read_init_checkpoint(self.options.init_checkpoint, self.arch)

    def _distilling(self) -> bool:
        return self.options.mode == "student" and any(
            getattr(self.options, w) > 0 for w in DISTILL_WEIGHTS
        )

    def _load_teacher(self) -> torch.nn.Module | None:
        """The frozen teacher, only when the student has a distillation term switched on."""
        if not self._distilling():
            return None
        path = self.options.teacher_checkpoint
        if not path:
            raise TrainingSetupError(
                "student distillation needs --teacher_checkpoint (or set every --w_*_distill weight to 0)"
            )
        from lircdepth.models.checkpoint import load_model

        # A project CaFNet checkpoint or the authors' published CaFNet file (load_model
        # recognises and maps it); any other network is refused before training starts.
        teacher, meta = load_model(path, self.device)
        if meta.get("arch") != "cafnet":
            raise TrainingSetupError(
                f"--teacher_checkpoint {path} holds a {meta.get('arch')!r} network; the teacher "
                "must be a CaFNet checkpoint (arch 'cafnet', or the published CaFNet file)"
            )
        self._check_teacher_widths(cast("CaFNet", teacher), path)  # arch checked above
        return teacher.eval().requires_grad_(False).to(memory_format=self.memory_format)

    def _check_teacher_widths(self, teacher: CaFNet, path: str) -> None:
        """Radar feature distillation compares the student's radar taps with the teacher's
        gated radar features channel by channel, and their widths follow the teacher's
        decoder width: refuse a teacher of other widths now, not as a shape error in step 1."""
        if self.options.w_radar_feature_distill <= 0:
            return
        gates = [cast("GatedRadarFusion", gate) for gate in teacher.decoder.gates]
        teacher_widths = tuple(gate.project.out_channels for gate in gates)
        student_widths = tuple(self.model.radar_encoder.out_channels)
        if teacher_widths != student_widths:
            raise TrainingSetupError(
                f"--teacher_checkpoint {path}: its gated radar features are {teacher_widths} "
                f"channels wide, the student's radar taps {student_widths} (a teacher with "
                "the published num_features 512 matches); set --w_radar_feature_distill 0 "
                "to distil from it anyway"
            )

    def _build_loss(self) -> torch.nn.Module:
        from lircdepth.losses import DistillationLoss, TeacherLoss

        o = self.options
        if o.mode == "teacher":
            return TeacherLoss(
                w_coarse=o.w_coarse_depth, w_confidence=o.w_confidence, w_smoothness=o.w_smoothness
            )
        names = (
            "w_depth",
            *DISTILL_WEIGHTS,
            "w_smoothness",
            "pool_scale",
            "distill_start_epoch",
            "depth_loss_broadcast",
        )
        return DistillationLoss({name: getattr(o, name) for name in names})

    # checkpoints ----------------------------------------------------------------------

    def _data_order(self) -> dict:
        return {
            "steps_per_epoch": self.train_loader.steps_per_epoch,
            "world_size": self.context.world_size,
            "batch_size": self.options.batch_size,
            "seed": self.options.seed,
        }

    def _checkpoint(self, rng_states: list) -> dict:
        return {
            "arch": self.arch,
            "model_config": self.model_config,
            "model": self.model.state_dict(),
            "config": vars(self.options),
            "global_step": self.global_step,
            "epoch": self.global_step // self.train_loader.steps_per_epoch,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng_states,
            "best": self.best,
            "best_by_metric": self.best_by_metric,
            "data_order": self._data_order(),
        }

    def _save(self, save_best: bool = False, best_metrics: tuple[str, ...] = ()) -> None:
        """Every rank hands in its RNG state; rank 0 writes last.pt and, when asked, best.pt
        and best_<metric>.pt (weights only: no optimiser state, a third of the size), each
        atomically."""
        from lircdepth.models.checkpoint import save_checkpoint

        rng_states: list[dict | None] = [capture_rng_state()]
        if self.context.is_distributed:
            rng_states = [None] * self.context.world_size
            torch.distributed.all_gather_object(rng_states, capture_rng_state())
        if self.context.is_main:
            state = self._checkpoint(rng_states)
            save_checkpoint(self.last_path, state)
            weights_only = {**state, "optimizer": None, "scheduler": None, "scaler": None}
            if save_best:
                save_checkpoint(self.best_path, weights_only)
            for metric in best_metrics:
                save_checkpoint(best_metric_path(self.run_dir, metric), weights_only)
        distributed.barrier(self.context)

    def _resume(self) -> None:
        from lircdepth.models.checkpoint import (
            CheckpointError,
            load_checkpoint,
            load_state_dict_strict,
        )

        state = load_checkpoint(self.last_path, map_location="cpu")
        refuse_changed_options(state.get("config"), self.options, self.last_path)
        if state.get("arch") != self.arch:
            raise TrainingSetupError(
                f"{self.last_path} holds a {state.get('arch')!r} network, this run trains {self.arch!r}"
            )
        try:
            load_state_dict_strict(self.model, state["model"], str(self.last_path))
        except CheckpointError as error:
            raise TrainingSetupError(f"{error}: use another --model_name or --no-resume") from error
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except ValueError as error:
            raise TrainingSetupError(
                f"{self.last_path}: its optimiser groups do not match this run's ({error}); "
                "use another --model_name or --no-resume"
            ) from error
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state.get("scaler", {}))
        self.global_step, self.best = int(state["global_step"]), state.get("best")
        self.best_by_metric = dict(state.get("best_by_metric") or {})
        rng_states = state["rng"]
        if len(rng_states) == self.context.world_size:
            restore_rng_state(rng_states[self.context.rank])
        if state.get("data_order") != self._data_order() and self.context.is_main:
            LOG.warning(
                "warning: %s was written with %s; continuing with %s: the remaining data order "
                "differs from the original run",
                self.last_path,
                state.get("data_order"),
                self._data_order(),
            )
        if self.context.is_main:
            LOG.info(
                "resumed from %s at step %s/%s", self.last_path, self.global_step, self.total_steps
            )

    # the loop -------------------------------------------------------------------------

    def fit(self) -> dict:
        steps_per_epoch = self.train_loader.steps_per_epoch
        validated_at = None
        try:
            while self.global_step < self.total_steps:
                epoch, done = divmod(self.global_step, steps_per_epoch)
                with batches_of(self.train_loader.epoch_batches(epoch, done)) as batches:
                    validated_at = self._run_epoch(batches, epoch) or validated_at
            if validated_at != self.global_step:
                self._validate()
        finally:
            self.logger.close()
        return {"global_step": self.global_step, "best": self.best}

    def _run_epoch(self, batches, epoch: int) -> int | None:
        """Steps on `batches` to the epoch's end or the last step; the step validated last."""
        validated_at = None
        for batch in batches:
            self._train_step(batch, epoch)
            step = self.global_step
            end_of_epoch = step % self.train_loader.steps_per_epoch == 0
            if self.options.eval_freq > 0 and step % self.options.eval_freq == 0:
                self._validate()
                validated_at = step
            elif end_of_epoch or step == self.total_steps or self._save_due(step):
                self._save()
            if step >= self.total_steps:
                break
        return validated_at

    def _save_due(self, step: int) -> bool:
        return self.options.save_freq > 0 and step % self.options.save_freq == 0

    def _train_step(self, batch: dict, epoch: int) -> None:
        o = self.options
        batch = {k: self._to_device(v) for k, v in batch.items() if k in BATCH_TENSOR_KEYS}
        self.network.train()
        with autocast(self.device, o.amp):
            output = self.network(batch["image"], batch["radar"])
            if o.mode == "teacher":
                loss, terms = self.loss_fn(output, batch)
            else:
                teacher_output = None
                if self.teacher is not None and epoch >= o.distill_start_epoch:
                    with torch.no_grad():
                        teacher_output = self.teacher(batch["image"], batch["radar"])
                loss, terms = self.loss_fn(output, teacher_output, batch, epoch=epoch)
        if self.global_step == o.debug_nan_at_step:
            loss = loss * float("nan")
        self._check_finite(loss, epoch)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if o.clip_grad_norm > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), o.clip_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.global_step += 1
        self._log(loss, terms, batch, output)

    def _to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        image_like = tensor.dim() == 4
        memory_format = self.memory_format if image_like else torch.preserve_format
        return tensor.to(self.device, non_blocking=True, memory_format=memory_format)

    def _check_finite(self, loss: torch.Tensor, epoch: int) -> None:
        """Stop every rank together when any rank's loss is not finite."""
        value = distributed.all_reduce_mean(loss.detach().float(), self.context).item()
        if math.isfinite(value):
            self._last_loss = value
            return
        kept = (
            f"{self.last_path} is kept"
            if self.last_path.is_file()
            else "no checkpoint had been written yet"
        )
        raise TrainingDiverged(
            f"the training loss became {value} at step {self.global_step + 1} (epoch {epoch}); "
            f"stopping without saving ({kept})"
        )

    def _log(self, loss: torch.Tensor, terms: dict, batch: dict, output) -> None:
        o, step = self.options, self.global_step
        log_now = step % o.log_freq == 0 or step == 1
        values = {k: float(v) for k, v in terms.items()} if log_now else None
        rates = {g.get("name", str(i)): g["lr"] for i, g in enumerate(self.optimizer.param_groups)}
        self.logger.step(step, self._last_loss, values, rates)
        if self.context.is_main and (step % o.image_log_freq == 0 or step == 1):
            sample = {"image": batch["image"][0], "radar": batch["radar"][0]}
            sample.update(depth=output.depth[0].float(), gt=batch["lidar_single"][0])
            self.logger.panel("train/panel", panel_of(sample, o.max_depth), step)

    def _validate(self) -> None:
        """Rank 0 scores `--val_split`; best.pt follows the 80 m MAE (and, with
        --best_per_metric, best_<metric>.pt each metric); last.pt is always saved."""
        improved, improved_metrics = False, []
        if self.context.is_main:
            assert self.val_loader is not None  # built on rank 0
            results, first = evaluate_model(
                self.model, self.val_loader, self.device, amp=self.options.amp
            )
            self.logger.validation(self.global_step, results)
            if first is not None:
                self.logger.panel(
                    "val/panel", panel_of(first, self.options.max_depth), self.global_step
                )
            mae = results[BEST_CAP]["mae"]
            self.logger.message(
                f"step {self.global_step}: validation MAE {mae:.3f} m (0-{BEST_CAP} m, "
                f"split {self.options.val_split})"
            )
            if self.options.best_per_metric:
                improved_metrics = update_best_per_metric(
                    self.best_by_metric, results[BEST_CAP], self.global_step
                )
            improved = math.isfinite(mae) and (self.best is None or mae < self.best["mae"])
            if improved:
                self.best = {"mae": mae, "cap": float(BEST_CAP), "global_step": self.global_step}
        self.best = distributed.broadcast_object(self.best, self.context)
        self._save(save_best=improved, best_metrics=tuple(improved_metrics))
