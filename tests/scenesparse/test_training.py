"""Splat training on the CPU: the numba backward pass against the PyTorch reference and finite
differences, the trainer, pruning that recovers, PUP's Fisher, SH distillation, a user's photos."""

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from scenesparse.cameras import (
    Camera,
    cameras_from_colmap,
    cameras_from_json,
    orbit_cameras,
    transforms_json,
)
from scenesparse.gaussians import GaussianScene, read_ply
from scenesparse.importance import GaussianPruner, default_cameras, fisher_information
from scenesparse.photos import by_image_name, photo_views, transforms_views
from scenesparse.rendering import render
from scenesparse.training import SplatTrainer, distill_sh
from sparsebox.exceptions import InvalidParameterError

DONUT = "3d/gaussians/gshairlod_donut_fused_sh0.ply"
LEGO = "3d/nerf_synthetic_lego_subset"


def _scene(n=150, degree=1, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    k = (degree + 1) ** 2 - 1
    return GaussianScene(
        means=(torch.rand(n, 3, generator=g) * 0.4 - 0.2).to(dtype),
        quats=torch.randn(n, 4, generator=g).to(dtype),
        log_scales=(torch.rand(n, 3, generator=g) * 1.5 - 4.5).to(dtype),
        opacity_logits=torch.randn(n, generator=g).to(dtype),
        sh_dc=torch.randn(n, 3, generator=g).to(dtype),
        sh_rest=(torch.randn(n, k, 3, generator=g) * 0.2).to(dtype))


def _cams(size=40, n=2):
    return orbit_cameras((0.0, 0.0, 0.0), 1.0, n, width=size, height=size)


def _grads(scene, cam, backend, weights, bg=(0.1, 0.2, 0.3)):
    tensors = [t.detach().clone().requires_grad_(True) for t in
               (scene.means, scene.quats, scene.log_scales, scene.opacity_logits, scene.sh_dc,
                scene.sh_rest)]
    s = GaussianScene(*tensors)
    out = render(s, cam, backend=backend, background=bg)
    ((out.image * weights).sum() + (out.alpha * weights[..., 0]).sum()).backward()
    return out, [t.grad for t in tensors]


@pytest.mark.parametrize("view", [0, 1])
def test_numba_backward_matches_the_torch_reference(view):
    """Every attribute's gradient, SH of degree 1 included, through image and alpha."""
    scene, cam = _scene(), _cams()[view]
    weights = torch.rand(cam.height, cam.width, 3, generator=torch.Generator().manual_seed(1))
    ref, ref_grads = _grads(scene, cam, "torch", weights)
    fast, fast_grads = _grads(scene, cam, "numba", weights)
    assert torch.allclose(ref.image, fast.image, atol=2e-5)
    names = ("means", "quats", "log_scales", "opacity_logits", "sh_dc", "sh_rest")
    for name, a, b in zip(names, ref_grads, fast_grads, strict=True):
        scale = float(a.abs().max())
        assert scale > 0, name
        assert torch.allclose(a, b, rtol=1e-3, atol=2e-4 * scale), name


def test_reference_gradients_match_finite_differences():
    """The reference renderer's autograd against central differences, in double precision."""
    scene = _scene(n=6, degree=1, seed=3, dtype=torch.float64)
    cam = Camera(orbit_cameras((0, 0, 0), 1.0, 1)[0].world_to_cam.double(), 20.0, 20.0, 8.0, 8.0,
                 16, 16)

    def image_of(means, quats, log_scales, opacity_logits, sh_dc, sh_rest):
        s = GaussianScene(means, quats, log_scales, opacity_logits, sh_dc, sh_rest)
        return render(s, cam, backend="torch", background=(0.2, 0.2, 0.2)).image

    inputs = tuple(t.clone().requires_grad_(True) for t in
                   (scene.means, scene.quats, scene.log_scales, scene.opacity_logits,
                    scene.sh_dc, scene.sh_rest))
    assert torch.autograd.gradcheck(image_of, inputs, eps=1e-6, atol=1e-4, rtol=1e-3)


@pytest.mark.gpu
def test_gsplat_gradients_agree_with_the_cpu_backend(data_dir):
    """On a GPU: gsplat's gradients of every attribute against the numba backend's."""
    donut = read_ply(data_dir / DONUT)
    part = donut.subset(np.arange(len(donut)) % 16 == 0)
    cam = default_cameras(part, 2, 96)[0]
    weights = torch.rand(96, 96, 3, generator=torch.Generator().manual_seed(2))
    _, cpu = _grads(part, cam, "numba", weights)
    cuda = GaussianScene(*(t.cuda() for t in (part.means, part.quats, part.log_scales,
                                              part.opacity_logits, part.sh_dc, part.sh_rest)))
    _, gpu = _grads(cuda, cam, "gsplat", weights.cuda())
    for a, b in zip(cpu, gpu, strict=True):
        b = b.cpu()
        assert float((a - b).norm() / a.norm()) < 0.05


def test_trainer_fits_and_its_checkpoint_continues_exactly(data_dir):
    """A perturbed copy of part of the donut trains back towards the original's renders; a
    trainer restored from a checkpoint takes the same next steps as the one that wrote it."""
    donut = read_ply(data_dir / DONUT)
    part = donut.subset(np.arange(len(donut)) % 8 == 0)
    cams = default_cameras(part, 6, 48)
    with torch.no_grad():
        targets = [render(part, c).image.clamp(0, 1) for c in cams]
    noisy = GaussianScene(part.means + 0.002 * torch.randn_like(part.means), part.quats,
                          part.log_scales, part.opacity_logits - 0.5, part.sh_dc + 0.3,
                          part.sh_rest)
    trainer = SplatTrainer(noisy, cams, targets, seed=1)
    history = trainer.train(40)
    assert np.mean([h["psnr"] for h in history[-6:]]) > np.mean([h["psnr"] for h in
                                                                  history[:6]]) + 3.0
    saved = trainer.state_dict()
    ahead = [trainer.step()["loss"] for _ in range(3)]
    again = SplatTrainer(noisy, cams, targets, seed=1).load_state_dict(saved)
    assert [again.step()["loss"] for _ in range(3)] == pytest.approx(ahead, rel=1e-5)


def test_pruning_that_recovers_beats_pruning_alone(data_dir):
    donut = read_ply(data_dir / DONUT)
    part = donut.subset(np.arange(len(donut)) % 4 == 0)
    cams = default_cameras(part, 8, 64)
    held = default_cameras(part, 4, 64, phase=0.5)

    def quality(scene):
        with torch.no_grad():
            return np.mean([float(-10 * torch.log10(((render(scene, c).image.clamp(0, 1)
                                                      - render(part, c).image.clamp(0, 1))
                                                     ** 2).mean())) for c in held])

    plain = GaussianPruner("radsplat", keep_ratio=0.2, rounds=2).fit(part, cams)
    recovered = GaussianPruner("radsplat", keep_ratio=0.2, rounds=2, recover_steps=30).fit(
        part, cams)
    assert np.array_equal(plain.mask_.sum(), recovered.mask_.sum())
    assert len(recovered.transform(part)) == int(recovered.mask_.sum())
    assert [h["kept"] for h in recovered.history_][-1] == recovered.mask_.sum()
    # the history's figures are one training view's, and say so (a bare "psnr" beside the
    # report's held-out PSNR read as one)
    assert set(recovered.history_[-1]) == {"round", "kept", "train_loss", "train_psnr"}
    assert quality(recovered.transform(part)) > quality(plain.transform(part)) + 1.0
    # the fine-tuned Gaussians belong to the fitted scene: another scene of its size is refused
    moved = GaussianScene(part.means + 1.0, part.quats, part.log_scales, part.opacity_logits,
                          part.sh_dc, part.sh_rest)
    with pytest.raises(ValueError, match="takes that scene only"):
        recovered.transform(moved)
    assert len(recovered.transform(read_ply(data_dir / DONUT).subset(
        np.arange(len(donut)) % 4 == 0))) == int(recovered.mask_.sum())  # an equal copy is fine


@pytest.mark.parametrize("background", [(0.0, 0.0, 0.0), (1.0, 0.5, 0.2)])
def test_fisher_kernel_matches_autograd_per_pixel(background):
    """PUP's Fisher from the kernel equals the sum over pixels and channels of the outer
    products of autograd gradients (what PUP's own Python path computes), over any background
    (it enters each pixel through the transmittance left, and so the gradients)."""
    scene = _scene(n=5, degree=0, seed=4)
    cam = Camera(orbit_cameras((0, 0, 0), 1.0, 1)[0].world_to_cam, 12.0, 12.0, 5.0, 5.0, 10, 10)
    fisher = fisher_information(scene, [cam], background=background).float()
    means = scene.means.clone().requires_grad_(True)
    log_scales = scene.log_scales.clone().requires_grad_(True)
    s = GaussianScene(means, scene.quats, log_scales, scene.opacity_logits, scene.sh_dc,
                      scene.sh_rest)
    image = render(s, cam, backend="torch", background=background).image
    expected = torch.zeros(5, 6, 6)
    for y in range(10):
        for x in range(10):
            for c in range(3):
                gm, gs = torch.autograd.grad(image[y, x, c], (means, log_scales),
                                             retain_graph=True)
                g = torch.cat([gm, gs], dim=1)
                expected += g[:, :, None] * g[:, None, :]
    scale = float(expected.abs().max())
    assert scale > 0
    assert torch.allclose(fisher, expected, rtol=1e-3, atol=1e-4 * scale)
    if any(background):
        assert not torch.allclose(fisher, fisher_information(scene, [cam]).float(), rtol=1e-3,
                                  atol=1e-4 * scale)


def test_sh_distillation_keeps_the_look_with_fewer_coefficients():
    scene = _scene(n=200, degree=3, seed=5)
    cams = _cams(size=32, n=8)
    low = distill_sh(scene, cams, 1, steps=60)
    assert low.sh_degree == 1 and low.sh_rest.shape[1] == 3
    assert torch.equal(low.means, scene.means) and torch.equal(low.log_scales,
                                                                scene.log_scales)
    cut = GaussianScene(scene.means, scene.quats, scene.log_scales, scene.opacity_logits,
                        scene.sh_dc, scene.sh_rest[:, :3])

    def error(s):
        with torch.no_grad():
            return np.mean([float(((render(s, c).image - render(scene, c).image) ** 2).mean())
                            for c in cams])

    assert error(low) < 0.85 * error(cut)  # refitting beats dropping the coefficients


def test_targets_degree_and_background_are_checked_before_training():
    """8-bit targets trained to -40 dB and NaN targets filled the parameters with NaN,
    silently; a fractional degree failed inside slicing."""
    scene, cams = _scene(n=20), _cams(size=16, n=2)
    grey = torch.full((16, 16, 3), 0.5)
    for targets, message in (([torch.full((16, 16, 3), 128, dtype=torch.uint8)] * 2,
                              r"float tensor in \[0, 1\], got torch.uint8 \(divide 8-bit"),
                             ([torch.full((16, 16, 3), float("nan"))] * 2, "NaN or infinite"),
                             ([grey * 255] * 2, r"lie in \[0, 1\], got values in \[127.5, 127.5\]"),
                             ([grey.numpy()] * 2, r"must be a torch tensor, got numpy.ndarray "
                                                  r"\(torch.from_numpy")):
        with pytest.raises(ValueError, match=message):
            SplatTrainer(scene, cams, targets)
    with pytest.raises(ValueError, match="background must be black, white or three finite numbers"):
        SplatTrainer(scene, cams, [grey] * 2, background=(0, 0, 0, 1))
    with pytest.raises(ValueError, match=r"degree \(at most the scene's SH degree\) must be an integer"):
        distill_sh(scene, cams, 0.5, steps=1)
    with pytest.raises(ValueError, match=r"must be <= 1, got 2"):
        distill_sh(scene, cams, 2, steps=1)


def test_cameras_json_and_lego_photos(data_dir, tmp_path):
    views = photo_views(data_dir / LEGO, resolution=40)
    assert len(views.train_cameras) == 50 and len(views.test_cameras) == 10
    assert views.train_images[0].shape == (40, 40, 3) and "transforms_test.json" in \
        views.description
    for cam in views.test_cameras:
        assert float(torch.linalg.norm(cam.center)) == pytest.approx(4.03, abs=0.1)
    # the same cameras written the INRIA way read back to the same views
    entries = []
    for i, cam in enumerate(views.train_cameras[:3]):
        c2w = torch.linalg.inv(cam.world_to_cam.double())
        entries.append({"id": i, "img_name": f"v{i}", "width": cam.width, "height": cam.height,
                        "position": c2w[:3, 3].tolist(), "rotation": c2w[:3, :3].tolist(),
                        "fx": cam.fx, "fy": cam.fy})
    (tmp_path / "cameras.json").write_text(json.dumps(entries))
    back, names = cameras_from_json(tmp_path / "cameras.json")
    assert names == ["v0", "v1", "v2"]
    for a, b in zip(back, views.train_cameras[:3], strict=True):
        assert torch.allclose(a.world_to_cam, b.world_to_cam, atol=1e-5) and a.fx == b.fx


def test_cameras_json_photos_are_found_in_the_images_folder_too(data_dir, tmp_path):
    """3DGS's layout: the photos in <data>/images, cameras.json beside the model. Given <data>
    as the folder of photos, they were looked for in <data> only ("no such photo")."""
    import shutil

    lego = json.loads((data_dir / LEGO / "transforms_train.json").read_text())
    views = photo_views(data_dir / LEGO, resolution=40)
    (tmp_path / "data" / "images").mkdir(parents=True)
    entries = []
    for i, (frame, cam) in enumerate(zip(lego["frames"][:3], views.train_cameras[:3],
                                         strict=True)):
        shutil.copy(data_dir / LEGO / (frame["file_path"] + ".png"),
                    tmp_path / "data" / "images" / f"v{i}.png")
        c2w = torch.linalg.inv(cam.world_to_cam.double())
        entries.append({"id": i, "img_name": f"v{i}", "width": cam.width, "height": cam.height,
                        "position": c2w[:3, 3].tolist(), "rotation": c2w[:3, :3].tolist(),
                        "fx": cam.fx, "fy": cam.fy})
    (tmp_path / "cameras.json").write_text(json.dumps(entries))
    found = photo_views(tmp_path / "data", cameras_json=tmp_path / "cameras.json", resolution=40)
    assert len(found.train_images) + len(found.test_images) == 3
    assert all(p.parent == tmp_path / "data" / "images" for p in found.sources[1:])
    (tmp_path / "data" / "images" / "v1.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"data/v1: no such photo \(tried .*; nor in "
                                                r".*data/images\)"):
        photo_views(tmp_path / "data", cameras_json=tmp_path / "cameras.json", resolution=40)


def test_a_nerfstudio_capture_folder_is_read_from_its_transforms_json(data_dir, tmp_path):
    """nerfstudio and instant-ngp keep every view in one transforms.json (intrinsics as fl_x,
    fl_y, cx, cy; photos under images/): the views are the lego ones, every 8th held out."""
    import shutil

    lego = json.loads((data_dir / LEGO / "transforms_train.json").read_text())
    (tmp_path / "images").mkdir()
    frames = []
    for i, frame in enumerate(lego["frames"][:9]):
        shutil.copy(data_dir / LEGO / (frame["file_path"] + ".png"),
                    tmp_path / "images" / f"frame_{i:05d}.png")
        frames.append({"file_path": f"images/frame_{i:05d}.png",
                       "transform_matrix": frame["transform_matrix"]})
    focal = 400 / (2 * math.tan(lego["camera_angle_x"] / 2))  # the lego photos are 400 px wide
    (tmp_path / "transforms.json").write_text(json.dumps(
        {"fl_x": focal, "fl_y": focal, "cx": 200.0, "cy": 200.0, "w": 400, "h": 400,
         "camera_model": "OPENCV", "frames": frames}))
    views = photo_views(tmp_path, resolution=40)
    assert len(views.train_cameras) == 7 and len(views.test_cameras) == 2
    assert "transforms.json (9 views), every 8th held out" in views.description
    reference = photo_views(data_dir / LEGO, resolution=40)
    for ours, theirs in zip(views.train_cameras[:3], reference.train_cameras[1:4], strict=True):
        assert torch.allclose(ours.world_to_cam, theirs.world_to_cam, atol=1e-5)
        assert ours.fx == pytest.approx(theirs.fx) and ours.cx == pytest.approx(theirs.cx)
    with pytest.raises(ValueError, match="a NeRF transforms file, not the INRIA cameras.json"):
        cameras_from_json(tmp_path / "transforms.json")
    # a COLMAP model beside it wins: those tools move the world, and splats live in COLMAP's
    (tmp_path / "sparse" / "0").mkdir(parents=True)
    (tmp_path / "sparse" / "0" / "cameras.txt").write_text(
        f"1 PINHOLE 400 400 {focal} {focal} 200 200\n")
    (tmp_path / "sparse" / "0" / "images.txt").write_text(
        "1 1 0 0 0 0 0 4 1 frame_00000.png\n\n")
    assert photo_views(tmp_path, resolution=40).description.startswith("photos: COLMAP sparse/0")


def test_prune_splats_with_photos_recovery_and_sh(data_dir, tmp_path, cli):
    """The command line with a user's photos: the report says which cameras were used and
    scores the unpruned and the pruned scene against the held-out photos."""
    out, report = tmp_path / "pruned.ply", tmp_path / "report.json"
    result = cli("scene", "prune-splats", "donut", out, "--images", data_dir / LEGO,
                 "--resolution", "24", "--keep-ratio", "0.5", "--rounds", "1",
                 "--recover-steps", "2", "--report", report)
    assert result.exit_code == 0, result.output
    r = json.loads(report.read_text())
    assert "transforms_train.json (50 views)" in r["cameras"] and r["eval_views"] == 10
    assert set(r["photos"]) == {"unpruned", "pruned"} and math.isfinite(
        r["photos"]["pruned"]["psnr"])
    assert r["kept"] == round(0.5 * 45624) and len(read_ply(out)) == r["kept"]
    bad = cli("scene", "prune-splats", "donut", tmp_path / "x.ply", "--sh-degree", "2")
    assert bad.exit_code == 2 and "--sh-degree must be in 0..0" in bad.stderr


def _photo_folder(folder, names, size=(16, 12)):
    """Grey photos of ``size`` named ``names`` in ``folder``; the orbit cameras of ``names``."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.new("RGB", size, (128, 128, 128)).save(folder / name)
    return orbit_cameras((0.0, 0.0, 0.0), 1.0, len(names), width=size[0], height=size[1])


def _write_colmap(folder, cams, names):
    from scipy.spatial.transform import Rotation

    (folder / "sparse" / "0").mkdir(parents=True)
    c = cams[0]
    (folder / "sparse" / "0" / "cameras.txt").write_text(
        f"# cameras\n1 PINHOLE {c.width} {c.height} {c.fx} {c.fy} {c.cx} {c.cy}\n")
    lines = ["# images"]
    for i, (cam, name) in enumerate(zip(cams, names, strict=True)):
        w2c = cam.world_to_cam.double().numpy()
        x, y, z, w = Rotation.from_matrix(w2c[:3, :3]).as_quat()
        lines += [f"{i + 1} {w} {x} {y} {z} {' '.join(map(str, w2c[:3, 3]))} 1 {name}", ""]
    (folder / "sparse" / "0" / "images.txt").write_text("\n".join(lines) + "\n")


def test_held_out_views_are_3dgs_ones_and_photos_are_never_stretched(tmp_path):
    """3DGS holds out every 8th view of the name-sorted COLMAP views (images.txt need not list
    them by name; they were held out in file order), and a photo of another aspect ratio than its
    camera was stretched silently (COLMAP, cameras.json and transforms alike)."""
    names = [f"img_{i:02d}.png" for i in (5, 9, 0, 3, 8, 1, 7, 2, 6, 4)]
    cams = _photo_folder(tmp_path / "scene" / "images", names)
    _write_colmap(tmp_path / "scene", cams, names)
    views = photo_views(tmp_path / "scene")
    by_name = dict(zip(names, cams, strict=True))
    for ours, theirs in zip(views.test_cameras, [by_name["img_00.png"], by_name["img_08.png"]],
                            strict=True):
        assert torch.allclose(ours.world_to_cam, theirs.world_to_cam, atol=1e-5)
    assert len(views.train_cameras) == 8 and "every 8th held out" in views.description
    # cameras.json (INRIA lists its test views first) is held out by img_name alike
    entries = []
    for i, (cam, name) in enumerate(zip(cams, names, strict=True)):
        c2w = torch.linalg.inv(cam.world_to_cam.double())
        entries.append({"id": i, "img_name": name[:-4], "width": cam.width, "height": cam.height,
                        "position": c2w[:3, 3].tolist(), "rotation": c2w[:3, :3].tolist(),
                        "fx": cam.fx, "fy": cam.fy})
    (tmp_path / "cameras.json").write_text(json.dumps(entries))
    inria = photo_views(tmp_path / "scene" / "images", cameras_json=tmp_path / "cameras.json")
    assert len(inria.test_cameras) == 2 and all(
        torch.allclose(a.world_to_cam, b.world_to_cam, atol=1e-5)
        for a, b in zip(inria.test_cameras, views.test_cameras, strict=True))
    # the files read are listed, for commands that must not write over them
    assert tmp_path / "scene" / "sparse" / "0" / "images.txt" in views.sources
    assert tmp_path / "scene" / "images" / "img_05.png" in views.sources
    # a photo of another aspect ratio is refused; one resized as a whole is fine
    from PIL import Image

    Image.new("RGB", (32, 24)).save(tmp_path / "scene" / "images" / "img_03.png")
    assert len(photo_views(tmp_path / "scene", resolution=8).test_cameras) == 2
    Image.new("RGB", (16, 16)).save(tmp_path / "scene" / "images" / "img_03.png")
    with pytest.raises(ValueError, match=r"img_03.png: 16x16 pixels, where its camera is 16x12"):
        photo_views(tmp_path / "scene")
    with pytest.raises(ValueError, match=r"img_03.png: 16x16 pixels, where its camera is 16x12"):
        photo_views(tmp_path / "scene" / "images", cameras_json=tmp_path / "cameras.json")
    nerf = tmp_path / "nerf"
    _photo_folder(nerf, ["a.png", "b.png"])
    Image.new("RGB", (12, 16)).save(nerf / "b.png")
    meta = transforms_json(cams[:2], ["a", "b"])
    (nerf / "transforms.json").write_text(json.dumps({**meta, "w": 16, "h": 12}))
    with pytest.raises(ValueError, match=r"b.png: 12x16 pixels, where its camera is 16x12"):
        photo_views(nerf)
    # a nerfstudio frame that states its own size is checked against it, not the first photo's
    frames = [{**f, "w": w, "h": h} for f, (w, h) in zip(meta["frames"], [(16, 12), (12, 16)],
                                                          strict=True)]
    (nerf / "transforms.json").write_text(json.dumps({**meta, "frames": frames}))
    mixed = photo_views(nerf)  # the portrait frame stays portrait: not squashed into 16 x 12
    portrait, image = mixed.train_cameras[0], mixed.train_images[0]
    assert (portrait.width, portrait.height, tuple(image.shape)) == (12, 16, (16, 12, 3))
    assert portrait.fx == pytest.approx(portrait.fy)
    # photos written at half the stated size give cameras at half size, each its own shape
    half = [{**f, "w": 2 * w, "h": 2 * h} for f, (w, h) in zip(meta["frames"], [(16, 12), (12, 16)],
                                                                strict=True)]
    (nerf / "transforms.json").write_text(json.dumps({**meta, "frames": half}))
    cams, _ = transforms_views(nerf / "transforms.json")
    assert [(c.width, c.height) for c in cams] == [(16, 12), (12, 16)]
    # a first photo of another aspect than its frame states is refused, not stretched
    Image.new("RGB", (16, 16)).save(nerf / "a.png")
    with pytest.raises(ValueError, match=r"a.png: 16x16 pixels, where its camera is 16x12"):
        transforms_views(nerf / "transforms.json")
    # frames that state no size take the first photo's: where that one is the odd photo, the
    # error blamed the next one (of the right size) and never named the first
    Image.new("RGB", (16, 12)).save(nerf / "b.png")
    sizeless = {k: v for k, v in meta.items() if k not in ("w", "h")}
    (nerf / "transforms.json").write_text(json.dumps(sizeless))
    with pytest.raises(ValueError, match=r"b.png: 16x12 pixels, where its camera is 16x16 "
                                         r"\(another aspect ratio: the photo would be stretched; "
                                         r"its camera's size is that of \S*a.png, the first "
                                         r"frame's photo"):
        transforms_views(nerf / "transforms.json")
    # COLMAP sorts by the whole name, folders included, as the 3DGS code does
    assert by_image_name([1, 2, 3], ["b/1.png", "a/2.png", "a/1.png"]) == (
        [3, 2, 1], ["a/1.png", "a/2.png", "b/1.png"])


def test_camera_files_with_impossible_values_name_the_file(tmp_path):
    """NaN or negative focal lengths and zero quaternions were read silently as cameras that
    see nothing; a singular rotation, a zero width or field of view and a frame without a
    photo's name failed with a message that named no file (or an internal error)."""
    good = {"id": 0, "img_name": "a", "width": 40, "height": 30, "position": [0, 0, -2],
            "rotation": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "fx": 50.0, "fy": 50.0}
    for change, message in (({"fx": float("nan")}, "must be finite"),
                            ({"position": [0, float("inf"), 0]}, "must be finite"),
                            ({"rotation": [[0, 0, 0]] * 3}, "not a rotation matrix"),
                            ({"rotation": [[2, 0, 0], [0, 1, 0], [0, 0, 1]]}, "not a rotation"),
                            # float() read true as a focal length of 1 pixel and "50" as 50
                            ({"fx": True}, "fx must be a JSON number, got True"),
                            ({"fy": "50"}, "fy must be a JSON number, got '50'"),
                            ({"position": [0, "0", -2]}, "position must be JSON numbers"),
                            ({"width": "40"}, "width and height must be whole numbers"),
                            # each field named (were "lacks or garbles float() argument must be
                            # a string or a real number, not 'NoneType'" and the like)
                            ({"fx": None}, "fx must be a JSON number, got None"),
                            ({"height": [30]}, r"width and height must be whole numbers of "
                                               r"pixels, got 40 and \[30\]"),
                            ({"rotation": "abc"}, "rotation must be JSON numbers, got 'abc'"),
                            ({"rotation": [[1, 0], [0, 1, 0], [0, 0, 1]]},
                             "rotation, position, fx or fy is no array of numbers"),
                            # a photo's name: was the view's index, or the photo "None"
                            ({"img_name": None}, "img_name must be its photo's name, got None")):
        path = tmp_path / "cameras.json"
        path.write_text(json.dumps([{**good, **change}]))
        with pytest.raises(ValueError, match=rf"cameras.json: view 0: .*{message}"):
            cameras_from_json(path)
    for field in ("img_name", "fx", "rotation"):
        path.write_text(json.dumps([{k: v for k, v in good.items() if k != field}]))
        with pytest.raises(ValueError, match=rf"cameras.json: view 0 has no {field} \(a view "
                                             r"holds width, height, position, rotation, fx, fy "
                                             r"and img_name\)"):
            cameras_from_json(path)
    # a rotation written to two decimals is one (the nearest rotation stands for it)
    from scipy.spatial.transform import Rotation

    exact = Rotation.from_euler("xyz", [0.3, -1.1, 2.0]).as_matrix()
    path.write_text(json.dumps([{**good, "rotation": np.round(exact, 2).tolist()}]))
    c2w = torch.linalg.inv(cameras_from_json(path)[0][0].world_to_cam.double()).numpy()
    assert np.allclose(c2w[:3, :3] @ c2w[:3, :3].T, np.eye(3), atol=1e-6)
    assert np.abs(c2w[:3, :3] - exact).max() < 0.01
    model = tmp_path / "model"
    model.mkdir()
    for camera, image, bad in (("1 PINHOLE 40 30 nan 50 20 15", "1 1 0 0 0 0 0 2 1 a.png",
                                "cameras.txt: line 1: width and height must be positive"),
                               ("1 PINHOLE 40 30 -50 50 20 15", "1 1 0 0 0 0 0 2 1 a.png",
                                "cameras.txt: line 1"),
                               ("1 SIMPLE_PINHOLE 0 30 50 20 15", "1 1 0 0 0 0 0 2 1 a.png",
                                "cameras.txt: line 1"),
                               ("1 PINHOLE 40 30 50 50 20 15", "1 0 0 0 0 0 0 2 1 a.png",
                                "images.txt: line 1: the quaternion and translation")):
        (model / "cameras.txt").write_text(camera + "\n")
        (model / "images.txt").write_text(image + "\n\n")
        with pytest.raises(ValueError, match=bad):
            cameras_from_colmap(model)
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    transforms = tmp_path / "transforms_train.json"
    frame = {"file_path": "a", "transform_matrix": np.eye(4).tolist()}
    for meta, message in (({"camera_angle_x": 0.0, "frames": [frame]}, "out of range"),
                          ({"camera_angle_x": 0.7, "frames": [frame, {**frame, "file_path": 5}]},
                           "frame 1 has no 'file_path'"),
                          ({"camera_angle_x": 0.7, "frames": [{"transform_matrix": np.eye(4)
                                                               .tolist()}]},
                           "frame 0 has no 'file_path'")):
        transforms.write_text(json.dumps(meta))
        with pytest.raises(ValueError, match=f"transforms_train.json: .*{message}"):
            transforms_views(transforms)


def test_prune_splats_never_writes_over_its_photos_or_cameras(tmp_path, cli, monkeypatch):
    """--image and --report could name a photo of --images, its transforms file or the
    --cameras file, and overwrote it; a cameras.json of one view claimed a held-out view. The
    outputs are checked before any photo is decoded."""
    import scenesparse.photos
    from scenesparse.gaussians import write_ply

    scene = tmp_path / "scene.ply"
    write_ply(scene, _scene(n=40, degree=0))
    folder = tmp_path / "photos"
    cams = _photo_folder(folder / "train", ["a.png", "b.png", "c.png"], size=(16, 16))
    meta = transforms_json(cams, ["train/a", "train/b", "train/c"])
    (folder / "transforms_train.json").write_text(json.dumps(meta))
    (folder / "transforms_test.json").write_text(json.dumps({**meta, "frames": meta["frames"][:1]}))
    photo = (folder / "train" / "a.png").read_bytes()
    common = ("scene", "prune-splats", scene, tmp_path / "out.ply", "--resolution", "16",
              "--rounds", "1")
    with monkeypatch.context() as patch:
        patch.setattr(scenesparse.photos, "load_image", lambda *a, **k: 1 / 0)
        cli(*common, "--images", folder, "--image", folder / "train" / "a.png").error_line(
            "--image", "a.png", "is the input file")
    assert (folder / "train" / "a.png").read_bytes() == photo
    before = (folder / "transforms_train.json").read_text()
    cli(*common, "--images", folder, "--report", folder / "transforms_train.json").error_line(
        "--report", "transforms_train.json")
    assert (folder / "transforms_train.json").read_text() == before
    c2w = torch.linalg.inv(cams[0].world_to_cam.double())
    cameras = tmp_path / "cameras.json"
    cameras.write_text(json.dumps([{"id": 0, "img_name": "a", "width": 16, "height": 16,
                                    "position": c2w[:3, 3].tolist(),
                                    "rotation": c2w[:3, :3].tolist(), "fx": cams[0].fx,
                                    "fy": cams[0].fy}]))
    written = cameras.read_text()
    cli(*common, "--cameras", cameras, "--report", cameras).error_line("--report", "cameras.json")
    assert cameras.read_text() == written and not (tmp_path / "out.ply").exists()
    report = tmp_path / "report.json"
    result = cli(*common, "--cameras", cameras, "--report", report)
    assert result.exit_code == 0, result.output
    assert "held out" not in json.loads(report.read_text())["cameras"]


def test_a_16_bit_grey_photo_keeps_its_brightness(tmp_path):
    """Pillow's convert("RGBA") clips 16-bit grey (mode I;16) at 255 of 65535: a photo of mean
    0.32 loaded as 0.89, with no error."""
    from PIL import Image

    from scenesparse.photos import load_image

    grey = np.linspace(0, 65535, 64).reshape(8, 8).astype(np.uint16)
    Image.fromarray(grey).save(tmp_path / "grey.png")
    img = load_image(tmp_path / "grey.png", 8, 8)
    assert img.shape == (8, 8, 3)
    assert torch.allclose(img[..., 0], torch.from_numpy(grey / 65535.0).float(), atol=1 / 255)
    (tmp_path / "grey.pgm").write_bytes(b"P5 8 8 65535\n" + grey.astype(">u2").tobytes())
    assert torch.allclose(load_image(tmp_path / "grey.pgm", 8, 8), img)  # Pillow: mode I
    Image.fromarray(np.full((8, 8), 0.5, np.float32)).save(tmp_path / "float.tif")  # mode F
    with pytest.raises(ValueError, match=r"float.tif: a float image; give 8- or 16-bit photos"):
        load_image(tmp_path / "float.tif", 8, 8)


def test_a_checkpoint_is_saved_with_torch_and_resumed_twice_alike(tmp_path):
    """The checkpoint of a trainer with a pruning strategy: ``torch.load`` (``weights_only``,
    torch's default) reads it back, and loading it leaves it as it was, so two resumes from it
    take the same steps and keep the same pruning history."""
    from scenesparse.strategy import PruneStrategy

    scene, cams = _scene(60, degree=0), _cams(24, 3)
    targets = [torch.full((24, 24, 3), 0.3) for _ in cams]

    def trainer():
        strategy = PruneStrategy(prune_steps=(2, 4), keep_ratio=0.5, score="opacity")
        return SplatTrainer(scene, cams, targets, strategy=strategy, schedule_steps=10)

    first = trainer()
    first.train(2)  # a camera of the epoch left in the checkpoint's order
    torch.save(first.state_dict(), tmp_path / "checkpoint.pt")
    saved = torch.load(tmp_path / "checkpoint.pt")
    moments = saved["optimizers"]["sh0"]["state"][0]["exp_avg"].clone()
    runs = []
    for _ in range(2):
        resumed = trainer().load_state_dict(saved)
        runs.append(([r["loss"] for r in resumed.train(3)], resumed.strategy_state.state_dict()))
    assert runs[0] == runs[1] and [h["step"] for h in runs[0][1]["history"]] == [2, 4]
    assert torch.equal(saved["optimizers"]["sh0"]["state"][0]["exp_avg"], moments)
    assert saved["strategy"] == {"pruned": 0, "history": []}
    # a checkpoint of the order in numpy ints (written before) loads, and its trainer's next
    # checkpoint is one torch.load reads; params that are not graph leaves load (no deep copy)
    older = {**saved, "order": [np.int64(i) for i in saved["order"]],
             "params": {k: v.clone().requires_grad_() * 1 for k, v in saved["params"].items()}}
    torch.save(trainer().load_state_dict(older).state_dict(), tmp_path / "again.pt")
    assert torch.load(tmp_path / "again.pt")["order"] == saved["order"]


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"),
                    reason="needs an address-space limit (RLIMIT_AS) as Linux enforces it")
def test_prune_splats_names_a_resolution_that_does_not_fit_in_memory(tmp_path):
    # --resolution 60000 ended in "error: internal error, MemoryError: Unable to allocate ..."
    # (exit 1); the process here runs under an 8 GB address-space limit so that the render's
    # allocation fails at once, as it does past a machine's memory. The Gaussians are tiny so
    # that each covers a few of the 14 M tiles: at _scene's sizes the tile lists alone took
    # 4.2 GB of memory before the image's 43 GB failed (17 s; 0.7 GB and 4 s here). The child
    # sets its own limit: a preexec_fn runs Python between fork and exec, which can deadlock
    # where the parent has threads (torch's and numba's pools here)
    import subprocess
    import sys
    from dataclasses import replace

    from scenesparse.gaussians import write_ply

    scene = tmp_path / "scene.ply"
    small = _scene(n=40, degree=0)
    write_ply(scene, replace(small, log_scales=small.log_scales - 6.0))
    out = tmp_path / "out.ply"

    limited = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30)); "
               "from sparsebox.cli import main; sys.exit(main(sys.argv[1:]))")
    run = subprocess.run([sys.executable, "-c", limited, "scene", "prune-splats", str(scene),
                          str(out), "--resolution", "60000", "--views", "2", "--eval-views", "1",
                          "--rounds", "1"], capture_output=True, text=True, timeout=300)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2, run.stderr
    assert len(lines) == 1 and lines[0].startswith("error:"), run.stderr
    assert "--resolution" in lines[0] and "more memory than this machine has" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize(("error", "why"), [
    # gsplat on a GPU runs out of memory with torch's OutOfMemoryError, not MemoryError: it was
    # "internal error, OutOfMemoryError: CUDA out of memory. ..." (exit 1) with a paragraph of
    # allocator advice
    (torch.cuda.OutOfMemoryError(
        "CUDA out of memory. Tried to allocate 40.23 GiB. GPU 0 has a total capacity of "
        "79.10 GiB of which 38.2 GiB is free. If reserved but unallocated memory is large "
        "try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True"), "CUDA out of memory"),
    # torch's CPU allocator raises a RuntimeError: "internal error, RuntimeError: [enforce
    # fail at alloc_cpu.cpp:127] ..." (exit 1)
    (RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't "
                  "allocate memory: you tried to allocate 40000000000 bytes. Error code 12 "
                  "(Cannot allocate memory)"),
     "torch can't allocate memory: you tried to allocate 40000000000 bytes"),
    # numpy writes a whole number of GiB with a full stop: "(Unable to allocate 836)" lost it
    (MemoryError("Unable to allocate 836. GiB for an array with shape (100000, 100000, 3) and "
                 "data type float64"),
     "Unable to allocate 836. GiB for an array with shape (100000, 100000, 3) and data type "
     "float64"),
], ids=["cuda-allocator", "cpu-allocator", "numpy-whole-gib"])
def test_prune_splats_names_a_resolution_past_torchs_memory(tmp_path, cli, monkeypatch, error,
                                                             why):
    import scenesparse.splatjob
    from scenesparse.gaussians import write_ply

    def out_of_memory(*args, **kwargs):
        raise error

    monkeypatch.setattr(scenesparse.splatjob, "prune_splat_file", out_of_memory)
    scene = tmp_path / "scene.ply"
    write_ply(scene, _scene(n=40, degree=0))
    run = cli("scene", "prune-splats", scene, tmp_path / "out.ply", "--resolution", "60000")
    assert run.error_line("--resolution") == (
        f"error: {scene}: pruning needs more memory than this machine has ({why}): lower "
        "--resolution (60000)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.ply"]


