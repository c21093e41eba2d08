import json

import numpy as np
import pytest
import torch
from plyfile import PlyData
from typer.testing import CliRunner

from scenesparse.gaussians import read_ply
from scenesparse.imagemetrics import psnr, ssim
from scenesparse.importance import (
    GaussianPruner,
    default_cameras,
    importance_scores,
    render_statistics,
)
from scenesparse.render import render_fast
from scenesparse.strategy import PruneStrategy, prune_, scene_from_params
from sparsebox.cli import app

DONUT = "3d/gaussians/gshairlod_donut_fused_sh0.ply"


@pytest.fixture(scope="module")
def donut(data_dir):
    return read_ply(data_dir / DONUT)


def test_scores_follow_their_definitions(donut):
    stats = render_statistics(donut, default_cameras(donut, 4, 64))
    assert np.allclose(importance_scores(donut, "opacity"), donut.opacities.numpy())
    volume = importance_scores(donut, "volume")
    assert np.allclose(volume, np.exp(donut.log_scales.double().sum(1).numpy()))
    lg = importance_scores(donut, "lightgaussian", stats)
    assert np.allclose(lg, stats.significance * (volume / np.percentile(volume, 90)) ** 0.1)
    assert np.array_equal(importance_scores(donut, "radsplat", stats), stats.max_weight)
    assert np.array_equal(importance_scores(donut, "minisplatting", stats), stats.sum_weight)
    assert np.all(stats.max_weight <= 0.99 + 1e-6) and stats.hits.sum() > 0
    with pytest.raises(ValueError, match="needs render statistics"):
        importance_scores(donut, "radsplat")


def test_pruner_budgets_and_rounds(donut):
    small = GaussianPruner("opacity", budget=1000).fit(donut)
    assert small.mask_.sum() == 1000
    p = GaussianPruner("radsplat", keep_ratio=0.5, rounds=2, views=4, resolution=48).fit(donut)
    assert p.mask_.sum() == round(0.5 * len(donut))
    t = GaussianPruner("opacity", threshold=0.5).fit(donut)
    assert np.array_equal(t.mask_, donut.opacities.numpy() >= 0.5)
    with pytest.raises(ValueError, match="score must be one of"):
        GaussianPruner("random", keep_ratio=0.5).fit(donut)
    with pytest.raises(RuntimeError, match="fit"):
        GaussianPruner().transform(donut)


def test_pruning_targets_on_the_donut(donut):
    """Removing 66% keeps >= 30 dB against the unpruned render on held-out views, and render
    importance beats opacity-only pruning at the same keep ratio."""
    held_out = default_cameras(donut, 8, 256, phase=0.5)
    refs = [render_fast(donut, c, scores=False).image.clamp(0, 1).numpy() for c in held_out]

    def quality(scene):
        imgs = [render_fast(scene, c, scores=False).image.clamp(0, 1).numpy() for c in held_out]
        return np.mean([psnr(a, b) for a, b in zip(imgs, refs, strict=True)])

    ours = quality(GaussianPruner("radsplat", keep_ratio=0.34).fit_transform(donut))
    opacity = quality(GaussianPruner("opacity", keep_ratio=0.34).fit_transform(donut))
    significance = quality(GaussianPruner("lightgaussian", keep_ratio=0.34, rounds=1,
                                          views=16).fit_transform(donut))
    assert ours >= 30.0
    assert significance > opacity + 3.0


def test_psnr_and_ssim_by_hand():
    a = np.zeros((20, 20, 3))
    assert psnr(a, a + 0.1) == pytest.approx(20.0)
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, a + 0.5) < 0.5


def _params(n=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "means": torch.nn.Parameter(torch.randn(n, 3, generator=g) * 0.05),
        "quats": torch.nn.Parameter(torch.randn(n, 4, generator=g)),
        "scales": torch.nn.Parameter(torch.full((n, 3), -4.0)),
        "opacities": torch.nn.Parameter(torch.randn(n, generator=g)),
        "sh0": torch.nn.Parameter(torch.randn(n, 1, 3, generator=g)),
        "shN": torch.nn.Parameter(torch.zeros(n, 3, 3)),
    }


def _train_step(params, optimizers):
    loss = sum((p**2).sum() for p in params.values())
    for opt in optimizers.values():
        opt.zero_grad()
    loss.backward()
    for opt in optimizers.values():
        opt.step()


def test_prune_slices_parameters_adam_moments_and_state_together():
    params = _params()
    optimizers = {k: torch.optim.Adam([p], lr=0.01) for k, p in params.items()}
    state = {"grad_accum": torch.arange(50.0), "step": 3}
    _train_step(params, optimizers)
    before = {k: optimizers[k].state[p]["exp_avg"].clone() for k, p in params.items()}
    mask = np.arange(50) % 5 != 0
    assert prune_(params, optimizers, state, mask) == 10
    for k, p in params.items():
        assert p.shape[0] == 40 and isinstance(p, torch.nn.Parameter)
        assert optimizers[k].param_groups[0]["params"][0] is p
        assert torch.equal(optimizers[k].state[p]["exp_avg"], before[k][mask])
        assert optimizers[k].state[p]["exp_avg_sq"].shape[0] == 40
    assert state["grad_accum"].tolist() == [float(i) for i in range(50) if i % 5] and \
        state["step"] == 3
    _train_step(params, optimizers)  # training goes on with the smaller model
    with pytest.raises(ValueError, match="boolean array of shape"):
        prune_(params, optimizers, state, np.ones(3, dtype=bool))


def test_strategy_prunes_at_its_steps_inside_a_loop():
    params = _params(200)
    optimizers = {k: torch.optim.Adam([p], lr=0.01) for k, p in params.items()}
    cams = default_cameras(scene_from_params(params), 4, 32)
    strategy = PruneStrategy(prune_steps=(2, 4), keep_ratio=0.5, score="radsplat", cameras=cams)
    state = strategy.initialize_state()
    for step in range(6):
        _train_step(params, optimizers)
        strategy.step_post_backward(params, optimizers, state, step)
    assert params["means"].shape[0] == 50
    assert [h["left"] for h in state["history"]] == [100, 50] and state["pruned"] == 150


def test_prune_splats_cli(tmp_path, data_dir):
    out, report = tmp_path / "pruned.ply", tmp_path / "report.json"
    result = CliRunner().invoke(app, [
        "scene", "prune-splats", str(data_dir / DONUT), str(out), "--keep-ratio", "0.34",
        "--views", "6", "--resolution", "64", "--eval-views", "2", "--rounds", "1",
        "--report", str(report)])
    assert result.exit_code == 0, result.output
    r = json.loads(report.read_text())
    assert set(r) >= {"total", "kept", "bytes_in", "bytes_out", "psnr", "ssim", "seconds"}
    assert r["kept"] == round(0.34 * 45624) and r["bytes_out"] < r["bytes_in"]
    ply = PlyData.read(str(out))  # plain plyfile reads it, in the INRIA layout
    assert ply["vertex"].data.dtype == PlyData.read(str(data_dir / DONUT))["vertex"].data.dtype
    assert len(read_ply(out)) == r["kept"]
    assert (tmp_path / "pruned_side_by_side.png").stat().st_size > 0
