import dataclasses
import json

import numpy as np
import pytest
import torch
from plyfile import PlyData

from scenesparse.gaussians import GaussianScene, read_ply
from scenesparse.imagemetrics import psnr, ssim
from scenesparse.importance import (
    GaussianPruner,
    default_cameras,
    importance_scores,
    render_statistics,
)
from scenesparse.rendering import render
from scenesparse.strategy import PruneStrategy, scene_from_params
from scenesparse.training import prune_
from sparsebox.select import select

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
    # LightGaussian's reference volume: entry int(0.9 N) of the volumes in descending order
    v_ref = np.sort(volume)[::-1][int(0.9 * len(volume))]
    assert np.allclose(lg, stats.significance * (volume / v_ref) ** 0.1)
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
    with pytest.raises(ValueError, match=r"threshold=1.5 keeps no Gaussian: the opacity scores "
                                         r"reach at most 0\.9"):
        GaussianPruner("opacity", threshold=1.5).fit(donut)
    with pytest.raises(ValueError, match="score must be one of"):
        GaussianPruner("random", keep_ratio=0.5).fit(donut)
    empty = donut.subset(np.zeros(len(donut), dtype=bool))
    for score in ("radsplat", "pup", "opacity"):  # the render-based ones failed framing it
        nothing = GaussianPruner(score, rounds=1, views=2, resolution=16).fit(empty)
        assert nothing.mask_.shape == (0,) and len(nothing.transform(empty)) == 0
    with pytest.raises(ValueError, match="not fitted yet"):
        GaussianPruner().transform(donut)
    with pytest.raises(ValueError, match="threshold or a size"):
        GaussianPruner("opacity", threshold=0.5, budget=10).fit(donut)
    with pytest.raises(ValueError, match="scene must be a GaussianScene .* got ndarray"):
        GaussianPruner("opacity", keep_ratio=0.5).fit(np.random.default_rng(0).random((50, 3)))
    with pytest.raises(ValueError, match="cameras is empty"):  # was "needs render statistics"
        GaussianPruner("radsplat", keep_ratio=0.5).fit(donut, [])
    # scores_ rank what was kept above what earlier rounds removed
    assert np.array_equal(select(p.scores_, budget=int(p.mask_.sum())), p.mask_)


def test_transform_refuses_other_gaussians_of_the_fitted_count(donut, data_dir):
    """The mask keeps Gaussians by position: transform applied it to any scene of as many
    (a shuffled donut kept Gaussians of mean opacity 0.59 where the fitted one kept 0.99)."""
    p = GaussianPruner("opacity", keep_ratio=0.1, rounds=1).fit(donut)
    order = torch.from_numpy(np.random.default_rng(0).permutation(len(donut)))
    shuffled = GaussianScene(*(getattr(donut, k)[order] for k in (
        "means", "quats", "log_scales", "opacity_logits", "sh_dc", "sh_rest")))
    with pytest.raises(ValueError, match=r"transform got other Gaussians than the 45624 "
                                         r"GaussianPruner was fitted on .*call fit on them"):
        p.transform(shuffled)
    copy = read_ply(data_dir / DONUT)  # an equal copy is the same Gaussians
    assert torch.equal(p.transform(copy).means, p.transform(donut).means)
    assert len(p.transform(donut)) == int(p.mask_.sum())
    edited = GaussianPruner("opacity", keep_ratio=0.1, rounds=1).fit(copy)
    copy.opacity_logits[:] = 0.0  # the fitted scene, edited in place
    with pytest.raises(ValueError, match="transform got other Gaussians"):
        edited.transform(copy)
    from scenesparse.pointio import PointCloud

    cloud = PointCloud.from_xyz(donut.means.numpy())
    with pytest.raises(ValueError, match="transform takes a GaussianScene .* got PointCloud"):
        p.transform(cloud)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_rounds_rank_gaussians_with_infinite_scores(donut, monkeypatch):
    import scenesparse.importance as importance

    real = importance.importance_scores

    def with_infinities(scene, score, *args, **kw):  # a degenerate Gaussian scores -inf
        out = np.asarray(real(scene, score, *args, **kw), dtype=float).copy()
        out[:6] = -np.inf
        return out

    monkeypatch.setattr(importance, "importance_scores", with_infinities)
    p = GaussianPruner("opacity", keep_ratio=0.5, rounds=2).fit(donut)
    assert np.isfinite(p.scores_).all()
    assert np.array_equal(select(p.scores_, budget=int(p.mask_.sum())), p.mask_)
    assert not p.mask_[:6].any()


