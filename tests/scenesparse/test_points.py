import json
import warnings
from fractions import Fraction

import numpy as np
import pytest

from scenesparse import points as P
from scenesparse.pointio import PointCloud, read_points, write_points
from scenesparse.surface import read_mesh, sample_surface
from sparsebox.exceptions import InvalidParameterError


@pytest.fixture(scope="module")
def bunny(data_dir):
    v, f = read_mesh(data_dir / "3d/meshes/bunny_trimesh_res2.ply")
    return sample_surface(v, f, 60_000, seed=0)


def test_surface_sampling_is_on_the_mesh(data_dir):
    v, f = read_mesh(data_dir / "3d/meshes/bunny_trimesh_res2.ply")
    assert f.shape == (16301, 3)
    pts = sample_surface(v, f, 1000, seed=1)
    assert np.all(pts.min(0) >= v.min(0) - 1e-12) and np.all(pts.max(0) <= v.max(0) + 1e-12)


def test_knn_graph_is_a_structure_with_k_neighbours(bunny):
    g = P.knn_graph(bunny[:2000], k=8)
    assert g.num_nodes == 2000 and g.num_edges == 16000 and not g.is_undirected
    assert np.all(np.diff(g.indptr) == 8) and np.all(g.rows != g.cols)


def test_curvature_score_is_geometric():
    """On a flat square with random (tangential) sampling the score is zero, while the raw
    high-pass response is not; a bump raises the score where it curves."""
    rng = np.random.default_rng(0)
    xy = rng.random((4000, 2))
    flat = np.column_stack([xy, np.zeros(4000)])
    assert np.max(P.curvature_scores(flat)) < 1e-9
    bump = flat.copy()
    bump[:, 2] = 0.05 * np.exp(-((xy - 0.5) ** 2).sum(1) / 0.005)
    s = P.curvature_scores(bump)
    centre = ((xy - 0.5) ** 2).sum(1) < 0.01
    assert s[centre].mean() > 10 * s[((xy - 0.5) ** 2).sum(1) > 0.2].mean()


def test_graph_resampling_exact_count_and_keeps_detail(bunny):
    mask = P.GraphResampler(keep_ratio=0.1, seed=0).fit(bunny).mask_
    assert mask.sum() == 6000
    _, idx = P.knn(bunny, 10)
    _, variation = P.local_pca(bunny, idx)
    top = variation >= np.quantile(variation, 0.9)
    kept_top = mask[top].mean()
    uniform = P.GraphResampler(keep_ratio=0.1, uniform_share=1.0, seed=0).fit(bunny).mask_
    assert abs(uniform[top].mean() - 0.1) < 0.03
    assert kept_top > 0.15  # well above the uniform rate of 0.10


def test_open3d_methods_return_masks(bunny):
    assert P.UniformDownsampler(keep_ratio=0.1).fit(bunny).mask_.sum() == 6000
    every_tenth = P.UniformDownsampler(keep_ratio=0.1).fit(bunny).mask_
    assert np.array_equal(np.flatnonzero(every_tenth), np.arange(0, 60_000, 10))  # open3d's k=10
    assert P.FarthestPointSampler(budget=500).fit(bunny[:5000]).mask_.sum() == 500
    voxel = P.VoxelDownsampler(keep_ratio=0.1).fit(bunny)
    assert voxel.mask_.sum() == 6000  # exact, from the most populated voxels
    free = P.VoxelDownsampler(voxel_size=voxel.voxel_size_).fit(bunny).mask_
    assert free.sum() >= 6000 and not (voxel.mask_ & ~free).any()
    noisy = np.concatenate([bunny, bunny.mean(0) + np.random.default_rng(0).normal(0, 1, (50, 3))])
    fitted = P.StatisticalOutlierRemover().fit(noisy)
    stat = fitted.mask_
    assert stat[-50:].sum() <= 2 and stat[:-50].mean() > 0.95
    # open3d's mask is a threshold on the scores (the point itself counted as a neighbour)
    assert fitted.scores_[stat].min() > fitted.scores_[~stat].max()
    rad = P.RadiusOutlierRemover(radius=0.005, min_points=4).fit(noisy).mask_
    assert rad[-50:].sum() == 0
    auto = P.RadiusOutlierRemover(min_points=4).fit(noisy)
    assert auto.mask_[-50:].sum() == 0 and auto.radius_ > 0


@pytest.mark.parametrize("method", ["VoxelDownsampler", "FarthestPointSampler",
                                    "StatisticalOutlierRemover", "RadiusOutlierRemover",
                                    "UniformDownsampler", "GraphResampler"])
def test_a_read_only_cloud_is_read_as_a_writable_one(method, tmp_path):
    """open3d's methods raised "ValueError: array is not writeable" on np.load(mmap_mode="r")."""
    points = np.random.default_rng(0).random((300, 3))
    np.save(tmp_path / "p.npy", points)
    size = {} if method in ("StatisticalOutlierRemover", "RadiusOutlierRemover") else \
        {"keep_ratio": 0.5}
    mapped = np.load(tmp_path / "p.npy", mmap_mode="r")
    assert not mapped.flags.writeable
    got = getattr(P, method)(**size).fit(mapped).mask_
    assert np.array_equal(got, getattr(P, method)(**size).fit(points).mask_)


