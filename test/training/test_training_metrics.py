"""Metric functions against values worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from lircdepth.metrics import (
    DepthMetricsAccumulator,
    format_comparison_markdown,
    format_markdown,
    image_metrics,
    write_json,
)

# gt 0 is "no value", 60 m lies beyond the 50 m cap; the 100 m prediction is clamped.
GT = np.array([[10.0, 20.0], [0.0, 60.0]])
PRED = np.array([[12.0, 18.0], [5.0, 100.0]])


def test_metrics_at_50m_use_only_pixels_below_the_cap():
    m = image_metrics(PRED, GT, cap=50)
    # valid pixels: (gt 10, pred 12) and (gt 20, pred 18): errors +2 and -2
    assert m["mae"] == pytest.approx(2.0)
    assert m["rmse"] == pytest.approx(2.0)
    assert m["abs_rel"] == pytest.approx((2 / 10 + 2 / 20) / 2)  # 0.15
    assert m["sq_rel"] == pytest.approx((4 / 10 + 4 / 20) / 2)  # 0.3
    # inverse depth in 1/km: |1/12 - 1/10| = 1/60 /m, |1/18 - 1/20| = 1/180 /m
    assert m["imae"] == pytest.approx((1000 / 60 + 1000 / 180) / 2)  # 11.111
    assert m["irmse"] == pytest.approx(math.sqrt(((1000 / 60) ** 2 + (1000 / 180) ** 2) / 2))
    d = [math.log(1.2), math.log(0.9)]
    assert m["rmse_log"] == pytest.approx(math.sqrt((d[0] ** 2 + d[1] ** 2) / 2))
    mean_d = (d[0] + d[1]) / 2
    assert m["silog"] == pytest.approx(100 * math.sqrt((d[0] ** 2 + d[1] ** 2) / 2 - mean_d**2))
    assert m["log10"] == pytest.approx((abs(math.log10(1.2)) + abs(math.log10(0.9))) / 2)
    # ratios max(p/g, g/p) = 1.2 and 1.111: both below 1.25
    assert m["delta1"] == m["delta2"] == m["delta3"] == 1.0


def test_metrics_at_70m_clamp_the_prediction_to_the_cap():
    m = image_metrics(PRED, GT, cap=70)
    # valid: 10, 20, 60; predictions 12, 18, min(100, 70) = 70: errors 2, -2, 10
    assert m["mae"] == pytest.approx(14 / 3)
    assert m["rmse"] == pytest.approx(math.sqrt((4 + 4 + 100) / 3))  # 6
    assert m["delta1"] == 1.0  # 70 / 60 = 1.167


def test_delta_thresholds_and_tiny_predictions():
    gt = np.array([20.0, 20.0, 20.0, 10.0])
    pred = np.array([30.0, 39.0, 20.0, 0.0])  # ratios 1.5, 1.95, 1.0 and 10 / 1e-3
    m = image_metrics(pred, gt, cap=80)
    assert m["delta1"] == pytest.approx(1 / 4)  # only 1.0 < 1.25
    assert m["delta2"] == pytest.approx(2 / 4)  # 1.5 < 1.5625
    assert m["delta3"] == pytest.approx(3 / 4)  # 1.95 < 1.953
    assert math.isfinite(m["imae"])  # the 0 m prediction was clamped to 1e-3 m


def test_nan_prediction_pixel_counts_as_the_minimum_depth():
    gt = np.array([10.0, 20.0])
    m = image_metrics(np.array([np.nan, 20.0]), gt, cap=80)
    assert m["mae"] == pytest.approx((10.0 - 1e-3) / 2)  # the NaN pixel predicts 1e-3 m
    assert m == image_metrics(np.array([1e-3, 20.0]), gt, cap=80)


def test_no_valid_pixel_gives_none():
    assert image_metrics(np.ones((3, 3)), np.zeros((3, 3)), cap=80) is None


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="shape"):
        image_metrics(np.ones((2, 3)), np.ones((3, 2)), cap=80)


def test_accumulator_averages_per_image_not_per_pixel():
    acc = DepthMetricsAccumulator(caps=(80,))
    # image A: one pixel, error 2 m; image B: three pixels, error 4 m each
    acc.update(np.array([[12.0]]), np.array([[10.0]]))
    acc.update(np.full((1, 3), 24.0), np.full((1, 3), 20.0))
    acc.update(np.ones((2, 2)), np.zeros((2, 2)))  # no ground truth: not counted
    result = acc.compute()["80"]
    assert result["mae"] == pytest.approx((2 + 4) / 2)  # pixel-weighted would be 3.5
    assert result["num_images"] == 2


def test_accumulator_takes_torch_batches_and_merges_states():
    pred = torch.tensor([[[[12.0, 18.0], [5.0, 100.0]]]]).repeat(2, 1, 1, 1)  # B x 1 x H x W
    gt = torch.tensor(GT, dtype=torch.float32)[None, None].repeat(2, 1, 1, 1)
    first, second = DepthMetricsAccumulator(), DepthMetricsAccumulator()
    first.update(pred, gt)
    second.update(PRED, GT)
    merged = DepthMetricsAccumulator()
    merged.load_state(first.state() + second.state())
    result = merged.compute()
    assert set(result) == {"50", "70", "80"}
    assert result["50"]["num_images"] == 3
    assert result["50"]["mae"] == pytest.approx(2.0)
    assert result["70"]["mae"] == pytest.approx(14 / 3)


def test_markdown_and_json(tmp_path):
    acc = DepthMetricsAccumulator()
    acc.update(PRED, GT)
    results = acc.compute()
    table = format_markdown(results, title="demo")
    lines = table.strip().splitlines()
    assert lines[0] == "### demo"
    assert lines[2].startswith("| cap (m) | images | MAE (m) | RMSE (m) | iMAE (1/km)")
    assert lines[4].startswith("| 50 | 1 | 2.000 | 2.000 |")
    assert len(lines) == 2 + 2 + 3
    write_json(results, tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text())["70"]["mae"] == pytest.approx(14 / 3)


def test_comparison_table_has_one_row_per_model():
    acc = DepthMetricsAccumulator()
    acc.update(PRED, GT)
    table = format_comparison_markdown(
        {"teacher": acc.compute(), "student": acc.compute()}, cap="70"
    )
    rows = table.strip().splitlines()
    assert len(rows) == 4
    assert rows[2].startswith("| teacher | 4.667 | 6.000 |")