def test_pruning_targets_on_the_donut(donut):
    """Removing 66% keeps >= 30 dB against the unpruned render on held-out views, and render
    importance beats opacity-only pruning at the same keep ratio."""
    held_out = default_cameras(donut, 8, 256, phase=0.5)
    refs = [render(donut, c).image.clamp(0, 1).numpy() for c in held_out]

    def quality(scene):
        imgs = [render(scene, c).image.clamp(0, 1).numpy() for c in held_out]
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
    assert prune_(params, optimizers, state, keep=mask) == 10
    for k, p in params.items():
        assert p.shape[0] == 40 and isinstance(p, torch.nn.Parameter)
        assert optimizers[k].param_groups[0]["params"][0] is p
        assert torch.equal(optimizers[k].state[p]["exp_avg"], before[k][mask])
        assert optimizers[k].state[p]["exp_avg_sq"].shape[0] == 40
    assert state["grad_accum"].tolist() == [float(i) for i in range(50) if i % 5] and \
        state["step"] == 3
    _train_step(params, optimizers)  # training goes on with the smaller model
    with pytest.raises(ValueError, match="boolean mask of shape"):
        prune_(params, optimizers, state, keep=np.ones(3, dtype=bool))


def test_prune_is_gsplats_remove_with_the_opposite_mask():
    """Our keep-mask op and gsplat's own remove-mask op leave the same parameters and Adam
    moments."""
    from gsplat.strategy import ops

    ours, theirs = _params(), _params()
    opt_ours = {k: torch.optim.Adam([p], lr=0.01) for k, p in ours.items()}
    opt_theirs = {k: torch.optim.Adam([p], lr=0.01) for k, p in theirs.items()}
    _train_step(ours, opt_ours)
    _train_step(theirs, opt_theirs)
    keep = torch.arange(50) % 3 != 0
    prune_(ours, opt_ours, {}, keep=keep)
    ops.remove(theirs, opt_theirs, {}, ~keep)
    for k in ours:
        assert torch.equal(ours[k], theirs[k])
        for moment in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(opt_ours[k].state[ours[k]][moment],
                               opt_theirs[k].state[theirs[k]][moment])


def test_strategy_drops_into_a_gsplat_training_loop():
    """Driven with gsplat's own call signatures (as its simple_trainer calls a strategy), on a
    ParameterDict with one optimizer per parameter; gsplat's ops accept the typed state."""
    from gsplat.strategy import ops
    from gsplat.strategy.base import Strategy as GsplatStrategy

    params = torch.nn.ParameterDict(_params(200))
    optimizers = {k: torch.optim.Adam([p], lr=0.01) for k, p in params.items()}
    cams = default_cameras(scene_from_params(params), 4, 32)
    strategy = PruneStrategy(prune_steps=(2, 4), keep_ratio=0.5, score="radsplat", cameras=cams)
    GsplatStrategy.check_sanity(strategy, params, optimizers)  # gsplat's own check passes too
    strategy.check_sanity(params, optimizers)
    state = strategy.initialize_state(scene_scale=1.0)
    for step in range(6):
        loss = sum((p**2).sum() for p in params.values())
        info = {"width": 32, "height": 32, "n_cameras": 1}
        strategy.step_pre_backward(params, optimizers, state, step, info)
        loss.backward()
        strategy.step_post_backward(params, optimizers, state, step, info, packed=False)
        for opt in optimizers.values():
            opt.step()
            opt.zero_grad()
    assert params["means"].shape[0] == 50
    assert [h["left"] for h in state["history"]] == [100, 50] and state["pruned"] == 150
    assert state.state_dict() == {"pruned": 150, "history": state["history"]}
    # a key of no field was passed over in silence; what is no dict raised a bare TypeError
    for bad, message in (({**state.state_dict(), "visits": 1}, r"state has \['visits'\], which "
                          "PruneState has no field for: load the state_dict\\(\\) of the same strategy"),
                         ([("pruned", 1)], "takes the dict state_dict\\(\\) returned, got list")):
        with pytest.raises(ValueError, match=message):
            state.load_state_dict(bad)
    assert state.state_dict() == {"pruned": 150, "history": state["history"]}
    ops.remove(params, optimizers, state, torch.zeros(50, dtype=torch.bool))  # no error
    with pytest.raises(ValueError, match="same trainable keys"):
        strategy.check_sanity(params, {"means": optimizers["means"]})
    with pytest.raises(ValueError, match="params lacks"):
        strategy.check_sanity({"means": params["means"]}, {"means": optimizers["means"]})
    for steps in (np.array([100, 200]), {100, 200}, range(100, 300, 100)):  # as loops build them
        PruneStrategy(prune_steps=steps, score="opacity").initialize_state()
    # bad settings fail at set-up, not at the first prune step (15,000 steps in, by default)
    for bad, message in ((dict(keep_ratio=1.5), "keep_ratio must be in"),
                         # None kept the pruner's default, 0.34, not the strategy's 0.66
                         (dict(keep_ratio=None), r"keep_ratio must be a number in \(0, 1\], got None"),
                         (dict(rounds=0), "rounds must be an integer >= 1"),
                         (dict(backend="gpu"), "backend must be one of"),
                         (dict(score="random"), "score must be one of"),
                         (dict(prune_steps=5), "prune_steps must be a collection of steps"),
                         (dict(prune_steps=[10, -1]), "prune_steps must be a collection")):
        wrong = PruneStrategy(**{"score": "opacity", **bad})
        with pytest.raises(ValueError, match=message):
            wrong.initialize_state()
        with pytest.raises(ValueError, match=message):
            wrong.check_sanity(params, optimizers)


