import warnings
from dataclasses import replace

import numpy as np
import pytest
import torch
from numpy.lib.recfunctions import append_fields, repack_fields
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


def test_extra_properties_keep_their_types_in_a_new_scene(tmp_path):
    """With no layout read from a file, extras were written as float32: the id 16777217
    came back as 16777216."""
    scene = synthetic(n=3)
    scene.extra = {"id": np.array([16777217, 2, 3]), "w": np.array([0.1, 0.2, 0.3]),
                   "flag": np.array([True, False, True]), "label": np.array([1, 2, 3], np.uint8),
                   "half": np.array([0.1, 0.2, 0.3], np.float16)}
    write_ply(tmp_path / "ids.ply", scene)
    back = read_ply(tmp_path / "ids.ply").extra
    assert back["id"].tolist() == [16777217, 2, 3] and back["id"].dtype == np.int32
    assert back["w"].tolist() == [0.1, 0.2, 0.3] and back["w"].dtype == np.float64
    assert back["flag"].tolist() == [1, 0, 1] and back["label"].dtype == np.uint8
    assert back["half"].dtype == np.float32 and back["half"].astype(np.float16).tolist() == \
        scene.extra["half"].tolist()
    scene.extra = {"id": np.array([2**40, 0, 1])}
    with pytest.raises(ValueError, match="'id' holds 64-bit integers beyond 32 bits"):
        write_ply(tmp_path / "big.ply", scene)
    scene.extra = {"name": np.array(["a", "b", "c"])}
    with pytest.raises(ValueError, match="'name' has type <U1, which PLY cannot store"):
        write_ply(tmp_path / "text.ply", scene)
    assert not (tmp_path / "big.ply").exists() and not (tmp_path / "text.ply").exists()


def test_an_edited_extra_property_is_written_in_a_type_that_holds_it(tmp_path):
    """Extras read from a file were written back in the file's type whatever they held since:
    0.5 and 1e6 in a short came back 0 and 16960, 300 and -1 in a uchar 44 and 255."""
    scene = synthetic(n=4)
    scene.extra = {"segment": np.array([1, 2, 3, 4], np.int16),
                   "red": np.array([1, 2, 3, 4], np.uint8), "w": np.ones(4, np.float32)}
    write_ply(tmp_path / "in.ply", scene)
    read = read_ply(tmp_path / "in.ply")
    write_ply(tmp_path / "same.ply", read)  # unedited: the file's own types, byte for byte
    assert (tmp_path / "same.ply").read_bytes() == (tmp_path / "in.ply").read_bytes()
    read.extra["segment"] = np.array([0.5, 1.7, -2.2, 1e6])
    read.extra["red"] = np.array([300, -1, 2, 3])
    read.extra["w"] = np.array([0.1, 1.0, 2.0, 1e300])  # float64 past float32's range
    write_ply(tmp_path / "edited.ply", read)
    back = read_ply(tmp_path / "edited.ply").extra
    for name in ("segment", "red", "w"):
        assert back[name].tolist() == read.extra[name].tolist(), name
    read.extra["w"] = np.array([0.1, 1.0, 2.0, 3.0])  # float64 a float32 holds, rounded
    write_ply(tmp_path / "rounded.ply", read)
    assert read_ply(tmp_path / "rounded.ply").extra["w"].dtype == np.float32
    for values in (np.array([16777217, 1, 2, 3]), np.array([1e-50, 1.0, 2.0, 3.0])):
        read.extra["w"] = values  # an integer float32 rounds, a value that would vanish to 0
        write_ply(tmp_path / "kept.ply", read)
        assert read_ply(tmp_path / "kept.ply").extra["w"].tolist() == values.tolist()
    read.extra["red"] = np.array([5, 6, 7, 8])  # int64 values a uchar holds: still a uchar
    write_ply(tmp_path / "small.ply", read)
    assert read_ply(tmp_path / "small.ply").extra["red"].dtype == np.uint8