def test_radius_outlier_removal_by_default_removes_isolated_points_only(bunny, data_dir):
    """Its default radius, three median nearest-neighbour distances, held about 16 neighbours
    of a point of an even surface or volume, as many as min_points asks: the bunny mesh's
    vertices lost 42%, points drawn on its surface 32%, a uniform cube 33%."""
    rng = np.random.default_rng(0)
    vertices, _ = read_mesh(data_dir / "3d/meshes/bunny_trimesh_res2.ply")
    # (a volume's points on its faces have half the neighbours: 3% of the cube's go)
    for clean, kept in ((vertices, 0.99), (bunny, 0.99), (rng.random((20_000, 3)), 0.95)):
        floaters = clean.mean(0) + 10 * np.ptp(clean, axis=0).max() * rng.normal(size=(20, 3))
        fitted = P.RadiusOutlierRemover().fit(np.vstack([clean, floaters]))
        assert fitted.mask_[: len(clean)].mean() > kept and not fitted.mask_[len(clean):].any()


def test_radius_outlier_removal_s_default_radius_is_clear_of_the_distances_between_points():
    """At a distance between points (a grid's), open3d's rounding decided whether a neighbour
    there counted: a 30 x 30 grid kept 896, 888 or 892 points by its spacing, its mask and its
    scores disagreeing; two points with min_points=1 were both removed."""
    grid = np.stack(np.meshgrid(np.arange(30.0), np.arange(30.0)), -1).reshape(-1, 2)
    grid = np.c_[grid, np.zeros(len(grid))]
    kept = set()
    for spacing in (1.0, 0.1, 0.01):
        fitted = P.RadiusOutlierRemover().fit(grid * spacing)
        assert np.array_equal(fitted.mask_, fitted.scores_ >= 16)
        kept.add(int(fitted.mask_.sum()))
    assert kept == {896}
    assert P.RadiusOutlierRemover(min_points=1).fit([[0.0, 0, 0], [1.0, 0, 0]]).mask_.all()


def test_radius_outlier_removal_takes_its_radius_past_duplicate_points():
    """Most points duplicated: the median nearest-neighbour distance was 0, a radius open3d
    refused with a raw RuntimeError."""
    rng = np.random.default_rng(0)
    pts = np.vstack([np.zeros((30, 3)), rng.random((10, 3))])
    auto = P.RadiusOutlierRemover(min_points=2).fit(pts)
    assert auto.radius_ > 0 and auto.mask_[:30].all()
    cloud = rng.random((100, 3))  # every point twice, as merged scans give
    twice = P.RadiusOutlierRemover(min_points=2).fit(np.vstack([cloud, cloud]))
    assert twice.radius_ == pytest.approx(P.RadiusOutlierRemover(min_points=2).fit(cloud).radius_)
    with pytest.raises(InvalidParameterError, match="radius: all the points coincide"):
        P.RadiusOutlierRemover().fit(np.zeros((5, 3)))


def test_chamfer_and_hausdorff_by_hand():
    a = np.array([[0.0, 0, 0], [1.0, 0, 0]])
    b = np.array([[0.0, 0, 0]])
    chamfer, hausdorff = P.chamfer_hausdorff(a, b)
    assert chamfer == pytest.approx(0.5) and hausdorff == pytest.approx(1.0)


def test_floaters_removed_from_the_splat_scene(tmp_path, data_dir, cli):
    src = data_dir / "3d/gaussians/gshairlod_donut_fused_sh0.ply"
    cloud = read_points(src)
    far = cloud.subset(np.arange(3))
    far.data["x"] += 0.5  # three splats well outside the donut
    both = PointCloud(np.concatenate([cloud.data, far.data]))
    path = tmp_path / "with_floaters.ply"
    write_points(path, both)
    out = tmp_path / "clean.ply"
    result = cli(*["scene", "remove-floaters", str(path), str(out)])
    assert result.exit_code == 0, result.output
    clean = read_points(out)
    assert clean.fields == cloud.fields
    assert clean.data["x"].max() < 0.2  # the far splats are gone
    assert len(clean) > 0.9 * len(cloud)


@pytest.mark.parametrize("method, extra", [("graph", ["--keep-ratio", "0.2"]),
                                           ("voxel", ["--keep-ratio", "0.2"]),
                                           ("uniform", ["--keep-ratio", "0.2"]),
                                           ("statistical", []),
                                           ("radius", ["--radius", "0.01", "--min-points", "2"])])
def test_prune_points_cli_writes_cloud_and_report(tmp_path, bunny, method, extra, cli):
    src = tmp_path / "bunny.pcd"
    rgb = (np.arange(20_000) % 255).astype(np.uint8)
    write_points(src, PointCloud.from_xyz(bunny[:20_000], red=rgb))
    out, report = tmp_path / "out.ply", tmp_path / "report.json"
    result = cli(*["scene", "prune-points", str(src), str(out), "--method",
                                      method, *extra, "--report", str(report)])
    assert result.exit_code == 0, result.output
    r = json.loads(report.read_text())
    assert set(r) >= {"total", "kept", "chamfer", "hausdorff", "seconds"}
    kept = read_points(out)
    assert len(kept) == r["kept"] and r["total"] == 20_000 and "red" in kept.fields
    if method in ("graph", "uniform"):
        assert r["kept"] == 4000


def test_prune_points_cli_errors(tmp_path, bunny, cli):
    src = tmp_path / "b.xyz"
    write_points(src, PointCloud.from_xyz(bunny[:1000]))
    result = cli("scene", "prune-points", src, tmp_path / "o.ply", "--method", "statistical",
                 "--keep-ratio", "0.5")
    assert result.exit_code == 2 and "--keep-ratio" in result.stderr
    assert "takes no size" in result.stderr and not (tmp_path / "o.ply").exists()
    default = cli("scene", "prune-points", src, tmp_path / "o.ply", "--method", "graph")
    assert default.exit_code == 0 and json.loads(default.stdout)["kept"] == 100  # keep 0.1


