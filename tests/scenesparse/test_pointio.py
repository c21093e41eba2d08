import re
import struct
import warnings

import numpy as np
import pytest
from plyfile import PlyData

from scenesparse.pointio import PointCloud, PointFileError, check_format_holds, read_points, write_points


def sample_cloud(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return PointCloud.from_xyz(rng.random((n, 3)), red=rng.integers(0, 255, n).astype(np.uint8),
                               normal=rng.standard_normal((n, 3)).astype(np.float32),
                               intensity=rng.random(n))


@pytest.mark.parametrize("suffix, binary", [(".ply", True), (".ply", False), (".pcd", True),
                                            (".pcd", False), (".xyz", False)])
def test_round_trip_keeps_every_attribute(tmp_path, suffix, binary):
    cloud = sample_cloud()
    path = tmp_path / f"c{suffix}"
    write_points(path, cloud, binary=binary)
    back = read_points(path)
    assert back.fields == cloud.fields
    for name in cloud.fields:
        assert np.allclose(back.data[name].astype(float), cloud.data[name].astype(float),
                           rtol=1e-6), name



@pytest.mark.parametrize("suffix, binary", [(".pcd", True), (".pcd", False), (".xyz", False)])
def test_round_trip_keeps_every_digit(tmp_path, suffix, binary):
    """Survey coordinates in float64, a packed 32-bit colour and a 64-bit time stamp come back
    exactly (the XYZ format reads every column as float64, so the stamp is left out there)."""
    utm = np.array([[512345.123456, 4512345.678901, 12.345678], [512346.5, 4512346.25, 13.0]])
    extra = {"rgba": np.array([4278190335, 16777215], dtype=np.uint32),
             "level": np.array([0.1, 1e-30], dtype=np.float32)}
    if suffix == ".pcd":
        extra["stamp"] = np.array([1733300000123456789, 1], dtype=np.uint64)
    cloud = PointCloud.from_xyz(utm, **extra)
    assert cloud.data["y"].dtype == np.float64
    path = tmp_path / f"c{suffix}"
    write_points(path, cloud, binary=binary)
    back = read_points(path)
    for name in cloud.fields:
        assert back.data[name].astype(cloud.data[name].dtype).tolist() == \
            cloud.data[name].tolist(), name


def test_ascii_pcd_value_outside_its_type_is_named(tmp_path):
    path = tmp_path / "a.pcd"
    path.write_text("VERSION 0.7\nFIELDS x y z red\nSIZE 4 4 4 1\nTYPE F F F U\n"
                    "COUNT 1 1 1 1\nWIDTH 1\nHEIGHT 1\nPOINTS 1\nDATA ascii\n0 0 0 300\n")
    with pytest.raises(PointFileError, match="field 'red' holds a value outside its type"):
        read_points(path)


def test_from_xyz_names_an_attribute_of_no_per_point_shape():
    """A scalar attribute raised IndexError ("tuple index out of range"), one of three
    dimensions numpy's "could not broadcast input array from shape (4,2) into shape (4,)"."""
    pts = np.zeros((4, 3))
    for given, shape in ((5, r"\(\)"), (np.zeros((4, 2, 2)), r"\(4, 2, 2\)")):
        with pytest.raises(ValueError, match=rf"^attribute 'a' must be one value per point "
                           rf"\(N,\) or one row per point \(N, k\), got shape {shape}$"):
            PointCloud.from_xyz(pts, a=given)
    assert PointCloud.from_xyz(pts, a=np.ones((4, 2))).fields == ("x", "y", "z", "a_0", "a_1")


def test_float16_fields_are_written_so_they_read_back(tmp_path):
    cloud = PointCloud.from_xyz(np.zeros((2, 3)), w=np.array([0.5, 1.25], dtype=np.float16))
    for suffix, binary in ((".pcd", True), (".pcd", False), (".ply", True)):
        write_points(tmp_path / f"w{suffix}", cloud, binary=binary)
        assert read_points(tmp_path / f"w{suffix}").data["w"].tolist() == [0.5, 1.25]


def test_ply_refuses_64_bit_integers_it_cannot_hold(tmp_path):
    fits = PointCloud.from_xyz(np.zeros((2, 3)), t=np.array([5, -7], dtype=np.int64))
    write_points(tmp_path / "fits.ply", fits)
    assert read_points(tmp_path / "fits.ply").data["t"].tolist() == [5, -7]
    big = PointCloud.from_xyz(np.zeros((2, 3)), t=np.array([5_000_000_000, 1], dtype=np.int64))
    with pytest.raises(PointFileError, match="big.ply: property 't' holds int64 values beyond int32"):
        write_points(tmp_path / "big.ply", big)
    # refused by the check the command line makes before any work, naming the file
    with pytest.raises(PointFileError, match="big.ply: property 't' holds int64 values beyond int32"):
        check_format_holds(tmp_path / "big.ply", big)
    check_format_holds(tmp_path / "big.pcd", big)
    assert not (tmp_path / "big.ply").exists()


def _mesh_with_face_properties(path, indices_first=True, text=True):
    """Two triangles whose face element also holds a colour and float texture coordinates
    (MeshLab's ``texcoord``), the indices ``uint`` as open3d writes them."""
    from plyfile import PlyElement

    v = np.array([(0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0)],
                 dtype=[("x", "f4"), ("y", "f4"), ("z", "f4")])
    names = ["vertex_indices", "red", "texcoord"] if indices_first else \
        ["red", "vertex_indices", "texcoord"]
    faces = np.empty(2, dtype=[(n, "u1" if n == "red" else "O") for n in names])
    faces["red"] = [10, 20]
    faces["vertex_indices"] = [np.array([0, 1, 2], "u4"), np.array([1, 3, 2], "u4")]
    faces["texcoord"] = [np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "f4")] * 2
    PlyData([PlyElement.describe(v, "vertex"), PlyElement.describe(
        faces, "face", val_types={"vertex_indices": "u4", "texcoord": "f4"})],
        text=text).write(str(path))


@pytest.mark.parametrize("indices_first", [True, False])
def test_a_face_element_keeps_its_other_properties_and_their_types(tmp_path, indices_first):
    """The vertex indices are found by name, not as the face element's first property (a colour
    first was a TypeError), and float lists are written as floats (every list was written as
    ``int``: MeshLab's texture coordinates came back as zeros)."""
    src = tmp_path / "tex.ply"
    _mesh_with_face_properties(src, indices_first)
    cloud = read_points(src)
    kept = cloud.subset(np.array([False, True, True, True]))  # the second face stays
    assert [f.tolist() for f in kept.faces["vertex_indices"]] == [[0, 2, 1]]
    out = tmp_path / "out.ply"
    write_points(out, kept, binary=False)
    face = PlyData.read(str(out))["face"]
    assert [(p.name, p.val_dtype) for p in face.properties if hasattr(p, "len_dtype")] == \
        [("vertex_indices", "u4"), ("texcoord", "f4")]
    back = read_points(out)
    assert back.faces["red"].tolist() == [20]
    assert back.faces["texcoord"][0].tolist() == np.float32([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]).tolist()


@pytest.mark.parametrize("indices_first", [True, False])
def test_read_mesh_finds_the_vertex_indices_by_name(tmp_path, indices_first):
    from scenesparse.surface import read_mesh

    src = tmp_path / "tex.ply"
    _mesh_with_face_properties(src, indices_first)  # a colour first was read as the indices
    vertices, triangles = read_mesh(src)
    assert vertices.shape == (4, 3) and triangles.tolist() == [[0, 1, 2], [1, 3, 2]]


def test_a_face_element_whose_vertex_indices_are_no_list_is_named(tmp_path):
    """A scalar property named vertex_indices was taken for the index lists by name: a TypeError
    (internal error) where a face element with no list property was already refused."""
    from plyfile import PlyElement

    from scenesparse.surface import read_mesh

    v = np.array([(0, 0, 0), (1, 0, 0), (0, 1, 0)], dtype=[("x", "f4"), ("y", "f4"), ("z", "f4")])
    faces = np.array([(0,), (1,)], dtype=[("vertex_indices", "i4")])
    src = tmp_path / "scalar.ply"
    PlyData([PlyElement.describe(v, "vertex"), PlyElement.describe(faces, "face")],
            text=True).write(str(src))
    for read in (read_points, read_mesh):
        with pytest.raises(PointFileError, match="scalar.ply: the face element has no list property"):
            read(src)


def _listed(*arrays):
    tags = np.empty(len(arrays), dtype=object)
    tags[:] = list(arrays)
    return PointCloud.from_xyz(np.zeros((len(arrays), 3)), tags=tags)