@pytest.mark.parametrize(("field", "value", "message"), [
    ("sh_rest", torch.zeros(4, 4, 3), r"sh_rest must have shape \(N, K, 3\) with K in \(0, 3, 8, 15\)"),
    ("opacity_logits", torch.zeros(8), r"opacity_logits must have shape \(N,\), got \(8,\)"),
    ("sh_dc", torch.zeros(4, 1, 3), r"sh_dc must have shape \(N, 3\), got \(4, 1, 3\)"),
    ("means", torch.zeros(4), r"means must have shape \(N, 3\), got \(4,\)"),
    ("normals", torch.zeros(4, 2), r"normals must have shape \(N, 3\)"),
    ("extra", {"id": np.zeros(5)}, r"extra\['id'\] must have shape \(4,\), got \(5,\)"),
])
def test_a_scene_of_mismatched_shapes_is_refused_by_name(field, value, message):
    """A wrong sh_rest count was written as an unreadable file, a wrong opacity length as its
    first column, and gsplat's (N, 1, 3) sh_dc failed inside the renderers."""
    fields = {name: getattr(synthetic(n=4, degree=1), name)
              for name in ("means", "quats", "log_scales", "opacity_logits", "sh_dc", "sh_rest",
                           "normals", "extra")}
    with pytest.raises(ValueError, match=message):
        GaussianScene(**{**fields, field: value})


@pytest.mark.parametrize("field", ["means", "sh_rest", "opacity_logits"])
def test_a_scene_of_mixed_dtypes_is_refused_by_name(field):
    """float64 means (torch.from_numpy of a float64 array) beside float32 attributes were taken,
    then every render failed with torch's "expected scalar type Double but found Float"."""
    scene = synthetic(n=4, degree=1)
    value = getattr(scene, field).double()
    with pytest.raises(ValueError, match=r" is torch.float(64|32) where means is torch.float(32|64)"):
        replace(scene, **{field: value})
    with pytest.raises(ValueError, match="quats is torch.int64 where means is torch.float32"):
        replace(scene, quats=scene.quats.long())
    with pytest.raises(ValueError, match="means must be floating point .*, got torch.int64"):
        replace(scene, means=scene.means.long())
    double = replace(scene, **{k: getattr(scene, k).double() for k in (
        "means", "quats", "log_scales", "opacity_logits", "sh_dc", "sh_rest")})
    assert len(double) == 4  # wholly float64: the torch backend renders it in double precision


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


def test_a_compressed_supersplat_ply_is_named_not_reported_as_missing_x(tmp_path):
    """SuperSplat's compressed PLY (a chunk element of bounds, a vertex element of packed_*
    integers) was refused with "missing property 'x'", which sent users looking for a broken
    file."""
    from plyfile import PlyElement

    chunk = np.zeros(1, dtype=[(f"{a}_{b}", "f4") for a in ("min", "max") for b in "xyz"])
    vertex = np.zeros(3, dtype=[(n, "u4") for n in ("packed_position", "packed_rotation",
                                                     "packed_scale", "packed_color")])
    path = tmp_path / "scene.compressed.ply"
    PlyData([PlyElement.describe(chunk, "chunk"), PlyElement.describe(vertex, "vertex")]).write(
        str(path))
    with pytest.raises(PointFileError, match="scene.compressed.ply: a compressed PLY"):
        read_ply(path)


def test_f_rest_properties_in_any_order_read_as_inrias_reader_reads_them(tmp_path):
    """f_rest_* in string order (f_rest_0, f_rest_1, f_rest_10, ...) was refused with
    "45 f_rest_* properties; expected ... 45"."""
    from plyfile import PlyElement

    scene = synthetic(degree=3)
    write_ply(tmp_path / "s.ply", scene)
    data = PlyData.read(str(tmp_path / "s.ply"))["vertex"].data
    names = sorted(data.dtype.names, key=lambda n: (not n.startswith("f_rest_"), n))
    shuffled = repack_fields(data[names])
    PlyData([PlyElement.describe(shuffled, "vertex")]).write(str(tmp_path / "lex.ply"))
    assert torch.equal(read_ply(tmp_path / "lex.ply").sh_rest, scene.sh_rest)
    wrong = repack_fields(data[[n for n in data.dtype.names if n != "f_rest_44"]])
    wrong = append_fields(wrong, "f_rest_45", data["f_rest_44"], usemask=False)
    PlyData([PlyElement.describe(wrong, "vertex")]).write(str(tmp_path / "odd.ply"))
    with pytest.raises(PointFileError, match="must be f_rest_0 .. f_rest_44, but one is f_rest_45"):
        read_ply(tmp_path / "odd.ply")


