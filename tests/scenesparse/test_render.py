import math

import numpy as np
import pytest
import torch

from scenesparse.cameras import Camera, cameras_from_transforms, look_at, orbit_cameras
from scenesparse.gaussians import SH_C0, GaussianScene, read_ply
from scenesparse.importance import default_cameras
from scenesparse.rendering import render
from sparsebox.exceptions import InvalidParameterError


def one_gaussian(opacity=0.8, color=(0.9, 0.2, 0.1), scale=0.05, z=1.0):
    rgb = torch.tensor([color])
    return GaussianScene(
        means=torch.tensor([[0.0, 0.0, z]]), quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]),
        log_scales=torch.full((1, 3), math.log(scale)),
        opacity_logits=torch.logit(torch.tensor([opacity])),
        sh_dc=(rgb - 0.5) / SH_C0, sh_rest=torch.zeros(1, 0, 3))


def front_camera(size=32, focal=32.0):
    return Camera(torch.eye(4), focal, focal, size / 2, size / 2, size, size)


def test_single_gaussian_centre_pixel_by_hand():
    """The Gaussian's centre lands between the four middle pixels; each sees alpha = o
    exp(-0.5 d' Sigma^-1 d) with Sigma the projected covariance plus the 0.3 px dilation."""
    scene, cam = one_gaussian(), front_camera()
    img = render(scene, cam, backend="torch").image
    var = (32.0 * 0.05) ** 2 + 0.3  # (f s / z)^2 + 0.3
    alpha = 0.8 * math.exp(-0.5 * (0.25 + 0.25) / var)
    assert img[16, 16].tolist() == pytest.approx([alpha * 0.9, alpha * 0.2, alpha * 0.1], rel=1e-5)
    assert img[0, 0].tolist() == [0.0, 0.0, 0.0]  # alpha < 1/255 there: not blended


def test_transmittance_stops_and_front_to_back_order():
    near = one_gaussian(opacity=0.99, color=(1.0, 0.0, 0.0), scale=0.2, z=1.0)
    far = one_gaussian(opacity=0.99, color=(0.0, 1.0, 0.0), scale=0.2, z=2.0)
    both = GaussianScene(*(torch.cat([getattr(near, f), getattr(far, f)]) for f in
                           ("means", "quats", "log_scales", "opacity_logits", "sh_dc",
                            "sh_rest")))
    out = render(both, front_camera(), scores=True, backend="torch")
    r, g, _ = out.image[16, 16].tolist()
    assert r > 0.95 and g < 0.02  # the near one covers the far one
    assert out.hits[0] > out.hits[1]


def test_numba_compositor_matches_the_torch_reference(data_dir):
    scene = read_ply(data_dir / "3d/gaussians/gshairlod_donut_fused_sh0.ply")
    cam = default_cameras(scene, 3, 48)[1]
    ref = render(scene, cam, scores=True, background=(0.2, 0.3, 0.4), backend="torch")
    fast = render(scene, cam, scores=True, background=(0.2, 0.3, 0.4), backend="numba")
    assert torch.allclose(ref.image, fast.image, atol=2e-5)
    assert torch.allclose(ref.alpha, fast.alpha, atol=2e-5)
    assert torch.equal(ref.hits, fast.hits)
    for name in ("significance", "sum_weight", "max_weight"):
        a, b = getattr(ref, name), getattr(fast, name)
        assert torch.allclose(a, b, atol=1e-4 * float(a.max())), name


def test_renderer_is_differentiable():
    scene = one_gaussian()
    for t in (scene.means, scene.opacity_logits, scene.log_scales, scene.sh_dc, scene.quats):
        t.requires_grad_(True)
    assert render(scene, front_camera(16, 16.0), backend="auto").image.requires_grad  # auto: torch
    render(scene, front_camera(16, 16.0), backend="torch").image.sum().backward()
    for t in (scene.means, scene.opacity_logits, scene.log_scales, scene.sh_dc):
        assert t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0