def test_a_list_property_keeps_lists_of_more_than_255_and_its_32_bit_values(tmp_path):
    """Every list was written with a uchar length (a descriptor of 300 floats was an
    OverflowError), 64-bit integer lists as int (uint32-range values came back negative) and
    int64 values beyond int32 were written wrapped, unchecked."""
    long = np.arange(300, dtype=np.float32)
    write_points(tmp_path / "long.ply", _listed(long, long[:2]))
    assert read_points(tmp_path / "long.ply").data["tags"][0].tolist() == long.tolist()
    write_points(tmp_path / "u.ply", _listed(np.array([3_000_000_000, 1], np.uint64),
                                            np.array([2], np.uint64)))
    assert read_points(tmp_path / "u.ply").data["tags"][0].tolist() == [3_000_000_000, 1]
    big = _listed(np.array([3, 4]), np.array([5_000_000_000]))  # int64, as numpy makes them
    message = ("big.ply: list property 'tags' holds int64 values beyond int32 (PLY has no 64-bit "
               "integers, and only PLY holds lists)")
    with pytest.raises(PointFileError, match=re.escape(message)):
        check_format_holds(tmp_path / "big.ply", big)
    with pytest.raises(PointFileError, match=re.escape(message)):
        write_points(tmp_path / "big.ply", big)
    assert not (tmp_path / "big.ply").exists()
    write_points(tmp_path / "fits.ply", _listed(np.array([3, -4]), np.array([5])))
    assert read_points(tmp_path / "fits.ply").data["tags"][0].tolist() == [3, -4]


@pytest.mark.parametrize("suffix", [".ply", ".pcd", ".xyz"])
def test_a_field_of_text_is_refused_naming_the_file_before_it_is_opened(tmp_path, suffix):
    """Text labels ended in plyfile's "field type 'U1' not in [...]" and numpy's TypeError, with
    no file named, and the .xyz file was left holding its header line only."""
    out = tmp_path / f"s{suffix}"
    for values, shown in ((np.array(["a", "b"]), "<U1 values"),
                          (np.array(["a", "b"], dtype=object), "str values"),  # as pandas gives
                          (np.zeros(2, np.longdouble), f"{np.dtype(np.longdouble)} values"),
                          (np.zeros(2, np.complex64), "complex64 values")):
        with pytest.raises(PointFileError, match=rf"s\{suffix}: field 'label' holds {shown}.*"
                                                 "which no point file holds: integers, "
                                                 "booleans"):
            write_points(out, PointCloud.from_xyz(np.zeros((2, 3)), label=values))
        assert not out.exists()
    flags = PointCloud.from_xyz(np.zeros((2, 3)), flag=np.array([True, False]))
    write_points(out, flags)  # booleans as 0 and 1
    assert read_points(out).data["flag"].tolist() == [1, 0]


@pytest.mark.parametrize("suffix", [".pcd", ".xyz", ".txt"])
def test_a_list_property_is_refused_outside_ply_naming_the_file(tmp_path, suffix):
    from plyfile import PlyElement

    v = np.empty(3, dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("tags", "O")])
    v["x"] = v["y"] = v["z"] = [0, 1, 2]
    v["tags"] = [np.array([1, 2], "i4")] * 3
    PlyData([PlyElement.describe(v, "vertex")]).write(str(tmp_path / "tags.ply"))
    cloud = read_points(tmp_path / "tags.ply")
    out = tmp_path / f"out{suffix}"
    with pytest.raises(PointFileError, match=f"out{suffix}: a {suffix} file cannot hold the list "
                                             "property 'tags'; write .ply"):
        write_points(out, cloud)
    assert not out.exists()
    write_points(tmp_path / "out.ply", cloud)
    assert read_points(tmp_path / "out.ply").data["tags"][2].tolist() == [1, 2]


def test_gaussian_splat_ply_round_trip_is_byte_identical(tmp_path, data_dir):
    src = data_dir / "3d/gaussians/gshairlod_donut_fused_sh0.ply"
    cloud = read_points(src)
    assert len(cloud) == 45624 and "opacity" in cloud.fields and "rot_3" in cloud.fields
    out = tmp_path / "copy.ply"
    write_points(out, cloud)
    assert out.read_bytes() == src.read_bytes()
    kept = cloud.subset(np.arange(len(cloud)) % 3 == 0)
    write_points(out, kept)
    ply = PlyData.read(str(out))
    assert ply["vertex"].data.dtype == PlyData.read(str(src))["vertex"].data.dtype
    assert len(ply["vertex"].data) == len(kept)


def test_ascii_mesh_ply_reads(data_dir):
    cloud = read_points(data_dir / "3d/meshes/bunny_trimesh_res2.ply")
    assert len(cloud) == 8171