def test_an_extra_property_added_after_the_scene_was_made_is_checked_where_used(tmp_path):
    """One of another length failed in write_ply with "could not broadcast" and in subset with
    an IndexError."""
    from sparsebox.exceptions import InvalidParameterError

    scene = synthetic()
    scene.extra["label"] = np.arange(7)
    for use in (lambda: write_ply(tmp_path / "s.ply", scene), lambda: scene.subset(np.ones(20, bool))):
        with pytest.raises(InvalidParameterError, match=r"extra\['label'\] must have shape "
                                                        r"\(20,\), got \(7,\)"):
            use()
    assert not (tmp_path / "s.ply").exists()


def test_properties_added_since_reading_go_where_the_inria_layout_puts_them(tmp_path, data_dir):
    """SH coefficients (or normals) given to a scene read from a degree-0 file were written after
    rot_3, outside the INRIA order that write_ply promises."""
    scene = read_ply(data_dir / DONUT).subset(np.arange(45624) < 5)
    raised = replace(scene, sh_rest=torch.zeros(5, 3, 3), normals=torch.zeros(5, 3),
                     extra={"segment": np.arange(5, dtype=np.int32)})
    write_ply(tmp_path / "raised.ply", raised)
    names = [p.name for p in PlyData.read(str(tmp_path / "raised.ply"))["vertex"].properties]
    assert names == ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2",
                     *[f"f_rest_{i}" for i in range(9)], "opacity", "scale_0", "scale_1",
                     "scale_2", "rot_0", "rot_1", "rot_2", "rot_3", "segment"]
    assert torch.equal(read_ply(tmp_path / "raised.ply").sh_rest, raised.sh_rest)


@pytest.mark.parametrize("degree", [0, 3])
def test_an_empty_scene_is_written_and_read_back(tmp_path, degree):
    """A pruner that keeps nothing of an empty scene gives one; it is written like any other."""
    empty = synthetic(degree=degree).subset(np.zeros(20, dtype=bool))
    path = tmp_path / "empty.ply"
    write_ply(path, empty)
    back = read_ply(path)
    assert len(back) == 0 and back.sh_degree == degree and back.normals is not None
    assert back.extra["segment"].dtype == np.int32


def test_a_list_property_is_refused_when_read_not_when_written(tmp_path):
    """A vertex list property was read into ``extra`` and refused only by write_ply, after the
    pruning, as a type "which PLY cannot store" although the file stored it."""
    from plyfile import PlyElement

    path = tmp_path / "list.ply"
    write_ply(path, synthetic(6, degree=0, normals=False))
    data = PlyData.read(str(path))["vertex"].data
    listed = np.empty(6, dtype=data.dtype.descr + [("tags", "O")])
    for name in data.dtype.names:
        listed[name] = data[name]
    listed["tags"] = [np.arange(i % 3, dtype=np.int32) for i in range(6)]
    PlyData([PlyElement.describe(listed, "vertex")]).write(str(path))
    with pytest.raises(PointFileError, match=r"list\.ply: property 'tags' is a list"):
        read_ply(path)


@pytest.mark.parametrize("attr, value", [("means", float("nan")), ("sh_dc", float("inf")),
                                         ("extra", float("nan"))])
def test_write_ply_refuses_values_read_ply_would_refuse(tmp_path, attr, value):
    """write_ply wrote NaN and infinite values into a file that read_ply then refused."""
    scene = GaussianScene(means=torch.zeros(3, 3), quats=torch.tensor([[1.0, 0, 0, 0]] * 3),
                          log_scales=torch.zeros(3, 3), opacity_logits=torch.zeros(3),
                          sh_dc=torch.zeros(3, 3), sh_rest=torch.zeros(3, 0, 3),
                          extra={"confidence": np.ones(3, dtype=np.float32)})
    if attr == "extra":
        scene.extra["confidence"][2] = value
    else:
        getattr(scene, attr)[2, 1] = value
    path = tmp_path / "out.ply"
    name = {"means": "y", "sh_dc": "f_dc_1", "extra": "confidence"}[attr]
    with pytest.raises(ValueError, match=f"property '{name}' is {value} at Gaussian 2"):
        write_ply(path, scene)
    assert not path.exists()
    # a staged file is named as the file it becomes
    with pytest.raises(ValueError, match=r"^out\.ply: not written"):
        write_ply(tmp_path / ".out.partial-1.ply", scene, name="out.ply")


