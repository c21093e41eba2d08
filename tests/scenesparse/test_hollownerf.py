"""HollowNeRF: the hash encoding, the saliency grid's bounds, scores that prune without changing
a pixel, compaction, training under the budget on the real lego photos, checkpoints and files."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest
import torch

from scenesparse.cameras import orbit_cameras
from scenesparse.nerf.estimator import FORMAT, HollowNeRF
from scenesparse.nerf.field import NerfField
from scenesparse.nerf.hashgrid import PRIMES, HashGrid
from scenesparse.nerf.occupancy import OccupancyGrid
from scenesparse.nerf.pruning import cell_saliency_bounds, entry_scores, mass_budget
from scenesparse.nerf.saliency import SaliencyGrid
from scenesparse.nerf.trainer import NerfTrainer, render_image
from sparsebox.exceptions import InputFileError, InvalidParameterError

SMALL = {"levels": 4, "table_size": 2**12, "base_resolution": 4, "finest_resolution": 64,
         "saliency_resolution": 16, "occupancy_resolution": 16}


def _random_field(seed: int = 0) -> tuple[NerfField, OccupancyGrid]:
    """A field with random features and saliency, and a sparse random occupancy grid."""
    g = torch.Generator().manual_seed(seed)
    grid = HashGrid(levels=4, table_size=2**12, base_resolution=4, finest_resolution=64)
    saliency = SaliencyGrid(16)
    with torch.no_grad():
        grid.table.normal_(0.0, 0.05, generator=g)
        saliency.logits.normal_(0.0, 3.0, generator=g)
    occupancy = OccupancyGrid(16)
    occupancy.occupied = torch.rand(16**3, generator=g) < 0.15
    return NerfField(grid, saliency, gate_alpha=10.0), occupancy


def test_hash_matches_instant_ngp_formula():
    grid = HashGrid(levels=2, table_size=2**10, base_resolution=4, finest_resolution=32)
    assert grid.dense == [True, False]
    v = torch.tensor([[3, 7, 11], [31, 0, 5]])
    rows = grid.vertex_rows(1, v)
    for (x, y, z), row in zip(v.tolist(), rows.tolist(), strict=True):
        h = ((x * PRIMES[0]) ^ (y * PRIMES[1]) ^ (z * PRIMES[2])) & 0xFFFFFFFF
        assert row == grid.offsets[1] + h % 2**10
    # a dense level indexes x + (N+1) y + (N+1)^2 z
    assert grid.vertex_rows(0, torch.tensor([[1, 2, 3]])).item() == 1 + 5 * 2 + 25 * 3


def test_encoding_at_a_vertex_is_its_features_and_sparse_gradients_match_dense():
    grid = HashGrid(levels=2, table_size=2**10, base_resolution=4, finest_resolution=32)
    with torch.no_grad():
        grid.table.normal_()
    vertex = torch.tensor([[0.25, 0.5, 0.75]])  # a vertex of both levels (4 and 32 cells)
    out = grid(vertex)
    for level, n in enumerate(grid.resolutions):
        row = grid.vertex_rows(level, (vertex * n).round().long())
        assert torch.allclose(out[0, 2 * level:2 * level + 2], grid.table[row[0]], atol=1e-5)
    x = torch.rand(50, 3, generator=torch.Generator().manual_seed(1))
    dense = copy.deepcopy(grid)
    dense.sparse = False
    grid(x).square().sum().backward()
    dense(x).square().sum().backward()
    assert grid.table.grad.is_sparse
    assert torch.allclose(grid.table.grad.to_dense(), dense.table.grad, atol=1e-6)


def test_saliency_cell_bounds_hold_for_every_point():
    field, _ = _random_field()
    bounds = cell_saliency_bounds(field, 16)  # [z, y, x]
    x = torch.rand(4000, 3, generator=torch.Generator().manual_seed(2))
    cell = (x * 16).long().clamp(0, 15)
    p = field.saliency(x).detach()
    assert bool((p <= bounds[cell[:, 2], cell[:, 1], cell[:, 0]] + 1e-6).all())


def test_gate_masks_the_density_but_passes_no_gradient_to_the_features():
    grid = HashGrid(levels=2, table_size=2**10, finest_resolution=16, sparse=False)
    field = NerfField(grid, SaliencyGrid(4, init=0.0), gate_alpha=3e3)
    x = torch.rand(64, 3) * 2.0 - 1.0
    (got,) = torch.autograd.grad(field.density(x)[0].sum(), grid.table)
    v = field.encode(field.to_unit(x))
    base = torch.exp(field.density_net(v)[:, 0].clamp(max=15.0))
    gate = torch.tanh(field.gate_alpha * v.norm(dim=1))
    (masked,) = torch.autograd.grad((base * gate.detach()).sum(), grid.table, retain_graph=True)
    (through,) = torch.autograd.grad((base * gate).sum(), grid.table)
    assert torch.allclose(got, masked)
    assert not torch.allclose(got, through)  # the gate's own gradient would differ
    with torch.no_grad():
        grid.table.zero_()
    assert float(field.density(x)[0].abs().max()) == 0.0  # zero features: empty space


def test_budget_anneals_from_one_to_the_target_between_warmup_and_anneal():
    field = NerfField(HashGrid(levels=2, table_size=2**10, finest_resolution=16),
                      SaliencyGrid(4, init=2.0))
    cams = orbit_cameras((0.0, 0.0, 0.0), 4.0, 1, width=4, height=4)
    trainer = NerfTrainer(field, cams, [torch.zeros(4, 4, 3)], steps=100, saliency_budget=0.04,
                          saliency_warmup=0.1, saliency_anneal=0.3)
    at = {}
    for step in (0, 10, 20, 30, 90):
        trainer.step_count = step
        at[step] = trainer._annealed_budget()
    assert at[0] == at[10] == 1.0
    assert at[20] == pytest.approx(0.52)
    assert at[30] == at[90] == pytest.approx(0.04)


def test_dropping_entries_no_sample_reads_leaves_every_pixel_and_compaction_equals_zeroing():
    field, occupancy = _random_field()
    cam = orbit_cameras((0.0, 0.0, 0.0), 3.0, 1, width=24, height=24)[0]
    before = render_image(field, occupancy, cam, step=0.02)
    scores = entry_scores(field, occupancy)
    read = scores > 0
    assert 0.05 < float(read.float().mean()) < 1.0  # some entries are never read
    compact = copy.deepcopy(field)
    compact.grid.compact_(read)
    assert torch.equal(render_image(compact, occupancy, cam, step=0.02), before)
    # a real prune changes the render, and compaction renders what zeroed rows render
    keep = scores >= scores[read].median()  # drops half of the entries renders read
    zeroed = copy.deepcopy(field)
    with torch.no_grad():
        zeroed.grid.table[~keep] = 0.0
    compact = copy.deepcopy(field)
    compact.grid.compact_(keep)
    pruned = render_image(compact, occupancy, cam, step=0.02)
    assert compact.grid.num_parameters() == int(keep.sum()) * 2
    assert torch.allclose(pruned, render_image(zeroed, occupancy, cam, step=0.02), atol=1e-6)
    assert float((pruned - before).abs().max()) > 1e-3


@pytest.fixture(scope="module")
def lego_views():
    from scenesparse.photos import photo_views
    from sparsebox.data.sources import fetch

    folder = fetch("lego", download=False)[0].parent
    return photo_views(folder, resolution=32, background=(1.0, 1.0, 1.0))


@pytest.fixture(scope="module")
def trained(lego_views):
    model = HollowNeRF(**SMALL, steps=300, batch_rays=256, saliency_budget=0.1)
    return model.fit(lego_views)


def test_training_on_lego_raises_psnr_and_meets_the_budget(trained, lego_views):
    history = trained.trainer_.history
    first = np.mean([h["psnr"] for h in history[:20]])
    last = np.mean([h["psnr"] for h in history[-20:]])
    assert last > first + 3.0
    assert history[-1]["saliency_mean"] <= 0.1 * 1.1  # the constraint, within 10%
    held_out = trained.evaluate(lego_views.test_cameras[:2], lego_views.test_images[:2])
    assert held_out["psnr"] > 13.0


def test_prune_reports_levels_compacts_and_renders_as_zeroed_rows(trained, lego_views):
    cam = lego_views.test_cameras[0]
    zeroed = copy.deepcopy(trained)
    with torch.no_grad():
        zeroed.field_.grid.table[torch.from_numpy(~trained.mask_)] = 0.0
    pruned = trained.transform()
    assert pruned is not trained and trained.field_.grid.keep is None
    report = pruned.pruning_
    assert report["params_after"] < report["params_before"]
    assert sum(level["kept"] for level in report["levels"]) == int(trained.mask_.sum())
    assert [level["entries"] for level in report["levels"]] == trained.field_.grid.sizes
    assert torch.allclose(pruned.render(cam), zeroed.render(cam), atol=1e-5)


def test_saliency_and_occupancy_grids_past_the_memory_here_are_refused(monkeypatch):
    """A grid of resolution^3 cells that memory cannot hold passed the checks and failed in
    torch's allocator, naming no parameter ("you tried to allocate 4000000000000000 bytes")."""
    import scenesparse.nerf.estimator

    tiny = {"levels": 2, "table_size": 2**8, "finest_resolution": 16}
    with pytest.raises(InvalidParameterError, match=r"^saliency_resolution 100000 makes a "
                       r"saliency grid of 1,000,000,000,000,000 cells that needs [\d,.]+ GiB"):
        HollowNeRF(**tiny, saliency_resolution=100_000)._validate_params()
    monkeypatch.setattr(scenesparse.nerf.estimator, "_physical_memory", lambda: 2**29)
    # 400^3 cells: 1.0 GB of saliency (logits, gradient, two moments), 0.8 GB of occupancy
    with pytest.raises(InvalidParameterError, match=r"^occupancy_resolution 400 makes an "
                       r"occupancy grid .* 0\.5 GiB of memory here; give a smaller "
                       "occupancy_resolution"):
        HollowNeRF(**tiny, occupancy_resolution=400)._validate_params()
    with pytest.raises(InvalidParameterError, match="^saliency_resolution 400"):
        HollowNeRF(**tiny, saliency_resolution=400)._validate_params()
    HollowNeRF(**tiny, saliency_resolution=400, saliency_budget=None)._validate_params()  # unbuilt
    HollowNeRF(**tiny, saliency_resolution=300, occupancy_resolution=300)._validate_params()