@pytest.mark.parametrize("name, text, message", [
    ("bad.ply", b"not a ply", "not a readable PLY"),
    ("noz.ply", b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\n"
                b"end_header\n1 2\n", "no property 'z'"),
    ("short.pcd", b"FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS 3\nDATA binary\n\x00\x00",
     "truncated"),
    ("nohdr.pcd", b"FIELDS x y z\nDATA ascii\n1 2 3\n", "no SIZE line"),
    ("word.pcd", b"# c\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS 2\nDATA ascii\n0 0 0\n1 x 1\n",
     r"line 8, column 2: 'x' is not a number"),
    ("under.pcd", b"FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS 2\nDATA ascii\n0 0 0\n1 1_0 1\n",
     r"line 7, column 2: '1_0' is not a number"),  # numpy's cast had read it as 10
    ("ragged.pcd", b"FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS 2\nDATA ascii\n0 0 0 0\n1 1\n",
     "line 6 has 4 values, a point has 3"),
    ("count.pcd", b"FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS 3\nDATA ascii\n0 0 0\n1 1 1\n",
     "header says 3 points, found 2 lines"),
    ("two.xyz", b"1 2\n3 4\n", "at least 3 columns"),
    ("word.xyz", b"# x y z\n0 0 0\n\n1 1 1 # ok\nfoo bar baz\n",
     r"line 5, column 1: 'foo' is not a number"),
    ("ragged.xyz", b"0 0 0\n# a comment\n1 1 1\n2 2\n", "line 4 has 2 columns, the lines before it 3"),
    ("file.obj", b"", "unknown point format"),
    ("gap.xyz", b"X,Y,Z\n0,0,0\n1,,1\n", "line 3, column 2 is empty"),
    ("decimal.xyz", b"1,5 2,5 3,5\n", r"line 1 separates values by both commas and spaces "
                                      r"\('5 2' between two commas\)"),  # (read as 6 values)
    ("twice.xyz", b"# x y z a a\n0 0 0 1 2\n", "line 1 names the column 'a' twice"),
    ("twice.pcd", b"FIELDS x y z x\nSIZE 4 4 4 4\nTYPE F F F F\nPOINTS 1\nDATA ascii\n0 0 0 0\n",
     "names the field 'x' twice"),
    ("clash.pcd", b"FIELDS x y z n n_1\nSIZE 4 4 4 4 4\nTYPE F F F F F\nCOUNT 1 1 1 2 1\nPOINTS 1\n"
                  b"DATA ascii\n0 0 0 1 2 3\n", "names the field 'n_1' twice"),
    ("counts.pcd", b"FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1\nPOINTS 1\nDATA ascii\n0 0 0\n",
     "bad COUNT line"),
    ("nocount.pcd", b"FIELDS x y z n\nSIZE 4 4 4 4\nTYPE F F F F\nCOUNT 1 1 1 0\nPOINTS 1\n"
                    b"DATA ascii\n0 0 0\n", "bad COUNT line"),
    ("zz.pcd", b"FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 2\nPOINTS 1\nDATA ascii\n0 0 0 0\n",
     r"a position has one value per point, not z \(COUNT 2\)"),
    ("minus.pcd", b"FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS -1\nDATA binary\n", "bad POINTS"),
])
def test_bad_files_name_the_file(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_bytes(text)
    with pytest.raises(PointFileError, match=message) as err:
        read_points(path)
    assert name in str(err.value)


def test_subset_mask_shape_is_checked():
    with pytest.raises(ValueError, match="mask must have shape"):
        sample_cloud(10).subset(np.ones(3, dtype=bool))


def test_a_mesh_needs_faces(tmp_path):
    from scenesparse.surface import read_mesh

    path = tmp_path / "cloud.ply"
    write_points(path, sample_cloud(10))
    with pytest.raises(PointFileError, match="cloud.ply: no 'face' element"):
        read_mesh(path)


@pytest.mark.parametrize("binary", [True, False])
def test_pcd_comments_do_not_grow_over_round_trips(tmp_path, binary):
    """The format banner every PCD header starts with came back as a comment and was written
    again on each round trip."""
    cloud = sample_cloud(5)
    cloud.comments = ["scan 7"]
    path = tmp_path / "c.pcd"
    for _ in range(3):
        write_points(path, cloud, binary=binary)
        cloud = read_points(path)
        assert cloud.comments == ["scan 7"]
    assert path.read_bytes().count(b"Point Cloud Data file format") == 1


def test_pcd_banner_given_as_a_comment_is_written_once(tmp_path):
    cloud = sample_cloud(5)
    cloud.comments = [".PCD v0.7 - Point Cloud Data file format", "scan 7"]
    write_points(tmp_path / "c.pcd", cloud)
    assert (tmp_path / "c.pcd").read_bytes().count(b"Point Cloud Data file format") == 1
    pcl = tmp_path / "pcl.pcd"  # PCL's older banner
    pcl.write_text("# .PCD v.7 - Point Cloud Data file format\nVERSION .7\nFIELDS x y z\n"
                   "SIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 1\nHEIGHT 1\nPOINTS 1\n"
                   "DATA ascii\n1 2 3\n")
    assert read_points(pcl).comments == []
    short = tmp_path / "short.pcd"  # the banner in short, as some writers give it
    short.write_text(pcl.read_text().replace(" - Point Cloud Data file format", ""))
    assert read_points(short).comments == []


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("suffix", [".xyz", ".txt", ".pts"])
def test_an_empty_cloud_reads_back_empty(tmp_path, suffix):
    path = tmp_path / f"e{suffix}"
    write_points(path, PointCloud.from_xyz(np.zeros((0, 3))))
    back = read_points(path)
    assert len(back) == 0 and back.fields == ("x", "y", "z")
    if suffix != ".pts":  # an empty .pts is only its count: it cannot name columns
        write_points(path, PointCloud.from_xyz(np.zeros((0, 3)), red=np.zeros(0)))
        assert read_points(path).fields == ("x", "y", "z", "red")
    path.write_bytes(b"")
    assert read_points(path).fields == ("x", "y", "z") and len(read_points(path)) == 0


@pytest.mark.parametrize("suffix", [".xyz", ".txt"])
def test_xyz_we_write_of_positions_alone_is_read_by_open3d(tmp_path, suffix):
    """A header line of names made open3d's tensor reader return an empty cloud and its
    legacy reader warn: a cloud of only x y z goes without one; other fields keep theirs."""
    import open3d as o3d

    rng = np.random.default_rng(2)
    points = rng.random((30, 3))
    path = tmp_path / f"p{suffix}"
    write_points(path, PointCloud.from_xyz(points))
    assert not path.read_text().startswith("#")
    legacy = o3d.io.read_point_cloud(str(path), format="xyz")
    np.testing.assert_allclose(np.asarray(legacy.points), points, rtol=0, atol=1e-9)
    if suffix == ".xyz":  # (the tensor reader takes no .txt)
        tensor = o3d.t.io.read_point_cloud(str(path))
        np.testing.assert_allclose(tensor.point.positions.numpy(), points, rtol=1e-6)  # float32
    back = read_points(path)
    assert back.fields == ("x", "y", "z")
    np.testing.assert_array_equal(back.points, points)
    write_points(path, PointCloud.from_xyz(points, intensity=rng.random(30)))
    assert path.read_text().startswith("# x y z intensity\n")
    assert read_points(path).fields == ("x", "y", "z", "intensity")
    # positions first whatever the fields' order (a PLY of `intensity z x y` came back with its
    # intensity read as x), and no header for positions alone in another order either
    for order in (("intensity", "z", "x", "y"), ("z", "x", "y")):
        data = np.zeros(30, dtype=[(f, np.float64) for f in order])
        for i, axis in enumerate("xyz"):
            data[axis] = points[:, i]
        if "intensity" in order:
            data["intensity"] = np.arange(30)
        write_points(path, PointCloud(data))
        back = read_points(path)
        np.testing.assert_array_equal(back.points, points)
        assert back.fields == ("x", "y", "z", *order[:-3])
        assert path.read_text().startswith("#") == ("intensity" in order)
        if "intensity" in order:
            np.testing.assert_array_equal(back.data["intensity"], np.arange(30))


def test_an_unknown_suffix_is_named_before_what_the_format_cannot_hold(tmp_path):
    """A mesh written to .las was told a .las file cannot hold its faces."""
    mesh = PointCloud(PointCloud.from_xyz(np.eye(3)).data, faces=np.array([[0, 1, 2]]))
    for name in ("x.las", "folder"):
        with pytest.raises(PointFileError, match="unknown point format"):
            write_points(tmp_path / name, mesh)


@pytest.mark.parametrize("colours", [False, True])
def test_pts_written_by_open3d_reads(tmp_path, colours):
    """open3d's .pts starts with the point count (then x y z, or x y z intensity r g b)."""
    import open3d as o3d

    rng = np.random.default_rng(0)
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(rng.random((40, 3))))
    if colours:
        cloud.colors = o3d.utility.Vector3dVector(rng.random((40, 3)))
    path = tmp_path / "o.pts"
    assert o3d.io.write_point_cloud(str(path), cloud)
    back = read_points(path)
    assert back.fields == (("x", "y", "z", "intensity", "red", "green", "blue") if colours
                           else ("x", "y", "z"))
    np.testing.assert_allclose(back.points, np.asarray(cloud.points), rtol=0, atol=1e-9)
    if colours:  # open3d writes round(255 * c)
        assert back.data["red"].dtype == np.uint8
        np.testing.assert_array_equal(np.stack([back.data[c] for c in ("red", "green", "blue")], 1),
                                      np.round(np.asarray(cloud.colors) * 255))


@pytest.mark.parametrize("fields", [(), ("intensity",), ("red", "green", "blue"),
                                    ("intensity", "red", "green", "blue")])
def test_pts_we_write_is_the_layout_open3d_reads(tmp_path, fields):
    import open3d as o3d

    rng = np.random.default_rng(1)
    extras = {f: rng.integers(0, 256, 6).astype(np.uint8) if f != "intensity" else rng.random(6)
              for f in fields}
    cloud = PointCloud.from_xyz(rng.random((6, 3)), **dict(reversed(extras.items())))
    path = tmp_path / "c.pts"
    write_points(path, cloud)
    assert path.read_text().split("\n")[0] == "6"
    ours = read_points(path)
    assert set(ours.fields) == set(cloud.fields)
    for name in cloud.fields:
        np.testing.assert_array_equal(ours.data[name], cloud.data[name])
    theirs = o3d.io.read_point_cloud(str(path))
    np.testing.assert_allclose(np.asarray(theirs.points), cloud.points, rtol=0, atol=1e-12)
    if "red" in fields:
        np.testing.assert_allclose(np.asarray(theirs.colors) * 255,
                                   np.stack([extras[c] for c in ("red", "green", "blue")], 1))


@pytest.mark.parametrize("fields, message", [
    (dict(normal=np.zeros((2, 3), np.float32)), "not the fields normal_0, normal_1, normal_2"),
    (dict(red=np.zeros(2, np.uint8)), "not colours without green, blue"),
    (dict(red=np.full(2, 0.5), green=np.zeros(2), blue=np.zeros(2)), "red is not")])
def test_pts_refuses_what_the_format_cannot_hold(tmp_path, fields, message):
    path = tmp_path / "c.pts"
    with pytest.raises(PointFileError, match=message):
        write_points(path, PointCloud.from_xyz(np.zeros((2, 3)), **fields))
    assert not path.exists()


def _open3d_cloud(n=30, seed=0):
    import open3d as o3d

    rng = np.random.default_rng(seed)
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(rng.random((n, 3))))
    cloud.normals = o3d.utility.Vector3dVector(rng.standard_normal((n, 3)))
    cloud.colors = o3d.utility.Vector3dVector(rng.random((n, 3)))
    return cloud


def _columns(cloud, names):
    return np.stack([cloud.data[n] for n in names], 1)


def test_xyzn_and_xyzrgb_written_by_open3d_read_and_write_back_exactly(tmp_path):
    """open3d's six-column text formats: normals, and colours as fractions 0..1 (kept as the
    fractions read, so a cloud written back to the same format is the file open3d wrote)."""
    import open3d as o3d

    theirs = _open3d_cloud()
    for suffix, names, values in ((".xyzn", ("nx", "ny", "nz"), theirs.normals),
                                  (".xyzrgb", ("red", "green", "blue"), theirs.colors)):
        path = tmp_path / f"o{suffix}"
        assert o3d.io.write_point_cloud(str(path), theirs)
        ours = read_points(path)
        assert ours.fields == ("x", "y", "z", *names) and ours.source == suffix[1:]
        np.testing.assert_allclose(ours.points, np.asarray(theirs.points), rtol=0, atol=1e-9)
        np.testing.assert_allclose(_columns(ours, names), np.asarray(values), rtol=0, atol=1e-9)
        again = tmp_path / f"again{suffix}"
        write_points(again, ours)
        assert np.array_equal(np.loadtxt(again), np.loadtxt(path))
        back = o3d.io.read_point_cloud(str(again))
        np.testing.assert_allclose(np.asarray(back.points), np.asarray(theirs.points), atol=1e-9)


