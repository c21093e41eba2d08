import numpy as np
import pytest
import torch
from numpy.lib.recfunctions import repack_fields
from plyfile import PlyData

from scenesparse.gaussians import GaussianScene, read_ply, write_ply
from scenesparse.pointio import PointFileError

DONUT = "3d/gaussians/gshairlod_donut_fused_sh0.ply"


def synthetic(n=20, degree=2, normals=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    k = (degree + 1) ** 2 - 1
    return GaussianScene(
        means=torch.randn(n, 3, generator=g), quats=torch.randn(n, 4, generator=g),
        log_scales=torch.randn(n, 3, generator=g) - 3, opacity_logits=torch.randn(n, generator=g),
        sh_dc=torch.randn(n, 3, generator=g), sh_rest=torch.randn(n, k, 3, generator=g),
        normals=torch.zeros(n, 3) if normals else None,
        extra={"segment": np.arange(n, dtype=np.int32)})


def test_read_write_unmodified_scene_is_byte_identical(tmp_path, data_dir):
    scene = read_ply(data_dir / DONUT)
    assert len(scene) == 45624 and scene.sh_degree == 0 and scene.normals is None
    out = tmp_path / "same.ply"
    write_ply(out, scene)
    assert out.read_bytes() == (data_dir / DONUT).read_bytes()


@pytest.mark.parametrize("degree", [0, 1, 3])
def test_sh_rest_is_channel_major_and_round_trips(tmp_path, degree):
    scene = synthetic(degree=degree)
    path = tmp_path / "s.ply"
    write_ply(path, scene)
    data = PlyData.read(str(path))["vertex"].data
    k = (degree + 1) ** 2 - 1
    if k:  # f_rest_{c*K + j} holds coefficient j of channel c
        assert data["f_rest_1"][0] == pytest.approx(scene.sh_rest[0, 1, 0].item())
        assert data[f"f_rest_{k}"][0] == pytest.approx(scene.sh_rest[0, 0, 1].item())
    back = read_ply(path)
    assert back.sh_degree == degree
    for name in ("means", "quats", "log_scales", "opacity_logits", "sh_dc", "sh_rest", "normals"):
        assert torch.equal(getattr(back, name), getattr(scene, name)), name
    assert np.array_equal(back.extra["segment"], scene.extra["segment"])


def test_subset_keeps_every_property():
    scene = synthetic()
    sub = scene.subset(np.arange(len(scene)) % 2 == 0)
    assert len(sub) == 10 and torch.equal(sub.sh_rest, scene.sh_rest[::2])
    assert sub.extra["segment"].tolist() == list(range(0, 20, 2))
    with pytest.raises(ValueError, match="boolean array of shape"):
        scene.subset(np.ones(3, dtype=bool))


def _write_variant(tmp_path, data_dir, drop=None, nan_at=None, truncate=None):
    data = PlyData.read(str(data_dir / DONUT))["vertex"].data[:100].copy()
    if nan_at:
        data[nan_at][7] = np.nan
    if drop:
        data = repack_fields(data[[n for n in data.dtype.names if n != drop]])
    from plyfile import PlyData as P
    from plyfile import PlyElement

    path = tmp_path / "v.ply"
    P([PlyElement.describe(data, "vertex")]).write(str(path))
    if truncate:
        path.write_bytes(path.read_bytes()[:-truncate])
    return path


@pytest.mark.parametrize("kwargs, message", [
    (dict(drop="opacity"), "missing property 'opacity'"),
    (dict(nan_at="scale_1"), "property 'scale_1' is nan at vertex 7"),
    (dict(truncate=100), "not a readable PLY"),
])
def test_bad_files_name_file_and_property(tmp_path, data_dir, kwargs, message):
    path = _write_variant(tmp_path, data_dir, **kwargs)
    with pytest.raises(PointFileError, match=message) as err:
        read_ply(path)
    assert "v.ply" in str(err.value)