def test_orbit_cameras_look_at_the_centre():
    cams = orbit_cameras((1.0, 2.0, 3.0), 2.0, 6, width=64, height=48)
    for c in cams:
        p = c.world_to_cam @ torch.tensor([1.0, 2.0, 3.0, 1.0])
        assert p[:2].abs().max() < 1e-5 and p[2] == pytest.approx(2.0, rel=1e-5)
        assert torch.linalg.norm(c.center - torch.tensor([1.0, 2.0, 3.0])) == pytest.approx(2.0)
    assert np.allclose(look_at(np.array([0, 0, -1.0]), np.zeros(3), np.array([0, 1.0, 0]))[:3, 3],
                       [0, 0, 1])


def test_nerf_transforms_cameras(data_dir):
    cams = cameras_from_transforms(data_dir / "3d/nerf_synthetic_lego_subset/transforms_test.json",
                                   width=100, height=100)
    assert len(cams) == 10 and cams[0].width == 100
    # NeRF-synthetic cameras sit about 4 units from the origin and look at it
    for c in cams:
        assert float(torch.linalg.norm(c.center)) == pytest.approx(4.03, abs=0.1)
        origin = c.world_to_cam @ torch.tensor([0.0, 0.0, 0.0, 1.0])
        assert origin[2] > 3.5 and abs(origin[0] / origin[2]) < 0.05


def test_transforms_intrinsics_of_instant_ngp_and_nerfstudio_are_used(tmp_path):
    """fl_x, fl_y, cx and cy were ignored: fx came from camera_angle_x, the principal point was
    the image centre."""
    import json
    import math

    pose = np.eye(4).tolist()
    path = tmp_path / "transforms.json"
    path.write_text(json.dumps({"camera_angle_x": 1.0, "fl_x": 500.0, "fl_y": 520.0, "cx": 300.0,
                                "cy": 200.0, "w": 640, "h": 480,
                                "frames": [{"transform_matrix": pose},
                                           {"transform_matrix": pose, "fl_x": 400.0}]}))
    first, second = cameras_from_transforms(path)
    assert (first.fx, first.fy, first.cx, first.cy, first.width, first.height) == (
        500.0, 520.0, 300.0, 200.0, 640, 480)
    assert second.fx == 400.0 and second.fy == 520.0  # a frame's own fields win
    half = cameras_from_transforms(path, width=320, height=240)[0]
    assert (half.fx, half.cx, half.cy) == (250.0, 150.0, 100.0)
    path.write_text(json.dumps({"fl_x": 500.0, "w": 640, "h": 480, "frames": [
        {"transform_matrix": pose, "camera_angle_x": 2 * math.atan(0.5)}]}))
    assert cameras_from_transforms(path)[0].fx == pytest.approx(640.0)  # in either form
    path.write_text(json.dumps({"w": 640, "h": 480, "frames": [  # nerfstudio: per frame only
        {"transform_matrix": pose, "fl_x": 300.0, "fl_y": 310.0}]}))
    assert (cameras_from_transforms(path)[0].fx, cameras_from_transforms(path)[0].fy) == (
        300.0, 310.0)
    path.write_text(json.dumps({"camera_angle_x": 1.0, "frames": [{"transform_matrix": pose}]}))
    (plain,) = cameras_from_transforms(path)  # NeRF-synthetic: 800 px, fy = fx, centred
    assert plain.fx == plain.fy == pytest.approx(400 / math.tan(0.5)) and plain.cx == 400.0
    for fields, message in (({"fl_x": 500.0, "k1": 0.1}, r"lens distortion \(k1\)"),
                            ({"fl_x": -5.0}, "intrinsics are out of range"),
                            ({"w": 640}, r"needs 'camera_angle_x' \(or 'fl_x'\), for the file "
                                         r"or for each frame \(frame 0 has neither\)")):
        path.write_text(json.dumps({**fields, "frames": [{"transform_matrix": pose}]}))
        with pytest.raises(ValueError, match=message):
            cameras_from_transforms(path)


def test_gsplat_without_a_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(InvalidParameterError, match="backend 'gsplat' needs"):
        render(one_gaussian(), front_camera(), backend="gsplat")
    with pytest.raises(ValueError, match="backend must be one of"):
        render(one_gaussian(), front_camera(), backend="opengl")