def test_a_mesh_keeps_its_faces(tmp_path, data_dir, cli):
    """Faces of a mesh given to prune-points are renumbered, and those that lose a vertex go."""
    mesh = read_points(data_dir / "3d/meshes/bunny_trimesh_res2.ply")
    out = tmp_path / "half.ply"
    result = cli("scene", "prune-points", "bunny", out, "--method", "uniform", "--keep-ratio", "0.5")
    assert result.exit_code == 0, result.output
    kept = read_points(out)
    mask = P.UniformDownsampler(keep_ratio=0.5).fit(mesh.points).mask_
    old_to_new = np.cumsum(mask) - 1
    expected = [old_to_new[f] for f in mesh.faces["vertex_indices"] if mask[f].all()]
    assert len(kept.faces) == len(expected) == json.loads(result.stdout)["faces"]["kept"] > 0
    assert all(np.array_equal(a, b) for a, b in zip(kept.faces["vertex_indices"], expected,
                                                     strict=True))
    refused = cli("scene", "prune-points", "bunny", tmp_path / "half.xyz", "--method", "uniform")
    assert refused.exit_code == 2 and "cannot hold them" in refused.stderr


def test_remove_floaters_on_a_mesh_keeps_its_faces(tmp_path, data_dir, cli):
    """remove-floaters takes a mesh as prune-points does; its summary had no faces count."""
    mesh = read_points(data_dir / "3d/meshes/bunny_trimesh_res2.ply")
    out = tmp_path / "clean.ply"
    result = cli("scene", "remove-floaters", "bunny", out, "--std-ratio", "1.0")
    assert result.exit_code == 0, result.output
    mask = P.StatisticalOutlierRemover(std_ratio=1.0).fit(mesh.points).mask_
    kept = read_points(out)
    expected = sum(bool(mask[f].all()) for f in mesh.faces["vertex_indices"])
    assert 0 < len(kept) == mask.sum() < len(mesh)
    assert json.loads(result.stdout)["faces"] == {"total": len(mesh.faces), "kept": expected}
    assert len(kept.faces) == expected < len(mesh.faces)
    assert "(amesh'sTARGETmustbe.ply)" in "".join(cli("scene", "remove-floaters", "--help")
                                                    .stdout.split())


@pytest.mark.parametrize("command", ["prune-points", "remove-floaters"])
def test_a_pts_target_is_refused_before_work_when_it_cannot_hold_the_fields(tmp_path, cli, command):
    src = tmp_path / "c.ply"
    write_points(src, PointCloud.from_xyz(np.random.default_rng(0).random((300, 3)),
                                          confidence=np.ones(300)))
    out = tmp_path / "o.pts"
    refused = cli("scene", command, src, out)
    assert refused.exit_code == 2, refused.output
    assert refused.error_line("TARGET") == (f"error: Invalid value for TARGET: {out}: a .pts file holds "
                                            "x y z [intensity] [red green blue], not the fields "
                                            "confidence; write .ply, .pcd or .xyz to keep them")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.ply"]


def test_a_ply_target_that_cannot_hold_64_bit_values_is_refused_before_work(tmp_path, cli):
    """The error named neither TARGET nor the file, and came after the method had run."""
    src = tmp_path / "stamped.pcd"
    rng = np.random.default_rng(0)
    write_points(src, PointCloud.from_xyz(rng.random((300, 3)).astype(np.float32),
                                          stamp=np.arange(300, dtype=np.uint64) << np.uint64(40)))
    out = tmp_path / "o.ply"
    refused = cli("scene", "prune-points", src, out, "--method", "uniform")
    assert refused.exit_code == 2, refused.output
    assert refused.error_line("TARGET") == (f"error: Invalid value for TARGET: {out}: property "
                                            "'stamp' holds uint64 values beyond uint32 (PLY has "
                                            "no 64-bit integers); write .pcd")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stamped.pcd"]