def test_render_names_a_camera_that_is_not_one(trained, lego_views):
    """A camera's name or a list of cameras: was "'str' object has no attribute 'height'"."""
    for given, what in (("cam", "str"), (lego_views.test_cameras[:2], "list")):
        with pytest.raises(InvalidParameterError, match=rf"camera must be one Camera, got {what}"):
            trained.render(given)
    with pytest.raises(InvalidParameterError, match=r"background must lie in \[0, 1\].* 255"):
        trained.render(lego_views.test_cameras[0], background=(255, 255, 255))  # was taken


def test_keep_mass_keeps_the_fewest_entries_carrying_that_share_of_the_light(trained):
    scores, keep = trained.scores_, trained.mask_
    assert trained.keep_mass == 0.99 and scores.sum() > 0
    assert scores[keep].sum() >= 0.99 * scores.sum()
    assert scores[keep].min() >= scores[~keep].max()  # the largest ones
    smaller = np.sort(scores[keep])[1:]  # one entry fewer no longer carries 99%
    assert smaller.sum() < 0.99 * scores.sum()
    assert mass_budget(np.array([5.0, 3.0, 1.0, 1.0]), 1.0) == 4
    assert mass_budget(np.zeros(3), 0.5) == 0


def test_photos_over_any_background_train_empty_space_as_empty(tmp_path):
    """photo_views composites over black by default; the trainer took every photo to be over
    white, so empty space was learnt as black fog."""
    from scenesparse.photos import PhotoViews, photo_views
    from sparsebox.data.sources import fetch

    views = photo_views(fetch("lego", download=False)[0].parent, resolution=32)
    assert views.background == (0.0, 0.0, 0.0)
    model = HollowNeRF(**SMALL, steps=60, batch_rays=512, march_steps=64,
                       score_rays=4096).fit(views)
    assert model.background_ == (0.0, 0.0, 0.0)
    green = model.render(views.test_cameras[0], background=(0.0, 1.0, 0.0))
    shows_green = (green[..., 1] > 0.5) & (green[..., 0] < 0.3)
    assert float(shows_green.float().mean()) > 0.5  # the lego fills less than half the view
    assert torch.equal(model.render(views.test_cameras[0]),
                       model.render(views.test_cameras[0], background=(0, 0, 0)))
    model.save(tmp_path / "m.pt")
    assert HollowNeRF.load(tmp_path / "m.pt").background_ == (0.0, 0.0, 0.0)
    # by name, as --background takes it (it was refused: "must be three finite numbers")
    assert torch.equal(model.render(views.test_cameras[0], background="White"),
                       model.render(views.test_cameras[0], background=(1, 1, 1)))
    with pytest.raises(InvalidParameterError, match="background must be black, white or three "
                                                    "finite numbers"):
        model.render(views.test_cameras[0], background=1.0)
    with pytest.raises(InvalidParameterError, match="got 'grey'"):
        model.render(views.test_cameras[0], background="grey")
    # views built by hand do not say what their photos lie over: white, as before
    by_hand = PhotoViews(views.train_cameras[:2], views.train_images[:2], [], [], "by hand")
    quick = HollowNeRF(**SMALL, steps=1, batch_rays=64, march_steps=16, score_rays=64)
    assert quick.fit(by_hand).background_ == (1.0, 1.0, 1.0)