@pytest.mark.gpu
def test_gsplat_matches_the_cpu_renderer(data_dir):
    """Same image and the same statistics from gsplat on a GPU as from the CPU backend."""
    scene = read_ply(data_dir / "3d/gaussians/gshairlod_donut_fused_sh0.ply")
    cam = default_cameras(scene, 4, 128)[0]
    cpu = render(scene, cam, scores=True, backend="numba")
    gpu = render(scene, cam, scores=True, backend="gsplat")
    mse = float(((cpu.image - gpu.image.cpu()) ** 2).mean())
    assert 10 * math.log10(1 / max(mse, 1e-12)) > 35
    for name in ("significance", "sum_weight", "max_weight", "hits"):
        a, b = getattr(cpu, name), getattr(gpu, name).cpu()
        assert float((a - b).abs().sum() / a.abs().sum()) < 0.02, name


def test_cameras_compare_by_value_and_hash_alike():
    """The dataclass's equality compared the pose tensors with ``==`` and raised."""
    from scenesparse.cameras import orbit_cameras

    first, again = orbit_cameras((0, 0, 0), 3.0, 3), orbit_cameras((0, 0, 0), 3.0, 3)
    assert first[0] == again[0] and first[0] != first[1] and first[2] not in first[:2]
    assert len({*first, *again}) == 3 and first[0] != "a camera"
    assert first[0].resized(64, 64) != first[0]


def test_a_float64_scene_gives_its_statistics_on_the_torch_backend():
    """A scene wholly in float64 renders on the torch backend in double precision, but with
    ``scores=True`` it failed: "index_add_(): self (Float) and source (Double) must have the
    same scalar type". The statistics are float32, as the numba backend gives them."""
    scene = one_gaussian()
    double = GaussianScene(*(getattr(scene, k).double() for k in (
        "means", "quats", "log_scales", "opacity_logits", "sh_dc", "sh_rest")))
    ref = render(scene, front_camera(), backend="torch", scores=True)
    out = render(double, front_camera(), backend="torch", scores=True)
    assert out.image.dtype == torch.float64
    for name in ("significance", "max_weight", "sum_weight", "hits"):
        got = getattr(out, name)
        assert got.dtype == torch.float32
        assert torch.allclose(got, getattr(ref, name), rtol=1e-5), name


@pytest.mark.parametrize("change, message", [
    (dict(width=32.0), r"camera.width must be a whole number of pixels >= 1, got 32.0"),
    (dict(height=0), r"camera.height must be a whole number of pixels >= 1, got 0"),
    (dict(fx=0.0), r"camera.fx must be a finite number > 0 \(pixels\), got 0.0"),
    (dict(fy=float("nan")), r"camera.fy must be a finite number > 0 \(pixels\), got nan"),
    (dict(world_to_cam=np.eye(4)), r"camera.world_to_cam must be a \(4, 4\) torch tensor, got "
                                   r"ndarray \(4, 4\)"),
    (dict(world_to_cam=torch.tensor([[1.0, 0, 0, 0], [0, 1, 0, float("nan")], [0, 0, 1, 2],
                                     [0, 0, 0, 1]])),
     r"camera.world_to_cam must be finite, got nan at row 1, column 3"),
    (dict(near=0.0), r"camera.near must be a finite distance > 0, got 0.0"),
])
def test_render_names_the_camera_field_it_cannot_use(change, message):
    """A float width (orbit_cameras(width=32.0)) failed in numba's compiler with pages of
    typing errors, a zero focal length with a ZeroDivisionError, a numpy pose with "no
    attribute 'to'"; a height of 0 gave an empty image, a NaN in the pose a black one."""
    import dataclasses

    cam = dataclasses.replace(front_camera(), **change)
    for backend in ("torch", "numba"):
        with pytest.raises(InvalidParameterError, match=message):
            render(one_gaussian(), cam, backend=backend)


def test_render_refuses_a_list_of_cameras_or_another_scene():
    """A list of cameras (gsplat's batched viewmats) or a dict of gsplat parameters failed with
    an AttributeError deep in the projection."""
    with pytest.raises(InvalidParameterError, match="camera must be one Camera, got list"):
        render(one_gaussian(), [front_camera()])
    with pytest.raises(InvalidParameterError, match="scene must be a GaussianScene .*, got dict"):
        render({"means": torch.zeros(1, 3)}, front_camera())