def test_open3d_missing_gives_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_open3d(name, *args, **kwargs):
        if name == "open3d" or name.startswith("open3d."):
            raise ImportError("No module named 'open3d'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_open3d)
    with pytest.raises(ImportError, match=r"pip install 'sparsebox\[points\]'"):
        P.StatisticalOutlierRemover().fit(np.random.default_rng(0).random((50, 3)))
    # graph resampling does not need open3d
    assert P.GraphResampler(budget=50).fit(np.random.default_rng(0).random((500, 3))).mask_.sum() \
        == 50


@pytest.mark.parametrize("sampler", ["VoxelDownsampler", "FarthestPointSampler"])
@pytest.mark.parametrize("size", [{"budget": 205}, {"budget": 210}, {"keep_ratio": 0.98},
                                  {"budget": 150}])
def test_samplers_meet_the_count_on_clouds_with_duplicates(sampler, size):
    rng = np.random.default_rng(0)
    unique = rng.random((200, 3))
    pts = np.vstack([unique, unique[:10]])  # 210 points in 200 places
    mask = getattr(P, sampler)(**size).fit(pts).mask_
    expected = size.get("budget") or round(size["keep_ratio"] * len(pts))
    assert mask.sum() == expected
    if expected <= 200:  # every place at most once while there are places enough
        assert len(np.unique(pts[mask], axis=0)) == expected


@pytest.mark.parametrize("case", ["cube", "line", "duplicates"])
def test_knn_excludes_the_point_itself_and_agrees_with_brute_force(case):
    rng = np.random.default_rng(0)
    pts = {"cube": rng.random((400, 3)),
           "line": np.arange(50)[:, None] * np.array([[1.0, 0.0, 0.0]]),
           "duplicates": np.repeat(rng.random((100, 3)), 4, axis=0)}[case]
    dist, idx = P.knn(pts, 8)
    full = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    np.fill_diagonal(full, np.inf)
    assert np.allclose(dist, np.sort(full, axis=1)[:, :8], atol=1e-12)
    assert np.all(idx != np.arange(len(pts))[:, None])
    assert np.allclose(np.linalg.norm(pts[idx] - pts[:, None], axis=2), dist)


def test_geometry_kernel_matches_the_numpy_reference(bunny):
    from scenesparse._points_numba import geometry

    pts = np.ascontiguousarray(bunny[:3000])
    dist, idx = P.knn(pts, 10)
    g = P.knn_graph(pts, 10, dist=dist, idx=idx)
    args = (pts, g.indptr, g.indices, g.weight, np.mean(dist**2, axis=1))
    score, normals, variation = geometry(*args)
    ref_score, ref_normals, ref_variation = P.geometry_reference(*args)
    assert np.allclose(score, ref_score, rtol=1e-6, atol=1e-9 * ref_score.max())
    assert np.allclose(variation, ref_variation, rtol=1e-6, atol=1e-12)
    assert np.allclose(np.abs((normals * ref_normals).sum(1)), 1.0, atol=1e-6)  # up to sign


def test_points_with_every_neighbour_at_their_place_score_zero_not_rounding_noise():
    """Twelve copies of a point (k 10): its neighbours are all at distance 0, so its high-pass
    response is rounding noise; divided by that zero spread it scored about 1e284, and the rest
    of the cloud's curvature weights fell to nothing beside it (a uniform draw)."""
    rng = np.random.default_rng(0)
    pts = rng.random((500, 3)) + np.array([0.1, 0.2, 0.3])
    cloud = np.vstack([pts, np.repeat(pts[:30], 12, axis=0)])
    score = P.curvature_scores(cloud)
    assert np.all(score[500:] == 0) and score.max() < 100
    dist, idx = P.knn(cloud, 10)
    g = P.knn_graph(cloud, 10, dist=dist, idx=idx)
    ref, _, _ = P.geometry_reference(cloud, g.indptr, g.indices, g.weight,
                                     np.mean(dist**2, axis=1))
    assert np.all(ref[500:] == 0) and np.allclose(score, ref, rtol=1e-6, atol=1e-6 * ref.max())


@pytest.mark.parametrize("case", ["line", "scan lines", "copies"])
def test_a_neighbourhood_on_a_line_gets_a_normal_across_it(case):
    """Where a point's neighbours lie on a line (a scan line, or a point beside a pile of copies
    of another) the covariance's smallest eigenvalue is double: any vector across the line is
    a normal. The kernel took one from rounding noise, often along the line, and so scored a
    flat plane scanned in tilted lines up to 31 where the reference scores 1e-9."""
    rng = np.random.default_rng(0)
    if case == "line":
        t = np.sort(rng.random(300))
        pts = np.column_stack([t, 2 * t, 3 * t]) + 0.1
    elif case == "scan lines":  # a plane, tilted, scanned in lines 50 times its point spacing
        lines = [np.column_stack([np.sort(rng.random(1000)), np.full(1000, 0.05 * i),
                                  np.zeros(1000)]) for i in range(20)]
        turn = np.linalg.qr(rng.standard_normal((3, 3)))[0]
        pts = np.vstack(lines) @ turn.T + np.array([0.3, 0.7, 1.1])
    else:
        pts = rng.random((500, 3)) + np.array([0.1, 0.2, 0.3])
        pts = np.vstack([pts, np.repeat(pts[:30], 12, axis=0)])
    score = P.curvature_scores(pts)
    dist, idx = P.knn(pts, 10)
    g = P.knn_graph(pts, 10, dist=dist, idx=idx)
    ref, ref_normals, _ = P.geometry_reference(pts, g.indptr, g.indices, g.weight,
                                               np.mean(dist**2, axis=1))
    bound = 1e-6 if case != "copies" else 1e-6 * ref.max()
    assert np.allclose(score, ref, rtol=1e-6, atol=bound)
    if case != "copies":  # flat: nothing to keep for its detail
        assert score.max() < 1e-6


def test_an_open3d_cloud_goes_in_and_comes_out_with_its_colours():
    import open3d as o3d

    rng = np.random.default_rng(0)
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(rng.random((200, 3))))
    cloud.colors = o3d.utility.Vector3dVector(rng.random((200, 3)))
    sampler = P.FarthestPointSampler(budget=50).fit(cloud)
    kept = sampler.transform(cloud)
    assert isinstance(kept, o3d.geometry.PointCloud)
    mask = sampler.mask_
    np.testing.assert_array_equal(np.asarray(kept.points), np.asarray(cloud.points)[mask])
    np.testing.assert_array_equal(np.asarray(kept.colors), np.asarray(cloud.colors)[mask])


