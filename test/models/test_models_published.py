"""The authors' published checkpoints: format, key mapping, safe loading, golden outputs.

The fixture files are built at test time, exactly as the reference README describes: the
golden weights from its fill rule, in the published layout (`module.` keys in the order of
lircdepth_keys.tsv / cafnet_keys.tsv), saved in the published container (global_step,
model, an AdamW optimizer stand-in, best_eval_* with a numpy int32 array). Loading them
through the project's importer and running the golden input must reproduce the outputs of
the authors' own networks (golden_*.npz) within the README's tolerances.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from lircdepth.cli import main
from lircdepth.models.checkpoint import CheckpointError, load_model, save_checkpoint
from lircdepth.models.import_cli import import_published
from lircdepth.models.published import map_state_dict, project_key, published_model_config

UPSTREAM = Path(__file__).resolve().parent / "published_reference"
KEY_FILES = {"lircdepth": "lircdepth_keys.tsv", "cafnet": "cafnet_keys.tsv"}
FILE_NAMES = {
    "lircdepth": "model-1170000-best_mae_2.00887",
    "cafnet": "model-435000-best_mae_2.09121",
}
GLOBAL_STEPS = {"lircdepth": 1170000, "cafnet": 435000}
BEST_MAE = {"lircdepth": 2.00887, "cafnet": 2.09121}
# The README's tolerances for a test that does not pin the thread count.
TOLERANCES = {
    "lircdepth": {
        "depth": 2e-3,
        "inter_depth_d8": 2e-4,
        "inter_depth_d4": 2e-4,
        "inter_depth_d2": 2e-4,
    },
    "cafnet": {
        "depth": 5e-4,
        "coarse_depth": 5e-4,
        "confidence": 5e-6,
        "inter_depth_d8": 5e-5,
        "inter_depth_d4": 5e-5,
        "inter_depth_d2": 5e-5,
    },
}
GATE_THRESHOLD = 0.4


def key_rows(arch: str) -> list[dict[str, str]]:
    with open(UPSTREAM / KEY_FILES[arch], newline="") as file:
        return list(csv.DictReader(file, delimiter="\t"))


def parse_shape(text: str) -> tuple[int, ...]:
    return () if text == "scalar" else tuple(int(size) for size in text.split("x"))


def fill(index: int, key: str, shape: tuple[int, ...]) -> torch.Tensor:
    """The README's fill rule: the first matching case, a fresh generator per entry, each
    expression evaluated left to right in float32."""
    generator = torch.Generator().manual_seed(1000 + index)
    if key.endswith("num_batches_tracked"):
        return torch.tensor(0, dtype=torch.long)
    if key.endswith("sparsity.weight"):
        return torch.ones(shape)
    if key.endswith("running_var"):
        return torch.rand(shape, generator=generator) * 0.5 + 0.5
    if key.endswith("running_mean"):
        return torch.randn(shape, generator=generator) * 0.1
    if len(shape) == 1 and key.endswith(".weight"):
        return 1 + 0.1 * torch.randn(shape, generator=generator)
    if len(shape) == 1:
        return 0.05 * torch.randn(shape, generator=generator)
    fan_in = math.prod(shape[1:])
    return torch.randn(shape, generator=generator) * (2.0 / fan_in) ** 0.5 * 0.66


def golden_state_dict(arch: str) -> dict[str, torch.Tensor]:
    return {
        row["key"]: fill(index, row["key"], parse_shape(row["shape"]))
        for index, row in enumerate(key_rows(arch))
    }


def optimizer_stand_in(arch: str) -> dict:
    """An AdamW state_dict with the authors' groups and hyper-parameters, no moments."""
    groups = {
        "lircdepth": (("encoder", 1e-4), ("encoder_radar", 1e-4), ("decoder", 0.0)),
        "cafnet": tuple(
            (g, 1e-4) for g in ("encoder", "encoder_radar1", "encoder_radar2", "decoder_radar")
        )
        + (("decoder", 0.0),),
    }[arch]
    lr = {"lircdepth": 5e-5, "cafnet": 1e-4}[arch]
    return {
        "state": {},
        "param_groups": [
            {
                "lr": lr,
                "betas": (0.9, 0.999),
                "eps": 1e-2,
                "weight_decay": decay,
                "amsgrad": False,
                "params": [],
            }
            for _, decay in groups
        ],
    }


