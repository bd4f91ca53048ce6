"""Every supported file format, written small in tmp_path, read through the registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import metaframe
from metaframe import ReadError

RNG = np.random.default_rng(0)
XYZ = RNG.normal(size=(20, 3)).astype(np.float32)
NORMALS = RNG.normal(size=(20, 3)).astype(np.float32)
RGB = RNG.integers(0, 256, size=(20, 3)).astype(np.uint8)
RAW = dict(num_points=None, normalize=False)


@pytest.fixture(scope="module")
def pc():
    return metaframe.get_modality("point_cloud")


def write_ply(path, text: bool):
    from plyfile import PlyData, PlyElement

    dtype = [("x", "f4"), ("y", "f4"), ("z", "f4"), ("nx", "f4"), ("ny", "f4"), ("nz", "f4"),
             ("red", "u1"), ("green", "u1"), ("blue", "u1")]
    v = np.empty(len(XYZ), dtype=dtype)
    for i, n in enumerate("xyz"):
        v[n] = XYZ[:, i]
        v["n" + n] = NORMALS[:, i]
    v["red"], v["green"], v["blue"] = RGB.T
    PlyData([PlyElement.describe(v, "vertex")], text=text).write(str(path))


@pytest.mark.parametrize("text", [True, False], ids=["ascii", "binary"])
def test_ply_with_normals_and_colour(pc, tmp_path, text):
    path = tmp_path / "cloud.ply"
    write_ply(path, text)
    out = pc.read(path, features=["normals", "colour"], **RAW)
    assert out.shape == (20, 9) and out.dtype == torch.float32
    np.testing.assert_allclose(out[:, :3], XYZ, atol=1e-5)
    np.testing.assert_allclose(out[:, 3:6], NORMALS, atol=1e-5)
    np.testing.assert_allclose(out[:, 6:], RGB / 255.0, atol=1e-6)


def test_off_vertices_one_line_header_and_surface_sampling(pc, tmp_path):
    path = tmp_path / "mesh.off"
    # ModelNet's quirk: counts on the OFF line itself
    path.write_text("OFF4 2 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 2\n3 0 1 3\n")
    out = pc.read(path, **RAW)
    assert out.tolist() == [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    surf = pc.read(path, mesh_points=64, **RAW)
    assert surf.shape == (64, 3)
    on_faces = (surf[:, 2].abs() < 1e-6) | (surf[:, 1].abs() < 1e-6)  # the two faces lie in z=0 and y=0
    assert bool(on_faces.all()) and bool((surf >= -1e-6).all())


@pytest.mark.parametrize("suffix,sep", [(".xyz", " "), (".txt", " "), (".csv", ",")])
def test_text_tables(pc, tmp_path, suffix, sep):
    path = tmp_path / f"cloud{suffix}"
    np.savetxt(path, np.hstack([XYZ, NORMALS]), delimiter=sep, fmt="%.6f")
    out = pc.read(path, features=["normals"], **RAW)  # 6 headerless columns: x y z nx ny nz
    np.testing.assert_allclose(out[:, :3], XYZ, atol=1e-5)
    np.testing.assert_allclose(out[:, 3:], NORMALS, atol=1e-5)


def test_csv_with_header_names_features(pc, tmp_path):
    path = tmp_path / "scan.csv"
    rows = "\n".join(f"{a:.4f},{b:.4f},{c:.4f},{i}" for (a, b, c), i in zip(XYZ, range(20)))
    path.write_text("X,Y,Z,Intensity\n" + rows + "\n")
    out = pc.read(path, features=["intensity"], **RAW)
    assert out.shape == (20, 4) and out[:, 3].tolist() == list(range(20))


def test_npy_and_npz(pc, tmp_path):
    np.save(tmp_path / "a.npy", XYZ)
    np.savez(tmp_path / "b.npz", points=XYZ, normals=NORMALS)
    np.testing.assert_allclose(pc.read(tmp_path / "a.npy", **RAW), XYZ)
    both = pc.read(tmp_path / "b.npz", features=["normals"], **RAW)
    np.testing.assert_allclose(both, np.hstack([XYZ, NORMALS]))


def pcd_header(fields, sizes, types, n, data):
    return (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\n"
        f"FIELDS {' '.join(fields)}\nSIZE {' '.join(map(str, sizes))}\nTYPE {' '.join(types)}\n"
        f"COUNT {' '.join('1' for _ in fields)}\nWIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\n"
        f"POINTS {n}\nDATA {data}\n"
    )


def packed_rgb() -> np.ndarray:
    packed = (RGB[:, 0].astype(np.uint32) << 16) | (RGB[:, 1].astype(np.uint32) << 8) | RGB[:, 2]
    return packed.view(np.float32)


def test_pcd_binary_with_packed_rgb(pc, tmp_path):
    path = tmp_path / "cloud.pcd"
    rec = np.zeros(20, dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("rgb", "f4"), ("intensity", "f4")])
    rec["x"], rec["y"], rec["z"] = XYZ.T
    rec["rgb"] = packed_rgb()
    rec["intensity"] = np.arange(20)
    header = pcd_header(["x", "y", "z", "rgb", "intensity"], [4] * 5, ["F"] * 5, 20, "binary")
    path.write_bytes(header.encode() + rec.tobytes())
    out = pc.read(path, features=["colour", "intensity"], **RAW)
    np.testing.assert_allclose(out[:, :3], XYZ)
    np.testing.assert_allclose(out[:, 3:6], RGB / 255.0, atol=1e-6)
    assert out[:, 6].tolist() == list(range(20))


def test_pcd_ascii(pc, tmp_path):
    path = tmp_path / "cloud.pcd"
    rows = "\n".join(" ".join(f"{v:.6f}" for v in p) + f" {i}" for i, p in enumerate(XYZ))
    path.write_text(pcd_header(["x", "y", "z", "label"], [4, 4, 4, 4], ["F", "F", "F", "U"], 20, "ascii") + rows + "\n")
    np.testing.assert_allclose(pc.read(path, **RAW), XYZ, atol=1e-5)


def test_in_memory_array_tensor_and_normalisation(pc):
    out = pc.read(torch.from_numpy(XYZ * 5 + 3), num_points=None)
    assert out.mean(0).abs().max() < 1e-5
    assert abs(float(out.norm(dim=1).max()) - 1.0) < 1e-5
    np.testing.assert_allclose(pc.read(XYZ, **RAW), XYZ)


def test_sampling_to_a_fixed_count(pc):
    cloud = RNG.normal(size=(300, 3))
    fps = pc.read(cloud, num_points=50)
    assert fps.shape == (50, 3) and torch.equal(fps, pc.read(cloud, num_points=50))
    rnd = pc.read(cloud, num_points=50, sampling="random", seed=3, normalize=False)
    rows = {tuple(np.round(r, 5)) for r in cloud.tolist()}
    assert all(tuple(np.round(r, 5)) in rows for r in rnd.double().tolist())
    assert pc.read(cloud[:10], num_points=16, too_few="repeat").shape == (16, 3)


# -- bad input: errors that name the file and the problem -----------------------------------

def test_empty_file(pc, tmp_path):
    path = tmp_path / "empty.ply"
    path.write_bytes(b"")
    with pytest.raises(ReadError, match=r"empty\.ply: file is empty"):
        pc.read(path)


def test_fewer_points_than_requested(pc, tmp_path):
    path = tmp_path / "small.xyz"
    np.savetxt(path, XYZ)
    with pytest.raises(ReadError, match=r"small\.xyz: has 20 points, fewer than num_points=1024"):
        pc.read(path)


def test_nan_coordinates_error_or_counted_drop(pc, tmp_path):
    path = tmp_path / "nan.xyz"
    data = XYZ.copy()
    data[[3, 7], 1] = np.nan
    np.savetxt(path, data)
    with pytest.raises(ReadError, match=r"nan\.xyz: 2 of 20 points have NaN or infinite values \(first: point 3\)"):
        pc.read(path, **RAW)
    with pytest.warns(UserWarning, match="dropped 2 of 20 points"):
        out = pc.read(path, non_finite="drop", **RAW)
    assert out.shape == (18, 3)


def test_ragged_csv_names_the_row(pc, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("1,2,3\n4,5,6\n7,8\n")
    with pytest.raises(ReadError, match=r"ragged\.csv: rows must all hold the same number of numeric columns: line 3 has 2 columns, the first row has 3"):
        pc.read(path, **RAW)


def test_missing_feature_and_unknown_extension(pc, tmp_path):
    np.save(tmp_path / "a.npy", XYZ)
    with pytest.raises(ReadError, match=r"a\.npy: has no normals"):
        pc.read(tmp_path / "a.npy", features=["normals"], **RAW)
    (tmp_path / "x.obj").write_text("v 1 2 3\n")
    with pytest.raises(ReadError, match="unknown point-cloud extension '.obj'"):
        pc.read(tmp_path / "x.obj")


def test_corrupt_ply_truncated_pcd_and_compressed_pcd(pc, tmp_path):
    (tmp_path / "bad.ply").write_text("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nend_header\n1\n")
    with pytest.raises(ReadError, match=r"bad\.ply: not a valid PLY file"):
        pc.read(tmp_path / "bad.ply", **RAW)
    header = pcd_header(["x", "y", "z"], [4, 4, 4], ["F"] * 3, 20, "binary")
    (tmp_path / "cut.pcd").write_bytes(header.encode() + XYZ[:5].tobytes())
    with pytest.raises(ReadError, match=r"cut\.pcd: PCD binary data is truncated"):
        pc.read(tmp_path / "cut.pcd", **RAW)
    header = pcd_header(["x", "y", "z"], [4, 4, 4], ["F"] * 3, 20, "binary_compressed")
    (tmp_path / "lzf.pcd").write_bytes(header.encode() + b"\x00" * 16)
    with pytest.raises(ReadError, match="binary_compressed"):
        pc.read(tmp_path / "lzf.pcd", **RAW)


def test_off_with_wrong_counts(pc, tmp_path):
    path = tmp_path / "short.off"
    path.write_text("OFF\n10 0 0\n0 0 0\n")
    with pytest.raises(ReadError, match=r"short\.off: OFF header declares 10 vertices"):
        pc.read(path, **RAW)


def test_modelnet_resampled_layout(pc, tmp_path):
    (tmp_path / "modelnet40_shape_names.txt").write_text("airplane\nnight_stand\n")
    (tmp_path / "modelnet40_train.txt").write_text("airplane_0001\nnight_stand_0002\n")
    for cls, shape in (("airplane", "airplane_0001"), ("night_stand", "night_stand_0002")):
        (tmp_path / cls).mkdir()
        np.savetxt(tmp_path / cls / f"{shape}.txt", np.hstack([XYZ, NORMALS]), delimiter=",", fmt="%.6f")
    data = pc.dataset(tmp_path, split="train", num_points=16, features=["normals"])
    assert len(data) == 2 and data.label_names == ["airplane", "night_stand"]
    cloud, label = data[1]
    assert cloud.shape == (16, 6) and label == 1
    with pytest.raises(ReadError, match=r"modelnet40_test\.txt: split file not found"):
        pc.dataset(tmp_path, split="test")


def test_modelnet_mesh_layout(pc, tmp_path):
    for cls in ("chair", "bed"):
        (tmp_path / cls / "test").mkdir(parents=True)
        (tmp_path / cls / "test" / f"{cls}_0001.off").write_text("OFF\n4 2 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 2\n3 0 1 3\n")
    data = pc.dataset(tmp_path, split="test", num_points=32, mesh_points=64)
    assert [data.label_names[y] for _, y in data] == ["bed", "chair"]
    assert data[0][0].shape == (32, 3)


def test_ply_mesh_surface_sampling(pc, tmp_path):
    from plyfile import PlyData, PlyElement

    verts = np.array([(0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0)], dtype=[("x", "f4"), ("y", "f4"), ("z", "f4")])
    faces = np.empty(1, dtype=[("vertex_indices", "i4", (4,))])
    faces["vertex_indices"][0] = [0, 1, 3, 2]  # one quad in z = 0
    path = tmp_path / "quad.ply"
    PlyData([PlyElement.describe(verts, "vertex"), PlyElement.describe(faces, "face")]).write(str(path))
    out = pc.read(path, mesh_points=50, **RAW)
    assert out.shape == (50, 3) and bool((out[:, 2] == 0).all())
    assert bool(((out[:, :2] >= 0) & (out[:, :2] <= 1)).all())
    assert pc.read(path, **RAW).shape == (4, 3)