def test_write_points_names_what_it_takes_when_given_an_open3d_cloud_or_an_array(tmp_path):
    """The point methods return an open3d cloud or an array in the kind they took; writing one
    was an AttributeError on 'faces'."""
    import open3d as o3d

    xyz = np.random.default_rng(0).random((5, 3))
    for cloud, kind in ((o3d.geometry.PointCloud(o3d.utility.Vector3dVector(xyz)), "PointCloud"),
                        (xyz, "ndarray")):
        with pytest.raises(InvalidParameterError, match=rf"takes a scenesparse PointCloud, got "
                                                        rf"{kind}: make one with PointCloud.from_xyz"):
            write_points(tmp_path / "o.ply", cloud)
    assert not (tmp_path / "o.ply").exists()


def test_a_gaussian_scene_is_a_cloud_of_its_centres_and_keeps_its_gaussians_whole(data_dir):
    """The module promises floater removal for splats; a GaussianScene was a TypeError on
    float()."""
    from scenesparse.gaussians import read_ply

    scene = read_ply(data_dir / "3d/gaussians/gshairlod_donut_fused_sh0.ply").subset(
        np.arange(45624) % 20 == 0)
    remover = P.StatisticalOutlierRemover().fit(scene)
    centres = P.StatisticalOutlierRemover().fit(scene.means.numpy())
    np.testing.assert_array_equal(remover.mask_, centres.mask_)
    assert 0 < (~remover.mask_).sum() < len(scene) // 10
    kept = remover.transform(scene)
    assert type(kept) is type(scene) and len(kept) == int(remover.mask_.sum())
    np.testing.assert_array_equal(kept.opacity_logits.numpy(),
                                  scene.opacity_logits.numpy()[remover.mask_])


def test_an_open3d_tensor_cloud_goes_in_and_comes_out_with_its_attributes():
    """open3d.t's PointCloud failed with "float() argument must be a string or a real number,
    not 'open3d.pybind.t.geometry.PointCloud'"."""
    import open3d as o3d

    rng = np.random.default_rng(0)
    xyz, colours = rng.random((200, 3)).astype(np.float32), rng.random((200, 3)).astype(np.float32)
    cloud = o3d.t.geometry.PointCloud(o3d.core.Tensor(xyz))
    cloud.point.colors = o3d.core.Tensor(colours)
    sampler = P.FarthestPointSampler(budget=50).fit(cloud)
    kept = sampler.transform(cloud)
    assert isinstance(kept, o3d.t.geometry.PointCloud)
    np.testing.assert_array_equal(kept.point.positions.numpy(), xyz[sampler.mask_])
    np.testing.assert_array_equal(kept.point.colors.numpy(), colours[sampler.mask_])
    np.testing.assert_array_equal(sampler.mask_, P.FarthestPointSampler(budget=50).fit(xyz).mask_)
    empty = P.VoxelDownsampler(keep_ratio=0.5).fit(o3d.t.geometry.PointCloud())
    assert empty.mask_.shape == (0,)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_voxel_on_no_points_and_on_points_at_one_place():
    assert P.VoxelDownsampler(keep_ratio=0.5).fit(np.zeros((0, 3))).mask_.shape == (0,)
    for sampler in (P.VoxelDownsampler, P.FarthestPointSampler):  # no point to meet a budget
        with pytest.raises(InvalidParameterError, match="budget must be <= 0, got 1"):
            sampler(budget=1).fit(np.zeros((0, 3)))
    # one occupied voxel: its representative, then the other points to meet the count
    assert P.VoxelDownsampler(budget=1).fit(np.zeros((5, 3))).mask_.tolist() == [
        True, False, False, False, False]
    assert P.VoxelDownsampler(budget=3).fit(np.zeros((5, 3))).mask_.sum() == 3


def test_statistical_test_takes_as_many_points_as_neighbours_like_open3d():
    pts = np.random.default_rng(0).random((5, 3))
    assert P.StatisticalOutlierRemover(nb_neighbors=5).fit(pts).mask_.shape == (5,)
    with pytest.raises(InvalidParameterError, match="needs at least 5 points, got 4"):
        P.StatisticalOutlierRemover(nb_neighbors=5).fit(pts[:4])


def _open3d_voxel_count(pts, voxel_size):
    import open3d as o3d

    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts))
    return len(cloud.voxel_down_sample(voxel_size).points)


@pytest.mark.parametrize("voxel_size", [0.1, 0.25, 0.5, 0.033, 1.0])
def test_voxel_size_keeps_one_point_per_voxel_of_open3ds_grid(voxel_size):
    """open3d's voxel_down_sample starts its grid half a voxel below the minimum bound; the
    grid used to start at the bound (629 / 64 / 8 points kept at 0.1 / 0.25 / 0.5, not 694 /
    124 / 27)."""
    pts = np.random.default_rng(0).random((1000, 3))
    mask = P.VoxelDownsampler(voxel_size=voxel_size).fit(pts).mask_
    assert mask.sum() == _open3d_voxel_count(pts, voxel_size)
    voxel = np.floor((pts[mask] - (pts.min(0) - voxel_size / 2)) / voxel_size)
    assert len(np.unique(voxel, axis=0)) == mask.sum()


@pytest.mark.parametrize("budget", [27, 50, 124, 300, 694])
def test_voxel_budget_search_uses_open3ds_grid(budget):
    """The size the search finds gives exactly the budget in open3d's own down-sampling."""
    pts = np.random.default_rng(0).random((1000, 3))
    fitted = P.VoxelDownsampler(budget=budget).fit(pts)
    assert _open3d_voxel_count(pts, fitted.voxel_size_) == budget
    free = P.VoxelDownsampler(voxel_size=fitted.voxel_size_).fit(pts).mask_
    np.testing.assert_array_equal(fitted.mask_, free)