@pytest.mark.parametrize("field", ["means", "sh_rest", "normals"])
def test_a_scene_of_numpy_arrays_is_refused_by_name(field):
    """A scene built from numpy arrays (gsplat users keep them) failed with "'numpy.ndarray'
    object has no attribute 'dim'", naming neither the attribute nor the cure."""
    scene = synthetic(n=4, degree=1)
    value = np.zeros((4, 3), np.float32) if field == "normals" else getattr(scene, field).numpy()
    with pytest.raises(ValueError, match=rf"GaussianScene: {field} must be a torch tensor, got "
                                         r"numpy.ndarray \(torch.as_tensor"):
        replace(scene, **{field: value})


def test_the_bounds_of_an_empty_scene_are_refused_by_name():
    """An empty scene's bounds failed in numpy: "zero-size array to reduction operation
    minimum which has no identity"."""
    scene = synthetic(n=4, degree=0)
    low, high = scene.bounds()
    assert np.array_equal(low, scene.means.numpy().min(0)) and np.all(high >= low)
    with pytest.raises(ValueError, match="the scene has no Gaussian, so no bounds"):
        scene.subset(np.zeros(4, dtype=bool)).bounds()


def test_write_ply_names_what_is_not_a_scene(tmp_path):
    """A dict or a point cloud: was "'dict' object has no attribute 'sh_rest'"."""
    from sparsebox.exceptions import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=r"write_ply takes a GaussianScene, got dict"):
        write_ply(tmp_path / "x.ply", {"means": 1})
    assert not (tmp_path / "x.ply").exists()


def test_scenes_compare_by_their_values(data_dir, tmp_path):
    """scene == other raised "Boolean value of Tensor with more than one value is ambiguous"
    (the dataclass's equality), as Camera's did."""
    donut = read_ply(data_dir / "3d/gaussians/gshairlod_donut_fused_sh0.ply")
    write_ply(tmp_path / "copy.ply", donut)
    copy = read_ply(tmp_path / "copy.ply")
    assert donut == copy and not donut != copy
    assert donut != replace(copy, opacity_logits=copy.opacity_logits + 1.0)
    assert donut != replace(copy, normals=torch.zeros(len(copy), 3))  # the donut has none
    assert donut != replace(copy, extra={"tag": np.zeros(len(copy))})
    assert donut != "a scene" and donut != copy.subset(np.arange(len(copy)) > 0)
    holed = replace(copy, sh_dc=copy.sh_dc.clone())
    holed.sh_dc[0, 0] = float("nan")
    assert holed == replace(holed, sh_dc=holed.sh_dc.clone())  # NaN is NaN here: a scene is itself
    tagged = replace(copy, extra={"tag": np.zeros(len(copy), np.int32)})
    assert tagged != replace(copy, extra={"tag": np.zeros(len(copy))})  # another type


def test_reading_warns_of_elements_and_obj_info_a_written_scene_lacks(tmp_path):
    from plyfile import PlyElement

    path = tmp_path / "s.ply"
    write_ply(path, synthetic(n=3))
    vertex = PlyData.read(str(path))["vertex"].data
    faces = np.array([([0, 1, 2],)], dtype=[("vertex_indices", "i4", (3,))])
    extra = tmp_path / "extra.ply"
    PlyData([PlyElement.describe(vertex, "vertex"), PlyElement.describe(faces, "face")],
            obj_info=["made by hand"]).write(str(extra))
    with pytest.warns(UserWarning, match="its face element and its obj_info lines are not read; "
                      "a scene written from it has only its vertices") as caught:
        scene = read_ply(extra)
    assert caught[0].filename == __file__  # the caller's line, not the reader's
    assert scene == read_ply(path)
    with warnings.catch_warnings():  # a file of the vertex element alone: no warning
        warnings.simplefilter("error")
        read_ply(path)
