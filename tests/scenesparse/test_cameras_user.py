"""A splat user's own cameras: one scene, photographed from the lego poses, written the three
ways a user has it (NeRF transforms, a COLMAP text model, INRIA's cameras.json) and read back
where the photos show it; the mistakes a user makes with them."""

import json
import math
import re

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.spatial.transform import Rotation

from scenesparse.cameras import Camera, cameras_from_colmap, transforms_json
from scenesparse.gaussians import GaussianScene, write_ply
from scenesparse.photos import photo_sources, photo_views
from scenesparse.rendering import render

LEGO = "3d/nerf_synthetic_lego_subset"
W, H = 24, 18  # not square: cx and cy differ


def _scene(n=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    return GaussianScene(means=torch.rand(n, 3, generator=g) * 0.2 - 0.1,
                         quats=torch.randn(n, 4, generator=g),
                         log_scales=torch.rand(n, 3, generator=g) - 4.0,
                         opacity_logits=torch.randn(n, generator=g) + 1.0,
                         sh_dc=torch.randn(n, 3, generator=g), sh_rest=torch.zeros(n, 0, 3))


def _lego_views(data_dir, count=9):
    """The first ``count`` lego poses (OpenGL camera-to-world), moved 10 times closer to the
    origin; their OpenCV cameras at W x H."""
    meta = json.loads((data_dir / LEGO / "transforms_train.json").read_text())
    focal = 0.5 * W / math.tan(meta["camera_angle_x"] / 2)
    poses, cams = [], []
    for frame in meta["frames"][:count]:
        c2w = np.array(frame["transform_matrix"])
        c2w[:3, 3] *= 0.1
        w2c = np.linalg.inv(c2w @ np.diag([1.0, -1.0, -1.0, 1.0]))
        poses.append(c2w)
        cams.append(Camera(torch.tensor(w2c, dtype=torch.float32), focal, focal, W / 2, H / 2, W, H))
    return meta["camera_angle_x"], poses, cams


def _inria_entries(cams, names):
    """cameras.json as 3DGS's camera_to_JSON writes it (R is stored transposed, the inverse of
    [R' | T] taken), with a key of its own."""
    entries = []
    for i, (cam, name) in enumerate(zip(cams, names, strict=True)):
        w2c = cam.world_to_cam.double().numpy()
        rt = np.eye(4)
        rt[:3, :3], rt[:3, 3] = w2c[:3, :3], w2c[:3, 3]
        c2w = np.linalg.inv(rt)
        entries.append({"id": i, "img_name": name, "width": cam.width, "height": cam.height,
                        "position": c2w[:3, 3].tolist(),
                        "rotation": [row.tolist() for row in c2w[:3, :3]],
                        "fy": cam.fy, "fx": cam.fx, "note": "written by a user's script"})
    return entries


def _own_scene(data_dir, tmp_path, background=(0.0, 0.0, 0.0), alpha=False):
    """The scene, its photos (over ``background``; with ``alpha``, RGBA photos of the scene
    alone, whatever ``background``) and their cameras in the three formats."""
    scene = _scene()
    write_ply(tmp_path / "scene.ply", scene)
    angle, poses, cams = _lego_views(data_dir)
    names = [f"view_{i}" for i in range(len(cams))]
    nerf, colmap, inria = tmp_path / "nerf", tmp_path / "colmap", tmp_path / "inria"
    for folder in (nerf / "train", colmap / "images", inria):
        folder.mkdir(parents=True)
    for cam, name in zip(cams, names, strict=True):
        with torch.no_grad():
            out = render(scene, cam, background=(0.0, 0.0, 0.0) if alpha else background)
        image = out.image.clamp(0, 1).numpy()
        if alpha:  # the colour over black divided by alpha: straight colour, as PNG stores it
            a = out.alpha.clamp(0, 1).numpy()[..., None]
            image = np.concatenate([np.clip(image / np.maximum(a, 1e-6), 0, 1), a], 2)
        photo = Image.fromarray((image * 255 + 0.5).astype(np.uint8))
        for folder in (nerf / "train", colmap / "images", inria):
            photo.save(folder / f"{name}.png")
    (nerf / "transforms_train.json").write_text(json.dumps(
        {"camera_angle_x": angle, "frames": [{"file_path": f"./train/{n}", "transform_matrix":
                                              p.tolist()} for n, p in zip(names, poses, strict=True)]}))
    model = colmap / "sparse" / "0"
    model.mkdir(parents=True)
    c = cams[0]
    (model / "cameras.txt").write_text("# Camera list with one line of data per camera:\n"
                                       f"1 SIMPLE_PINHOLE {W} {H} {c.fx} {c.cx} {c.cy}\n")
    lines = ["# Image list with two lines of data per image:",
             "#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME"]
    for i, (cam, name) in enumerate(zip(cams, names, strict=True)):
        w2c = cam.world_to_cam.double().numpy()
        x, y, z, w = Rotation.from_matrix(w2c[:3, :3]).as_quat()
        lines += [f"{i + 1} {w} {x} {y} {z} {' '.join(map(str, w2c[:3, 3]))} 1 {name}.png",
                  "4.5 3.5 -1 10.0 7.0 -1"]
    (model / "images.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "cameras.json").write_text(json.dumps(_inria_entries(cams, names)))
    return cams, names


def test_a_scene_in_three_formats_renders_where_its_photos_show_it(data_dir, tmp_path, cli):
    """The same views as transforms (OpenGL camera-to-world), COLMAP (world-to-camera
    quaternions) and INRIA's cameras.json (camera-to-world, OpenCV) render the unpruned scene as
    its photos show it, held out alike; a pose in the other axis convention sees nothing and is
    refused, naming the file, with nothing written."""
    _own_scene(data_dir, tmp_path)
    common = ("scene", "prune-splats", tmp_path / "scene.ply", tmp_path / "out.ply",
              "--resolution", str(W), "--rounds", "1", "--recover-steps", "1",
              "--keep-ratio", "0.5", "--report", tmp_path / "report.json")
    for given, where in (((tmp_path / "nerf",), "transforms_train.json (9 views)"),
                         ((tmp_path / "colmap",), "COLMAP sparse/0 (9 views)"),
                         ((tmp_path / "inria", "--cameras", tmp_path / "cameras.json"),
                          "cameras.json (9 views)")):
        result = cli(*common, "--images", *given)
        assert result.exit_code == 0, result.output
        report = json.loads((tmp_path / "report.json").read_text())
        assert where in report["cameras"] and report["eval_views"] == 2, report["cameras"]
        assert report["photos"]["unpruned"]["psnr"] > 40, (where, report["photos"])
    entries = json.loads((tmp_path / "cameras.json").read_text())
    for entry in entries:  # OpenGL axes (y up, z back) given for OpenCV ones
        entry["rotation"] = (np.array(entry["rotation"]) @ np.diag([1.0, -1.0, -1.0])).tolist()
    (tmp_path / "gl.json").write_text(json.dumps(entries))
    nerf = json.loads((tmp_path / "nerf" / "transforms_train.json").read_text())
    for frame in nerf["frames"]:  # OpenCV axes given for OpenGL ones
        frame["transform_matrix"] = (np.array(frame["transform_matrix"])
                                     @ np.diag([1.0, -1.0, -1.0, 1.0])).tolist()
    (tmp_path / "nerf" / "transforms_train.json").write_text(json.dumps(nerf))
    for path in (tmp_path / "out.ply", tmp_path / "report.json"):
        path.unlink()
    for given, named in (((tmp_path / "inria", "--cameras", tmp_path / "gl.json"), "gl.json"),
                         (("--cameras", tmp_path / "gl.json"), "gl.json"),
                         ((tmp_path / "nerf",), "nerf")):
        args = given if given[0] == "--cameras" else ("--images", *given)
        cli(*common, *args).error_line(named, "sees a Gaussian of", "scene.ply", "convention")
        assert not (tmp_path / "out.ply").exists() and not (tmp_path / "report.json").exists()


def test_photos_the_unpruned_scene_does_not_match_are_warned_of(data_dir, tmp_path, cli):
    """Cameras of twice the stated size, the focal lengths kept (the photos' aspect ratio, so
    no check refused them), ran silently: the unpruned scene scored 7 dB against its photos,
    and recovery trained towards them."""
    _own_scene(data_dir, tmp_path)
    entries = json.loads((tmp_path / "cameras.json").read_text())
    for entry in entries:
        entry["width"], entry["height"] = 2 * entry["width"], 2 * entry["height"]
    (tmp_path / "wide.json").write_text(json.dumps(entries))
    common = ("scene", "prune-splats", tmp_path / "scene.ply", tmp_path / "out.ply",
              "--resolution", str(W), "--rounds", "1", "--keep-ratio", "0.5", "--images",
              tmp_path / "inria", "--report", tmp_path / "report.json")
    result = cli(*common, "--cameras", tmp_path / "wide.json")
    assert result.exit_code == 0, result.output
    score = json.loads((tmp_path / "report.json").read_text())["photos"]["unpruned"]["psnr"]
    warning = [ln for ln in result.stderr.splitlines() if ln.startswith("warning: ")]
    assert score < 15 and warning == [
        f"warning: {tmp_path / 'wide.json'}: the unpruned {tmp_path / 'scene.ply'} scores "
        f"{score:.1f} dB against the held-out photos: are these the cameras and photos it was "
        "trained on (sizes and focal lengths, frame, convention), over this background colour? "
        "Its pruning is measured, and recovered, against them"], result.stderr
    result = cli(*common, "--cameras", tmp_path / "cameras.json")  # the right ones: no word
    assert result.exit_code == 0 and "warning" not in result.stderr, result.stderr


@pytest.mark.parametrize("alpha", [False, True])
def test_a_splat_trained_over_white_compares_with_its_photos_over_white(data_dir, tmp_path, cli,
                                                                         alpha):
    """--background white renders, recovers and evaluates over white: the unpruned scene then
    matches photos taken over white, where over black (the default) it cannot. Photos with an
    alpha channel are put on the colour given, and match over either; the report says which
    colour was used."""
    _own_scene(data_dir, tmp_path, background=(1.0, 1.0, 1.0), alpha=alpha)
    common = ("scene", "prune-splats", tmp_path / "scene.ply", tmp_path / "out.ply",
              "--resolution", str(W), "--rounds", "1", "--recover-steps", "2", "--keep-ratio",
              "0.5", "--images", tmp_path / "nerf", "--report", tmp_path / "report.json")
    psnr = {}
    for colour in ("white", "black"):
        result = cli(*common, "--background", colour)
        assert result.exit_code == 0, result.output
        report = json.loads((tmp_path / "report.json").read_text())
        psnr[colour] = report["photos"]["unpruned"]["psnr"]
        assert report["background"] == ([1.0] * 3 if colour == "white" else [0.0] * 3)
    if alpha:
        assert min(psnr.values()) > 35, psnr
        return
    assert psnr["white"] > 40 and psnr["black"] < psnr["white"] - 10, psnr
    for bad in ("grey", "1,1", "255,255,255", "nan,0,0"):
        cli(*common, "--background", bad).error_line("--background", "black, white or R,G,B")


def test_cameras_of_which_some_see_nothing_are_warned_of(data_dir, tmp_path, cli):
    """Poses in the wrong convention that still see the scene from a few views ran silently,
    scoring from those few and comparing empty renders on the others."""
    _, _, cams = _lego_views(data_dir)
    write_ply(tmp_path / "scene.ply", _scene())
    entries = _inria_entries(cams, [f"v{i}" for i in range(len(cams))])
    for entry in entries[1:4]:
        entry["rotation"] = (np.array(entry["rotation"]) @ np.diag([1.0, -1.0, -1.0])).tolist()
    (tmp_path / "cameras.json").write_text(json.dumps(entries))
    result = cli("scene", "prune-splats", tmp_path / "scene.ply", tmp_path / "out.ply",
                 "--resolution", "16", "--rounds", "1", "--cameras", tmp_path / "cameras.json")
    assert result.exit_code == 0, result.output
    warning = [ln for ln in result.stderr.splitlines() if ln.startswith("warning: ")]
    assert len(warning) == 1 and warning[0].startswith(
        f"warning: {tmp_path / 'cameras.json'}: 3 of its 9 views see no Gaussian"), result.stderr


def test_images_txt_is_paired_as_colmap_pairs_it(tmp_path):
    """Each image takes two lines, the second its 2D points (maybe empty), as COLMAP reads them:
    a blank line after the header shifted the pairs (an error about a good line), and an
    images.txt written one line per image lost every other view without a word."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "cameras.txt").write_text("  # an indented comment\n1 PINHOLE 40 30 50 50 20 15\n")
    images = ["1 1 0 0 0 0 0 2 1 a.png", "2 1 0 0 0 0 0 3 1 b.png", "3 1 0 0 0 0 0 4 1 c.png"]
    (model / "images.txt").write_text(
        f"# header\n\n{images[0]}\n\n# between\n{images[1]}\n1.0 2.0 -1\n{images[2]}\n")
    cams, names = cameras_from_colmap(model)
    assert names == ["a.png", "b.png", "c.png"]
    assert [c.center.tolist() for c in cams] == [[0.0, 0.0, -z] for z in (2.0, 3.0, 4.0)]
    (model / "images.txt").write_text("# one line per image\n" + "\n".join(images) + "\n")
    with pytest.raises(ValueError, match=r"images.txt: line 3: expected the 2D points of the "
                                         r"image on line 2 .* each image takes two lines"):
        cameras_from_colmap(model)


def test_cameras_json_views_named_alike_are_refused(tmp_path):
    """3DGS names a view by its photo's stem, so the cameras.json of a NeRF-synthetic scene
    holds train/r_0 and test/r_0 both as 'r_0': one photo stood for two poses."""
    from scenesparse.cameras import orbit_cameras

    cams = orbit_cameras((0.0, 0.0, 0.0), 1.0, 3, width=16, height=12)
    for name in ("r_0", "r_1"):
        Image.new("RGB", (16, 12)).save(tmp_path / f"{name}.png")
    (tmp_path / "cameras.json").write_text(json.dumps(_inria_entries(cams, ["r_0", "r_1", "r_0"])))
    with pytest.raises(ValueError, match=r"cameras.json: two views are named 'r_0'"):
        photo_views(tmp_path, cameras_json=tmp_path / "cameras.json")


def test_a_cameras_json_in_the_folder_is_said_to_need_giving(tmp_path, cli):
    """hollownerf --data of a folder of photos and INRIA's cameras.json said "... and no
    cameras.json given", which hollownerf has no option for."""
    from scenesparse.cameras import orbit_cameras

    cams = orbit_cameras((0.0, 0.0, 0.0), 1.0, 2, width=16, height=12)
    (tmp_path / "images").mkdir()
    for name in ("r_0", "r_1"):
        Image.new("RGB", (16, 12)).save(tmp_path / "images" / f"{name}.png")
    (tmp_path / "cameras.json").write_text(json.dumps(_inria_entries(cams, ["r_0", "r_1"])))
    with pytest.raises(FileNotFoundError, match="the cameras.json in it .INRIA's. is read only "
                                                "where it is given: prune-splats --cameras"):
        photo_views(tmp_path)
    cli("scene", "hollownerf", "--data", tmp_path, "--out", tmp_path / "out").error_line(
        "cameras.json in it", "prune-splats --cameras")
    assert len(photo_views(tmp_path, cameras_json=tmp_path / "cameras.json").train_cameras) >= 1


def test_one_photographed_view_names_its_cameras_json(data_dir, tmp_path, cli):
    """A cameras.json of one view with its photo: nothing to hold out, said of the camera file
    (it was said of the photo folder)."""
    _, _, cams = _lego_views(data_dir, count=1)
    write_ply(tmp_path / "scene.ply", _scene())
    (tmp_path / "photos").mkdir()
    Image.new("RGB", (W, H)).save(tmp_path / "photos" / "v0.png")
    (tmp_path / "one.json").write_text(json.dumps(_inria_entries(cams, ["v0"])))
    cli("scene", "prune-splats", tmp_path / "scene.ply", tmp_path / "out.ply", "--resolution",
        "16", "--images", tmp_path / "photos", "--cameras", tmp_path / "one.json").error_line(
        "one.json", "one view only")
    assert not (tmp_path / "out.ply").exists()


def test_cameras_json_sizes_and_views_that_are_not_numbers_or_objects_name_the_file(tmp_path, cli):
    """An infinite width (JSON's Infinity, or 1e400) ended in "internal error, OverflowError"
    (exit 1); a width of 64.9 was cut to 64 and true read as 1 pixel; a view that is no object
    said "lacks or garbles list indices must be integers or slices, not str"."""
    from scenesparse.cameras import cameras_from_json, orbit_cameras

    cams = orbit_cameras((0.0, 0.0, 0.0), 0.5, 2, width=W, height=H)
    write_ply(tmp_path / "scene.ply", _scene())
    for size, shown in ((math.inf, "inf"), (24.5, "24.5"), (True, "True")):
        entries = _inria_entries(cams, ["a", "b"])
        entries[1]["width"] = size
        (tmp_path / "cameras.json").write_text(json.dumps(entries))
        with pytest.raises(ValueError, match=rf"cameras.json: view 1: width and height must be "
                                             rf"whole numbers of pixels, got {shown} and {H}"):
            cameras_from_json(tmp_path / "cameras.json")
    cli("scene", "prune-splats", tmp_path / "scene.ply", tmp_path / "out.ply", "--resolution",
        "16", "--cameras", tmp_path / "cameras.json").error_line("cameras.json", "view 1")
    assert not (tmp_path / "out.ply").exists()
    entries = _inria_entries(cams, ["a", "b"])
    entries[1]["width"] = 24.0  # a whole number written as a float is one
    (tmp_path / "cameras.json").write_text(json.dumps(entries))
    assert [c.width for c in cameras_from_json(tmp_path / "cameras.json")[0]] == [W, W]
    (tmp_path / "cameras.json").write_text(json.dumps([entries[1], [1, 2, 3]]))
    with pytest.raises(ValueError, match=r"cameras.json: view 1 is not a JSON object"):
        cameras_from_json(tmp_path / "cameras.json")


def test_colmap_text_that_is_not_text_or_names_twice_is_refused_by_line(tmp_path):
    """A cameras.txt or images.txt that is not UTF-8 text said only "'utf-8' codec can't decode
    byte 0xff" (no file named); a camera id defined twice gave the images of the first the
    intrinsics of the second, and an image listed twice had one photo stand for two poses."""
    model = tmp_path / "model"
    model.mkdir()
    cameras = "1 PINHOLE 40 30 50 50 20 15\n"
    images = "1 1 0 0 0 0 0 2 1 a.png\n\n2 1 0 0 0 0 0 3 1 b.png\n\n"
    for name, text in (("cameras.txt", cameras), ("images.txt", images)):
        (model / "cameras.txt").write_text(cameras)
        (model / "images.txt").write_text(images)
        (model / name).write_bytes(b"\xff\xfe" + text.encode())
        with pytest.raises(ValueError, match=rf"{name}: not a COLMAP text file .*model_converter"):
            cameras_from_colmap(model)
    (model / "cameras.txt").write_text(cameras + "# again\n1 PINHOLE 20 30 50 50 10 15\n")
    (model / "images.txt").write_text(images)
    with pytest.raises(ValueError, match=r"cameras.txt: line 3: camera 1 is defined on line 1 "
                                         r"too"):
        cameras_from_colmap(model)
    (model / "cameras.txt").write_text(cameras)
    (model / "images.txt").write_text(images + "3 1 0 0 0 0 0 4 1 a.png\n\n")
    with pytest.raises(ValueError, match=r"images.txt: line 5: image a.png is listed on line 1 "
                                         r"too"):
        cameras_from_colmap(model)
    (model / "images.txt").write_text(images)
    assert cameras_from_colmap(model)[1] == ["a.png", "b.png"]
    # Python's number syntax: "4_0" had been read as a width of 40
    (model / "cameras.txt").write_text("1 PINHOLE 4_0 30 50 50 20 15\n")
    with pytest.raises(ValueError, match=r"cameras.txt: line 1: expected 'ID MODEL WIDTH"):
        cameras_from_colmap(model)
    (model / "cameras.txt").write_text(cameras)
    (model / "images.txt").write_text(images.replace("0 0 0 2 1 a.png", "0 0 0 2 1_0 a.png"))
    with pytest.raises(ValueError, match=r"images.txt: line 1: expected 'ID QW"):
        cameras_from_colmap(model)


def test_photos_narrower_than_the_render_are_not_compared_upscaled(data_dir, tmp_path, cli):
    """--images at the default --resolution 256 resized narrower photos up (64-pixel photos of
    the unpruned scene scored it 18-20 dB, 61 dB at their width): the default drops to their
    width, and a wider one given is refused."""
    _own_scene(data_dir, tmp_path)
    common = ("scene", "prune-splats", tmp_path / "scene.ply", tmp_path / "out.ply",
              "--rounds", "1", "--keep-ratio", "0.5", "--images", tmp_path / "nerf")
    result = cli(*common, "--report", tmp_path / "report.json")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["resolution"] == W and report["photos"]["unpruned"]["psnr"] > 40, report
    (tmp_path / "out.ply").unlink()
    cli(*common, "--resolution", str(2 * W)).error_line(
        "--resolution", f"{2 * W} is wider than the photos (the widest is {W} pixels)")
    assert not (tmp_path / "out.ply").exists()


def test_photos_of_two_widths_are_each_scored_at_most_at_their_own(data_dir, tmp_path, cli):
    """A folder with photos of two widths (the held-out views half as wide): the narrower were
    resized up to the widest's width (the rule was checked against the widest photo only), and a
    held-out photo of the unpruned scene itself scored 18 dB, 61 dB at its own width."""
    _own_scene(data_dir, tmp_path)
    folder = tmp_path / "nerf"
    angle, _, cams = _lego_views(data_dir)
    for i in (0, 8):  # the held-out views: every eighth, the first included
        cam = cams[i].resized(W // 2, H // 2)
        with torch.no_grad():
            image = render(_scene(), cam).image.clamp(0, 1).numpy()
        Image.fromarray((image * 255 + 0.5).astype(np.uint8)).save(folder / "train" / f"view_{i}.png")
    views = photo_views(folder, resolution=W)
    assert [c.width for c in views.test_cameras] == [W // 2, W // 2]
    assert [c.width for c in views.train_cameras] == [W] * 7
    assert [tuple(p.shape[:2]) for p in views.test_images] == [(H // 2, W // 2)] * 2
    for i in (0, 8):  # a COLMAP model states W: the size None takes, at most each photo's
        (tmp_path / "colmap" / "images" / f"view_{i}.png").write_bytes(
            (folder / "train" / f"view_{i}.png").read_bytes())
    views = photo_views(tmp_path / "colmap")
    assert [c.width for c in views.test_cameras] == [W // 2, W // 2]
    assert [c.width for c in views.train_cameras] == [W] * 7
    report = tmp_path / "report.json"
    result = cli("scene", "prune-splats", tmp_path / "scene.ply", tmp_path / "out.ply", "--rounds",
                 "1", "--keep-ratio", "0.5", "--images", folder, "--report", report)
    assert result.exit_code == 0, result.output
    summary = json.loads(report.read_text())
    assert summary["resolution"] == W and summary["photos"]["unpruned"]["psnr"] > 40, summary


def test_prune_splat_file_scores_photos_at_their_width_as_the_command_does(data_dir, tmp_path):
    """prune_splat_file(images=...) at its default resolution 256 still resized 24-pixel photos
    up (the unpruned scene scored about 41 dB against them, 59 dB at their width), and took a
    resolution wider than the photos; the command had dropped to their width and refused it."""
    from scenesparse.splatjob import prune_splat_file
    from sparsebox.exceptions import InvalidParameterError

    _own_scene(data_dir, tmp_path)
    common = {"rounds": 1, "keep_ratio": 0.5, "images": tmp_path / "nerf"}
    report = prune_splat_file(tmp_path / "scene.ply", tmp_path / "out.ply", **common)
    assert report["resolution"] == W and report["photos"]["unpruned"]["psnr"] > 50, report
    with pytest.raises(InvalidParameterError, match=rf"^resolution {2 * W} is wider than the "
                                                    rf"photos \(the widest is {W} pixels\)"):
        prune_splat_file(tmp_path / "scene.ply", tmp_path / "wide.ply", resolution=2 * W,
                         **common)
    assert not list(tmp_path.glob("wide*"))
    assert prune_splat_file(tmp_path / "scene.ply", tmp_path / "half.ply", resolution=W // 2,
                            **common)["resolution"] == W // 2


def test_photos_narrower_than_the_least_resolution_are_refused_naming_their_folder(
        data_dir, tmp_path, cli):
    """Photos narrower than prune-splats' least --resolution: the default dropped to their width
    (below the least the option takes), and the least was refused as wider than the photos while
    their width was refused as under the least. Now the photos are refused, naming their folder
    and the least width (8, GaussianPruner's), in the command and in Python alike."""
    from scenesparse.splatjob import prune_splat_file

    _own_scene(data_dir, tmp_path)
    photos = tmp_path / "nerf"
    for path in (photos / "train").iterdir():
        with Image.open(path) as im:
            im.resize((6, round(6 * H / W))).save(path)
    common = ("scene", "prune-splats", tmp_path / "scene.ply", tmp_path / "out.ply",
              "--rounds", "1", "--images", photos)
    narrowest = "view_0.png"  # the first of the narrowest, in the transforms file's order
    for given in ((), ("--resolution", "8")):
        assert cli(*common, *given).error_line() == (
            f"error: {photos}: the narrowest photo, {narrowest}, is 6 pixels wide, narrower "
            "than the least render width (8 pixels); give larger photos")
    cli(*common, "--resolution", "6").error_line("--resolution", "greater than or equal to 8")
    assert not list(tmp_path.glob("out*"))
    with pytest.raises(ValueError, match=rf"^{photos}: the narrowest photo, {narrowest}, is 6 "
                                         r"pixels wide, narrower than the least render width "
                                         r"\(8 pixels\)"):
        prune_splat_file(tmp_path / "scene.ply", tmp_path / "out.ply", images=photos)
    assert not (tmp_path / "out.ply").exists()
    # hollownerf's default 128 dropped to 6 alike, under its least --resolution 8
    cli("scene", "hollownerf", "--data", photos, "--out", tmp_path / "nerf_out",
        "--steps", "1").error_line(f"{photos}: the narrowest photo", "6 pixels wide", "(8 pixels)")
    assert not (tmp_path / "nerf_out").exists()


def test_transforms_sizes_that_are_not_whole_numbers_name_the_file(tmp_path):
    """cameras.json's sizes were checked, a transforms file's w and h were still read by int():
    Infinity ended in "internal error, OverflowError", 24.5 was cut to 24 and true read as 1
    pixel; a width of 10**400 in cameras.json was an OverflowError too."""
    from scenesparse.cameras import cameras_from_json, cameras_from_transforms, orbit_cameras

    frame = {"transform_matrix": np.eye(4).tolist()}
    for size, shown in ((math.inf, "inf"), (24.5, "24.5"), (True, "True")):
        (tmp_path / "transforms.json").write_text(json.dumps({"fl_x": 20.0, "w": size, "h": H,
                                                              "frames": [frame]}))
        with pytest.raises(ValueError, match=rf"transforms.json: frame 0's intrinsics .* \(w must "
                                             rf"be a whole number of pixels, got {shown}\)"):
            cameras_from_transforms(tmp_path / "transforms.json")
    (tmp_path / "transforms.json").write_text(json.dumps({"fl_x": 20.0, "w": 24.0, "h": H,
                                                          "frames": [frame]}))
    assert cameras_from_transforms(tmp_path / "transforms.json")[0].width == 24
    entries = _inria_entries(orbit_cameras((0.0, 0.0, 0.0), 0.5, 2, width=W, height=H), ["a", "b"])
    entries[1]["width"] = 10**400
    (tmp_path / "cameras.json").write_text(json.dumps(entries))
    with pytest.raises(ValueError, match=r"cameras.json: view 1: width and height must be whole "
                                         r"numbers of pixels, got 1000000000"):
        cameras_from_json(tmp_path / "cameras.json")


def test_transforms_intrinsics_must_be_json_numbers(tmp_path):
    """float() read fl_x true as a focal length of 1 pixel, "50" as 50 and camera_angle_x true as
    an angle of 1 radian; int() read w "40" as 40 pixels."""
    from scenesparse.cameras import cameras_from_transforms

    frame = {"transform_matrix": np.eye(4).tolist()}
    for change, message in (({"fl_x": True}, "frame 0's fl_x must be a JSON number, got True"),
                            ({"fl_x": "50"}, "frame 0's fl_x must be a JSON number, got '50'"),
                            ({"camera_angle_x": True}, "camera_angle_x must be a JSON number"),
                            ({"w": "40"}, "w must be a whole number of pixels, got '40'")):
        meta = {"fl_x": 20.0, "w": W, "h": H, "frames": [frame], **change}
        if "camera_angle_x" in change:
            del meta["fl_x"]
        (tmp_path / "transforms.json").write_text(json.dumps(meta))
        with pytest.raises(ValueError, match=rf"transforms.json: .*{message}"):
            cameras_from_transforms(tmp_path / "transforms.json")


def test_fisheye_transforms_are_refused_naming_the_file_and_the_model(tmp_path, cli):
    """nerfstudio's OPENCV_FISHEYE is an equidistant fisheye even with k1..k4 zero: it was read
    as a pinhole (distortion zero), so every ray missed its pixel; so were EQUIRECTANGULAR and
    instant-ngp's is_fisheye. The pinhole models still read."""
    from scenesparse.cameras import cameras_from_transforms

    Image.new("RGB", (W, H)).save(tmp_path / "a.png")
    frame = {"file_path": "a.png", "transform_matrix": np.eye(4).tolist()}
    pinhole = {"fl_x": 20.0, "fl_y": 20.0, "cx": W / 2, "cy": H / 2, "w": W, "h": H,
               "k1": 0.0, "k2": 0.0, "k3": 0.0, "k4": 0.0, "frames": [frame, frame]}
    path = tmp_path / "transforms.json"
    for meta, named in (({**pinhole, "camera_model": "OPENCV_FISHEYE"}, "frame 0's camera_model "
                         "'OPENCV_FISHEYE' is not a pinhole camera"),
                        ({**pinhole, "camera_model": "EQUIRECTANGULAR"},
                         "frame 0's camera_model 'EQUIRECTANGULAR'"),
                        ({**pinhole, "frames": [frame, {**frame, "camera_model": "OPENCV_FISHEYE"}]},
                         "frame 1's camera_model 'OPENCV_FISHEYE'"),
                        ({**pinhole, "is_fisheye": True}, r"frame 0 is a fisheye camera \(is_fisheye "
                         r"True\)")):
        path.write_text(json.dumps(meta))
        with pytest.raises(ValueError, match=f"transforms.json: {named}.*undistort the photos"):
            cameras_from_transforms(path)
    path.write_text(json.dumps({**pinhole, "camera_model": "OPENCV_FISHEYE"}))
    cli("scene", "hollownerf", "--data", tmp_path, "--out", tmp_path / "out").error_line(
        "transforms.json", "OPENCV_FISHEYE", "not a pinhole camera")
    assert not (tmp_path / "out").exists()
    for model in ("OPENCV", "PINHOLE", "SIMPLE_RADIAL"):
        path.write_text(json.dumps({**pinhole, "camera_model": model, "is_fisheye": False}))
        assert cameras_from_transforms(path)[1].fx == 20.0


def test_nerfstudio_masks_are_refused_not_ignored(tmp_path, cli):
    """A nerfstudio frame's mask_path (its pixels of 0 left out of training) was ignored: the
    masked pixels, a passer-by or the capture rig, were trained on and scored as the scene."""
    Image.new("RGB", (W, H)).save(tmp_path / "a.png")
    Image.new("L", (W, H), 255).save(tmp_path / "a_mask.png")
    frame = {"file_path": "a.png", "transform_matrix": np.eye(4).tolist()}
    meta = {"fl_x": 20.0, "w": W, "h": H, "camera_model": "OPENCV",
            "frames": [frame, {**frame, "mask_path": "a_mask.png"}]}
    (tmp_path / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"transforms.json: frame 1 has a mask_path .* masks are "
                                         "not supported"):
        photo_views(tmp_path)
    cli("scene", "hollownerf", "--data", tmp_path, "--out", tmp_path / "out").error_line(
        "transforms.json", "mask_path")
    assert not (tmp_path / "out").exists()
    (tmp_path / "transforms.json").write_text(json.dumps({**meta, "frames": [frame, frame]}))
    assert len(photo_views(tmp_path).train_cameras) == 1


def _point(x, y, z):
    """One small bright Gaussian at a world point: its render peaks at the pixel it projects to."""
    return GaussianScene(means=torch.tensor([[x, y, z]], dtype=torch.float32),
                         quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]),
                         log_scales=torch.full((1, 3), -7.0), opacity_logits=torch.tensor([5.0]),
                         sh_dc=torch.ones(1, 3), sh_rest=torch.zeros(1, 0, 3))


def _peak(cam, point):
    with torch.no_grad():
        image = render(_point(*point), cam).image[..., 0].numpy()
    row, col = np.unravel_index(image.argmax(), image.shape)
    return int(col), int(row)


def test_a_point_lands_on_the_pixel_each_format_puts_it_on(tmp_path):
    """Each writer's maths, by hand: COLMAP's images.txt is world-to-camera with the quaternion
    scalar first, its principal point in pixels whose top-left centre is (0.5, 0.5); NeRF's
    transform_matrix is camera-to-world with OpenGL axes (looking down -z, y up), its
    camera_angle_x a focal length at the size the photos are resized to; INRIA's cameras.json
    holds the camera-to-world rotation, the centre, fx and fy at its width, the principal point
    at the image's centre."""
    from scenesparse.cameras import cameras_from_json, cameras_from_transforms

    point = np.array([0.1, 0.2, 0.3])
    rot = Rotation.from_euler("xyz", [10.0, -20.0, 30.0], degrees=True)
    r, t = rot.as_matrix(), np.array([0.3, -0.2, 4.0])
    x, y, z, w = rot.as_quat()
    (tmp_path / "cameras.txt").write_text("1 PINHOLE 40 30 35 37 21.3 14.2\n")
    (tmp_path / "images.txt").write_text(f"1 {w} {x} {y} {z} {' '.join(map(str, t))} 1 a.png\n\n")
    cam = cameras_from_colmap(tmp_path)[0][0]
    p = r @ point + t
    u, v = 35 * p[0] / p[2] + 21.3, 37 * p[1] / p[2] + 14.2  # (23.00, 13.48)
    assert _peak(cam, point) == (math.floor(u), math.floor(v)) == (23, 13)
    assert np.allclose(cam.center.numpy(), -r.T @ t, atol=1e-6)
    assert _peak(cam.resized(20, 15), point) == (math.floor(u / 2), math.floor(v / 2))
    # the same pose for NeRF: OpenCV camera-to-world with y and z turned round
    c2w = np.eye(4)
    c2w[:3, :3], c2w[:3, 3] = r.T @ np.diag([1.0, -1.0, -1.0]), -r.T @ t
    gl = np.linalg.inv(c2w) @ np.append(point, 1.0)  # x right, y up, z back
    (tmp_path / "transforms.json").write_text(json.dumps(
        {"camera_angle_x": 1.2, "w": 80, "h": 60, "frames": [{"transform_matrix": c2w.tolist()}]}))
    cam = cameras_from_transforms(tmp_path / "transforms.json", width=40, height=30)[0]
    f = 0.5 * 40 / math.tan(0.6)
    u, v = f * gl[0] / -gl[2] + 20, -f * gl[1] / -gl[2] + 15
    assert _peak(cam, point) == (math.floor(u), math.floor(v))
    (tmp_path / "cameras.json").write_text(json.dumps([{
        "id": 0, "img_name": "a", "width": 80, "height": 60, "position": (-r.T @ t).tolist(),
        "rotation": r.T.tolist(), "fx": 70.0, "fy": 74.0}]))
    cam = cameras_from_json(tmp_path / "cameras.json", width=40, height=30)[0][0]
    u, v = 35 * p[0] / p[2] + 20, 37 * p[1] / p[2] + 15
    assert _peak(cam, point) == (math.floor(u), math.floor(v))


def test_colmap_camera_models_say_what_is_wrong_with_them(tmp_path, cli):
    """Every camera refused said "camera model M with N parameters is not a pinhole camera;
    undistort the images first": a PINHOLE with a parameter missing too, and an OPENCV camera
    did not say that its distortion was the matter. A RADIAL camera without k2 was read."""
    (tmp_path / "images.txt").write_text("1 1 0 0 0 0 0 2 1 a.png\n\n2 1 0 0 0 0 0 3 1 b.png\n\n")
    for line, message in (
            ("PINHOLE 40 30 50 50 20", r"camera model PINHOLE takes 4 parameters \(fx fy cx cy\), "
                                       "got 3"),
            ("RADIAL 40 30 50 20 15 0", r"camera model RADIAL takes 5 parameters \(f cx cy k1 k2\)"),
            ("OPENCV 40 30 50 50 20 15 0.1 0 0 -0.002", r"camera model OPENCV has lens distortion "
                                                         r"\(k1 0.1, p2 -0.002\).*undistort"),
            ("SIMPLE_RADIAL 40 30 50 20 15 0.01", r"camera model SIMPLE_RADIAL has lens distortion "
                                                  r"\(k 0.01\)"),
            ("FULL_OPENCV 40 30 50 50 20 15 0 0 0 0 0 0 0 0", "camera model FULL_OPENCV is not a "
                                                              "pinhole camera .*undistort")):
        (tmp_path / "cameras.txt").write_text(f"1 {line}\n")
        with pytest.raises(ValueError, match=rf"cameras.txt: line 1: {message}"):
            cameras_from_colmap(tmp_path)
    write_ply(tmp_path / "scene.ply", _scene())
    for name in ("a", "b"):
        Image.new("RGB", (40, 30)).save(tmp_path / f"{name}.png")
    cli("scene", "prune-splats", tmp_path / "scene.ply", tmp_path / "out.ply", "--rounds", "1",
        "--images", tmp_path).error_line("cameras.txt", "FULL_OPENCV is not a pinhole camera")
    assert not (tmp_path / "out.ply").exists()
    for line in ("OPENCV 40 30 50 52 20 15 0 0 0 0", "RADIAL 40 30 50 20 15 0 0",
                 "SIMPLE_PINHOLE 40 30 50 20 15"):
        (tmp_path / "cameras.txt").write_text(f"1 {line}\n")
        cam = cameras_from_colmap(tmp_path)[0][0]
        assert (cam.fx, cam.cx, cam.cy) == (50.0, 20.0, 15.0) and cam.fy in (50.0, 52.0)


def test_a_photo_an_exif_orientation_turns_is_read_as_stored_and_said_so(tmp_path):
    """A photo is read as COLMAP and 3DGS read it, its pixels as stored; where its camera is the
    turned size (as a viewer shows it), the aspect ratio refusal said nothing of the turn."""
    photo = Image.new("RGB", (W, H), (255, 0, 0))
    photo.paste((0, 0, 255), (W // 2, 0, W, H))  # left red, right blue, as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter clockwise
    for name in ("a", "b"):
        photo.save(tmp_path / f"{name}.jpg", exif=exif, quality=95)
    (tmp_path / "cameras.txt").write_text(f"1 PINHOLE {W} {H} 20 20 {W / 2} {H / 2}\n")
    (tmp_path / "images.txt").write_text("1 1 0 0 0 0 0 2 1 a.jpg\n\n2 1 0 0 0 0 0 3 1 b.jpg\n\n")
    views = photo_views(tmp_path)
    image = views.train_images[0]
    assert image.shape == (H, W, 3) and image[H // 2, 1, 0] > 0.9 and image[H // 2, -2, 2] > 0.9
    (tmp_path / "cameras.txt").write_text(f"1 PINHOLE {H} {W} 20 20 {H / 2} {W / 2}\n")
    with pytest.raises(ValueError, match=rf"a.jpg: {W}x{H} pixels, where its camera is {H}x{W} .*"
                                         r"its EXIF orientation turns it a quarter, which is not "
                                         r"applied"):
        photo_views(tmp_path)


def _project(cam, point):
    """The pixel (sub-pixel, x then y) where a world point lands in a camera, by hand."""
    p = cam.world_to_cam.double().numpy() @ np.append(point, 1.0)
    return np.array([cam.fx * p[0] / p[2] + cam.cx, cam.fy * p[1] / p[2] + cam.cy])


#: what ns-process-data writes as applied_transform for a COLMAP capture (its axes turned)
_APPLIED = [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, -1.0, 0.0, 0.0]]


def _nerfstudio_run(shift, scale, applied=_APPLIED, applied_scale=1.0):
    """The dataparser_transforms.json nerfstudio writes for a run whose dataparser turned and
    shifted a transforms file's poses by ``shift`` (3 x 4) and scaled them by ``scale``: the
    transform from the frame before the file's ``applied``, the scale times its applied_scale
    (nerfstudio_dataparser.py, DataparserOutputs.save_dataparser_transform)."""
    full = np.vstack([np.asarray(shift), [0.0, 0.0, 0.0, 1.0]]) @ np.vstack(
        [np.asarray(applied), [0.0, 0.0, 0.0, 1.0]])
    return {"transform": full[:3].tolist(), "scale": scale * applied_scale}


def test_a_nerfstudio_splat_is_paired_with_its_transforms_json_through_dataparser_transforms(
        tmp_path):
    """A splat from ns-export gaussian-splat lives where nerfstudio's dataparser moved the
    poses of transforms.json (turned, centred, scaled: dataparser_transforms.json), and the
    cameras were read in the file's own frame: every point landed elsewhere. With the run's
    dataparser_transforms.json beside the file (or given), a point of the splat lands on the
    pixel where the file's camera sees it; the file's applied_transform (or nerfstudio's old
    one where colmap/sparse/0 is beside it) and applied_scale are undone as nerfstudio does."""
    from scipy.spatial.transform import Rotation

    from scenesparse.cameras import cameras_from_transforms, orbit_cameras

    cams = orbit_cameras((0.2, -0.1, 0.3), 3.0, 9, width=W, height=H)
    names = [f"images/frame_{i:05d}.png" for i in range(len(cams))]
    (tmp_path / "images").mkdir()
    for name in names:
        Image.new("RGB", (W, H)).save(tmp_path / name)
    frames = [{"file_path": name, "transform_matrix": (np.linalg.inv(c.world_to_cam.double().numpy())
                                                       @ np.diag([1.0, -1.0, -1.0, 1.0])).tolist()}
              for c, name in zip(cams, names, strict=True)]
    meta = {"fl_x": cams[0].fx, "fl_y": cams[0].fy, "cx": W / 2, "cy": H / 2, "w": W, "h": H,
            "camera_model": "OPENCV", "frames": frames}
    turn = np.hstack([Rotation.from_euler("xyz", [20.0, -35.0, 70.0], degrees=True).as_matrix(),
                      [[0.4], [-1.0], [0.25]]])
    point = np.array([0.25, 0.1, 0.2])  # in the file's frame; the splat's is scale * turn @ point
    at = [_project(c, point) for c in cams]
    transforms, dataparser = tmp_path / "transforms.json", tmp_path / "dataparser_transforms.json"
    for applied, extra, legacy in ((_APPLIED, {"applied_scale": 2.0}, False),
                                   ([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, -1, 0]], {}, True)):
        transforms.write_text(json.dumps({**meta, **extra} if legacy else
                                         {**meta, **extra, "applied_transform": applied}))
        if legacy:  # ns-process-data wrote no applied_transform before, and nerfstudio knows it
            (tmp_path / "colmap" / "sparse" / "0").mkdir(parents=True)
        dataparser.write_text(json.dumps(_nerfstudio_run(turn, 0.3, applied,
                                                         extra.get("applied_scale", 1.0))))
        splat_point = 0.3 * (turn @ np.append(point, 1.0))
        views = photo_views(tmp_path)
        assert "transforms.json (9 views in the frame of dataparser_transforms.json)" in \
            views.description and dataparser in photo_sources(tmp_path)
        ours = [*views.train_cameras, *views.test_cameras]
        expected = [*at[1:8], at[0], at[8]]
        for cam, pixel in zip(ours, expected, strict=True):
            assert np.allclose(_project(cam, splat_point), pixel, atol=1e-3)
        given = cameras_from_transforms(transforms, dataparser_transforms=dataparser)
        assert all(np.allclose(_project(c, splat_point), p, atol=1e-3)
                   for c, p in zip(given, at, strict=True))
    dataparser.unlink()  # the file's own frame, as before
    assert np.allclose(_project(photo_views(tmp_path).test_cameras[0], point), at[0], atol=1e-3)
    assert not np.allclose(_project(photo_views(tmp_path).test_cameras[0], splat_point), at[0],
                           atol=1)


def test_a_dataparser_transforms_that_cannot_be_used_is_refused_by_name(data_dir, tmp_path, cli):
    """dataparser_transforms.json is read beside a transforms file only; given for a folder
    whose cameras come from elsewhere, or not nerfstudio's, it is an error naming it."""
    from scenesparse.cameras import orbit_cameras

    cams = orbit_cameras((0.0, 0.0, 0.0), 1.0, 2, width=W, height=H)
    for name in ("a", "b"):
        Image.new("RGB", (W, H)).save(tmp_path / f"{name}.png")
    (tmp_path / "cameras.json").write_text(json.dumps(_inria_entries(cams, ["a", "b"])))
    dataparser = tmp_path / "dataparser_transforms.json"
    dataparser.write_text(json.dumps(_nerfstudio_run(np.eye(4)[:3], 1.0)))
    with pytest.raises(ValueError, match=r"^dataparser_transforms moves the cameras of a "
                                         r"transforms file .* come from cameras_json"):
        photo_views(tmp_path, cameras_json=tmp_path / "cameras.json",
                    dataparser_transforms=dataparser)
    (tmp_path / "transforms.json").write_text(json.dumps(transforms_json(cams, ["a.png", "b.png"])))
    write_ply(tmp_path / "scene.ply", _scene())
    for content, message in (({"transform": np.eye(4)[:3].tolist()}, "a positive 'scale'"),
                             ({"transform": (2 * np.eye(4)[:3]).tolist(), "scale": 1.0},
                              "its transform is not a rotation and a shift"),
                             ({"transform": [[1, 0], [0, 1]], "scale": 1.0}, "3 x 4 numbers")):
        dataparser.write_text(json.dumps(content))
        with pytest.raises(ValueError, match=rf"dataparser_transforms.json: .*{message}"):
            photo_views(tmp_path)
    cli("scene", "prune-splats", tmp_path / "scene.ply", tmp_path / "out.ply", "--rounds", "1",
        "--images", tmp_path).error_line("dataparser_transforms.json", "not a nerfstudio")
    assert not (tmp_path / "out.ply").exists()
    # beside a COLMAP model or a cameras.json, which the cameras come from: it was passed over
    # in silence (not applied: it describes a transforms file's poses)
    (tmp_path / "own").mkdir()
    _own_scene(data_dir, tmp_path / "own")
    dataparser.write_text(json.dumps(_nerfstudio_run(np.eye(4)[:3], 1.0)))
    for folder, cameras, source in ((tmp_path / "own" / "colmap", None, "its COLMAP model"),
                                    (tmp_path / "own" / "inria",
                                     tmp_path / "own" / "cameras.json", "the cameras.json given")):
        (folder / dataparser.name).write_text(dataparser.read_text())
        message = (f"{folder / dataparser.name} is not applied: it moves the cameras of a "
                   f"transforms file (nerfstudio's), and those of {folder} come from {source}")
        with pytest.warns(UserWarning, match=f"^{re.escape(message)}$") as caught:
            photo_sources(folder, cameras_json=cameras)  # (what a command reads first: silent)
            views = photo_views(folder, cameras_json=cameras)
        assert len(caught) == 1
        assert "frame of" not in views.description
        args = () if cameras is None else ("--cameras", cameras)
        result = cli("scene", "prune-splats", tmp_path / "own" / "scene.ply", tmp_path / "out.ply",
                     "--resolution", str(W), "--rounds", "1", "--images", folder, *args)
        assert result.exit_code == 0, result.output
        assert result.stderr.splitlines().count(f"warning: {message}") == 1, result.stderr


@pytest.mark.parametrize("count, held", [(10, [8]), (20, [9, 18]), (9, [0, 8])])
def test_a_transforms_json_holds_out_nerfstudios_eval_frames_by_file_name(tmp_path, count, held):
    """nerfstudio sorts a transforms.json's frames by file_path and, by default (eval_mode
    "fraction"), trains on 90% of them evenly spaced from the first to the last: every eighth
    view held out had included the first, on which nerfstudio trains, so a splatfacto splat's
    held-out PSNR was measured on its own training views (the frames had been held out in the
    file's order before that). Fewer than 10 frames leave nerfstudio none: every eighth then."""
    from scenesparse.cameras import orbit_cameras

    order = np.random.default_rng(count).permutation(count)
    cams = orbit_cameras((0.0, 0.0, 0.0), 1.0, count, width=W, height=H)
    names = [f"./images/frame_{i:02d}.png" for i in order]
    (tmp_path / "images").mkdir()
    for name in names:
        Image.new("RGB", (W, H)).save(tmp_path / name)
    (tmp_path / "transforms.json").write_text(json.dumps(transforms_json(cams, names)))
    views = photo_views(tmp_path)
    by_name = dict(zip(order.tolist(), cams, strict=True))
    assert len(views.test_cameras) == len(held)
    for ours, theirs in zip(views.test_cameras, [by_name[i] for i in held], strict=True):
        assert torch.allclose(ours.world_to_cam, theirs.world_to_cam, atol=1e-6)
    assert len(views.train_cameras) == count - len(held)
    assert ("held out as nerfstudio does" in views.description) == (count >= 10), views.description
    every = photo_views(tmp_path, hold_every=4)  # asked for: every 4th, whatever the layout
    assert len(every.test_cameras) == len(range(0, count, 4)) and "every 4th" in every.description


def test_a_pose_that_is_no_rotation_is_refused_naming_the_file_and_frame(tmp_path, cli):
    """A transform_matrix scaled (a Blender camera with its object scaled), sheared or mirrored
    was inverted as it was: renders from a camera that is no pinhole, silently wrong. One
    written in float32 (or to a few decimals) still reads, as its nearest rotation."""
    from scipy.spatial.transform import Rotation

    from scenesparse.cameras import cameras_from_transforms

    Image.new("RGB", (W, H)).save(tmp_path / "a.png")
    c2w = np.eye(4)
    c2w[:3, :3] = Rotation.from_euler("xyz", [10.0, -50.0, 120.0], degrees=True).as_matrix()
    c2w[:3, 3] = [0.5, -2.0, 1.0]
    good = {"file_path": "a.png", "transform_matrix": c2w.tolist()}
    path = tmp_path / "transforms.json"
    shear = np.eye(4)
    shear[0, 1] = 0.1
    last = c2w.copy()
    last[3, 2] = 0.5
    for bad in (c2w @ np.diag([1.1, 1.1, 1.1, 1.0]), c2w @ shear, c2w @ np.diag([-1.0, 1, 1, 1]),
                last):
        path.write_text(json.dumps({"camera_angle_x": 0.8, "frames": [
            good, {"file_path": "a.png", "transform_matrix": bad.tolist()}]}))
        with pytest.raises(ValueError, match=r"transforms.json: frame 1's transform_matrix is not "
                                             r"a rotation and a translation"):
            cameras_from_transforms(path)
    write_ply(tmp_path / "scene.ply", _scene())
    cli("scene", "prune-splats", tmp_path / "scene.ply", tmp_path / "out.ply", "--rounds", "1",
        "--images", tmp_path).error_line("transforms.json", "frame 1", "not a rotation")
    assert not (tmp_path / "out.ply").exists()
    rounded = c2w.astype(np.float32).astype(np.float64).round(4)
    path.write_text(json.dumps({"camera_angle_x": 0.8, "frames": [
        good, {"file_path": "a.png", "transform_matrix": rounded.tolist()}]}))
    back = cameras_from_transforms(path)[1].world_to_cam.double().numpy()
    assert np.allclose(back[:3, :3] @ back[:3, :3].T, np.eye(3), atol=1e-6)
    assert np.allclose(np.linalg.inv(back) @ np.diag([1.0, -1.0, -1.0, 1.0]), c2w, atol=1e-3)


def test_an_unreadable_first_photo_of_a_transforms_file_is_named(tmp_path, cli):
    """The first photo of a transforms file gives every frame its size, and one that could not
    be read ended in PIL's "cannot identify image file" instead of the error every other photo
    gives."""
    from scenesparse.cameras import orbit_cameras

    cams = orbit_cameras((0.0, 0.0, 0.0), 1.0, 2, width=W, height=H)
    Image.new("RGB", (W, H)).save(tmp_path / "b.png")
    (tmp_path / "a.png").write_bytes(b"not a photo")
    (tmp_path / "transforms.json").write_text(json.dumps(transforms_json(cams, ["a.png", "b.png"])))
    with pytest.raises(ValueError, match=rf"^{tmp_path / 'a.png'}: not a readable image"):
        photo_views(tmp_path)
    write_ply(tmp_path / "scene.ply", _scene())
    assert cli("scene", "prune-splats", tmp_path / "scene.ply", tmp_path / "out.ply", "--rounds",
               "1", "--images", tmp_path).error_line().startswith(
        f"error: {tmp_path / 'a.png'}: not a readable image")
    assert not (tmp_path / "out.ply").exists()


def test_a_pose_that_is_a_rotation_as_read_is_kept_bit_for_bit(data_dir):
    """Every pose was snapped to its nearest rotation (moving lego's by up to 2.5e-6), so a
    HollowNeRF checkpoint, which knows its views by their bytes, was refused as one of other
    views."""
    from scenesparse.cameras import cameras_from_transforms

    path = data_dir / LEGO / "transforms_train.json"
    frames = json.loads(path.read_text())["frames"]
    flip = np.diag([1.0, -1.0, -1.0, 1.0])
    for cam, frame in zip(cameras_from_transforms(path, width=800, height=800), frames, strict=True):
        c2w = np.asarray(frame["transform_matrix"], dtype=np.float64)
        expected = torch.tensor(np.linalg.inv(c2w @ flip), dtype=torch.float32)
        assert torch.equal(cam.world_to_cam, expected)


def test_a_binary_colmap_model_is_named_with_the_command_that_writes_it_as_text(tmp_path):
    """A folder with only sparse/0/*.bin was told "no COLMAP text model" and nothing of its own."""
    model = tmp_path / "sparse" / "0"
    model.mkdir(parents=True)
    for name in ("cameras.bin", "images.bin", "points3D.bin"):
        (model / name).write_bytes(b"\0" * 8)
    with pytest.raises(FileNotFoundError, match=r"holds a binary COLMAP model: write it as text "
                       r"with `colmap model_converter --input_path .*--output_type TXT`"):
        photo_views(tmp_path)
    (model / "images.bin").unlink()  # no model: the plain message
    with pytest.raises(FileNotFoundError, match=r"where the photos were taken$"):
        photo_views(tmp_path)


def test_a_width_or_a_height_alone_scales_the_other_in_proportion(data_dir, tmp_path):
    """A width alone kept the file's height: lego at width 32 was a 32 x 800 camera, and a
    1920 x 1080 view at width 480 kept 1080 rows with fx scaled and fy not."""
    from scenesparse.cameras import cameras_from_json, cameras_from_transforms, orbit_cameras

    lego = data_dir / LEGO / "transforms_train.json"
    full = cameras_from_transforms(lego)[0]
    for small in (cameras_from_transforms(lego, width=32)[0],
                  cameras_from_transforms(lego, height=32)[0]):
        assert (small.width, small.height) == (32, 32)
        assert small.fx == pytest.approx(full.fx * 32 / 800)
        assert small.fy == pytest.approx(small.fx) and small.cy == pytest.approx(16.0)
    frame = {"transform_matrix": np.eye(4).tolist()}
    (tmp_path / "transforms.json").write_text(json.dumps(
        {"fl_x": 1500.0, "fl_y": 1500.0, "w": 1920, "h": 1080, "frames": [frame]}))
    wide = cameras_from_transforms(tmp_path / "transforms.json", width=480)[0]
    assert (wide.width, wide.height, wide.fx, wide.fy) == (480, 270, 375.0, 375.0)
    both = cameras_from_transforms(lego, width=W, height=H)[0]  # both: the photos' size
    assert (both.width, both.height) == (W, H) and both.fy == pytest.approx(both.fx)
    (tmp_path / "cameras.json").write_text(json.dumps(_inria_entries(
        orbit_cameras((0.0, 0.0, 0.0), 0.5, 1, width=40, height=30), ["a"])))
    cam = cameras_from_json(tmp_path / "cameras.json", height=15)[0][0]
    assert (cam.width, cam.height) == (20, 15)
    (tmp_path / "cameras.txt").write_text("# c\n1 PINHOLE 40 30 50 50 20 15\n")
    (tmp_path / "images.txt").write_text("# i\n1 1 0 0 0 0 0 2 1 a.png\n\n")
    cam = cameras_from_colmap(tmp_path, width=20)[0][0]
    assert (cam.width, cam.height, cam.fx, cam.fy) == (20, 15, 25.0, 25.0)
    with pytest.raises(ValueError, match="width must be"):  # a 0-pixel camera was made
        cameras_from_colmap(tmp_path, width=0)
    with pytest.raises(ValueError, match="height must be"):
        cameras_from_json(tmp_path / "cameras.json", height=-3)
    with pytest.raises(ValueError, match="^width must be"):  # blamed lego's intrinsics
        cameras_from_transforms(lego, width=0, height=0)


def test_a_photo_is_composited_over_a_background_given_by_name(tmp_path):
    """load_image(path, w, h, "white") was "could not convert string to float: 'white'", after
    the photo was read."""
    from scenesparse.photos import load_image

    path = tmp_path / "a.png"
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(path)  # transparent: the background shows
    assert torch.equal(load_image(path, 4, 4, "white"), torch.ones(4, 4, 3))
    with pytest.raises(ValueError, match="background must be black, white or three finite"):
        load_image(tmp_path / "missing.png", 4, 4, "grey")  # before the file is read


def test_photo_views_refuse_an_8_bit_background(data_dir):
    """A white of (255, 255, 255) was composited onto photos read in [0, 1]."""
    with pytest.raises(ValueError, match=r"background must lie in \[0, 1\], got \(255, 255, "
                                         r"255\) \(divide 8-bit colours by 255\)"):
        photo_views(data_dir / LEGO, background=(255, 255, 255))


@pytest.mark.parametrize("change, message", [
    ({"fov_deg": 0}, r"fov_deg must be a finite number > 0 and < 180, got 0"),  # ZeroDivisionError
    ({"fov_deg": 180}, r"fov_deg must be a finite number > 0 and < 180, got 180"),
    ({"elevations_deg": ()}, r"elevations_deg must be a non-empty list of angles"),
    ({"elevations_deg": [15, float("nan")]}, r"elevations_deg\[1\] must be a finite number, got nan"),
    ({"num_views": 2.5}, r"num_views must be an integer, got 2.5"),
    ({"num_views": True}, r"num_views must be an integer, got True"),  # one view, silently
    ({"num_views": 0}, r"num_views must be >= 1, got 0"),
    ({"distance": 0}, r"distance must be a finite number > 0, got 0"),  # NaN poses
    ({"up": (0, 0, 0)}, r"up must be a nonzero finite 3-vector"),
    ({"center": (float("nan"), 0, 0)}, r"center must be a finite 3-vector, got \[nan"),
    ({"center": (1, 2)}, r"center must be a finite 3-vector, got \(1, 2\)"),
    ({"width": 32.5}, r"width must be an integer, got 32.5"),
])
def test_orbit_cameras_refuse_what_makes_no_camera(change, message):
    """Each was accepted, or failed with ZeroDivisionError or a TypeError of numpy's; NaN poses
    failed only when rendered, naming world_to_cam."""
    from scenesparse.cameras import orbit_cameras
    from sparsebox.exceptions import InvalidParameterError

    args = {"center": (0.0, 0.0, 0.0), "distance": 1.0, "num_views": 3, **change}
    with pytest.raises(InvalidParameterError, match=message):
        orbit_cameras(args.pop("center"), args.pop("distance"), args.pop("num_views"), **args)
    assert len(orbit_cameras((0, 0, 0), 1.0, np.array(3), elevations_deg=np.array([10.0]))) == 3
    top = orbit_cameras((0, 0, 0), 1.0, 2, elevations_deg=[90.0, -90.0])  # look_at takes them
    assert all(torch.isfinite(c.world_to_cam).all() for c in top)