def test_occupied_voxels_counts_open3ds_voxels(bunny):
    for voxel_size in np.geomspace(1e-4, 0.2, 25):
        assert P._occupied_voxels(bunny, voxel_size) == _open3d_voxel_count(bunny, voxel_size)


def test_voxel_size_too_small_for_the_extent_is_refused_where_open3d_refuses_it():
    """open3d fails with a bare RuntimeError when its grid numbers more voxels along an axis
    than an int holds."""
    pts = np.random.default_rng(0).random((1000, 3))
    with pytest.raises(InvalidParameterError, match=r"^voxel_size 1e-12 is too small"):
        P.VoxelDownsampler(voxel_size=1e-12).fit(pts)
    limit = float(np.max(pts.max(0) - pts.min(0))) / (np.iinfo(np.int32).max - 1)
    for voxel_size in (np.nextafter(limit, 0), limit, np.nextafter(limit, 1)):
        try:
            expected = _open3d_voxel_count(pts, voxel_size)
        except RuntimeError:
            with pytest.raises(InvalidParameterError, match="voxel_size"):
                P.VoxelDownsampler(voxel_size=voxel_size).fit(pts)
        else:
            assert P.VoxelDownsampler(voxel_size=voxel_size).fit(pts).mask_.sum() == expected
    assert P.VoxelDownsampler(voxel_size=1e-12).fit(np.ones((4, 3))).mask_.sum() == 1


@pytest.mark.parametrize("method", [P.GraphResampler(budget=20), P.VoxelDownsampler(budget=20),
                                    P.UniformDownsampler(budget=20),
                                    P.FarthestPointSampler(budget=20),
                                    P.StatisticalOutlierRemover(),
                                    P.RadiusOutlierRemover(min_points=2)],
                         ids=lambda method: type(method).__name__)
def test_point_methods_take_scikit_learns_y_and_ignore_it(method):
    from sklearn.pipeline import make_pipeline

    pts = np.random.default_rng(0).random((200, 3))
    expected = method.fit(pts).transform(pts)
    np.testing.assert_array_equal(method.fit(pts, None).transform(pts), expected)
    np.testing.assert_array_equal(method.fit_transform(pts, None), expected)
    np.testing.assert_array_equal(make_pipeline(method).fit_transform(pts), expected)
    np.testing.assert_array_equal(make_pipeline(method).fit(pts).transform(pts), expected)


def test_a_ply_element_that_is_not_kept_is_named_in_a_warning_line(tmp_path, cli):
    from plyfile import PlyData, PlyElement

    vertex = np.zeros(50, dtype=[("x", "f4"), ("y", "f4"), ("z", "f4")])
    vertex["x"], vertex["y"] = np.arange(50), np.arange(50) % 7
    edges = np.zeros(3, dtype=[("vertex1", "i4"), ("vertex2", "i4")])
    src = tmp_path / "edges.ply"
    PlyData([PlyElement.describe(vertex, "vertex"), PlyElement.describe(edges, "edge")],
            obj_info=["made by hand"]).write(str(src))
    result = cli("scene", "prune-points", src, tmp_path / "out.ply", "--method", "uniform",
                 "--keep-ratio", "0.5")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"warning: {src}: its edge element and its obj_info lines are not read; a cloud written "
        "from it has only its vertices"]
    PlyData([PlyElement.describe(vertex, "vertex"), PlyElement.describe(edges, "edge")]).write(
        str(src))  # one element, and no faces
    again = cli("scene", "prune-points", src, tmp_path / "out2.ply", "--method", "uniform",
                "--keep-ratio", "0.5")
    assert again.stderr.splitlines() == [
        f"warning: {src}: its edge element is not read; a cloud written from it has only its "
        "vertices"]


def test_a_batch_s_workers_show_warnings_as_lines_too(tmp_path):
    from plyfile import PlyData, PlyElement

    folder = tmp_path / "in"
    folder.mkdir()
    vertex = np.zeros(50, dtype=[("x", "f4"), ("y", "f4"), ("z", "f4")])
    vertex["x"], vertex["y"] = np.arange(50), np.arange(50) % 7
    edges = np.zeros(3, dtype=[("vertex1", "i4"), ("vertex2", "i4")])
    for name in ("a.ply", "b.ply"):
        PlyData([PlyElement.describe(vertex, "vertex"),
                 PlyElement.describe(edges, "edge")]).write(str(folder / name))
    import subprocess
    import sys

    result = subprocess.run(  # in its own process: the workers write to the real stderr
        [sys.executable, "-m", "sparsebox.cli", "scene", "prune-points", str(folder), "--out",
         str(tmp_path / "out"), "--method", "uniform", "--keep-ratio", "0.5", "--jobs", "2"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if "edge element" in ln]
    assert sorted(lines) == [f"warning: {folder / n}: its edge element is not read; a cloud "
                             "written from it has only its vertices" for n in ("a.ply", "b.ply")]


def test_an_empty_open3d_tensor_cloud_comes_back_empty_and_one_without_positions_is_refused():
    """An empty open3d.t cloud was fitted, then transform failed inside open3d with
    "IndexError: _Map_base::at"; a cloud of colours without positions was fitted as 0 points."""
    import open3d as o3d

    for empty in (o3d.t.geometry.PointCloud(),
                  o3d.t.geometry.PointCloud(o3d.core.Tensor(np.zeros((0, 3), np.float32)))):
        kept = P.UniformDownsampler(keep_ratio=0.5).fit_transform(empty)
        assert isinstance(kept, o3d.t.geometry.PointCloud) and kept.is_empty()
    colours = o3d.t.geometry.PointCloud()
    colours.point.colors = o3d.core.Tensor(np.ones((5, 3), np.float32))
    with pytest.raises(InvalidParameterError, match="PointCloud has no positions, only colors"):
        P.UniformDownsampler(keep_ratio=0.5).fit(colours)


@pytest.mark.parametrize("command", ["prune-points", "remove-floaters"])
def test_a_warning_of_the_writer_names_the_target_not_its_temporary_name(tmp_path, cli, command):
    """The warning named the hidden file written before the move, .o.partial-<pid>.pcd."""
    src = tmp_path / "survey.ply"
    xyz = np.random.default_rng(0).random((300, 3)) + [5e6, 4e6, 0.0]
    write_points(src, PointCloud.from_xyz(xyz))
    out = tmp_path / "o.pcd"
    result = cli("scene", command, src, out)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"warning: {out}: x y z written as 8-byte floats (F 8) to keep them; open3d's binary PCD "
        "reader reads such fields as zeros (write ascii, or .ply, for open3d)"]