def published_container(arch: str, state_dict: dict[str, torch.Tensor]) -> dict:
    """The dict the authors' saving code writes for a best-MAE file, keys in its order."""
    lower = torch.full((7,), 1e3)
    lower[6] = BEST_MAE[arch]
    steps = np.zeros(10, dtype=np.int32)
    steps[6] = GLOBAL_STEPS[arch]
    return {
        "global_step": GLOBAL_STEPS[arch],
        "model": state_dict,
        "optimizer": optimizer_stand_in(arch),
        "best_eval_measures_higher_better": torch.zeros(3),
        "best_eval_measures_lower_better": lower,
        "best_eval_steps": steps,
    }


def write_published(arch: str, folder: Path) -> Path:
    path = folder / FILE_NAMES[arch]
    torch.save(published_container(arch, golden_state_dict(arch)), path)
    return path


@pytest.fixture(scope="module")
def published_student(module_tmp_path) -> Path:
    return write_published("lircdepth", module_tmp_path)


@pytest.fixture(scope="module")
def published_teacher(module_tmp_path) -> Path:
    return write_published("cafnet", module_tmp_path)


@pytest.fixture(scope="module")
def golden_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    inputs = np.load(UPSTREAM / "golden_inputs.npz")
    return torch.from_numpy(inputs["image"]), torch.from_numpy(inputs["radar"])


def run_outputs(model: torch.nn.Module, inputs) -> dict[str, np.ndarray]:
    with torch.no_grad():
        out = model(*inputs)
    arrays = {"depth": out.depth}
    arrays.update(
        zip(("inter_depth_d8", "inter_depth_d4", "inter_depth_d2"), out.inter_depths, strict=True)
    )
    if hasattr(out, "confidence"):
        arrays.update(confidence=out.confidence, coarse_depth=out.coarse_depth)
    return {name: value.numpy() for name, value in arrays.items()}


def max_differences(arch: str, outputs: dict[str, np.ndarray]) -> dict[str, float]:
    golden = np.load(UPSTREAM / f"golden_{arch}.npz")
    return {name: float(np.abs(outputs[name] - golden[name]).max()) for name in TOLERANCES[arch]}


# -- the key mapping ----------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["lircdepth", "cafnet"])
def test_every_published_key_maps_onto_the_project_network(arch):
    from lircdepth.models import build_model

    rows = key_rows(arch)
    shapes = {row["key"]: torch.empty(parse_shape(row["shape"]), device="meta") for row in rows}
    network = build_model(arch, **published_model_config(arch, shapes)).state_dict()
    mapped = map_state_dict(arch, shapes)
    dropped = [row["key"] for row in rows if project_key(arch, row["key"]) is None]
    assert list(mapped) and set(mapped) == set(network)
    assert all(mapped[key].shape == network[key].shape for key in network)
    expected_dropped = {
        "lircdepth": [],
        "cafnet": [
            f"module.{m}.fc.{p}"
            for m in (
                "encoder.base_model",
                "encoder_radar1.base_model_radar",
                "encoder_radar2.base_model_radar",
            )
            for p in ("weight", "bias")
        ],
    }[arch]
    assert dropped == expected_dropped