@pytest.mark.parametrize("target", [".ply", ".pcd", ".pts"])
def test_xyzrgb_colours_become_the_bytes_open3d_writes(tmp_path, target):
    """PLY, PCD and PTS hold colours as bytes: an .xyzrgb cloud's fractions go there as
    round(255 c), as open3d converts them, and open3d reads the same colours from our file as
    from its own."""
    import open3d as o3d

    theirs = _open3d_cloud(seed=1)
    source = tmp_path / "o.xyzrgb"
    assert o3d.io.write_point_cloud(str(source), theirs)
    cloud = read_points(source)
    path, reference = tmp_path / f"ours{target}", tmp_path / f"theirs{target}"
    write_points(path, cloud)
    assert o3d.io.write_point_cloud(str(reference), o3d.io.read_point_cloud(str(source)))
    ours = read_points(path)
    names = ("red", "green", "blue") if target != ".pcd" else ("rgb",)
    assert all(ours.data[n].dtype == (np.uint8 if target != ".pcd" else np.float32) for n in names)
    np.testing.assert_array_equal(np.asarray(o3d.io.read_point_cloud(str(path)).colors),
                                  np.asarray(o3d.io.read_point_cloud(str(reference)).colors))


def test_byte_colours_and_pcd_normals_go_to_open3d_text_formats(tmp_path):
    """A PLY's byte colours go to .xyzrgb as c / 255 and a PCD's normal_x ... to .xyzn as
    nx ny nz: open3d reads them as it reads its own."""
    import open3d as o3d

    rng = np.random.default_rng(2)
    colours = rng.integers(0, 256, (8, 3)).astype(np.uint8)
    cloud = PointCloud.from_xyz(rng.random((8, 3)), **dict(zip(("red", "green", "blue"),
                                                                colours.T, strict=True)))
    write_points(tmp_path / "c.ply", cloud)
    write_points(tmp_path / "c.xyzrgb", read_points(tmp_path / "c.ply"))
    read = o3d.io.read_point_cloud(str(tmp_path / "c.xyzrgb"))
    np.testing.assert_allclose(np.asarray(read.colors) * 255, colours, atol=1e-6)
    normals = rng.standard_normal((8, 3))
    write_points(tmp_path / "n.pcd", PointCloud.from_xyz(
        rng.random((8, 3)).astype(np.float32), **dict(zip(("normal_x", "normal_y", "normal_z"), normals.T,
                                       strict=True))))
    pcd = read_points(tmp_path / "n.pcd")
    write_points(tmp_path / "n.xyzn", pcd)
    read = o3d.io.read_point_cloud(str(tmp_path / "n.xyzn"))
    np.testing.assert_allclose(np.asarray(read.normals), _columns(pcd, ("normal_x", "normal_y",
                                                                         "normal_z")), atol=1e-6)


def test_a_cloud_built_with_ply_names_goes_to_pcd_with_the_names_open3d_reads(tmp_path):
    """from_xyz(nx=..., red=...) written to .pcd kept PLY's names: open3d read no normals and
    no colours, without a word (a cloud read from a PLY file was renamed)."""
    import open3d as o3d

    rng = np.random.default_rng(3)
    normals = rng.standard_normal((8, 3)).astype(np.float32)
    colours = rng.integers(0, 256, (8, 3)).astype(np.uint8)
    cloud = PointCloud.from_xyz(rng.random((8, 3)).astype(np.float32),
                                **dict(zip(("nx", "ny", "nz"), normals.T, strict=True)),
                                **dict(zip(("red", "green", "blue"), colours.T, strict=True)))
    write_points(tmp_path / "m.pcd", cloud)
    read = o3d.io.read_point_cloud(str(tmp_path / "m.pcd"))
    np.testing.assert_allclose(np.asarray(read.normals), normals, atol=1e-6)
    np.testing.assert_allclose(np.asarray(read.colors) * 255, colours, atol=1e-4)
    assert read_points(tmp_path / "m.pcd").fields == ("x", "y", "z", "normal_x", "normal_y",
                                                      "normal_z", "rgb")
    write_points(tmp_path / "m.ply", cloud)  # PLY keeps the names it has
    assert read_points(tmp_path / "m.ply").fields == cloud.fields


@pytest.mark.parametrize("suffix, fields, message", [
    (".xyzn", dict(red=np.zeros(2, np.uint8)), r"holds x y z nx ny nz, not the fields red"),
    (".xyzn", dict(nx=np.zeros(2), ny=np.zeros(2)), r"not a cloud without nz"),
    (".xyzrgb", dict(red=np.zeros(2), green=np.zeros(2), blue=np.zeros(2), alpha=np.zeros(2)),
     r"holds x y z red green blue, not the fields alpha"),
    (".xyzrgb", {}, r"not a cloud without red, green, blue")])
def test_open3d_text_formats_refuse_other_fields(tmp_path, suffix, fields, message):
    path = tmp_path / f"c{suffix}"
    cloud = PointCloud.from_xyz(np.zeros((2, 3)), **fields)
    with pytest.raises(PointFileError, match=message):
        check_format_holds(path, cloud)
    with pytest.raises(PointFileError, match=message):
        write_points(path, cloud)
    assert not path.exists()