def test_remove_floaters_writes_ascii_as_its_warning_advises(tmp_path, cli):
    """The F 8 warning advises writing ascii; remove-floaters had no --ascii to do so."""
    src = tmp_path / "survey.ply"
    xyz = np.random.default_rng(0).random((300, 3)) + [5e6, 4e6, 0.0]
    write_points(src, PointCloud.from_xyz(xyz))
    out = tmp_path / "o.pcd"
    result = cli("scene", "remove-floaters", src, out, "--ascii")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert b"\nDATA ascii\n" in out.read_bytes()
    kept, source = read_points(out).points, read_points(src).points
    assert 0 < len(kept) <= len(source)
    assert {tuple(p) for p in kept} <= {tuple(p) for p in source}  # exact: ascii keeps the bits


def test_farthest_points_keep_the_first_of_exact_copies_as_open3d_does():
    """The samples were mapped back to whichever copy the kd-tree gave first, so a cloud whose
    copies differ in colour kept other colours than open3d's sample."""
    import open3d as o3d

    pts = np.repeat(np.random.default_rng(0).random((10, 3)), 2, axis=0)  # each point twice
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts))
    kept = np.asarray(cloud.farthest_point_down_sample(5).points)
    mask = P.FarthestPointSampler(budget=5).fit(pts).mask_
    assert np.flatnonzero(mask).tolist() == sorted(
        int(np.flatnonzero((pts == k).all(axis=1))[0]) for k in kept)


def test_radius_scores_count_neighbours_as_open3d_does():
    """A point exactly at the radius counted in scores_, not in open3d's mask."""
    remover = P.RadiusOutlierRemover(radius=1.0, min_points=1).fit(
        np.array([[0.0, 0, 0], [1, 0, 0], [10, 0, 0]]))
    assert remover.scores_.tolist() == [0.0, 0.0, 0.0] and not remover.mask_.any()


def test_radius_outlier_removal_of_too_few_points_follows_open3d_or_names_the_radius(tmp_path, cli):
    """With a radius, 0 or 1 point is no error (open3d keeps none of them); without one, the
    error names --radius, the option that helps (it named --radius when one was given, too)."""
    import open3d as o3d

    one = np.array([[1.0, 2.0, 3.0]])
    _, ind = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(one)).remove_radius_outlier(1, 1.0)
    fitted = P.RadiusOutlierRemover(radius=1.0, min_points=1).fit(one)
    assert fitted.mask_.tolist() == [False] and list(ind) == [] and fitted.scores_.tolist() == [0]
    assert P.RadiusOutlierRemover(radius=1.0).fit(np.zeros((0, 3))).mask_.shape == (0,)
    with pytest.raises(InvalidParameterError, match="radius: there is 1 point") as err:
        P.RadiusOutlierRemover().fit(one)
    assert err.value.params == ("radius",)
    src = tmp_path / "one.xyz"
    write_points(src, PointCloud.from_xyz(one))
    for extra, hint in (([], "Invalid value for --radius"),
                        (["--radius", "1"], "keeps none of the 1 point of")):
        result = cli("scene", "prune-points", str(src), str(tmp_path / "o.ply"), "--method", "radius",
                     *extra)
        assert result.exit_code == 2 and hint in result.output, result.output
    assert result.output.rstrip().endswith("; try a larger --radius or a smaller --min-points")
    assert not (tmp_path / "o.ply").exists()


@pytest.mark.parametrize("given, message", [
    (None, "got NoneType$"),
    ("cloud.ply", "got str: read a file with scenesparse.read_points"),
])
def test_no_points_or_a_file_name_is_named_not_read_as_nan(given, message):
    """fit(None) said "points must have shape (N, 3), got (1,)" (None became [nan]), and a file
    name failed in numpy's cast."""
    from scenesparse.points import VoxelDownsampler

    with pytest.raises(InvalidParameterError, match=rf"^points must be an \(N, 3\) array .*{message}"):
        VoxelDownsampler(voxel_size=0.1).fit(given)