@pytest.mark.parametrize(
    ("arch", "published", "ours"),
    [
        (
            "lircdepth",
            "module.encoder.base_model.11.conv.0.0.weight",
            "image_encoder.backbone.stages.4.11.conv.0.0.weight",
        ),
        (
            "lircdepth",
            "module.encoder_radar.conv_radar.3.conv.0.weight",
            "radar_encoder.projections.3.0.weight",
        ),
        (
            "lircdepth",
            "module.decoder.upconv4.7.pointwise_layer_transpose.1.running_var",
            "decoder.stage4.7.project.1.running_var",
        ),
        ("lircdepth", "module.decoder.scale8.0.weight", "decoder.head8.0.weight"),
        ("lircdepth", "module.decoder.get_depth.0.weight", "decoder.depth_head.weight"),
        (
            "cafnet",
            "module.encoder_radar1.sparse_conv1.sparsity.weight",
            "radar_encoder_stage1.sparse.layers.0.mask_kernel",
        ),
        (
            "cafnet",
            "module.encoder_radar1.sparse_conv4.bias",
            "radar_encoder_stage1.sparse.layers.3.bias",
        ),
        (
            "cafnet",
            "module.decoder_radar.upconv5.conv.weight",
            "radar_decoder.levels.0.0.conv.0.weight",
        ),
        (
            "cafnet",
            "module.decoder_radar.bn1.running_mean",
            "radar_decoder.levels.4.1.running_mean",
        ),
        ("cafnet", "module.decoder.weight4.0.weight", "decoder.gates.3.gate.weight"),
        (
            "cafnet",
            "module.decoder.daspp_3.atrous_conv.aconv_sequence.4.weight",
            "decoder.daspp.branches.0.4.weight",
        ),
        (
            "cafnet",
            "module.decoder.daspp_6.atrous_conv.aconv_sequence.4.weight",
            "decoder.daspp.branches.1.5.weight",
        ),
        (
            "cafnet",
            "module.decoder.reduc8x8.reduc.plane_params.weight",
            "decoder.depth8.reduce.10.weight",
        ),
        (
            "cafnet",
            "module.decoder.reduc4x4.reduc.inter_32_16.0.weight",
            "decoder.depth4.reduce.4.weight",
        ),
        ("cafnet", "module.decoder.reduc1x1.reduc.final.0.weight", "decoder.reduc1x1.0.4.weight"),
        (
            "cafnet",
            "module.encoder_radar2.base_model_radar.bn1.bias",
            "radar_encoder_stage2.resnet.stem.1.bias",
        ),
    ],
)
def test_explicit_key_mapping(arch, published, ours):
    assert project_key(arch, published) == ours


def test_an_unknown_key_is_refused_by_name():
    with pytest.raises(CheckpointError, match=r"module\.decoder\.extra\.weight"):
        map_state_dict("lircdepth", {"module.decoder.extra.weight": torch.zeros(1)})


# -- the golden weights and outputs -------------------------------------------------------


@pytest.mark.parametrize("arch", ["lircdepth", "cafnet"])
def test_fill_rule_reproduces_the_reference_checksums(arch):
    with open(UPSTREAM / "fill_checksums.tsv", newline="") as file:
        sums = [row for row in csv.DictReader(file, delimiter="\t") if row["net"] == arch]
    state = golden_state_dict(arch)
    assert [row["key"] for row in sums] == list(state)
    wrong = [
        row["key"]
        for row, tensor in zip(sums, state.values(), strict=True)
        if np.sum(tensor.numpy(), dtype=np.float64) != float(row["sum_float64"])
        or float(tensor.flatten()[0]) != float(row["first_value"])
    ]
    assert wrong == []


def test_published_student_reproduces_the_golden_outputs(
    published_student, golden_inputs, tmp_path
):
    started = time.perf_counter()
    converted = import_published(published_student, tmp_path / "student.pt")
    model, checkpoint = load_model(tmp_path / "student.pt")
    print(f"student: import + load {time.perf_counter() - started:.1f} s")
    assert checkpoint["arch"] == "lircdepth" and checkpoint["provenance"] == converted["provenance"]
    differences = max_differences("lircdepth", run_outputs(model, golden_inputs))
    print("student max |project - golden|:", differences)
    assert all(differences[name] <= tol for name, tol in TOLERANCES["lircdepth"].items()), (
        differences
    )