def test_prune_splats_out_of_memory_names_what_the_user_can_lower(tmp_path, cli, monkeypatch):
    """Out of memory always blamed --resolution ("resolution 256 needs more memory ...; give a
    smaller one"), where the orbit's views, all rendered to train towards, or the files of a
    batch side by side took it: the message names what can be lowered, and only that (no
    --views without recovery, where one view is rendered at a time; no GPU share for the CPU's
    memory)."""
    import scenesparse.splatjob
    import sparsebox.batch
    from scenesparse.gaussians import write_ply

    errors = {"cpu": MemoryError("Unable to allocate 4.00 GiB for an array"),
              "gpu": torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 4 GiB")}
    error = errors["cpu"]

    def out_of_memory(*args, **kwargs):
        raise error

    def in_this_process(runner, fn, tasks, made=(), outputs=()):  # the batch's first file, here
        return [fn(tasks[0], lambda summary: None)]

    monkeypatch.setattr(scenesparse.splatjob, "prune_splat_file", out_of_memory)
    monkeypatch.setattr(sparsebox.batch, "run_batch", in_this_process)
    for name in ("a.ply", "b.ply"):
        write_ply(tmp_path / name, _scene(n=40, degree=0))
    one = ("scene", "prune-splats", tmp_path / "a.ply", tmp_path / "out.ply")
    cpu = (f"{tmp_path / 'a.ply'}: pruning needs more memory than this machine has (Unable to "
           "allocate 4.00 GiB for an array)")
    assert cli(*one).error_line() == f"error: {cpu}: lower --resolution (256)"
    assert cli(*one, "--recover-steps", "5", "--views", "8").error_line() == (
        f"error: {cpu}: lower --resolution (256) or --views (8)")
    batch = ("scene", "prune-splats", tmp_path / "*.ply", "--out", tmp_path / "out", "--jobs", "2")
    assert cli(*batch).error_line() == (
        f"error: {cpu}: lower --resolution (256), or fewer files side by side "
        "(fewer --jobs than 2)")
    error = errors["gpu"]
    assert cli(*batch).error_line().endswith("(fewer --jobs than 2)")
    pytest.importorskip("ray")
    ray = ("scene", "prune-splats", tmp_path / "*.ply", "--out", tmp_path / "out", "--executor",
           "ray", "--gpus-per-file", "0.25")
    assert cli(*ray).error_line() == (
        f"error: {tmp_path / 'a.ply'}: pruning needs more memory than this machine has (CUDA out "
        "of memory): lower --resolution (256), or fewer files side by side (a larger "
        "--gpus-per-file than 0.25)")
    error = errors["cpu"]  # a GPU's share is not the CPU's memory
    assert cli(*ray).error_line() == f"error: {cpu}: lower --resolution (256)"
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert cli(*ray, "--jobs", "2").error_line().endswith("(fewer --jobs than 2)")  # a new cluster
    assert cli(*ray, "--jobs", "2", "--address", "127.0.0.1:6379").error_line() == (
        f"error: {cpu}: lower --resolution (256)")  # a running cluster's CPUs
    assert not (tmp_path / "out.ply").exists() and not any((tmp_path / "out").iterdir())


class _DictStateStrategy:
    """A strategy written gsplat's way: its state a plain dict (gsplat's own strategies return
    one), a per-Gaussian tensor in it, and removals through prune_ at a chosen step."""

    def initialize_state(self, scene_scale=1.0):
        return {"visits": None, "scene_scale": scene_scale}

    def check_sanity(self, params, optimizers):
        pass

    def step_pre_backward(self, params, optimizers, state, step, info):
        pass

    def step_post_backward(self, params, optimizers, state, step, info, packed=False):
        from scenesparse.training import prune_

        if state["visits"] is None:
            state["visits"] = torch.zeros(len(params["means"]))
        state["visits"] += params["opacities"].detach().sigmoid()
        if step == 3:
            prune_(params, optimizers, state, keep=state["visits"] >= state["visits"].median())


def test_a_strategy_with_a_dict_state_checkpoints_and_resumes_as_one_run(tmp_path):
    """A gsplat-style strategy keeps its state in a dict: state_dict() raised AttributeError
    ('dict' object has no attribute 'state_dict'). Saved with torch, resumed before its prune
    step, the run ends where the uninterrupted one does."""
    scene, cams = _scene(40, degree=0), _cams(20, 3)
    targets = [torch.full((20, 20, 3), 0.3) for _ in cams]

    def trainer():
        return SplatTrainer(scene, cams, targets, strategy=_DictStateStrategy(), schedule_steps=8)

    whole = trainer()
    losses = [r["loss"] for r in whole.train(6)]
    first = trainer()
    start = [r["loss"] for r in first.train(2)]
    torch.save(first.state_dict(), tmp_path / "checkpoint.pt")
    resumed = trainer().load_state_dict(torch.load(tmp_path / "checkpoint.pt"))
    assert start + [r["loss"] for r in resumed.train(4)] == losses
    assert len(resumed) == len(whole) < len(scene)
    assert torch.equal(resumed.strategy_state["visits"], whole.strategy_state["visits"])
    assert all(torch.equal(resumed.params[k], whole.params[k]) for k in whole.params)


def test_learning_rates_schedule_and_checkpoints_a_trainer_cannot_use_are_refused():
    """A negative or NaN rate froze its parameter without a word, and schedule_steps 0 or 2.5
    became 1 or 2; a checkpoint of another trainer (other cameras, other frozen parameters,
    not a checkpoint at all) failed with KeyError or IndexError mid-training, or loaded with
    its moments dropped."""
    scene, cams = _scene(20, degree=0), _cams(16, 3)
    targets = [torch.full((16, 16, 3), 0.3) for _ in cams]
    for rates in ({"means": -1.6e-4}, {"means": float("nan")}, {"opacities": math.inf},
                  {"sh0": "0.01"}):
        name = next(iter(rates))
        with pytest.raises(ValueError, match=rf"learning_rates\['{name}'\] \(0 freezes it\) must "
                                             r"be a finite number >= 0"):
            SplatTrainer(scene, cams, targets, learning_rates=rates)
    for steps, what in ((0, ">= 1"), (-3, ">= 1"), (2.5, "an integer")):
        with pytest.raises(ValueError, match=f"schedule_steps must be {what}"):
            SplatTrainer(scene, cams, targets, schedule_steps=steps)
    assert SplatTrainer(scene, cams, targets, learning_rates={"means": 0}).optimizers.keys() == {
        "quats", "scales", "opacities", "sh0", "shN"}
    trained = SplatTrainer(scene, cams, targets)
    trained.train(1)  # two of the three cameras left in the epoch's order
    saved = trained.state_dict()
    with pytest.raises(ValueError, match=r"trains \[.*'means'.*\], this trainer \['opacities'.*"
                                         r"build it with the learning_rates"):
        SplatTrainer(scene, cams, targets, learning_rates={"means": 0.0}).load_state_dict(saved)
    frozen = SplatTrainer(scene, cams, targets, learning_rates={"means": 0.0}).state_dict()
    with pytest.raises(ValueError, match=r"checkpoint trains \['opacities'"):
        SplatTrainer(scene, cams, targets).load_state_dict(frozen)
    with pytest.raises(ValueError, match="a trainer of 3 cameras, this one has 2"):
        SplatTrainer(scene, cams[:2], targets[:2]).load_state_dict(saved)
    older = {k: v for k, v in saved.items() if k != "cameras"}  # before the count was kept
    with pytest.raises(ValueError, match="a trainer of more cameras, this one has 1"):
        SplatTrainer(scene, cams[:1], targets[:1]).load_state_dict(older)
    assert SplatTrainer(scene, cams, targets).load_state_dict(older).step_count == 1
    with pytest.raises(ValueError, match=r"lacks \['optimizers', 'order', 'rng'\]: give what "
                                         r"SplatTrainer.state_dict\(\) returned"):
        SplatTrainer(scene, cams, targets).load_state_dict({"step": 1, "params": saved["params"]})


def test_a_strategy_state_the_trainer_cannot_load_is_refused_before_anything_is_loaded():
    """A checkpoint of another strategy (a dict state without PruneState's fields) was refused
    as "state lacks ['history', 'pruned']" (no checkpoint named) after its parameters, step and
    camera order had been loaded: the trainer was left half of one run, half of another."""
    from scenesparse.strategy import PruneStrategy

    scene, cams = _scene(40, degree=0), _cams(16, 3)
    targets = [torch.full((16, 16, 3), 0.3) for _ in cams]
    other = SplatTrainer(scene, cams, targets, strategy=_DictStateStrategy())
    other.train(2)
    trainer = SplatTrainer(scene, cams, targets,
                           strategy=PruneStrategy(prune_steps=(100,), score="opacity"))
    before = {k: v.detach().clone() for k, v in trainer.params.items()}
    with pytest.raises(ValueError, match=r"the checkpoint's strategy state lacks \['history', "
                                         r"'pruned'\] of this trainer's PruneState"):
        trainer.load_state_dict(other.state_dict())
    assert trainer.step_count == 0 and trainer.strategy_state.state_dict() == {
        "pruned": 0, "history": []}
    assert all(torch.equal(trainer.params[k], v) for k, v in before.items())
    own = SplatTrainer(scene, cams, targets,
                       strategy=PruneStrategy(prune_steps=(100,), score="opacity"))
    own.train(2)
    # a state of PruneState's fields and more (another strategy's) was loaded, the rest dropped
    more = own.state_dict()
    more["strategy"] = {**more["strategy"], "visits": None}
    with pytest.raises(ValueError, match=r"the checkpoint's strategy state has \['visits'\], "
                                         "which this trainer's PruneState has no field for"):
        trainer.load_state_dict(more)
    more["strategy"] = 5  # "'int' object is not iterable"
    with pytest.raises(ValueError, match="the checkpoint's strategy state is int, where this "
                                         "trainer's PruneState takes a dict"):
        trainer.load_state_dict(more)
    assert trainer.step_count == 0
    assert trainer.load_state_dict(own.state_dict()).step_count == 2


def test_a_checkpoint_with_or_without_a_strategy_loads_only_into_a_trainer_alike():
    """A checkpoint of a trainer without a strategy loaded into one with a strategy left its
    state at the start (a pruning step already taken would be taken again), and the reverse
    dropped the saved state without a word: both are refused before anything is loaded."""
    from scenesparse.strategy import PruneStrategy

    scene, cams = _scene(40, degree=0), _cams(16, 3)
    targets = [torch.full((16, 16, 3), 0.3) for _ in cams]

    def trainer(strategy=None):
        return SplatTrainer(scene, cams, targets, strategy=strategy)

    plain, pruning = trainer(), trainer(PruneStrategy(prune_steps=(1,), score="opacity"))
    plain.train(2)
    pruning.train(2)
    assert pruning.strategy_state.state_dict()["pruned"] > 0
    for strategy, saved, side in ((PruneStrategy(prune_steps=(1,), score="opacity"), plain,
                                   "without a strategy, this trainer has one"),
                                  (_DictStateStrategy(), plain, "without a strategy, this trainer "
                                   "has one"),
                                  (None, pruning, "with a strategy, this trainer has none")):
        fresh = trainer(strategy)
        before = {k: v.detach().clone() for k, v in fresh.params.items()}
        with pytest.raises(ValueError, match=f"the checkpoint was written by a trainer {side}: "
                                             "build it with the strategy"):
            fresh.load_state_dict(saved.state_dict())
        assert fresh.step_count == 0 and all(torch.equal(fresh.params[k], v)
                                             for k, v in before.items())
    assert trainer().load_state_dict(plain.state_dict()).step_count == 2


def test_a_trainer_built_on_the_checkpoints_own_scene_continues_exactly():
    """The position rate scales with the extent of the scene training started from; a trainer
    built on the checkpoint's scene (trained and pruned, here without its outlying Gaussians)
    took it from that scene instead and moved the positions at another rate."""
    scene, cams = _scene(60, degree=0), _cams(24, 3)
    far = torch.arange(60) < 10
    scene = GaussianScene(torch.where(far[:, None], scene.means * 8, scene.means), scene.quats,
                          scene.log_scales, scene.opacity_logits, scene.sh_dc, scene.sh_rest)
    targets = [torch.full((24, 24, 3), 0.3) for _ in cams]
    trainer = SplatTrainer(scene, cams, targets, schedule_steps=20)
    trainer.train(2)
    trainer.prune(~far)
    trainer.train(2)
    saved, pruned = trainer.state_dict(), trainer.scene()
    ahead = trainer.train(3)
    again = SplatTrainer(pruned, cams, targets, schedule_steps=20)
    assert again.extent < trainer.extent / 2  # the pruned scene spans far less
    resumed = again.load_state_dict(saved).train(3)
    assert [r["loss"] for r in resumed] == pytest.approx([r["loss"] for r in ahead], rel=1e-5)
    assert torch.allclose(again.params["means"], trainer.params["means"], rtol=0, atol=1e-7)


@pytest.mark.parametrize("field, index", [("sh_dc", (3, 1)), ("means", (5, 0)),
                                          ("opacity_logits", (2,)), ("sh_rest", (4, 2, 0))])
def test_a_scene_of_nan_or_infinite_values_is_refused_by_name(field, index):
    """One NaN colour made the first step's loss NaN and every parameter of every Gaussian NaN
    after it, and the training went on; scores of such a scene were NaN ("scores must not
    contain NaN"), or ranked the Gaussian arbitrarily, without naming what was wrong."""
    scene, cams = _scene(30), _cams(16, 2)
    targets = [torch.full((16, 16, 3), 0.3) for _ in cams]
    for value in (float("nan"), float("inf")):
        bad = getattr(scene, field).clone()
        bad[index] = value
        broken = dataclasses.replace(scene, **{field: bad})
        row = index[0]
        with pytest.raises(ValueError, match=rf"scene\.{field} is {value} at Gaussian {row}: "):
            SplatTrainer(broken, cams, targets)
        for score in ("radsplat", "opacity", "pup"):
            with pytest.raises(ValueError, match=rf"scene\.{field} is {value} at Gaussian {row}"):
                GaussianPruner(score, keep_ratio=0.5, rounds=1).fit(broken, cams)
    assert len(GaussianPruner("radsplat", keep_ratio=0.5, rounds=1).fit_transform(scene, cams)) == 15


def test_a_trainer_refuses_cameras_that_see_no_gaussian():
    """Poses that look away from the scene (another convention) gave no gradient to any
    Gaussian: the loss stayed the same step after step, and nothing said why. A scene of no
    Gaussian failed with an IndexError."""
    scene, cams = _scene(30), _cams(16, 2)
    targets = [torch.full((16, 16, 3), 0.3) for _ in cams]
    turned = torch.diag(torch.tensor([-1.0, 1.0, -1.0, 1.0]))  # half a turn about y
    away = [Camera(turned @ c.world_to_cam, c.fx, c.fy, c.cx, c.cy, c.width, c.height)
            for c in cams]
    with pytest.raises(ValueError, match="none of the 2 cameras sees a Gaussian of the scene"):
        SplatTrainer(scene, away, targets)
    history = SplatTrainer(scene, [away[0], cams[1]], targets).train(2)
    assert history[0]["loss"] != history[1]["loss"]
    with pytest.raises(ValueError, match="the scene has no Gaussian to train"):  # an IndexError
        SplatTrainer(scene.subset(np.zeros(len(scene), dtype=bool)), cams, targets)


def test_a_negative_or_fractional_step_count_is_refused():
    """train(-5) and distill_sh(steps=-5) returned as if done without a step taken; a fraction
    failed inside range()."""
    scene, cams = _scene(30), _cams(16, 2)
    trainer = SplatTrainer(scene, cams, [torch.full((16, 16, 3), 0.3) for _ in cams])
    for bad, message in ((-5, "steps must be >= 0, got -5"), (2.5, "steps must be an integer")):
        with pytest.raises(ValueError, match=message):
            trainer.train(bad)
        with pytest.raises(ValueError, match=message):
            distill_sh(scene, cams, 0, steps=bad)
    assert trainer.train(0) == [] and trainer.step_count == 0


def test_a_trainer_refuses_cameras_seed_background_backend_and_strategy_it_cannot_use():
    """One camera for a list, a generator or a list of another object failed with a TypeError or
    AttributeError; a negative seed with numpy's "expected non-negative integer"; a white
    background of (255, 255, 255) was taken, and showed through wherever alpha < 1; a misspelt
    backend was found out only at the first step, an object without the hooks at once with an
    AttributeError."""
    scene, cams = _scene(30), _cams(16, 2)
    targets = [torch.full((16, 16, 3), 0.3) for _ in cams]
    for bad, message in ((cams[0], "cameras must be a list of Camera, got Camera"),
                         (iter(cams), "cameras must be a list of Camera, got list_iterator"),
                         ([cams[0], "view"], r"cameras\[1\] must be one Camera, got str")):
        with pytest.raises(InvalidParameterError, match=message):
            SplatTrainer(scene, bad, targets)
    # no view passed the trainer's own check (the pruner's refused it): one check for both now
    with pytest.raises(InvalidParameterError, match="cameras is empty: pass the views$"):
        SplatTrainer(scene, [], [])
    for kwargs, message in (
            (dict(seed=-1), "seed must be >= 0, got -1"),
            (dict(background=(255, 255, 255)),
             r"background must lie in \[0, 1\], got \(255, 255, 255\) \(divide 8-bit"),
            (dict(backend="cuda"), "backend must be one of"),
            (dict(strategy=object()), "strategy must have gsplat's Strategy methods")):
        with pytest.raises(InvalidParameterError, match=message):
            SplatTrainer(scene, cams, targets, **kwargs)
    with pytest.raises(InvalidParameterError, match="scene must be a GaussianScene"):
        SplatTrainer({"means": scene.means}, cams, targets)
    assert SplatTrainer(scene, tuple(cams), targets, background=(1, 1, 1)).train(1)


def test_scene_from_views_refuses_8_bit_images_odd_masks_and_too_few_points():
    """8-bit images gave colours 255 times too bright (sh_dc near 450), numpy masks an
    AttributeError, masks or images of another size an IndexError, and fewer than 4 points
    infinite sizes (3DGS sizes a Gaussian by its three nearest neighbours)."""
    from scenesparse.training import scene_from_views

    cams = _cams(16, 3)
    masks = [torch.ones(16, 16) for _ in cams]
    images = [torch.full((16, 16, 3), 0.5) for _ in cams]
    for args, message in (
            ((masks, [(i * 255).to(torch.uint8) for i in images], 10),
             r"an image must be a float tensor in \[0, 1\], got torch.uint8"),
            ((masks, [i * 255 for i in images], 10), r"an image must lie in \[0, 1\]"),
            ((masks, [torch.full((8, 8, 3), 0.5)] * 3, 10), r"image 0 must be \(height, width, 3\)"),
            (([m.numpy() for m in masks], images, 10), r"mask 0 must be a \(height, width\) = "
                                                        r"\(16, 16\) tensor as its camera, got "
                                                        r"ndarray"),
            ((masks[:2], images, 10), "give one mask per camera, got 3 cameras and 2 masks"),
            ((masks, images, 3), "count .* must be >= 4, got 3")):
        with pytest.raises(InvalidParameterError, match=message):
            scene_from_views(cams, *args, bounds=0.2)
    scene = scene_from_views(cams, masks, images, 4, bounds=0.2)
    assert bool(torch.isfinite(scene.log_scales).all())
    assert torch.allclose(scene.sh_dc * 0.28209479177387814 + 0.5, torch.tensor(0.5))


def test_metrics_refuse_8_bit_images_images_of_two_shapes_and_channels_first():
    """psnr of two uint8 images was about -26 dB (peak 1 against values to 255) and ssim used
    constants for [0, 1]; psnr broadcast (H, W, 3) against (H, W, 1) into a number; ssim took
    (3, H, W) as an image of W channels, a batch failed inside permute."""
    from scenesparse.imagemetrics import psnr, ssim, ssim_torch

    rng = np.random.default_rng(0)
    a, b = rng.random((16, 16, 3)), rng.random((16, 16, 3))
    assert psnr(a, b) == pytest.approx(10 * math.log10(1 / np.mean((a - b) ** 2)))
    for metric in (psnr, ssim):
        with pytest.raises(InvalidParameterError, match="images must be floating point in "
                                                        r"\[0, 1\], got uint8 \(divide 8-bit"):
            metric((a * 255).astype(np.uint8), (b * 255).astype(np.uint8))
        with pytest.raises(InvalidParameterError, match=r"images differ in shape: \(16, 16, 3\) "
                                                        r"and \(16, 16, 1\)"):
            metric(a, b[..., :1])
    with pytest.raises(InvalidParameterError, match=r"images must be \(H, W, 3\) or \(H, W\), "
                                                    r"got \(3, 16, 16\)"):
        ssim(a.transpose(2, 0, 1), b.transpose(2, 0, 1))
    with pytest.raises(InvalidParameterError, match=r"got \(2, 16, 16, 3\)"):
        ssim_torch(torch.zeros(2, 16, 16, 3), torch.zeros(2, 16, 16, 3))
    with pytest.raises(InvalidParameterError, match="got torch.uint8"):
        ssim_torch(torch.zeros(16, 16, 3, dtype=torch.uint8), torch.zeros(16, 16, 3))
    from scenesparse.imagemetrics import splat_loss  # (L1 came first: torch's size mismatch)

    with pytest.raises(InvalidParameterError, match=r"images differ in shape: \(16, 16, 3\) "
                                                    r"and \(4, 16, 3\)"):
        splat_loss(torch.zeros(16, 16, 3), torch.zeros(4, 16, 3))


def test_trainer_with_every_parameter_frozen_says_so():
    """learning_rates of 0 for every parameter ("0 freezes it") failed at the first step with
    torch's "element 0 of tensors does not require grad" traceback."""
    from scenesparse.cameras import orbit_cameras
    from scenesparse.training import LEARNING_RATES

    scene = GaussianScene(means=torch.zeros(4, 3), quats=torch.tensor([[1.0, 0, 0, 0]] * 4),
                          log_scales=torch.full((4, 3), -2.0), opacity_logits=torch.zeros(4),
                          sh_dc=torch.zeros(4, 3), sh_rest=torch.zeros(4, 0, 3))
    cams = orbit_cameras((0, 0, 0), 1.0, 2, width=8, height=8)
    trainer = SplatTrainer(scene, cams, [torch.zeros(8, 8, 3)] * 2,
                           learning_rates=dict.fromkeys(LEARNING_RATES, 0.0))
    with pytest.raises(InvalidParameterError, match="freeze every parameter"):
        trainer.step()


def test_a_trainer_steps_under_no_grad(data_dir):
    """A step under a caller's torch.no_grad() failed with torch's "element 0 of tensors does
    not require grad"; it takes the step it takes outside."""
    donut = read_ply(data_dir / DONUT)
    part = donut.subset(np.arange(len(donut)) % 64 == 0)
    cams = default_cameras(part, 2, 24)
    with torch.no_grad():
        targets = [render(part, c).image.clamp(0, 1) for c in cams]
    moved = GaussianScene(part.means + 0.01, part.quats, part.log_scales, part.opacity_logits,
                          part.sh_dc, part.sh_rest)
    outside = SplatTrainer(moved, cams, targets, seed=1).step()["loss"]
    with torch.no_grad():
        inside = SplatTrainer(moved, cams, targets, seed=1).step()["loss"]
    assert inside == pytest.approx(outside)
    with torch.no_grad():  # PUP's sensitivity takes the projection's Jacobian by autograd
        fisher = fisher_information(part, cams[:1])
    assert torch.equal(fisher, fisher_information(part, cams[:1]))