def test_what_is_no_array_of_positions_is_refused_naming_points(tmp_path):
    """A cloud's records (its .data) failed in numpy's cast ("Cannot cast array data from
    dtype([('x', ...)"), an open3d mesh, a dict or text in float(); complex positions lost their
    imaginary parts to a ComplexWarning, and a boolean mask was read as positions of 0 and 1."""
    import open3d as o3d

    from scenesparse.points import UniformDownsampler

    write_points(tmp_path / "c.ply", PointCloud.from_xyz(np.random.default_rng(0).random((5, 3))))
    cases = [(read_points(tmp_path / "c.ply").data, "a structured array of fields x, y, z: pass "
              r"the PointCloud itself, or its \.points"),
             (o3d.geometry.TriangleMesh.create_box(), r"an open3d TriangleMesh: pass "
              r"np\.asarray\(mesh\.vertices\), or read the file with scenesparse\.read_points"),
             ({"x": 1}, "dict"), (np.array([["a", "b", "c"]]), "an array of <U1"),
             (np.ones((4, 3), dtype=complex), "an array of complex128"),
             (np.ones((4, 3), dtype=bool), "an array of bool"), ([[1, 2], [3]], "list"),
             (np.zeros((4, 3), dtype="M8[s]"), r"an array of datetime64\[s\]"),
             (np.array([[1, 2, "3"]], dtype=object), "ndarray holding '3'"),
             (np.array([[1, 2, None]], dtype=object), "ndarray holding None")]
    for given, what in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(InvalidParameterError,
                               match=rf"^points must be an \(N, 3\) array .* got {what}"):
                UniformDownsampler(budget=1).fit(given)
    # numbers held otherwise are read as before: integers, objects (fractions, pandas' Float64)
    for given in (np.arange(12).reshape(4, 3), np.arange(12).reshape(4, 3).astype(object),
                  [[Fraction(1, 2), Fraction(1, 3), 0]] * 4):
        assert UniformDownsampler(budget=2).fit_transform(given).shape == (2, 3)


@pytest.mark.parametrize("name", ["graph", "statistical", "radius", "fps", "voxel"])
def test_a_cloud_too_wide_for_squared_distances_is_refused_by_its_span(name):
    """At 1e200 the squared distances overflowed: the statistical test kept no point with NaN
    scores without a word, the graph sampler failed on NaN scores, the radius test printed
    scipy's overflow tracebacks; the graph sampler failed so at 1e100 and kept another sample
    at 1e75 and at 1e-100."""
    from sparsebox.registry import get_method

    points = np.random.default_rng(0).random((300, 3))
    sizes = {"budget": 30} if name in ("graph", "fps", "voxel") else {}
    with pytest.raises(InvalidParameterError, match=r"^points span 9.99e\+199 along an axis, "
                                                    r"beyond the 1e\+150"):
        get_method(name, item="point").create(**sizes).fit(points * 1e200)
    for scale in (1e100, 1e-100) if name != "voxel" else ():  # (the voxel grid rounds apart)
        # the graph sampler's scores were NaN, or it kept another sample
        kept = get_method(name, item="point").create(**sizes).fit(points * scale).mask_
        assert np.array_equal(kept, get_method(name, item="point").create(**sizes).fit(points).mask_)
    wide = P.UniformDownsampler(budget=30).fit(points * 1e200).mask_  # (no distances measured)
    assert np.array_equal(wide, P.UniformDownsampler(budget=30).fit(points).mask_)
    with pytest.raises(InvalidParameterError, match=r"^points span 1.7e\+308"):
        P.curvature_scores(points * 1.7e308)  # (an OverflowError of its unit)
    if name == "graph":  # its curvature is in 1 / length, at any scale
        fitted = [get_method(name, item="point").create(**sizes).fit(points * s) for s in (1, 1e100)]
        np.testing.assert_allclose(fitted[1].curvature_ * 1e100, fitted[0].curvature_, rtol=1e-12)


@pytest.mark.parametrize("name", ["graph", "voxel", "uniform", "fps", "statistical", "radius"])
def test_transform_refuses_other_points_of_the_same_count(name):
    """The mask keeps points by position: transform of the fitted points reversed gave another
    half of them without a word (only the count was checked)."""
    from sparsebox.registry import get_method

    rng = np.random.default_rng(0)
    points = rng.random((200, 3))
    sizes = {"keep_ratio": 0.5} if name in ("graph", "voxel", "uniform", "fps") else {}
    est = get_method(name, item="point").create(**sizes).fit(points)
    kept = est.transform(points.copy())  # the same positions, another array: accepted
    assert np.array_equal(kept, points[est.mask_])
    assert len(est.transform(P._o3d_cloud(points)).points) == int(est.mask_.sum())
    with pytest.raises(InvalidParameterError, match="transform got other points than the 200"):
        est.transform(points[::-1].copy())
    est.fit(points[::-1].copy())  # fitted on them, it takes them
    est.transform(points[::-1].copy())
    signed = points.copy()
    signed[0, 0] = 0.0
    est.fit(signed)
    signed[0, 0] = -0.0  # the same position
    assert np.array_equal(est.transform(signed), signed[est.mask_])


def test_a_torch_tensor_goes_in_and_comes_out_as_a_tensor():
    """A tensor came back as a numpy array, and one that requires grad raised numpy's "Can't
    call numpy() on Tensor that requires grad"."""
    import torch

    pts = torch.rand(100, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    method = P.UniformDownsampler(budget=10)
    kept = method.fit_transform(pts)
    assert torch.is_tensor(kept) and torch.equal(kept, pts[torch.from_numpy(method.mask_)])
    leaf = pts.clone().requires_grad_(True)
    kept = P.UniformDownsampler(budget=10).fit_transform(leaf)
    kept.sum().backward()  # the selection stays in the graph
    assert int(leaf.grad.sum()) == 30
    assert np.array_equal(P.UniformDownsampler(budget=10).fit(pts.numpy()).mask_, method.mask_)