def test_published_teacher_reproduces_the_golden_outputs(published_teacher, golden_inputs):
    started = time.perf_counter()
    model, checkpoint = load_model(published_teacher)
    print(f"teacher: load {time.perf_counter() - started:.1f} s")
    assert checkpoint["arch"] == "cafnet"
    assert checkpoint["provenance"]["source"] == FILE_NAMES["cafnet"]
    outputs = run_outputs(model, golden_inputs)
    golden = np.load(UPSTREAM / "golden_cafnet.npz")
    # The 0.4 gate is the one discontinuity: a flipped pixel moves the depth by metres.
    gate_flips = int(
        ((outputs["confidence"] > GATE_THRESHOLD) != (golden["confidence"] > GATE_THRESHOLD)).sum()
    )
    assert gate_flips == 0
    differences = max_differences("cafnet", outputs)
    print("teacher max |project - golden|:", differences)
    assert all(differences[name] <= tol for name, tol in TOLERANCES["cafnet"].items()), differences


# -- safe and strict loading --------------------------------------------------------------


def test_published_file_needs_the_numpy_allow_list(published_student):
    with pytest.raises(Exception, match="numpy"):
        torch.load(published_student, weights_only=True)
    model, _ = load_model(published_student)
    assert model.max_depth == 100.0


class _RunsCode:
    def __reduce__(self):
        return (os.getpid, ())


def test_a_file_that_would_run_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "global_step": 0, "optimizer": {}, "payload": _RunsCode()}, path)
    with pytest.raises(CheckpointError, match="evil.pt.*cannot be read safely"):
        load_model(path)


def _published_dict(published_student) -> dict:
    return torch.load(published_student, weights_only=False)  # trusted: written by this test


def test_a_missing_key_is_named(published_student):
    checkpoint = _published_dict(published_student)
    del checkpoint["model"]["module.decoder.get_depth.0.weight"]
    with pytest.raises(
        CheckpointError, match=r"1 weight\(s\) missing: decoder\.depth_head\.weight"
    ):
        load_model(checkpoint)


def test_a_changed_shape_is_named(published_student):
    checkpoint = _published_dict(published_student)
    checkpoint["model"]["module.decoder.scale8.0.weight"] = torch.zeros(2, 128, 1, 1)
    with pytest.raises(
        CheckpointError, match=r"decoder\.head8\.0\.weight: checkpoint \(2, 128, 1, 1\)"
    ):
        load_model(checkpoint)


def _tag_storages_cuda(source: Path, target: Path) -> None:
    """Rewrite a torch zip file so every storage is tagged `cuda:0`, as a GPU run writes it."""
    with (
        zipfile.ZipFile(source) as reader,
        zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as writer,
    ):
        for info in reader.infolist():
            data = reader.read(info.filename)
            if info.filename.endswith("/data.pkl"):
                assert data.count(b"X\x03\x00\x00\x00cpu") == 1
                data = data.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
            writer.writestr(info.filename, data)


def test_a_cuda_tagged_file_loads_on_the_cpu(published_student, tmp_path):
    tagged = tmp_path / FILE_NAMES["lircdepth"]
    _tag_storages_cuda(published_student, tagged)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(tagged, weights_only=False)
    model, _ = load_model(tagged)
    reference, _ = load_model(published_student)
    assert next(model.parameters()).device.type == "cpu"
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), reference.state_dict().values(), strict=True)
    )


# -- the commands and the loaders around them ---------------------------------------------


def test_import_checkpoint_command(published_student, tmp_path, capsys):
    from lircdepth.inference import DepthEstimator

    out = tmp_path / "sub" / "student.pt"
    assert main(["import-checkpoint", str(published_student), "--out", str(out)]) == 0
    assert "lircdepth" in capsys.readouterr().out
    checkpoint = torch.load(out, weights_only=True)
    provenance = checkpoint["provenance"]
    assert provenance["source"] == FILE_NAMES["lircdepth"]
    assert provenance["sha256"] == hashlib.sha256(published_student.read_bytes()).hexdigest()
    assert provenance["global_step"] == GLOBAL_STEPS["lircdepth"]
    assert provenance["best_mae"] == pytest.approx(BEST_MAE["lircdepth"])
    assert checkpoint["arch"] == "lircdepth" and [p.name for p in out.parent.iterdir()] == [
        "student.pt"
    ]
    imported, _ = load_model(out)
    estimator = DepthEstimator.from_checkpoint(published_student, device="cpu", backend="torch")
    assert estimator.arch == "lircdepth"