def test_save_load_round_trip_and_bytes_fall(trained, lego_views, tmp_path):
    cam = lego_views.test_cameras[1]
    full = trained.save(tmp_path / "full.pt")
    pruned = trained.transform()
    small = pruned.save(tmp_path / "pruned.pt")
    assert small < full
    assert pruned.saved_bytes() == pruned.save(tmp_path / "model.pt")  # the archive holds the name
    loaded = HollowNeRF.load(tmp_path / "pruned.pt")
    assert torch.equal(loaded.render(cam), pruned.render(cam))
    assert loaded.num_parameters() == pruned.num_parameters()
    # a file of the first version (the rows kept always as bits) loads too
    state = torch.load(tmp_path / "pruned.pt", weights_only=True)
    assert state["format"] == "sparsebox-hollownerf/3" and "keep_bits" in state["grid"]
    assert state["background"] == [1.0, 1.0, 1.0]
    del state["background"]  # a file written before it was saved: trained over white
    torch.save({**state, "format": "sparsebox-hollownerf/1"}, tmp_path / "v1.pt")
    assert torch.equal(HollowNeRF.load(tmp_path / "v1.pt").render(cam), pruned.render(cam))
    torch.save({**state, "format": "sparsebox-hollownerf/4"}, tmp_path / "v4.pt")
    with pytest.raises(InputFileError, match="its format is sparsebox-hollownerf/4"):
        HollowNeRF.load(tmp_path / "v4.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(InputFileError, match="junk.pt"):
        HollowNeRF.load(tmp_path / "junk.pt")
    # the file of an unpruned model holds no selection: its prune() had kept every entry, silently
    unpruned = HollowNeRF.load(tmp_path / "full.pt")
    assert not trained.mask_.all() and unpruned.mask_.all() and unpruned.pruning_ is None
    for prune in (unpruned.prune, unpruned.transform):
        with pytest.raises(InvalidParameterError, match=r"does not hold the fit's selection .*"
                                                        r"prune\(\) before save\(\)"):
            prune()
    assert HollowNeRF.load(tmp_path / "pruned.pt").prune().num_parameters() == \
        pruned.num_parameters()
    kept_all = copy.deepcopy(trained)  # a prune that keeps every entry, then saved: no refusal
    kept_all.mask_ = np.ones_like(trained.mask_)
    kept_all.prune().save(tmp_path / "kept_all.pt")
    again = HollowNeRF.load(tmp_path / "kept_all.pt")
    assert again.pruning_ is not None and again.prune() is again
    assert torch.equal(again.render(cam), kept_all.render(cam))


def test_stopped_run_resumes_from_its_checkpoint_exactly(lego_views, tmp_path):
    settings = {**SMALL, "steps": 24, "batch_rays": 64}
    whole = HollowNeRF(**settings).fit(lego_views)

    class Stop(Exception):
        pass

    def stop_at_10(trainer):
        if trainer.step_count == 10:
            raise Stop

    path = tmp_path / "checkpoint.pt"
    with pytest.raises(Stop):
        HollowNeRF(**settings).fit(lego_views, checkpoint=path, checkpoint_every=5,
                                   callback=stop_at_10)
    resumed = HollowNeRF(**settings).fit(lego_views, checkpoint=path, checkpoint_every=5)
    assert resumed.trainer_.step_count == 24
    for (name, a), b in zip(whole.field_.state_dict().items(),
                            resumed.field_.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    with pytest.raises(InvalidParameterError, match="checkpoint of a run with"):
        HollowNeRF(**{**settings, "seed": 1}).fit(lego_views, checkpoint=path)
    # a checkpoint of an earlier version (no record of its views) still resumes, with a warning
    state = torch.load(path, weights_only=False)
    del state["views"]
    torch.save(state, path)
    with pytest.warns(UserWarning, match="does not record the views"):
        old = HollowNeRF(**settings).fit(lego_views, checkpoint=path)
    assert old.trainer_.step_count == 24


def test_a_ctrl_c_ends_the_step_and_writes_the_checkpoint_to_resume_from(tmp_path):
    import os
    import signal

    views = _tiny_views()
    settings = {**SMALL, "steps": 12, "batch_rays": 16}
    whole = HollowNeRF(**settings).fit(views)

    def ctrl_c_at_5(trainer):  # the signal arrives mid-run, far from a checkpoint_every step
        if trainer.step_count == 5:
            os.kill(os.getpid(), signal.SIGINT)

    path = tmp_path / "checkpoint.pt"
    with pytest.raises(KeyboardInterrupt, match=f"^stopped after step 6 of 12; the checkpoint "
                                                f"{path} holds it, and a run with it goes on"):
        HollowNeRF(**settings).fit(views, checkpoint=path, checkpoint_every=250,
                                   callback=ctrl_c_at_5)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert torch.load(path, weights_only=False)["trainer"]["step"] == 6  # the step under way ended
    resumed = HollowNeRF(**settings).fit(views, checkpoint=path)
    assert resumed.resumed_from_step_ == 6 and resumed.trainer_.step_count == 12
    for (name, a), b in zip(whole.field_.state_dict().items(),
                            resumed.field_.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_an_interrupt_says_which_step_the_checkpoint_holds(tmp_path, monkeypatch):
    """A Ctrl-C ended fit with a bare KeyboardInterrupt ("error: interrupted"), naming neither
    the step the checkpoint holds nor where it is; a second Ctrl-C (at once, mid-step) leaves the
    last checkpoint written, or none."""
    views = _tiny_views()
    settings = {**TINY, "steps": 12}

    def ctrl_c_at(step):
        def callback(trainer):
            if trainer.step_count == step:
                raise KeyboardInterrupt
        return callback

    path = tmp_path / "checkpoint.pt"
    with pytest.raises(KeyboardInterrupt, match=f"^stopped after step 3 of 12; no checkpoint was "
                                                f"written to {path} yet$"):
        HollowNeRF(**settings).fit(views, checkpoint=path, checkpoint_every=5,
                                   callback=ctrl_c_at(3))
    assert not path.exists()
    with pytest.raises(KeyboardInterrupt, match=f"^stopped after step 7 of 12; the checkpoint "
                                                f"{path} holds step 5, and a run with it goes on"):
        HollowNeRF(**settings).fit(views, checkpoint=path, checkpoint_every=5,
                                   callback=ctrl_c_at(7))
    with pytest.raises(KeyboardInterrupt, match="^stopped after step 9 of 12; the checkpoint .* "
                                                "holds step 5,"):  # resumed from step 5
        HollowNeRF(**settings).fit(views, checkpoint=path, checkpoint_every=5,
                                   callback=ctrl_c_at(9))

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(HollowNeRF, "_score", ctrl_c)  # scoring, once training has ended
    with pytest.raises(KeyboardInterrupt, match=f"^stopped after training .all 12 steps.; the "
                                                f"checkpoint {path} holds it"):
        HollowNeRF(**settings).fit(views, checkpoint=path, checkpoint_every=5)
    with pytest.raises(KeyboardInterrupt, match="^$"):  # no checkpoint: nothing to say
        HollowNeRF(**settings).fit(views)


def test_bad_inputs_name_the_parameter(lego_views):
    with pytest.raises(InvalidParameterError, match="views must be a PhotoViews"):
        HollowNeRF(**SMALL).fit([1, 2, 3])
    trained = []  # a budget above the table's entries fails before the first step
    with pytest.raises(InvalidParameterError, match="budget"):
        HollowNeRF(**SMALL, budget=10**9, steps=5).fit(lego_views, callback=trained.append)
    assert trained == []
    with pytest.raises(InvalidParameterError, match="saliency_budget"):
        HollowNeRF(saliency_budget=1.5).fit(None)


def test_command_writes_report_model_and_figures_and_resumes(cli, data_dir, tmp_path):
    import json

    out = tmp_path / "nerf"
    argv = ["scene", "hollownerf", "--data", str(data_dir / "3d/nerf_synthetic_lego_subset"),
            "--out", out, "--resolution", "16", "--steps", "12", "--table-size", "512",
            "--levels", "3", "--finest-resolution", "32", "--batch-rays", "32"]
    result = cli(*argv)
    assert result.exit_code == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    for key in ("psnr", "ssim", "params_before", "params_after", "bytes_before", "bytes_after",
                "steps", "resolution"):
        assert key in report
    assert report["steps"] == 12 and report["resolution"] == 16
    assert report["note"].startswith("held-out views of the subset")  # the shipped lego subset
    # 12 steps do not bring the mean saliency from 0.9 down to 0.04: said, not left to the JSON
    assert report["saliency_budget_met"] is False and report["mean_saliency"] > 0.04 * 1.1
    assert (f"note: the mean saliency ended at {report['mean_saliency']:.3f}, above "
            "--saliency-budget 0.04" in result.stderr)
    assert report["params_after"] <= report["params_before"]
    assert report["bytes_after"] == (out / "model.pt").stat().st_size
    assert sum(level["entries"] for level in report["levels"]) > 0
    for name in ("renders.png", "curve.png", "checkpoint.pt"):
        assert (out / name).stat().st_size > 0
    model = HollowNeRF.load(out / "model.pt")
    assert model.num_parameters() == report["params_after"]
    # run again: the checkpoint holds all 12 steps, so nothing is trained and the figures repeat
    again = cli(*argv)
    assert again.exit_code == 0, again.stderr
    assert f"resumed {out / 'checkpoint.pt'}: 12 of 12 steps done; nothing left" in again.stderr
    assert "resumed" not in result.stderr
    assert json.loads((out / "report.json").read_text())["psnr"] == report["psnr"]
    assert {k: report[k] for k in ("keep_mass", "seed", "table_size", "finest_resolution",
                                   "batch_rays", "keep_ratio")} == {
        "keep_mass": 0.99, "seed": 0, "table_size": 512, "finest_resolution": 32,
        "batch_rays": 32, "keep_ratio": None}  # the report did not say which keep mass chose


def test_row_adam_makes_sparse_adams_update_and_refuses_dense_gradients():
    from scenesparse.nerf.optim import RowAdam

    g = torch.Generator().manual_seed(0)
    start = torch.randn(50, 2, generator=g)
    ours, ref = nn_param(start), nn_param(start)
    opt = RowAdam([ours], lr=0.01, betas=(0.9, 0.99), eps=1e-15)
    opt_ref = torch.optim.SparseAdam([ref], lr=0.01, betas=(0.9, 0.99), eps=1e-15)
    for _ in range(5):
        rows = torch.randperm(50, generator=g)[:20].sort().values
        values = torch.randn(20, 2, generator=g)
        for p, o in ((ours, opt), (ref, opt_ref)):
            p.grad = torch.sparse_coo_tensor(rows[None], values, (50, 2)).coalesce()
            o.step()
    assert torch.allclose(ours, ref, atol=1e-6)
    untouched = ours.detach() == start
    assert untouched.any() and not untouched.all()
    ours.grad = torch.ones(50, 2)
    with pytest.raises(InvalidParameterError, match="sparse gradients"):
        opt.step()
    with pytest.raises(InvalidParameterError, match="lr must be"):
        RowAdam([ours], lr=0.0)
    with pytest.raises(InvalidParameterError, match=r"betas\[1\] must be in \[0, 1\)"):
        RowAdam([ours], betas=(0.9, 1.0))
    with pytest.raises(InvalidParameterError, match="eps must be"):
        RowAdam([ours], eps=-1.0)


def nn_param(values: torch.Tensor) -> torch.nn.Parameter:
    return torch.nn.Parameter(values.clone())


def test_a_compact_grid_is_saved_the_smaller_way_and_loads_to_the_same_lookups():
    """Few rows dropped: the keep-mask's bits cost more than the rows saved, and model.pt grew."""
    import io

    def saved(grid):
        buffer = io.BytesIO()
        torch.save(grid.export(), buffer)
        return len(buffer.getvalue())

    points = torch.rand(500, 3)
    full = HashGrid(levels=2, features=2, table_size=4096, finest_resolution=32)
    rows = full.num_entries
    assert rows == 8192  # a keep-mask of 1,024 bytes
    for dropped, stored in ((0, None), (200, "dropped_rows"), (rows // 2, "keep_bits")):
        grid = copy.deepcopy(full)
        keep = torch.ones(rows, dtype=torch.bool)
        keep[torch.randperm(rows, generator=torch.Generator().manual_seed(0))[:dropped]] = False
        grid.compact_(keep)
        exported = grid.export()
        assert set(exported) == {"table"} | ({stored} if stored else set())
        assert saved(grid) < saved(full) if dropped else saved(grid) == saved(full)
        back = HashGrid(levels=2, features=2, table_size=4096, finest_resolution=32)
        back.load_export(exported)
        assert torch.equal(back(points), grid(points))
        assert back.num_parameters() == grid.num_parameters() == 2 * (rows - dropped)


def _moved(views, shift=(0.0, 0.0, 0.0), scale=1.0, first=None):
    """``views`` (their ``first`` training views) with every camera's centre ``c`` moved to
    ``scale * c + shift``."""
    import dataclasses

    from scenesparse.photos import PhotoViews

    def move(cam):
        w2c = cam.world_to_cam.clone()
        centre = scale * cam.center + torch.tensor(shift)
        w2c[:3, 3] = -w2c[:3, :3] @ centre
        return dataclasses.replace(cam, world_to_cam=w2c)

    return PhotoViews([move(c) for c in views.train_cameras[:first]], views.train_images[:first],
                      [move(c) for c in views.test_cameras], views.test_images, "moved",
                      views.train_masks[:first], views.background)


def test_the_box_follows_the_cameras_and_a_shifted_scene_trains_like_the_original(lego_views):
    """The field's box was always (-1.5..1.5): lego moved 20 units along x crashed (no sample
    in the box), and lego scaled by 5 trained into a box holding a fifth of it."""
    from scenesparse.nerf.field import DEFAULT_AABB
    from scenesparse.nerf.volume import render_rays

    settings = {**SMALL, "finest_resolution": 16, "steps": 6, "batch_rays": 64, "march_steps": 32,
                "score_rays": 256}
    views = _moved(lego_views, first=8)  # fewer rays: a quicker test
    original = HollowNeRF(**settings).fit(views)
    assert original.aabb_ == DEFAULT_AABB and original.aabb_from_.startswith("the default box: it")
    shifted = HollowNeRF(**settings).fit(_moved(views, shift=(20.0, 0.0, 0.0)))
    assert shifted.aabb_from_.startswith("from the cameras")
    moved = np.array(DEFAULT_AABB) + [20.0, 0.0, 0.0] * 2
    assert np.allclose(shifted.aabb_, moved, atol=1e-3)
    for a, b in zip(original.trainer_.history, shifted.trainer_.history, strict=True):
        assert a["psnr"] == pytest.approx(b["psnr"], abs=0.05)
    points = []
    trainer = shifted.trainer_
    render_rays(shifted.field_, shifted.occupancy_, trainer.origins[:256], trainer.dirs[:256],
                step=shifted.step_length_, background=torch.ones(3),
                on_samples=lambda x, w: points.append(x.detach()))
    points = torch.cat(points)
    box = torch.tensor(shifted.aabb_)
    assert len(points) > 0 and bool(((points >= box[:3]) & (points <= box[3:])).all())
    bigger = HollowNeRF(**{**settings, "steps": 1}).fit(_moved(views, scale=5.0))
    assert np.allclose(bigger.aabb_, np.array(DEFAULT_AABB) * 5.0, atol=1e-3)


def test_a_scene_in_other_units_trains_like_the_original(lego_views, tmp_path):
    """The densities were per world unit: the march's step grows with the box, so lego scaled
    by 10 (a COLMAP model in other units) started opaque and gave 7.1 dB on held-out views
    where the original gave 12.2 dB. Per unit of the box, a scaled scene trains as it is."""
    from scenesparse.nerf.field import DEFAULT_AABB

    settings = {**SMALL, "finest_resolution": 16, "steps": 6, "batch_rays": 64, "march_steps": 32,
                "score_rays": 256}
    views = _moved(lego_views, first=8)
    original = HollowNeRF(**settings).fit(views)
    assert float(original.field_.density_scale) == 1.0  # NeRF-synthetic's box: as before
    far = _moved(views, shift=(100.0, -50.0, 20.0), scale=10.0)
    scaled = HollowNeRF(**settings).fit(far)
    assert np.allclose(scaled.aabb_, np.array(DEFAULT_AABB) * 10.0 + [100.0, -50.0, 20.0] * 2,
                       atol=1e-2)
    for a, b in zip(original.trainer_.history, scaled.trainer_.history, strict=True):
        assert a["psnr"] == pytest.approx(b["psnr"], abs=0.05)
    held_out = original.evaluate(views.test_cameras[:2], views.test_images[:2])["psnr"]
    assert scaled.evaluate(far.test_cameras[:2], far.test_images[:2])["psnr"] == pytest.approx(
        held_out, abs=0.05)
    # the scale is saved; files and checkpoints of earlier versions (densities per world unit,
    # no density_scale) load with 1, as they were trained
    cam = far.test_cameras[0]
    scaled.save(tmp_path / "model.pt")
    assert torch.equal(HollowNeRF.load(tmp_path / "model.pt").render(cam), scaled.render(cam))
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    del state["mlp_and_saliency"]["density_scale"]
    torch.save({**state, "format": "sparsebox-hollownerf/2"}, tmp_path / "v2.pt")
    old = HollowNeRF.load(tmp_path / "v2.pt")
    assert float(old.field_.density_scale) == 1.0
    with torch.no_grad():
        scaled.field_.density_scale.fill_(1.0)
    assert torch.equal(old.render(cam), scaled.render(cam))
    # a run in a box that follows the cameras resumes (its float32 box was refused as another)
    path = tmp_path / "checkpoint.pt"
    HollowNeRF(**{**settings, "steps": 2}).fit(far, checkpoint=path)
    assert HollowNeRF(**{**settings, "steps": 2}).fit(far, checkpoint=path).resumed_from_step_ == 2
    state = torch.load(path, weights_only=False)
    del state["trainer"]["field"]["density_scale"]
    torch.save({**state, "format": "sparsebox-hollownerf/1-checkpoint"}, path)
    resumed = HollowNeRF(**{**settings, "steps": 2}).fit(far, checkpoint=path)
    assert resumed.trainer_.step_count == 2 and float(resumed.field_.density_scale) == 1.0


def test_load_names_a_missing_file_a_folder_a_checkpoint_and_a_damaged_file(tmp_path):
    """A missing file or a folder was 'not a file written by HollowNeRF' with torch's errno,
    and a JSON or cut-short file gave torch's advice to load it with weights_only=False."""
    import argparse

    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(InputFileError, match=r"nope.pt: no such file$"):
        HollowNeRF.load(tmp_path / "nope.pt")
    with pytest.raises(InputFileError, match=r"run is a folder, not a file written by HollowNeRF$"):
        HollowNeRF.load(run)
    torch.save({"format": "sparsebox-hollownerf/2-checkpoint"}, run / "checkpoint.pt")
    with pytest.raises(InputFileError, match="a training checkpoint, not a saved model"):
        HollowNeRF.load(run / "checkpoint.pt")
    torch.save({"format": FORMAT}, run / "model.pt")
    with pytest.raises(InputFileError, match=r"\(.*run/model.pt is the model in it\)"):
        HollowNeRF.load(run)
    with pytest.raises(InputFileError, match="model.pt is the run's model"):
        HollowNeRF.load(run / "checkpoint.pt")
    (run / "report.json").write_text('{"psnr": 20.0}')
    (run / "cut.pt").write_bytes((run / "checkpoint.pt").read_bytes()[:200])
    torch.save(argparse.Namespace(format=FORMAT), run / "other.pt")
    for name, why in (("report.json", "not a torch archive"), ("cut.pt", "not a torch archive"),
                      ("other.pt", "a torch archive of other objects")):
        with pytest.raises(InputFileError) as err:
            HollowNeRF.load(run / name)
        assert why in str(err.value) and "weights_only" not in str(err.value), name


def test_a_batch_of_rays_that_meets_nothing_trains_without_error():
    """"element 0 of tensors does not require grad": no sample, no gradient to step with."""
    field = NerfField(HashGrid(levels=2, table_size=2**8, finest_resolution=16),
                      aabb=(100.0, 100.0, 100.0, 101.0, 101.0, 101.0))
    cams = orbit_cameras((0.0, 0.0, 0.0), 4.0, 2, width=4, height=4)
    trainer = NerfTrainer(field, cams, [torch.ones(4, 4, 3)] * 2, steps=2, batch_rays=8)
    table = field.grid.table.detach().clone()
    records = trainer.train(2)
    assert [r["samples"] for r in records] == [0, 0] and trainer.step_count == 2
    assert torch.equal(field.grid.table, table)


def test_the_trainer_and_render_image_take_a_background_by_name():
    """HollowNeRF.render took "white" (check_colour), NerfTrainer and render_image raised
    "could not convert string to float: 'w'"; and a background of 255s was taken as it was."""
    from scenesparse.nerf.trainer import render_image

    field = NerfField(HashGrid(levels=2, table_size=2**8, finest_resolution=16),
                      aabb=(100.0, 100.0, 100.0, 101.0, 101.0, 101.0))  # seen by no ray
    cams = orbit_cameras((0.0, 0.0, 0.0), 4.0, 2, width=4, height=4)
    trainer = NerfTrainer(field, cams, [torch.ones(4, 4, 3)] * 2, steps=2, background="white")
    assert trainer.background.tolist() == [1.0, 1.0, 1.0]
    image = render_image(field, trainer.occupancy, cams[0], step=trainer.step_length,
                         background="White")
    assert torch.equal(image, torch.ones(4, 4, 3))
    with pytest.raises(InvalidParameterError, match=r"background must lie in \[0, 1\]"):
        NerfTrainer(field, cams, [torch.ones(4, 4, 3)] * 2, steps=2, background=(255, 255, 255))


def test_prune_writes_the_compact_table_only_when_the_file_falls(lego_views, tmp_path):
    """Three rows dropped: the record of which rows stay cost more than they did, and the
    'pruned' model.pt was larger than the unpruned one."""
    trained = HollowNeRF(**{**SMALL, "finest_resolution": 16}, steps=2, batch_rays=32, march_steps=16,
                         score_rays=256, keep_ratio=0.5).fit(lego_views)
    model = copy.deepcopy(trained)
    full = model.saved_bytes()
    model.mask_ = np.ones_like(trained.mask_)
    model.mask_[[5, 500, 3000]] = False
    zeroed = copy.deepcopy(model)
    with torch.no_grad():
        zeroed.field_.grid.table[torch.from_numpy(~model.mask_)] = 0.0
    model.prune()
    assert model.pruning_["compacted"] is False and model.field_.grid.keep is None
    assert model.saved_bytes() == full
    cam = orbit_cameras((0.0, 0.0, 0.0), 4.0, 1, width=16, height=16)[0]
    assert torch.equal(model.render(cam), zeroed.render(cam))
    pruned = trained.transform()  # many rows dropped: compacted, and smaller
    assert pruned.pruning_["compacted"] is True and pruned.saved_bytes() < full
    # the size on disk does not depend on the file's name (the temporary name of a staged file)
    assert pruned.save(tmp_path / ".model.a-much-longer-staged-name.pt") == pruned.saved_bytes()


def test_report_notes_the_subset_only_for_it_and_counts_the_time_of_earlier_runs(lego_views,
                                                                                 tmp_path):
    from scenesparse.nerf.command import run_hollownerf, shipped_subset
    from sparsebox.data.sources import fetch

    assert shipped_subset(fetch("lego", download=False)[0].parent)
    assert not shipped_subset(tmp_path)
    settings = {**SMALL, "finest_resolution": 16, "steps": 6, "batch_rays": 32, "march_steps": 16,
                "score_rays": 64}

    class Stop(Exception):
        pass

    def stop_at_4(trainer):
        if trainer.step_count == 4:
            raise Stop

    with pytest.raises(Stop):
        HollowNeRF(**settings).fit(lego_views, checkpoint=tmp_path / "checkpoint.pt",
                                   checkpoint_every=2, callback=stop_at_4)
    earlier = torch.load(tmp_path / "checkpoint.pt", weights_only=False)["seconds"]
    assert earlier > 0
    report = run_hollownerf(lego_views, tmp_path, HollowNeRF(**settings), data="mine",
                            resolution=32, progress=False)
    assert "note" not in report  # a caveat on the shipped subset only
    assert report["resumed_from_step"] == 4
    assert (report["march_steps"], report["score_rays"]) == (16, 64)  # the sampling it used
    assert report["seconds"] == pytest.approx(earlier + report["seconds_this_run"])


def test_command_on_a_users_photos_has_no_subset_note_and_names_options(cli, data_dir,
                                                                       tmp_path):
    """A user's nerfstudio folder, 20 units off the origin: it crashed; its report carried the
    subset's note; a rerun with other --steps named the Python name steps=4."""
    import json

    from PIL import Image

    source = json.loads((data_dir / "3d/nerf_synthetic_lego_subset/transforms_train.json")
                        .read_text())
    photos = tmp_path / "photos"
    (photos / "images").mkdir(parents=True)
    frames = []
    for i, frame in enumerate(source["frames"][:3]):
        Image.fromarray(np.full((8, 8, 3), 60 * i, dtype=np.uint8)).save(
            photos / "images" / f"{i}.png")
        pose = np.array(frame["transform_matrix"])
        pose[0, 3] += 20.0
        frames.append({"file_path": f"images/{i}.png", "transform_matrix": pose.tolist()})
    (photos / "transforms.json").write_text(json.dumps(
        {"fl_x": 11.0, "fl_y": 11.0, "cx": 4, "cy": 4, "w": 8, "h": 8, "frames": frames}))
    out = tmp_path / "nerf"
    argv = ["scene", "hollownerf", "--data", photos, "--out", out, "--resolution", "8",
            "--table-size", "64", "--levels", "2", "--finest-resolution", "16",
            "--batch-rays", "16"]
    result = cli(*argv, "--steps", "4")
    assert result.exit_code == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert "note" not in report and report["aabb_from"].startswith("from the cameras")
    line = cli(*argv, "--steps", "5", "--seed", "2").error_line()
    assert "--steps 4" in line and "--seed 0" in line and "steps=" not in line
    # a model.pt where the checkpoint goes was "not a sparsebox-hollownerf/2-checkpoint file
    # (its format is sparsebox-hollownerf/3)"; a folder there was named as "checkpoint:"
    for where, put in (("copied", lambda p: p.write_bytes((out / "model.pt").read_bytes())),
                       ("folder", lambda p: p.mkdir())):
        other = tmp_path / where
        other.mkdir()
        put(other / "checkpoint.pt")
        line = cli(*[other if a == out else a for a in argv], "--steps", "4").error_line(
            "checkpoint.pt")
        assert ("a saved model, not a training checkpoint" in line if where == "copied"
                else line.startswith("error: --out: ") and "is a folder" in line), line


def test_the_box_stays_the_default_where_the_cameras_do_not_surround_a_point():
    """A forward-facing rig, an inside-out ring and one camera gave a box a few millimetres
    wide (or around the cameras themselves), and the report said the default box held the
    scene when it had only fallen back."""
    import torch

    from scenesparse.cameras import Camera, look_at
    from scenesparse.nerf.field import DEFAULT_AABB, scene_box

    def camera(eye, target):
        w2c = look_at(np.asarray(eye, float), np.asarray(target, float), np.array([0, 0, 1.0]))
        return Camera(torch.tensor(w2c, dtype=torch.float32), 8.0, 8.0, 4.0, 4.0, 8, 8)

    rig = [camera((3 + 0.1 * i, 0, 0.05 * i), (3 + 0.1 * i, 5, 0.05 * i)) for i in range(6)]
    ring = [camera((10 + 0.3 * np.cos(a), 0.3 * np.sin(a), 1.5),
                   (10 + 5 * np.cos(a), 5 * np.sin(a), 1.5)) for a in np.linspace(0, 6, 8)]
    for cams, why in ((rig, "look nearly one way"), (ring, "not in front of them"),
                      (rig[:1], "one camera")):
        box, reason = scene_box(cams)
        assert box == DEFAULT_AABB and reason.startswith("the default box") and why in reason


def test_an_instant_ngp_aabb_scale_is_named_as_unused(data_dir, tmp_path):
    """instant-ngp's and nerfstudio's transforms.json state aabb_scale (16 or 32 for a real
    scene), which users expect to set the scene's bounds: it was ignored without a word."""
    import json

    from PIL import Image

    from scenesparse.photos import photo_views

    source = json.loads((data_dir / "3d/nerf_synthetic_lego_subset/transforms_train.json")
                        .read_text())
    (tmp_path / "images").mkdir()
    frames = []
    for i, frame in enumerate(source["frames"][:3]):
        Image.fromarray(np.full((8, 8, 3), 60 * i, dtype=np.uint8)).save(
            tmp_path / "images" / f"{i}.png")
        frames.append({"file_path": f"images/{i}.png", "transform_matrix": frame["transform_matrix"]})
    settings = {**SMALL, "finest_resolution": 16, "steps": 1, "batch_rays": 16,
                "march_steps": 16, "score_rays": 16}
    for scale in (1, 16):
        (tmp_path / "transforms.json").write_text(json.dumps(
            {"camera_angle_x": source["camera_angle_x"], "aabb_scale": scale, "frames": frames}))
        views = photo_views(tmp_path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = HollowNeRF(**settings).fit(views)
        said = [str(w.message) for w in caught if "aabb_scale" in str(w.message)]
        if scale == 1:
            assert not said and "aabb_scale" not in model.aabb_from_
        else:
            assert len(said) == 1 and said[0].startswith(f"{tmp_path / 'transforms.json'}: "
                                                         "aabb_scale 16 (instant-ngp's box")
            assert "[-1.5, -1.5, -1.5, 1.5, 1.5, 1.5]" in said[0]
            assert "transforms.json's aabb_scale 16 is not used" in model.aabb_from_


TINY = {"levels": 2, "table_size": 2**8, "base_resolution": 4, "finest_resolution": 16,
        "steps": 2, "batch_rays": 16, "saliency_resolution": 4, "occupancy_resolution": 8,
        "score_rays": 64, "march_steps": 16}


def _tiny_views(count: int = 4):
    from scenesparse.photos import PhotoViews

    cams = orbit_cameras((0.0, 0.0, 0.0), 4.0, count, width=8, height=8)
    g = torch.Generator().manual_seed(0)
    images = [torch.rand(8, 8, 3, generator=g) for _ in cams]
    return PhotoViews(cams, images, cams, images, "tiny orbit")


def test_photos_that_are_not_float_images_in_0_1_are_refused_by_fit_and_evaluate():
    """8-bit photos trained towards colours no render reaches without a word, and evaluate
    gave PSNR -43 dB for them; numpy photos, a missing or misshapen one, an empty list and
    masks of another size ended in AttributeError, zip's ValueError, NaN or IndexError."""
    from scenesparse.photos import PhotoViews

    views = _tiny_views()
    cams, images = views.train_cameras, views.train_images
    eight_bit = [(i * 255).to(torch.uint8) for i in images]
    for bad, match in ((eight_bit, r"image 0 must be a float tensor in \[0, 1\], got torch.uint8"),
                       ([i * 255 for i in images], r"image 0 must lie in \[0, 1\]"),
                       ([i.numpy() for i in images], "image 0 must be a torch tensor"),
                       (images[:2], "got 4 cameras and 2 images")):
        with pytest.raises(InvalidParameterError, match=match):
            HollowNeRF(**TINY).fit(PhotoViews(cams, bad, [], [], "bad"))
    masks = [torch.ones(4, 8) for _ in cams]
    with pytest.raises(InvalidParameterError, match="alpha 0 must be a tensor of height x width"):
        HollowNeRF(**TINY).fit(PhotoViews(cams, images, [], [], "bad", masks))
    with pytest.raises(InvalidParameterError, match="no training photos"):
        HollowNeRF(**TINY).fit(PhotoViews([], [], cams, images, "all held out"))
    model = HollowNeRF(**TINY).fit(views)
    with pytest.raises(InvalidParameterError, match="got 0 cameras and 0 images"):
        model.evaluate([], [])
    for bad, match in ((eight_bit, "torch.uint8"), (images[:2], "got 4 cameras and 2 images"),
                       ([i.permute(2, 0, 1) for i in images], r"image 0 must be \(height")):
        with pytest.raises(InvalidParameterError, match=match):
            model.evaluate(cams, bad)
    assert np.isfinite(model.evaluate(cams, images)["psnr"])


def test_a_model_fitted_again_is_pruned_again():
    """fit, prune, set_params(keep_ratio=...), fit, prune: the second prune did nothing (the
    table stayed whole) and pruning_ still described the first model."""
    views = _tiny_views()
    model = HollowNeRF(**TINY, keep_ratio=0.5).fit(views).prune()
    model.set_params(keep_ratio=0.1)
    model.fit(views).prune()
    kept = int(model.mask_.sum())
    assert model.field_.grid.num_parameters() == kept * model.features
    assert sum(level["kept"] for level in model.pruning_["levels"]) == kept
    assert model.pruning_["params_after"] == model.num_parameters()
    # a refit refused before training keeps the pruned model's pruning_ (it was reset first)
    before = model.pruning_
    model.set_params(batch_rays=10**9)
    with pytest.raises(InvalidParameterError, match="batch_rays must be <="):
        model.fit(views)
    assert model.pruning_ is before


def test_a_refit_refused_by_its_size_or_checkpoint_keeps_the_fitted_model(tmp_path):
    """The budget and the checkpoint were checked after the fitted model's field had been
    replaced by an untrained one and its pruning_ reset: a prune() after the refusal cut the
    untrained field to the old mask, a model that renders noise."""
    views = _tiny_views()
    model = HollowNeRF(**TINY, keep_ratio=0.5).fit(views).prune()
    field, pruning, params = model.field_, model.pruning_, model.num_parameters()
    model.set_params(keep_ratio=None, budget=10**9)
    with pytest.raises(InvalidParameterError, match="budget must be <="):
        model.fit(views)
    assert model.field_ is field and model.pruning_ is pruning
    path = tmp_path / "checkpoint.pt"
    HollowNeRF(**TINY, seed=1).fit(views, checkpoint=path)
    model.set_params(keep_ratio=0.5, budget=None)
    with pytest.raises(InvalidParameterError, match="checkpoint of a run with seed 1"):
        model.fit(views, checkpoint=path)
    assert model.field_ is field and model.pruning_ is pruning
    assert model.prune().num_parameters() == params


def test_save_and_checkpoint_paths_are_checked_before_writing(tmp_path):
    """save() into a folder or a missing folder named a hidden temporary path; a checkpoint in
    a missing folder failed only when the first checkpoint was due, after that training."""
    views = _tiny_views()
    steps = []
    with pytest.raises(InvalidParameterError, match="checkpoint: the folder .*missing does not"):
        HollowNeRF(**TINY).fit(views, checkpoint=tmp_path / "missing" / "c.pt",
                               callback=steps.append)
    assert steps == []
    model = HollowNeRF(**TINY).fit(views)
    with pytest.raises(InvalidParameterError, match=f"path: {tmp_path} is a folder"):
        model.save(tmp_path)
    with pytest.raises(InvalidParameterError, match="path: the folder .*missing does not exist"):
        model.save(tmp_path / "missing" / "model.pt")
    assert list(tmp_path.iterdir()) == []


def test_a_loaded_model_knows_the_rows_a_zeroing_prune_dropped(tmp_path):
    """When compaction would not shrink the file, prune zeroes the dropped rows; the loaded
    model then said every entry was kept (mask_ all True, pruning_ None)."""
    views = _tiny_views()
    model = HollowNeRF(**TINY, budget=379).fit(views).prune()
    assert model.pruning_["compacted"] is False and model.mask_.size == 381
    model.save(tmp_path / "model.pt")
    loaded = HollowNeRF.load(tmp_path / "model.pt")
    assert np.array_equal(loaded.mask_, model.mask_)
    assert loaded.pruning_ == {"levels": model.pruning_["levels"], "compacted": False}
    assert torch.equal(loaded.render(views.test_cameras[0]), model.render(views.test_cameras[0]))
    unpruned = HollowNeRF(**TINY).fit(views)
    unpruned.save(tmp_path / "whole.pt")
    whole = HollowNeRF.load(tmp_path / "whole.pt")
    assert whole.mask_.all() and whole.pruning_ is None


def test_a_checkpoint_resumes_under_another_keep_mass(tmp_path):
    """Trying another --keep-mass on a finished run was refused ("a checkpoint of a run with
    --keep-mass 0.99"), though it chooses the entries only after training: a retrain."""
    views = _tiny_views()
    path = tmp_path / "checkpoint.pt"
    first = HollowNeRF(**TINY).fit(views, checkpoint=path)
    again = HollowNeRF(**TINY, keep_mass=0.5).fit(views, checkpoint=path)
    assert again.resumed_from_step_ == TINY["steps"]
    assert torch.equal(again.field_.grid.table, first.field_.grid.table)
    assert again.mask_.sum() < first.mask_.sum()
    ratio = HollowNeRF(**{**TINY, "score_rays": 32}, keep_ratio=0.3).fit(views, checkpoint=path)
    assert ratio.mask_.sum() == math.floor(0.3 * ratio.mask_.size + 0.5)
    with pytest.raises(InvalidParameterError, match="checkpoint of a run with seed 0"):
        HollowNeRF(**TINY, seed=1).fit(views, checkpoint=path)


def test_a_finished_run_refitted_from_its_checkpoint_is_the_run_itself(tmp_path):
    """After 1 step of 1 the gate sharpened only on loading (the next step's schedule): the
    re-run of a finished command scored and rendered another model (PSNR 10.8325 -> 10.8313)."""
    views = _tiny_views()
    path = tmp_path / "checkpoint.pt"
    settings = {**TINY, "steps": 1}
    first = HollowNeRF(**settings).fit(views, checkpoint=path)
    again = HollowNeRF(**settings).fit(views, checkpoint=path)
    assert again.resumed_from_step_ == 1
    assert again.field_.gate_alpha == first.field_.gate_alpha
    assert np.array_equal(again.mask_, first.mask_)
    cam = views.test_cameras[0]
    assert torch.equal(again.render(cam), first.render(cam))


def test_photo_views_checks_its_options_and_names_a_file_given_as_the_folder(tmp_path):
    """hold_every=0 raised range()'s error and -1 held nothing out, and 1 held out every view
    (no training photos left); resolution 1.5 raised a TypeError; a transforms.json given as the
    folder was 'no such folder'."""
    from scenesparse.photos import photo_views

    (tmp_path / "transforms.json").write_text("{}")
    for kwargs, match in (({"hold_every": 0}, "hold_every must be >= 2"),
                          ({"hold_every": -1}, "hold_every must be >= 2"),
                          ({"hold_every": 1}, "hold_every must be >= 2"),
                          ({"resolution": 1.5}, "resolution must be an integer"),
                          ({"resolution": 0}, "resolution must be >= 1")):
        with pytest.raises(InvalidParameterError, match=match):
            photo_views(tmp_path, **kwargs)
    with pytest.raises(FileNotFoundError, match="a file, not a folder of photos"):
        photo_views(tmp_path / "transforms.json")


def test_command_refuses_photos_that_leave_no_view_held_out(cli, data_dir, tmp_path):
    """One photo: no view is held out, and the command trained, then stopped on matplotlib's
    'Number of rows must be a positive integer, not 0' with a checkpoint left behind."""
    import json

    from PIL import Image

    source = json.loads((data_dir / "3d/nerf_synthetic_lego_subset/transforms_train.json")
                        .read_text())
    photos = tmp_path / "photos"
    (photos / "images").mkdir(parents=True)
    Image.fromarray(np.full((8, 8, 3), 90, dtype=np.uint8)).save(photos / "images" / "0.png")
    (photos / "transforms.json").write_text(json.dumps(
        {"fl_x": 11.0, "w": 8, "h": 8, "frames": [
            {"file_path": "images/0", "transform_matrix": source["frames"][0]["transform_matrix"]}]}))
    out = tmp_path / "nerf"
    result = cli("scene", "hollownerf", "--data", photos, "--out", out, "--resolution", "8",
                 "--steps", "2", "--table-size", "64", "--levels", "2",
                 "--finest-resolution", "16", "--batch-rays", "16")
    assert result.exit_code == 2
    assert result.error_line().startswith(f"error: {photos}: no view is held out")
    assert not out.exists()


def test_command_sets_march_steps_and_score_rays(cli, data_dir, tmp_path):
    """The estimator's march_steps and score_rays could not be set from the command line, so a
    tiny run still marched 256 samples a ray and scored 2^18 rays: both are options now, checked
    as the estimator checks them, recorded in the report and in the checkpoint."""
    import json

    out = tmp_path / "nerf"
    argv = ["scene", "hollownerf", "--data", str(data_dir / "3d/nerf_synthetic_lego_subset"),
            "--out", out, "--resolution", "8", "--table-size", "64", "--levels", "2",
            "--finest-resolution", "16", "--batch-rays", "16", "--steps", "2"]
    help_text = cli("scene", "hollownerf", "--help").output
    assert "--march-steps" in help_text and "--score-rays" in help_text
    for option in ("--march-steps", "--score-rays"):
        cli(*argv, option, "0").error_line(option)
        assert not out.exists()
    result = cli(*argv, "--march-steps", "16", "--score-rays", "64")
    assert result.exit_code == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["march_steps"] == 16 and report["score_rays"] == 64
    assert "--march-steps 16" in cli(*argv, "--march-steps", "17").error_line()
    assert cli(*argv, "--march-steps", "16", "--score-rays", "32").exit_code == 0  # resumed
    assert json.loads((out / "report.json").read_text())["score_rays"] == 32


def _grey_views():
    from scenesparse.photos import PhotoViews

    cams = orbit_cameras((0.0, 0.0, 0.0), 4.0, 2, width=8, height=8)
    images = [torch.full((8, 8, 3), 0.5) for _ in cams]
    return PhotoViews(cams, images, cams, images, "two grey views")


def test_the_report_gives_the_rays_scored_not_more_than_the_photos_hold(tmp_path):
    """score_rays above the training photos' pixels scores every pixel's ray once: the report
    said 1,000 rays were scored where the two 8 x 8 photos hold 128."""
    from scenesparse.nerf.command import run_hollownerf

    settings = {"levels": 2, "table_size": 2**8, "finest_resolution": 16, "steps": 2,
                "batch_rays": 16, "saliency_resolution": 4, "occupancy_resolution": 8,
                "march_steps": 16}
    report = run_hollownerf(_grey_views(), tmp_path, HollowNeRF(**settings, score_rays=1000),
                            data="grey", resolution=8, progress=False)
    assert report["score_rays"] == 128
    report = run_hollownerf(_grey_views(), tmp_path, HollowNeRF(**settings, score_rays=100),
                            data="grey", resolution=8, progress=False)  # resumed, fewer rays
    assert report["score_rays"] == 100


def test_a_plain_grid_is_pruned_by_the_light_through_its_entries():
    """Without a saliency grid the entries are scored by the light alone and kept by keep_mass,
    as the docstring now says (it said only entries no render reads were dropped)."""
    settings = {"levels": 2, "table_size": 2**8, "finest_resolution": 16, "steps": 2,
                "batch_rays": 16, "occupancy_resolution": 8, "march_steps": 16,
                "score_rays": 64, "saliency_budget": None}
    lossy = HollowNeRF(**settings, keep_mass=0.9).fit(_grey_views())
    assert lossy.field_.saliency is None
    assert (~lossy.mask_ & (lossy.scores_ > 0)).any()  # entries renders read are dropped
    whole = HollowNeRF(**settings, keep_mass=1.0).fit(_grey_views())
    np.testing.assert_array_equal(whole.mask_, whole.scores_ > 0)


def test_one_level_at_another_finest_resolution_is_refused_not_ignored(cli, data_dir, tmp_path):
    """With one level the grid is at base_resolution: --levels 1 --finest-resolution 64 trained
    a 16^3 grid without a word; now refused, naming both options, before any photo is read."""
    with pytest.raises(InvalidParameterError, match=r"with levels 1 the one level is at "
                                                    r"base_resolution \(16\), so "
                                                    r"finest_resolution must be 16, got 64"):
        HollowNeRF(levels=1, finest_resolution=64).fit(None)
    grid = HollowNeRF(levels=1, finest_resolution=16, table_size=2**8)._build_field().grid
    assert grid.resolutions == [16]
    out = tmp_path / "nerf"
    line = cli("scene", "hollownerf", "--data", data_dir / "3d/nerf_synthetic_lego_subset",
               "--out", out, "--levels", "1", "--finest-resolution", "64").error_line(
                   "--levels", "--finest-resolution")
    assert line.endswith("so --finest-resolution must be 16, got 64") and not out.exists()


def test_a_prune_that_keeps_no_entry_renders_as_the_table_of_zeros(tmp_path, monkeypatch):
    """keep_mass keeps no entry where no scored ray carries light (mass_budget: "none when every
    score is 0"), and a mask_ may be set by hand: the table was compacted to no row and every
    render, evaluate and the loaded model's render failed in index_select. compact_ reads the
    dropped rows as zeros, so such a model renders as its table set to zero."""
    views = _tiny_views()
    model = HollowNeRF(**TINY).fit(views)
    zeroed = copy.deepcopy(model)
    with torch.no_grad():
        zeroed.field_.grid.table.zero_()
    model.mask_[:] = False
    model.prune()
    assert model.pruning_["compacted"] and model.field_.grid.num_parameters() == 0
    cam = views.test_cameras[0]
    assert torch.equal(model.render(cam), zeroed.render(cam))
    assert np.isfinite(model.evaluate(views.test_cameras, views.test_images)["psnr"])
    model.save(tmp_path / "model.pt")
    loaded = HollowNeRF.load(tmp_path / "model.pt")
    assert not loaded.mask_.any() and torch.equal(loaded.render(cam), zeroed.render(cam))
    monkeypatch.setattr(HollowNeRF, "_score", lambda self, progress: np.zeros(381))
    dark = HollowNeRF(**TINY).fit(views)
    assert not dark.mask_.any()
    assert dark.prune().render(cam).shape == (8, 8, 3)


def test_the_nerf_trainer_steps_under_no_grad():
    """A step under a caller's torch.no_grad() failed with torch's "element 0 of tensors does
    not require grad"."""
    field = NerfField(HashGrid(levels=2, table_size=2**8, finest_resolution=16),
                      aabb=(-1.0, -1.0, -1.0, 1.0, 1.0, 1.0))
    cams = orbit_cameras((0.0, 0.0, 0.0), 4.0, 2, width=4, height=4)
    trainer = NerfTrainer(field, cams, [torch.ones(4, 4, 3)] * 2, steps=2, batch_rays=8)
    table = field.grid.table.detach().clone()
    with torch.no_grad():
        records = trainer.train(2)
    assert trainer.step_count == 2 and sum(r["samples"] for r in records) > 0
    assert not torch.equal(field.grid.table, table)


def test_the_report_says_whether_the_mean_saliency_met_its_budget(tmp_path):
    """The mean saliency can end far above --saliency-budget in a short run; the report said so
    only by two numbers a user had to compare."""
    from scenesparse.nerf.command import run_hollownerf

    settings = {"levels": 2, "table_size": 2**8, "finest_resolution": 16, "steps": 2,
                "batch_rays": 16, "saliency_resolution": 4, "occupancy_resolution": 8,
                "march_steps": 16, "score_rays": 64}
    for run in "abc":
        (tmp_path / run).mkdir()
    met = run_hollownerf(_grey_views(), tmp_path / "a", HollowNeRF(**settings, saliency_budget=0.95),
                         data="grey", resolution=8, progress=False)  # starts at 0.9: met
    assert met["saliency_budget_met"] is True and met["mean_saliency"] <= 0.95
    unmet = run_hollownerf(_grey_views(), tmp_path / "b", HollowNeRF(**settings,
                                                                     saliency_budget=0.1),
                           data="grey", resolution=8, progress=False)
    assert unmet["saliency_budget_met"] is False and unmet["mean_saliency"] > 0.11
    plain = run_hollownerf(_grey_views(), tmp_path / "c", HollowNeRF(**settings,
                                                                     saliency_budget=None),
                           data="grey", resolution=8, progress=False)  # no saliency grid
    assert plain["saliency_budget_met"] is None


def test_save_writes_the_settings_the_model_was_trained_with_as_plain_numbers(tmp_path):
    """save() wrote get_params(): after set_params(occupancy_resolution=16) the loaded model
    rendered another image (levels or table_size: it did not load); a numpy seed or step count
    made a file and a checkpoint torch.load(weights_only=True) refused ("a torch archive of
    other objects")."""
    views = _tiny_views()
    camera = views.test_cameras[0]
    settings = {**TINY, "seed": np.int64(1), "steps": np.int64(TINY["steps"]),
                "keep_mass": np.float64(0.9)}
    model = HollowNeRF(**settings).fit(views, checkpoint=tmp_path / "checkpoint.pt").prune()
    render = model.render(camera)
    model.set_params(occupancy_resolution=16, table_size=2 * TINY["table_size"])
    model.save(tmp_path / "model.pt")
    loaded = HollowNeRF.load(tmp_path / "model.pt")
    assert torch.equal(loaded.render(camera), render)
    assert loaded.get_params()["seed"] == 1 and type(loaded.get_params()["seed"]) is int
    assert loaded.table_size == TINY["table_size"]
    # the checkpoint of numpy settings resumes (here: a finished run, refitted from it)
    again = HollowNeRF(**settings).fit(views, checkpoint=tmp_path / "checkpoint.pt").prune()
    assert torch.equal(again.render(camera), render)


def test_evaluate_takes_photos_that_require_grad_and_names_a_view_not_in_a_list():
    """A fit takes photos that require grad; evaluate ended in "Can't call numpy() on Tensor
    that requires grad", and one camera and photo (no lists) in "'Camera' has no len()"."""
    views = _tiny_views()
    model = HollowNeRF(**TINY).fit(views)
    cams, images = views.test_cameras, views.test_images
    wanted = model.evaluate(cams, images)
    assert model.evaluate(cams, [i.clone().requires_grad_() for i in images]) == wanted
    with pytest.raises(InvalidParameterError, match=r"cameras must hold one per view, got one "
                                                    r"camera: pass \[camera\]"):
        model.evaluate(cams[0], images[0])
    with pytest.raises(InvalidParameterError, match=r"images must hold one per view, got one "
                                                    r"image: pass \[image\]"):
        model.evaluate(cams[:1], images[0])
    assert model.evaluate(cams, torch.stack(images)) == wanted  # a stack: one photo per view
    # a refused checkpoint_every leaves the fitted model as it was
    render = model.render(cams[0])
    with pytest.raises(InvalidParameterError, match="checkpoint_every must be"):
        model.fit(views, checkpoint_every=0)
    assert torch.equal(model.render(cams[0]), render)


def test_a_ctrl_c_after_training_names_the_checkpoint_that_holds_it(tmp_path, monkeypatch):
    """A Ctrl-C while the trained model was evaluated, pruned or written said a bare
    "error: interrupted", though the checkpoint held the whole training."""
    from scenesparse.nerf.command import CHECKPOINT, run_hollownerf

    estimator = HollowNeRF(**TINY)

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(estimator, "evaluate", ctrl_c)
    path = tmp_path / CHECKPOINT
    with pytest.raises(KeyboardInterrupt, match=f"^stopped after training \\(all 2 steps\\); the "
                                                f"checkpoint {path} holds it, and a run with it "
                                                "goes on from there$"):
        run_hollownerf(_tiny_views(), tmp_path, estimator, data="tiny", resolution=8,
                       progress=False)
    assert torch.load(path, weights_only=False)["trainer"]["step"] == 2