def test_prune_splats_cli(tmp_path, data_dir, cli):
    out, report = tmp_path / "pruned.ply", tmp_path / "report.json"
    result = cli(*[
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


def test_ssim_uses_the_11x11_gaussian_window_of_the_splatting_papers():
    """SSIM as 3DGS, LightGaussian and PUP 3D-GS compute it: an 11 x 11 Gaussian window with
    sigma 1.5 (normalised), C1 = 0.01^2, C2 = 0.03^2, averaged over pixels and channels;
    checked against a direct window-by-window computation (edges mirrored)."""
    rng = np.random.default_rng(0)
    a = rng.random((24, 20, 3))
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1)
    x = np.arange(-5, 6)
    g = np.exp(-(x**2) / (2 * 1.5**2))
    window = np.outer(g, g) / np.outer(g, g).sum()

    def local_mean(img):
        pad = np.pad(img, 5, mode="symmetric")
        out = np.zeros_like(img)
        for i in range(img.shape[0]):
            for j in range(img.shape[1]):
                out[i, j] = (pad[i:i + 11, j:j + 11] * window).sum()
        return out

    values = []
    for c in range(3):
        x1, y1 = a[..., c], b[..., c]
        mx, my = local_mean(x1), local_mean(y1)
        vx, vy = local_mean(x1 * x1) - mx**2, local_mean(y1 * y1) - my**2
        cov = local_mean(x1 * y1) - mx * my
        c1, c2 = 0.01**2, 0.03**2
        values.append(((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    assert ssim(a, b) == pytest.approx(float(np.mean(values)), rel=1e-10)


def test_a_lossless_prune_reports_strict_json(tmp_path, data_dir, cli):
    """Keeping every Gaussian renders exactly the reference: the infinite PSNR is written as
    null, so strict JSON parsers (jq, JavaScript) read the report and the summary line."""
    out, report = tmp_path / "all.ply", tmp_path / "report.json"
    result = cli("scene", "prune-splats", str(data_dir / DONUT), str(out), "--keep-ratio", "1",
                 "--score", "opacity", "--views", "2", "--resolution", "16", "--eval-views", "1",
                 "--rounds", "1", "--report", str(report))
    assert result.exit_code == 0, result.output

    def strict(constant):
        raise ValueError(f"not JSON: {constant}")

    for text in (report.read_text(), result.stdout.strip().splitlines()[-1]):
        r = json.loads(text, parse_constant=strict)
        assert r["psnr"] is None and r["kept"] == r["total"] and r["unchanged_views"] == 1


def test_a_held_out_view_pruning_left_unchanged_leaves_the_mean_psnr_finite(tmp_path, data_dir,
                                                                            monkeypatch):
    """The mean over the views was infinite (null in the report) where one view was unchanged,
    though the others had finite PSNRs: it is the mean over the changed views."""
    import scenesparse.splatjob as job

    real, seen = job.psnr, []

    def first_unchanged(a, b):
        seen.append(real(a, b))
        return float("inf") if len(seen) == 1 else seen[-1]

    monkeypatch.setattr(job, "psnr", first_unchanged)
    summary = job.prune_splat_file(data_dir / DONUT, tmp_path / "p.ply", keep_ratio=0.5,
                                   score="opacity", views=2, resolution=16, eval_views=3,
                                   rounds=1)
    assert len(seen) == 3 and summary["unchanged_views"] == 1
    assert summary["psnr"] == pytest.approx(np.mean(seen[1:])) and summary["psnr_min"] == min(seen[1:])


def test_strategy_cameras_are_checked_at_set_up():
    """Cameras that cannot be scored with fail when the loop starts, not at the prune step."""
    params = torch.nn.ParameterDict(_params(40))
    optimizers = {k: torch.optim.Adam([p], lr=0.01) for k, p in params.items()}
    cams = default_cameras(scene_from_params(params), 2, 16)
    for bad, message in (([], "cameras is empty"), (cams[0], "cameras must be a list of Camera"),
                         ([cams[0], "front"], r"cameras\[1\] must be one Camera")):
        strategy = PruneStrategy(prune_steps=(10,), score="radsplat", cameras=bad)
        with pytest.raises(ValueError, match=message):
            strategy.initialize_state(scene_scale=1.0)
        with pytest.raises(ValueError, match=message):
            strategy.check_sanity(params, optimizers)
        with pytest.raises(ValueError, match=message):
            GaussianPruner("radsplat").fit(scene_from_params(params), bad)
    PruneStrategy(prune_steps=(10,), cameras=tuple(cams)).initialize_state()


def test_pruner_refuses_cameras_that_see_no_gaussian():
    """Poses in another convention (here: each camera turned to face away) see nothing: every
    score would be 0 and the pruner would keep the first Gaussians of the file."""
    from scenesparse.cameras import Camera

    scene = scene_from_params(torch.nn.ParameterDict(_params(40)))
    cams = default_cameras(scene, 2, 16)
    turned = torch.diag(torch.tensor([-1.0, 1.0, -1.0, 1.0]))  # half a turn about y
    away = [Camera(turned @ c.world_to_cam, c.fx, c.fy, c.cx, c.cy, c.width, c.height)
            for c in cams]
    with pytest.raises(ValueError, match="none of the 2 cameras sees a Gaussian"):
        GaussianPruner("radsplat", keep_ratio=0.5).fit(scene, away)
    assert GaussianPruner("radsplat", keep_ratio=0.5).fit(scene, [away[0], cams[1]]).mask_.sum() == 20
    # a camera whose image only the Gaussians' footprints reach, not their centres, sees them
    from scenesparse.importance import cameras_seeing

    big = scene_from_params(torch.nn.ParameterDict(_params(40)))
    near = Camera(torch.eye(4), 10.0, 10.0, 8.0, 8.0, 16, 16)
    centred = big.means - big.means.mean(0) + torch.tensor([3.0, 0.0, 2.0])  # off to the right
    far_right = dataclasses.replace(big, means=centred, log_scales=torch.full_like(big.log_scales, 0.0))
    assert list(cameras_seeing(far_right, [near])) == [True]
    assert list(cameras_seeing(dataclasses.replace(far_right, log_scales=far_right.log_scales - 5),
                               [near])) == [False]


def test_prune_splat_file_takes_a_budget_alone(tmp_path):
    """prune_splat_file(budget=...) from Python was refused with "give one of keep_ratio,
    budget, not several; got keep_ratio, budget": keep_ratio defaulted to 0.34, not to None."""
    from scenesparse.gaussians import write_ply
    from scenesparse.splatjob import prune_splat_file

    write_ply(tmp_path / "scene.ply", scene_from_params(torch.nn.ParameterDict(_params(40))))
    small = dict(score="opacity", rounds=1, views=2, eval_views=1, resolution=16)
    assert prune_splat_file(tmp_path / "scene.ply", tmp_path / "b.ply", budget=7, **small)[
        "kept"] == 7 == len(read_ply(tmp_path / "b.ply"))
    assert prune_splat_file(tmp_path / "scene.ply", tmp_path / "d.ply", **small)["kept"] == 14
    with pytest.raises(ValueError, match="give one of keep_ratio, budget, not several"):
        prune_splat_file(tmp_path / "scene.ply", tmp_path / "e.ply", keep_ratio=0.5, budget=7,
                         **small)
    assert not (tmp_path / "e.ply").exists()


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_the_default_orbit_frames_gaussians_at_one_point():
    """Centres all at one point (one Gaussian, or copies of it) put the orbit's cameras at that
    point, looking nowhere (NaN poses, "invalid value encountered in divide"): every render
    score was 0 and the pruner kept the first Gaussian, not the one that shows."""
    from scenesparse.gaussians import GaussianScene

    pair = GaussianScene(means=torch.full((2, 3), 0.5), quats=torch.tensor([[1.0, 0, 0, 0]] * 2),
                         log_scales=torch.full((2, 3), -2.0),
                         opacity_logits=torch.tensor([-4.0, 4.0]), sh_dc=torch.ones(2, 3),
                         sh_rest=torch.zeros(2, 0, 3))
    cams = default_cameras(pair, 2, 16)
    assert all(torch.isfinite(c.world_to_cam).all() for c in cams)
    for score in ("radsplat", "lightgaussian", "minisplatting"):
        pruner = GaussianPruner(score, budget=1, rounds=1, views=2, resolution=16).fit(pair)
        assert pruner.mask_.tolist() == [False, True] and pruner.scores_[1] > 0
    one = dataclasses.replace(pair.subset(np.array([False, True])), log_scales=torch.zeros(1, 3))
    assert np.isclose(float((default_cameras(one, 1, 16)[0].center - 0.5).norm()), 8.0)


def test_prune_splat_file_checks_its_counts_before_reading_the_scene(tmp_path, monkeypatch):
    """sh_steps=-1 was found out (or, before, taken as no step) only after scoring and pruning;
    eval_views=0 after the scene was read."""
    import scenesparse.splatjob

    def unread(path, **kwargs):
        raise AssertionError(f"{path} read before the options were checked")

    monkeypatch.setattr(scenesparse.splatjob, "read_ply", unread)
    for bad, message in ((dict(sh_degree=0, sh_steps=-1), "sh_steps must be >= 0, got -1"),
                         (dict(eval_views=0), "eval_views must be >= 1, got 0")):
        with pytest.raises(ValueError, match=message):
            scenesparse.splatjob.prune_splat_file(tmp_path / "scene.ply", tmp_path / "out.ply",
                                                  **bad)
    assert not list(tmp_path.iterdir())


def test_importance_scores_refuse_another_scenes_statistics_and_no_views(donut):
    """Statistics rendered from another scene gave scores of its length (radsplat,
    minisplatting) or numpy's broadcast error (lightgaussian), and 'pup' over no camera the same
    score for every Gaussian, silently."""
    from sparsebox.exceptions import InvalidParameterError

    part = donut.subset(np.arange(len(donut)) < 50)
    stats = render_statistics(part, default_cameras(part, 1, 16))
    assert len(importance_scores(part, "radsplat", stats)) == 50
    for score in ("radsplat", "minisplatting", "lightgaussian"):
        with pytest.raises(InvalidParameterError, match=f"statistics are of 50 Gaussians, the "
                                                        f"scene has {len(donut)}"):
            importance_scores(donut, score, stats)
    with pytest.raises(InvalidParameterError, match="cameras is empty: pass the views$"):
        importance_scores(part, "pup", cameras=[])  # ("or None for the default orbit": refused)


def test_statistics_and_sensitivity_check_their_cameras(donut):
    """No camera gave statistics of zeros and a sensitivity of -414.47 for every Gaussian, one
    camera a bare "'Camera' object is not iterable", a generator rendered every view and then
    failed on its len()."""
    from scenesparse.importance import fisher_information, sensitivity_scores
    from sparsebox.exceptions import InvalidParameterError

    part = donut.subset(np.arange(len(donut)) < 50)
    camera = default_cameras(part, 1, 16)[0]
    for scores in (render_statistics, sensitivity_scores, fisher_information):
        with pytest.raises(InvalidParameterError, match="cameras is empty: pass the views$"):
            scores(part, [])
        with pytest.raises(InvalidParameterError, match="cameras must be a list of Camera, got "
                                                        "Camera$"):
            scores(part, camera)
        with pytest.raises(InvalidParameterError, match="got generator$"):
            scores(part, (c for c in [camera]))
    assert render_statistics(part, [camera]).views == 1


def test_lpips_that_cannot_load_its_weights_is_left_out_with_a_warning(monkeypatch):
    """lpips fetches torchvision's VGG weights on first use: offline, the URLError ended
    prune-splats with an internal error after all its work, and nothing was written."""
    import sys
    import types
    import urllib.error

    from scenesparse.splatjob import lpips_distance

    def offline(**kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setitem(sys.modules, "lpips", types.SimpleNamespace(LPIPS=offline))
    image = np.zeros((8, 8, 3), dtype=np.float32)
    with pytest.warns(UserWarning, match="LPIPS left out of the report: lpips could not load "
                                         "its VGG weights"):
        assert lpips_distance([image], [image]) is None


def test_the_pruner_recovers_and_scores_over_its_background():
    """Recovery renders over ``background``, towards the unpruned scene's renders over it (or
    the photos given, taken over it), and PUP's sensitivity depends on it; a colour outside
    [0, 1] is refused at once."""
    from scenesparse.training import distill_sh
    from sparsebox.exceptions import InvalidParameterError

    scene = scene_from_params(torch.nn.ParameterDict(_params(40)))
    cams = default_cameras(scene, 3, 16)
    white = (1.0, 1.0, 1.0)
    with torch.no_grad():
        photos = [render(scene, c, background=white).image.clamp(0, 1) for c in cams]

    def train_psnr(background, targets=None):
        pruner = GaussianPruner("radsplat", keep_ratio=0.95, rounds=1, recover_steps=1,
                                background=background).fit(scene, cams, targets)
        return pruner.history_[-1]["train_psnr"]

    assert train_psnr(white) > 30 and train_psnr((0.0, 0.0, 0.0)) > 30
    assert train_psnr(white, photos) > train_psnr((0.0, 0.0, 0.0), photos) + 10
    pup = [GaussianPruner("pup", keep_ratio=0.5, background=b).fit(scene, cams).scores_
           for b in (white, (0.0, 0.0, 0.0))]
    assert not np.allclose(*pup)
    # the SH refit renders its targets and trains over the same colour (targets over white
    # and a student over black had pulled every colour towards white)
    refit = distill_sh(scene, cams, 0, steps=20, background=white)
    with torch.no_grad():
        assert min(psnr(render(refit, c, background=white).image.clamp(0, 1).numpy(),
                        p.numpy()) for c, p in zip(cams, photos, strict=True)) > 35
    for call in (lambda: GaussianPruner(background=(255, 255, 255)).fit(scene, cams),
                 lambda: distill_sh(scene, cams, 0, steps=1, background=(255, 255, 255)),
                 lambda: PruneStrategy(background=(255, 255, 255)).initialize_state(),
                 lambda: render(scene, cams[0], background=(255, 255, 255))):  # was taken
        with pytest.raises(InvalidParameterError, match=r"background must .*\[0, 1\].* 255"):
            call()


def test_targets_are_checked_without_recovery_too(donut):
    """Without recovery, targets of another size than their cameras were taken without a word
    (they were checked only once recovery trained towards them)."""
    from scenesparse.cameras import orbit_cameras
    from sparsebox.exceptions import InvalidParameterError

    cams = orbit_cameras((0.0, 0.0, 0.0), 4.0, 2, width=16, height=12)
    with pytest.raises(InvalidParameterError, match=r"target 0 must be \(height, width, 3\) = "
                                                    r"\(12, 16, 3\) as its camera, got \(10, 10, 3\)"):
        GaussianPruner("radsplat", rounds=1, keep_ratio=0.5).fit(
            donut, cams, [torch.zeros(10, 10, 3)] * 2)