def test_import_checkpoint_refuses_the_wrong_arch(published_student, tmp_path, capsys):
    argv = [
        "import-checkpoint",
        str(published_student),
        "--arch",
        "cafnet",
        "--out",
        str(tmp_path / "x.pt"),
    ]
    assert main(argv) != 0
    assert "'lircdepth' layout, not 'cafnet'" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()


def test_export_refuses_an_incomplete_checkpoint(student_checkpoint, tmp_path, capsys):
    checkpoint = torch.load(student_checkpoint, weights_only=True)
    radar_keys = [key for key in checkpoint["model"] if key.startswith("radar_encoder.")]
    for key in radar_keys:
        del checkpoint["model"][key]
    incomplete = save_checkpoint(tmp_path / "incomplete.pt", checkpoint)
    out = tmp_path / "student.onnx"
    assert main(["export", "--checkpoint", str(incomplete), "--out", str(out)]) != 0
    error = capsys.readouterr().err
    assert f"{len(radar_keys)} weight(s) missing: radar_encoder.stem.0.weight" in error
    assert "incomplete.pt" in error and not out.exists()


def one_step_student_run(prepared_root: Path, log_directory: Path, teacher: Path):
    """Options for a one-step distilled student run on the synthetic world."""
    from lircdepth.training.options import resolve_options

    return resolve_options(
        "student",
        overrides={
            "data_path": str(prepared_root),
            "log_directory": str(log_directory),
            "teacher_checkpoint": str(teacher),
            "input_height": 64,
            "input_width": 128,
            "batch_size": 1,
            "workers": 0,
            "num_threads": 2,
            "max_steps": 1,
            "eval_freq": 0,
            "save_freq": 0,
            "log_freq": 1,
            "image_log_freq": 1000,
            "progress": False,
        },
    )


@pytest.mark.slow
def test_a_published_teacher_teaches_the_student(published_teacher, prepared_root, tmp_path):
    from lircdepth.training.trainer import train

    options = one_step_student_run(prepared_root, tmp_path, published_teacher)
    assert train(options)["global_step"] == 1


def test_a_student_checkpoint_is_refused_as_teacher(student_checkpoint, prepared_root, tmp_path):
    from lircdepth.training.options import TrainingSetupError
    from lircdepth.training.trainer import train

    options = one_step_student_run(prepared_root, tmp_path, student_checkpoint)
    with pytest.raises(
        TrainingSetupError, match="'lircdepth' network; the teacher must be a CaFNet"
    ):
        train(options)


def test_a_teacher_of_other_widths_is_refused_in_one_line(prepared_root, tmp_path):
    """A narrower CaFNet decoder narrows its gated radar features: the radar feature
    distillation could not compare them, so training refuses before step 1."""
    from lircdepth.models import build_model
    from lircdepth.models.checkpoint import save_checkpoint
    from lircdepth.training.options import TrainingSetupError
    from lircdepth.training.trainer import train

    narrow = build_model("cafnet", num_features=128)
    teacher = save_checkpoint(
        tmp_path / "narrow_teacher.pt",
        {"arch": "cafnet", "model_config": {"num_features": 128}, "model": narrow.state_dict()},
    )
    options = one_step_student_run(prepared_root, tmp_path, teacher)
    with pytest.raises(TrainingSetupError, match=r"\(16, 32, 32, 128, 512\) channels wide"):
        train(options)
    options.w_radar_feature_distill = 0.0
    assert train(options)["global_step"] == 1