def test_xyzrgb_fractions_become_bytes_halves_up_clipped_nan_as_zero(tmp_path):
    """open3d rounds 255 c half up (0.3 -> 76.5 -> 77), clips and reads NaN as 0: so do we,
    without a numpy warning."""
    import open3d as o3d

    path = tmp_path / "c.xyzrgb"
    path.write_text("0 0 0 0.1 0.3 0.7\n1 0 0 1.5 -0.2 nan\n2 0 0 0.5 1 0\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_points(tmp_path / "ours.ply", read_points(path))
    ours = _columns(read_points(tmp_path / "ours.ply"), ("red", "green", "blue"))
    assert ours.dtype == np.uint8
    assert ours.tolist() == [[26, 77, 179], [255, 0, 0], [128, 255, 0]]
    assert o3d.io.write_point_cloud(str(tmp_path / "theirs.ply"), o3d.io.read_point_cloud(str(path)))
    np.testing.assert_array_equal(ours[:1], _columns(read_points(tmp_path / "theirs.ply"),
                                                     ("red", "green", "blue"))[:1])


def test_every_byte_colour_survives_a_trip_through_xyzrgb(tmp_path):
    values = np.arange(256, dtype=np.uint8)
    cloud = PointCloud.from_xyz(np.zeros((256, 3)), red=values, green=values[::-1],
                                blue=np.roll(values, 7))
    write_points(tmp_path / "c.xyzrgb", cloud)
    write_points(tmp_path / "back.ply", read_points(tmp_path / "c.xyzrgb"))
    back = read_points(tmp_path / "back.ply")
    for name in ("red", "green", "blue"):
        np.testing.assert_array_equal(back.data[name], cloud.data[name])


def test_integer_colours_go_to_xyzrgb_as_fractions_or_are_refused(tmp_path):
    import open3d as o3d

    cloud = PointCloud.from_xyz(np.zeros((2, 3)), red=np.array([255, 51]), green=np.array([0, 0]),
                                blue=np.array([0, 0]))
    write_points(tmp_path / "c.xyzrgb", cloud)
    colours = np.asarray(o3d.io.read_point_cloud(str(tmp_path / "c.xyzrgb")).colors)
    np.testing.assert_allclose(colours[:, 0], [1.0, 0.2])
    wide = PointCloud.from_xyz(np.zeros((1, 3)), red=np.array([65535], np.uint16),
                               green=np.array([0], np.uint16), blue=np.array([0], np.uint16))
    with pytest.raises(PointFileError, match=r"d\.xyzrgb: a \.xyzrgb file holds colours as "
                                             r"fractions 0\.\.1, and red holds integers outside"):
        write_points(tmp_path / "d.xyzrgb", wide)
    assert not (tmp_path / "d.xyzrgb").exists()


def test_open3d_text_formats_skip_a_header_line_of_names(tmp_path):
    path = tmp_path / "c.xyzn"
    path.write_text("//X,Y,Z,Nx,Ny,Nz\n0,0,0,1,0,0\n# a comment\n1,1,1,0,1,0\n")
    cloud = read_points(path)
    assert cloud.points.tolist() == [[0, 0, 0], [1, 1, 1]]
    assert _columns(cloud, ("nx", "ny", "nz")).tolist() == [[1, 0, 0], [0, 1, 0]]


def test_refusing_a_pcd_for_open3d_text_formats_names_its_own_fields(tmp_path):
    """A PCD's normal_x ... and packed rgb are named as the cloud has them, not as PLY would."""
    cloud = PointCloud.from_xyz(np.zeros((2, 3), np.float32), rgb=np.zeros(2, np.float32),
                                normal_x=np.zeros(2), normal_y=np.zeros(2), normal_z=np.ones(2))
    write_points(tmp_path / "c.pcd", cloud)
    pcd = read_points(tmp_path / "c.pcd")
    with pytest.raises(PointFileError, match=r"holds x y z nx ny nz, not the fields rgb;"):
        write_points(tmp_path / "c.xyzn", pcd)
    with pytest.raises(PointFileError, match=r"holds x y z red green blue, not the fields "
                                             r"normal_x, normal_y, normal_z;"):
        write_points(tmp_path / "c.xyzrgb", pcd)


def test_open3d_text_formats_name_a_row_of_other_width(tmp_path):
    path = tmp_path / "c.xyzn"
    path.write_text("0 0 0 1 0 0\n1 1 1\n")
    with pytest.raises(PointFileError, match=r"c\.xyzn: line 2 has 3 columns, the lines before it 6"):
        read_points(path)
    path.write_text("0 0 0\n1 1 1\n")
    with pytest.raises(PointFileError, match=r"holds 6 columns \(x y z nx ny nz\), found 3"):
        read_points(path)
    path.write_text("")
    assert len(read_points(path)) == 0 and read_points(path).fields == ("x", "y", "z", "nx", "ny", "nz")


def test_pts_without_a_count_line_and_with_a_wrong_one(tmp_path):
    named = tmp_path / "named.pts"  # what write_points wrote before .pts followed PTS
    named.write_text("# x y z red\n0 0 0 7\n")
    assert read_points(named).fields == ("x", "y", "z", "red")
    path = tmp_path / "n.pts"
    path.write_text("# scan\n2\n0 0 0\n1 1 1\n")
    assert read_points(path).points.tolist() == [[0, 0, 0], [1, 1, 1]]
    path.write_text("# scan\n3\n0 0 0\n1 1 1\n")
    with pytest.raises(PointFileError, match=r"n\.pts: line 2 gives the point count 3, but 2 rows"):
        read_points(path)


def test_pts_colours_are_bytes_whether_or_not_a_comment_leads(tmp_path):
    for text in ("2\n0 0 0 255 0 0\n1 1 1 3 4 5\n", "# scan by X\n2\n0 0 0 255 0 0\n1 1 1 3 4 5\n"):
        path = tmp_path / "c.pts"
        path.write_text(text)
        cloud = read_points(path)
        assert cloud.fields == ("x", "y", "z", "red", "green", "blue")
        assert cloud.data["red"].dtype == np.uint8 and cloud.data["red"].tolist() == [255, 3]


def open3d_cloud(n=200, seed=0):
    """An open3d cloud with colours and normals (open3d writes its positions as PLY doubles)."""
    import open3d as o3d

    rng = np.random.default_rng(seed)
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(rng.random((n, 3)) * 0.2 - 0.1))
    cloud.colors = o3d.utility.Vector3dVector(rng.integers(0, 256, (n, 3)) / 255)
    cloud.normals = o3d.utility.Vector3dVector(rng.standard_normal((n, 3)))
    cloud.normalize_normals()
    return cloud


@pytest.mark.filterwarnings("error")
def test_ply_to_binary_pcd_is_read_by_open3d(tmp_path):
    """A PLY of doubles went to PCD as F 8, which open3d's binary reader reads as zeros; from
    another format positions and normals go to PCD as F 4, as open3d writes them."""
    import open3d as o3d

    source = open3d_cloud()
    assert o3d.io.write_point_cloud(str(tmp_path / "o.ply"), source)
    assert PlyData.read(str(tmp_path / "o.ply"))["vertex"].data.dtype["x"] == np.float64
    write_points(tmp_path / "c.pcd", read_points(tmp_path / "o.ply"))
    assert b"\nTYPE F F F F F F F\n" in (tmp_path / "c.pcd").read_bytes()[:400]
    back = o3d.io.read_point_cloud(str(tmp_path / "c.pcd"))
    np.testing.assert_allclose(np.asarray(back.points), np.asarray(source.points), atol=1e-8)
    np.testing.assert_allclose(np.asarray(back.normals), np.asarray(source.normals), atol=1e-7)


def test_float64_normals_of_a_cloud_built_in_memory_are_read_by_open3d(tmp_path):
    """A cloud built with from_xyz wrote its float64 normals as F 8, silently, and open3d read
    each as (0, 0, 0); they go as F 4, as open3d writes them (float64 positions of a cloud built
    in memory stay F 8, warned)."""
    import open3d as o3d

    rng = np.random.default_rng(0)
    normals, points = rng.standard_normal((20, 3)), rng.random((20, 3))
    for xyz, sizes in ((points.astype(np.float32), b"4 4 4"), (points, b"8 8 8")):
        cloud = PointCloud.from_xyz(xyz, nx=normals[:, 0], ny=normals[:, 1], nz=normals[:, 2])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            write_points(tmp_path / "m.pcd", cloud)
        assert [str(w.message).split(";")[0] for w in caught] == (
            [] if sizes == b"4 4 4" else [f"{tmp_path / 'm.pcd'}: x y z written as 8-byte floats "
                                          "(F 8) to keep them"])
        assert b"\nSIZE " + sizes + b" 4 4 4\n" in (tmp_path / "m.pcd").read_bytes()[:400]
    write_points(tmp_path / "m.pcd", PointCloud.from_xyz(points.astype(np.float32), nx=normals[:, 0],
                                                         ny=normals[:, 1], nz=normals[:, 2]))
    back = o3d.io.read_point_cloud(str(tmp_path / "m.pcd"))
    np.testing.assert_allclose(np.asarray(back.normals), normals, rtol=1e-6)


def test_positions_float32_would_move_stay_f8_and_warn(tmp_path):
    """Survey coordinates far from the origin keep every digit (F 8); binary, open3d cannot read
    them, and the writer says so."""
    utm = np.array([[512345.123456, 4512345.678901, 12.345678], [512346.5, 4512346.25, 13.0]])
    write_points(tmp_path / "u.ply", PointCloud.from_xyz(utm))
    with pytest.warns(UserWarning, match="u.pcd: x y z written as 8-byte floats.*open3d"):
        write_points(tmp_path / "u.pcd", read_points(tmp_path / "u.ply"))
    assert read_points(tmp_path / "u.pcd").points.tolist() == utm.tolist()
    same = tmp_path / "same.pcd"  # a PCD read with F 8 keeps it, silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_points(same, read_points(tmp_path / "u.pcd"))
    assert same.read_bytes() == (tmp_path / "u.pcd").read_bytes()
    # an infinite coordinate made the extent infinite, so any position passed as F 4; an empty
    # cloud failed on its extent
    inf = np.array([[500000.123, 0.0, 0.0], [500001.456, 1.0, 1.0], [np.inf, 2.0, 2.0]])
    write_points(tmp_path / "inf.ply", PointCloud.from_xyz(inf))
    with pytest.warns(UserWarning, match="8-byte floats"):
        write_points(tmp_path / "inf.pcd", read_points(tmp_path / "inf.ply"))
    assert read_points(tmp_path / "inf.pcd").points.tolist() == inf.tolist()
    write_points(tmp_path / "empty.ply", PointCloud.from_xyz(np.zeros((0, 3))))
    write_points(tmp_path / "empty.pcd", read_points(tmp_path / "empty.ply"), binary=False)
    assert len(read_points(tmp_path / "empty.pcd")) == 0


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("source, target", [(".ply", ".pcd"), (".pcd", ".ply")])
@pytest.mark.parametrize("binary", [True, False])
def test_converted_colours_and_normals_are_read_by_open3d(tmp_path, source, target, binary):
    """PLY nx ny nz / red green blue and PCD normal_x normal_y normal_z / packed rgb are each
    renamed to the other format's convention; a same-format round trip keeps the file as is."""
    import open3d as o3d

    cloud = open3d_cloud()
    src = tmp_path / f"o{source}"
    assert o3d.io.write_point_cloud(str(src), cloud, write_ascii=not binary)
    ref = o3d.io.read_point_cloud(str(src))  # in ascii, at the digits open3d writes
    out = tmp_path / f"c{target}"
    write_points(out, read_points(src), binary=binary)
    back = o3d.io.read_point_cloud(str(out))
    assert back.has_colors() and back.has_normals()
    np.testing.assert_allclose(np.asarray(back.points), np.asarray(ref.points), atol=1e-7)
    np.testing.assert_allclose(np.asarray(back.colors), np.asarray(cloud.colors), atol=1e-12)
    np.testing.assert_allclose(np.asarray(back.normals), np.asarray(ref.normals), atol=1e-7)
    again = tmp_path / f"again{source}"  # and back to the first format
    write_points(again, read_points(out), binary=binary)
    assert read_points(again).fields == read_points(src).fields
    np.testing.assert_allclose(np.asarray(o3d.io.read_point_cloud(str(again)).colors),
                               np.asarray(cloud.colors), atol=1e-12)
    if binary:
        same = tmp_path / f"same{source}"
        write_points(same, read_points(src))
        assert same.read_bytes() == src.read_bytes()


@pytest.mark.parametrize("binary", [True, False])
def test_a_pcd_rgba_field_becomes_ply_colours_and_alpha_and_back(tmp_path, binary):
    """PCL's PointXYZRGBA packs its colour as U 4 ``rgba`` (alpha in the top byte): written to
    PLY it stayed one ``rgba`` property, so open3d read the PLY without colours."""
    import open3d as o3d

    rgba = np.array([0xFF102030, 0x80FF0001, 0x00000000], dtype=np.uint32)
    path = tmp_path / "c.pcd"
    write_points(path, PointCloud.from_xyz(np.eye(3), rgba=rgba), binary=binary)
    ply = tmp_path / "c.ply"
    write_points(ply, read_points(path), binary=binary)
    cloud = read_points(ply)
    assert cloud.fields == ("x", "y", "z", "red", "green", "blue", "alpha")
    assert cloud.data[["red", "green", "blue", "alpha"]].tolist() == \
        [(0x10, 0x20, 0x30, 0xFF), (0xFF, 0x00, 0x01, 0x80), (0, 0, 0, 0)]
    colours = np.asarray(o3d.io.read_point_cloud(str(ply)).colors)
    np.testing.assert_allclose(colours[:2] * 255, [[0x10, 0x20, 0x30], [0xFF, 0, 1]], atol=1e-9)
    again = tmp_path / "again.pcd"  # and back: one rgba again
    write_points(again, cloud, binary=binary)
    assert read_points(again).data["rgba"].tolist() == rgba.tolist()
    # a packed rgb beside an alpha field of its own (as the writer made of uchar RGBA before)
    # is still unpacked, its alpha left as it is
    rgb = np.array([0x102030, 0xFF0001, 0], dtype=np.uint32)
    write_points(path, PointCloud.from_xyz(np.eye(3), rgb=rgb, alpha=np.ones(3, np.float32)),
                 binary=binary)
    write_points(ply, read_points(path), binary=binary)
    assert read_points(ply).fields == ("x", "y", "z", "red", "green", "blue", "alpha")


@pytest.mark.parametrize("binary", [True, False])
def test_pcd_round_trip_keeps_multi_count_fields_and_viewpoint(tmp_path, binary):
    path = tmp_path / "h.pcd"
    path.write_text("VERSION 0.7\nFIELDS x y z hist\nSIZE 4 4 4 4\nTYPE F F F F\n"
                    "COUNT 1 1 1 4\nWIDTH 2\nHEIGHT 1\nVIEWPOINT 1 2 3 1 0 0 0\nPOINTS 2\n"
                    "DATA ascii\n0 0 0 1 2 3 4\n1 1 1 5 6 7 8\n")
    cloud = read_points(path)
    assert cloud.fields == ("x", "y", "z", "hist_0", "hist_1", "hist_2", "hist_3")
    out = tmp_path / "out.pcd"
    write_points(out, cloud.subset(np.array([False, True])), binary=binary)
    header = out.read_bytes().split(b"\nDATA")[0].decode().split("\n")
    assert {"FIELDS x y z hist", "SIZE 4 4 4 4", "TYPE F F F F", "COUNT 1 1 1 4",
            "VIEWPOINT 1 2 3 1 0 0 0"} <= set(header)
    back = read_points(out)
    assert back.data.tolist() == [(1, 1, 1, 5, 6, 7, 8)]
    write_points(tmp_path / "o.ply", cloud)  # other formats get the fields one by one
    assert read_points(tmp_path / "o.ply").fields == cloud.fields


def _pcl_rgb_header(n, mode):
    return ("# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS x y z rgb\n"
            f"SIZE 4 4 4 4\nTYPE F F F F\nCOUNT 1 1 1 1\nWIDTH {n}\nHEIGHT 1\n"
            f"VIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA {mode}\n")


def test_an_ascii_pcd_rgb_written_by_pcl_as_integers_keeps_its_colours(tmp_path):
    """PCL writes an ascii F 4 rgb as the colour's 32 bits, an unsigned integer (the text of a
    float cannot keep a NaN's bits): it was read as the float of that number, every colour wrong."""
    rgb = np.array([[255, 0, 0], [0, 128, 255], [200, 100, 50], [0, 0, 0]])
    packed = (255 << 24) | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    src = tmp_path / "pcl.pcd"
    src.write_text(_pcl_rgb_header(4, "ascii")
                   + "".join(f"{i} 0 0 {p}\n" for i, p in enumerate(packed)))
    cloud = read_points(src)
    assert cloud.data["rgb"].view(np.uint32).tolist() == packed.tolist()
    write_points(tmp_path / "c.ply", cloud)
    back = read_points(tmp_path / "c.ply")
    assert np.column_stack([back.data[c] for c in ("red", "green", "blue")]).tolist() == rgb.tolist()


@pytest.mark.parametrize("packed", [0xFF8000FF, 0xFF800000, 0x4B000000, 0x00FF8040])
def test_an_ascii_pcd_keeps_the_bits_of_a_packed_rgb(tmp_path, packed):
    """Written as float text, an rgb whose bits make a NaN or an infinity (alpha 255 and red 128
    or more) came back as another colour; a float that is a whole number must not be read back
    as PCL's integer either."""
    src = tmp_path / "b.pcd"
    data = np.zeros(2, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rgb", "<u4")])
    data["x"], data["rgb"] = [0, 1], [packed, 0x00102030]
    src.write_bytes(_pcl_rgb_header(2, "binary").encode() + data.tobytes())
    write_points(tmp_path / "a.pcd", read_points(src), binary=False)
    back = read_points(tmp_path / "a.pcd")
    assert back.data["rgb"].view(np.uint32).tolist() == [packed, 0x00102030]


def test_an_ascii_pcd_of_pcl_colours_is_read_by_open3d(tmp_path):
    """PCL's PointXYZRGB has alpha 255: every packed rgb is a NaN or a whole float, written to
    ascii as its bits. Under TYPE F open3d (and PCL) read that integer as a float, and every
    colour came back wrong; TYPE U, as PCL's own ascii header has it, reads right."""
    import open3d as o3d

    rgb = np.array([[10, 20, 30], [200, 100, 50], [0, 0, 0], [255, 255, 255]])
    src = tmp_path / "pcl.pcd"
    data = np.zeros(4, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rgb", "<u4")])
    data["x"] = np.arange(4)
    data["rgb"] = (255 << 24) | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    src.write_bytes(_pcl_rgb_header(4, "binary").encode() + data.tobytes())
    write_points(tmp_path / "a.pcd", read_points(src), binary=False)
    seen = np.asarray(o3d.io.read_point_cloud(str(tmp_path / "a.pcd")).colors)
    assert np.round(seen * 255).astype(int).tolist() == rgb.tolist()
    assert read_points(tmp_path / "a.pcd").data["rgb"].view(np.uint32).tolist() == data["rgb"].tolist()


def test_a_pcd_without_positions_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "normals.pcd"
    path.write_text("VERSION 0.7\nFIELDS normal_x normal_y normal_z\nSIZE 4 4 4\nTYPE F F F\n"
                    "COUNT 1 1 1\nWIDTH 1\nHEIGHT 1\nPOINTS 1\nDATA ascii\n0 0 1\n")
    with pytest.raises(PointFileError, match=re.escape(
            f"{path}: the PCD FIELDS line has no x y z (the positions), only normal_x normal_y "
            "normal_z")):
        read_points(path)


@pytest.mark.parametrize("binary", [True, False])
def test_a_pcd_comment_that_is_not_ascii_is_written_back(tmp_path, binary):
    """A PCD comment of UTF-8 text made writing the cloud fail, to PCD ('ascii' codec can't
    encode) and to PLY (non-ASCII character in comment)."""
    src = tmp_path / "utf.pcd"
    src.write_bytes("# scan from Zürich\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\n"
                    "COUNT 1 1 1\nWIDTH 1\nHEIGHT 1\nPOINTS 1\nDATA ascii\n1 2 3\n".encode())
    cloud = read_points(src)
    write_points(tmp_path / "o.pcd", cloud, binary=binary)
    assert "# scan from Zürich\n".encode() in (tmp_path / "o.pcd").read_bytes()
    assert read_points(tmp_path / "o.pcd").comments == ["scan from Zürich"]
    write_points(tmp_path / "o.ply", cloud, binary=binary)
    assert PlyData.read(str(tmp_path / "o.ply")).comments == ["scan from Z\\xfcrich"]


def _pcl_colour_cloud(tmp_path):
    """A binary PCD as PCL writes PointXYZRGB (alpha 255: a red of 128 or more packs to a NaN)."""
    rgb = np.array([[200, 100, 50], [10, 20, 30], [255, 255, 255]])
    data = np.zeros(3, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rgb", "<u4")])
    data["x"] = np.arange(3)
    data["rgb"] = (255 << 24) | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    src = tmp_path / "pcl.pcd"
    src.write_bytes(_pcl_rgb_header(3, "binary").encode() + data.tobytes())
    return src, rgb


@pytest.mark.parametrize("text", [".xyz", ".txt", ".pts"])
def test_pcd_colours_survive_a_trip_through_text(tmp_path, text):
    """A PCD's packed rgb was written to text as a float (NaN for most of PCL's colours), read
    back as a float64 ``rgb`` no reader takes for a colour, and refused by .pts; it is written as
    the red green blue a text file holds, read back as bytes, and packed again for PCD."""
    import open3d as o3d

    src, rgb = _pcl_colour_cloud(tmp_path)
    mid = tmp_path / f"c{text}"
    write_points(mid, read_points(src))
    back = read_points(mid)
    assert [back.data[c].dtype for c in ("red", "green", "blue")] == [np.uint8] * 3
    assert np.column_stack([back.data[c] for c in ("red", "green", "blue")]).tolist() == rgb.tolist()
    for suffix in (".pcd", ".ply"):
        write_points(tmp_path / f"again{suffix}", back, binary=False)
        seen = np.asarray(o3d.io.read_point_cloud(str(tmp_path / f"again{suffix}")).colors)
        assert np.round(seen * 255).astype(int).tolist() == rgb.tolist(), suffix


def test_ply_colours_keep_their_bytes_through_xyz(tmp_path):
    """uchar colours came back from .xyz as float64 (open3d's tensor reader then takes 200.0 for
    a float colour, whose range is 0..1); colours of only 0 and 1 are a float colour's, kept so."""
    rgb = np.array([[200, 100, 50], [0, 1, 255]], dtype=np.uint8)
    cloud = PointCloud.from_xyz(np.eye(3)[:2], red=rgb[:, 0], green=rgb[:, 1], blue=rgb[:, 2],
                                alpha=np.array([255, 7], np.uint8))
    write_points(tmp_path / "c.xyz", cloud)
    write_points(tmp_path / "c.ply", read_points(tmp_path / "c.xyz"))
    back = read_points(tmp_path / "c.ply")
    for name in ("red", "green", "blue", "alpha"):
        assert back.data[name].dtype == np.uint8 and back.data[name].tolist() == cloud.data[name].tolist()
    unit = PointCloud.from_xyz(np.eye(3)[:2], red=np.array([1.0, 0.0]), green=np.ones(2), blue=np.zeros(2))
    write_points(tmp_path / "u.xyz", unit)
    assert read_points(tmp_path / "u.xyz").data["red"].dtype == np.float64


def test_pts_refusal_does_not_name_a_packed_colour_it_would_keep(tmp_path):
    """A PCD's packed rgb goes to .pts as red green blue; refusing the cloud for its normals,
    the message named rgb among the fields a .pts file cannot hold."""
    src = tmp_path / "c.pcd"
    src.write_text("VERSION 0.7\nFIELDS x y z normal_x normal_y normal_z rgb\n"
                   "SIZE 4 4 4 4 4 4 4\nTYPE F F F F F F U\nCOUNT 1 1 1 1 1 1 1\nWIDTH 1\n"
                   "HEIGHT 1\nPOINTS 1\nDATA ascii\n0 0 0 0 0 1 16711680\n")
    with pytest.raises(PointFileError) as err:
        check_format_holds(tmp_path / "c.pts", read_points(src))
    assert "not the fields normal_x, normal_y, normal_z;" in str(err.value)


@pytest.mark.parametrize("tail, refused", [(b"\n", False), (b"\r\n", False), (b"\x00", True),
                                           (b"\n\n\n", True)])
def test_a_binary_ply_ending_in_a_newline_reads_as_open3d_reads_it(tmp_path, tail, refused):
    """Some writers end a binary PLY with a newline, which open3d reads past; it was refused as
    "more data than the header declares (1 bytes ...)". Other trailing bytes still are."""
    cloud = sample_cloud(3)
    path = tmp_path / "c.ply"
    write_points(path, cloud, binary=True)
    path.write_bytes(path.read_bytes() + tail)
    if refused:
        with pytest.raises(PointFileError, match="c.ply: more data than the header declares"):
            read_points(path)
    else:
        assert np.array_equal(read_points(path).data["x"], cloud.data["x"])


@pytest.mark.parametrize("text", [
    b'"X","Y","Z","Intensity","Red","Green","Blue"\n1,2,3,7,255,0,0\n4.5,5,6,8,0,255,0\n',  # PDAL
    b"//X,Y,Z,Intensity,R,G,B\n1,2,3,7,255,0,0\n4.5,5,6,8,0,255,0\n",  # CloudCompare
    b"x, y, z, intensity, red, green, blue\n1, 2, 3, 7, 255, 0, 0,\n4.5, 5, 6, 8, 0, 255, 0,\n",
])
def test_comma_separated_text_with_another_tools_header_reads(tmp_path, text):
    """A CSV export (PDAL's writers.text, CloudCompare's ASCII with commas) was refused: "line 1,
    column 1: 'X,Y,Z,...' is not a number" (open3d reads such a file as no points)."""
    path = tmp_path / "export.txt"
    path.write_bytes(text)
    cloud = read_points(path)
    np.testing.assert_array_equal(cloud.points, [[1, 2, 3], [4.5, 5, 6]])
    assert cloud.fields[:4] == ("x", "y", "z", "intensity")
    np.testing.assert_array_equal(cloud.data["intensity"], [7, 8])
    assert cloud.fields[4:] == ("red", "green", "blue")  # CloudCompare's R G B too
    assert cloud.data["red"].dtype == np.uint8 and cloud.data["green"].tolist() == [0, 255]


def test_comma_separated_rows_without_a_header_and_our_own_header_keep_their_names(tmp_path):
    path = tmp_path / "plain.xyz"
    path.write_bytes(b"1.5,2,3\n4,5,6 # a comment, with a comma\n")
    cloud = read_points(path)
    assert cloud.fields == ("x", "y", "z") and cloud.points.tolist() == [[1.5, 2, 3], [4, 5, 6]]
    ours = tmp_path / "ours.xyz"
    write_points(ours, PointCloud.from_xyz(np.zeros((2, 3)), Intensity=np.ones(2)))
    assert read_points(ours).fields == ("x", "y", "z", "Intensity")  # as written, not lowered


def test_a_header_whose_names_differ_only_in_case_keeps_them(tmp_path):
    """Lower-casing made "R r" one name twice, and refused a file that read before."""
    path = tmp_path / "case.xyz"
    path.write_bytes(b"# X Y Z R r\n0 0 0 1 2\n")
    cloud = read_points(path)
    assert cloud.fields == ("x", "y", "z", "R", "r") and cloud.data["r"].tolist() == [2]


def test_cloudcompare_pts_with_its_header_before_the_point_count(tmp_path):
    path = tmp_path / "cc.pts"
    path.write_bytes(b"//X,Y,Z,R,G,B\n2\n1,2,3,255,0,0\n4,5,6,0,255,0\n")
    cloud = read_points(path)
    assert cloud.points.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert cloud.data["green"].dtype == np.uint8 and cloud.data["green"].tolist() == [0, 255]
    path.write_bytes(b"//X,Y,Z\n3\n1,2,3\n4,5,6\n")
    with pytest.raises(PointFileError, match="line 2 gives the point count 3, but 2 rows"):
        read_points(path)


def _lzf_literals(data: bytes) -> bytes:
    """``data`` as an LZF stream of literal runs only (a control byte of length - 1 before each
    run of at most 32 bytes): valid LZF, which any decoder must read."""
    return b"".join(bytes([len(data[i:i + 32]) - 1]) + data[i:i + 32]
                    for i in range(0, len(data), 32))


def test_lzf_decodes_literals_and_overlapping_back_references():
    from scenesparse._points_numba import lzf_decompress

    def decode(stream: bytes, size: int):
        out = np.zeros(size, dtype=np.uint8)
        return lzf_decompress(np.frombuffer(stream, dtype=np.uint8), out), out.tobytes()

    # "ab", then 4 bytes copied from 2 back (overlapping what it writes): "ababab"
    assert decode(b"\x01ab\x40\x01", 6) == (6, b"ababab")
    # a long reference: 7 in the top bits, plus the next byte (3): 7 + 3 + 2 = 12 bytes
    assert decode(b"\x00x\xe0\x03\x00", 13) == (13, b"x" * 13)
    assert decode(_lzf_literals(bytes(range(100))), 100) == (100, bytes(range(100)))
    assert decode(b"\x20\x05", 4)[0] == -1  # a reference before the start
    assert decode(b"\x05ab", 6)[0] == -1  # a literal run past the end of the stream
    assert decode(b"\x01ab\x40\x01", 5)[0] == -1  # more bytes than the size given


def test_binary_compressed_pcd_reads_as_open3d_wrote_it(tmp_path):
    """PCL and open3d write binary_compressed PCD (open3d's compressed=True): it was refused."""
    o3d = pytest.importorskip("open3d")
    rng = np.random.default_rng(0)
    cloud = o3d.geometry.PointCloud()
    for attribute in ("points", "colors", "normals"):
        setattr(cloud, attribute, o3d.utility.Vector3dVector(rng.random((5000, 3))))
    o3d.io.write_point_cloud(str(tmp_path / "packed.pcd"), cloud, compressed=True)
    o3d.io.write_point_cloud(str(tmp_path / "plain.pcd"), cloud)
    assert b"DATA binary_compressed" in (tmp_path / "packed.pcd").read_bytes()[:400]
    packed, plain = read_points(tmp_path / "packed.pcd"), read_points(tmp_path / "plain.pcd")
    assert packed.data.dtype == plain.data.dtype and np.array_equal(packed.data, plain.data)


def _compressed_pcd(path, body: bytes, *, packed: int | None = None, size: int | None = None):
    header = (b"VERSION 0.7\nFIELDS x y z _ t\nSIZE 4 4 4 1 2\nTYPE F F F U U\nCOUNT 1 1 1 1 2\n"
              b"WIDTH 3\nHEIGHT 1\nPOINTS 3\nDATA binary_compressed\n")
    stream = _lzf_literals(body)
    path.write_bytes(header + struct.pack("<II", len(stream) if packed is None else packed,
                                          len(body) if size is None else size) + stream)
    return path


def test_binary_compressed_pcd_keeps_counts_skips_padding_and_names_damage(tmp_path):
    """The fields are stored one after another, a field of COUNT 2 as two values per point,
    the padding field ``_`` left out (as PCL writes them)."""
    xyz = np.arange(9, dtype="<f4").reshape(3, 3)
    t = np.array([[1, 2], [3, 4], [5, 6]], dtype="<u2")
    body = xyz[:, 0].tobytes() + xyz[:, 1].tobytes() + xyz[:, 2].tobytes() + t.tobytes()
    cloud = read_points(_compressed_pcd(tmp_path / "c.pcd", body))
    assert np.array_equal(cloud.points, xyz)
    assert cloud.data["t_0"].tolist() == [1, 3, 5] and cloud.data["t_1"].tolist() == [2, 4, 6]
    for name, kwargs, message in (
            ("short.pcd", {"packed": 10_000}, "truncated: the compressed data are 10000 bytes"),
            ("size.pcd", {"size": 40}, "decode to 40 bytes, but 3 points of the header's fields "
                                       "take 48")):
        with pytest.raises(PointFileError, match=message):
            read_points(_compressed_pcd(tmp_path / name, body, **kwargs))
    huge = tmp_path / "huge.pcd"  # a header that would have 1.28 GB allocated for 50 bytes
    huge.write_bytes(_compressed_pcd(tmp_path / "c.pcd", body, size=80_000_000 * 16).read_bytes()
                     .replace(b"POINTS 3", b"POINTS 80000000").replace(b"WIDTH 3", b"WIDTH 80000000"))
    with pytest.raises(PointFileError, match="50 bytes of LZF data cannot decode to 1280000000"):
        read_points(huge)
    damaged = tmp_path / "damaged.pcd"
    raw = bytearray(_compressed_pcd(damaged, body).read_bytes())
    raw[raw.index(b"binary_compressed\n") + 18 + 8] = 0x20  # a reference before the start
    damaged.write_bytes(bytes(raw))
    with pytest.raises(PointFileError, match="the compressed data are damaged"):
        read_points(damaged)


def test_subset_takes_booleans_or_whole_indices_in_range():
    """An integer 0/1 mask was read as indices without a word (8,171 copies of the bunny's first
    two points), floats were cut to indices and -1 picked the last point."""
    cloud = PointCloud.from_xyz(np.arange(12.0).reshape(4, 3))
    mask = np.array([True, False, True, True])
    assert cloud.subset(mask).data["x"].tolist() == [0.0, 6.0, 9.0]
    assert cloud.subset(np.array([3, 0, 0])).data["x"].tolist() == [9.0, 0.0, 0.0]  # indices
    assert len(cloud.subset(np.array([], dtype=np.int64))) == len(cloud.subset([])) == 0
    with pytest.warns(UserWarning, match=r"integers 0 and 1 only, one per point: read as "
                                         r"indices .*mask.astype\(bool\)"):
        assert cloud.subset(mask.astype(int)).data["x"].tolist() == [3.0, 0.0, 3.0, 3.0]
    with pytest.raises(ValueError, match="the cloud has no point: indices must be empty"):
        cloud.subset(np.zeros(4, dtype=bool)).subset(np.array([0]))
    with pytest.raises(ValueError, match=r"booleans, one per point, or 1-D integer indices, got "
                                         r"float64"):
        cloud.subset(np.array([0.5, 1.7]))
    with pytest.raises(ValueError, match=r"indices must lie in 0\.\.3, got -1\.\.2"):
        cloud.subset(np.array([-1, 2]))


def test_clouds_compare_by_their_values(tmp_path):
    """cloud == other raised numpy's "truth value of an array ... is ambiguous"."""
    from plyfile import PlyElement

    v = np.empty(3, dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("tags", "O")])
    v["x"] = v["y"] = v["z"] = [0, 1, 2]
    v["tags"] = [np.array([1, 2], "i4"), np.array([3], "i4"), np.array([], "i4")]
    PlyData([PlyElement.describe(v, "vertex")]).write(str(tmp_path / "tags.ply"))
    a, b = read_points(tmp_path / "tags.ply"), read_points(tmp_path / "tags.ply")
    assert a == b and not a != b
    b.data["tags"][1] = np.array([4], "i4")
    assert a != b
    assert a != a.subset(np.array([True, True, False])) and a != "a cloud"
    assert PointCloud.from_xyz(np.eye(3)) != PointCloud.from_xyz(np.eye(3).astype(np.float32))
    holes = PointCloud.from_xyz(np.array([[0.0, 0.0, np.nan], [1.0, 2.0, 3.0]]))
    assert holes == holes and holes == holes.subset(np.array([True, True]))  # NaN is NaN here


@pytest.mark.parametrize("grid, message", [
    ("WIDTH 3\nHEIGHT 2\n", "disagrees with itself: WIDTH 3 x HEIGHT 2 is 6 points, POINTS says 5"),
    ("WIDTH 5\n", "bad or missing WIDTH or HEIGHT line"),
    ("WIDTH five\nHEIGHT 1\n", "bad or missing WIDTH or HEIGHT line"),
])
def test_a_pcd_header_whose_grid_is_not_its_points_is_refused(tmp_path, grid, message):
    """WIDTH 3 and HEIGHT 2 with POINTS 5 (and five rows) was read, where PCL refuses it."""
    path = tmp_path / "wh.pcd"
    rows = "".join(f"{i} 0 0\n" for i in range(5))
    path.write_text(f"VERSION .7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\n{grid}"
                    f"POINTS 5\nDATA ascii\n{rows}")
    with pytest.raises(PointFileError, match=rf"wh\.pcd: .*{message}"):
        read_points(path)
    path.write_text(path.read_text().replace(grid, "WIDTH 5\nHEIGHT 1\n"))
    assert len(read_points(path).data) == 5
    path.write_text(path.read_text().replace("WIDTH 5\nHEIGHT 1\n", ""))  # before v0.7: none
    assert len(read_points(path).data) == 5
