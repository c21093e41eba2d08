"""QUEEN: the coders, the stream container, the encoder's gates and the command line, on a small
synthetic multi-view video (a few hundred Gaussians, 32 px) so every test runs in seconds."""

from __future__ import annotations

import dataclasses
import io
import json
import re

import numpy as np
import pytest
import torch

from scenesparse.cameras import orbit_cameras
from scenesparse.gaussians import GaussianScene, read_ply
from scenesparse.queen.coding import (
    binary_entropy_bits,
    decode_indices,
    decode_ints,
    encode_indices,
    encode_ints,
    entropy_bits,
    pack_floats,
    unpack_floats,
)
from scenesparse.queen.encoder import FrameState, QueenEncoder, gate_probabilities
from scenesparse.queen.residuals import FrameResiduals, QueenConfig, StreamState
from scenesparse.queen.stream import CorruptStreamError, QueenStream, scene_of_state
from scenesparse.queen.video import encode_video, make_moving_video, moved_gaussians, read_video
from scenesparse.rendering import render
from scenesparse.training import params_from_scene
from sparsebox.exceptions import InvalidParameterError
from sparsebox.masks import HardConcreteGate


def _scene(n=300, degree=1, seed=0) -> GaussianScene:
    g = torch.Generator().manual_seed(seed)
    quats = torch.randn(n, 4, generator=g)
    return GaussianScene(means=torch.rand(n, 3, generator=g) * 0.4,
                         quats=quats / quats.norm(dim=1, keepdim=True),
                         log_scales=torch.full((n, 3), -3.5) + 0.3 * torch.rand(n, 3, generator=g),
                         opacity_logits=torch.randn(n, generator=g),
                         sh_dc=torch.randn(n, 3, generator=g) * 0.5,
                         sh_rest=torch.randn(n, (degree + 1) ** 2 - 1, 3, generator=g) * 0.1)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """Three frames, three cameras at 32 px; the truth says which Gaussians move."""
    folder = tmp_path_factory.mktemp("video")
    truth = make_moving_video(_scene(), folder, frames=3, cameras=3, resolution=32,
                              moving_fraction=0.1, angle_deg=30, shift=0.2, seed=1)
    return folder, truth


@pytest.fixture(scope="module")
def encoded(video, tmp_path_factory):
    """The video encoded (2 epochs a frame) with the encoder's decoded state after each frame."""
    folder, _ = video
    out = tmp_path_factory.mktemp("stream") / "video.qsv"
    states = []

    def keep(row, encoder):
        states.append({k: v.clone() for k, v in encoder.state_.params.items()})

    report = encode_video(folder, out, config=QueenConfig(epochs=2), backend="numba",
                          on_frame=keep)
    return out, report, states


# ----------------------------------------------------------------------------------- coders
@pytest.mark.parametrize("values", [
    np.zeros(0, dtype=np.int64),
    np.array([7]),
    np.full((50, 3), -4),
    np.random.default_rng(0).integers(-300, 300, size=(1000, 4)),
    np.random.default_rng(1).geometric(0.3, size=5000) * np.random.default_rng(2).choice(
        [-1, 1], size=5000),
    np.array([2**40, -(2**40), 0]),
], ids=["empty", "one", "constant", "uniform", "two_sided_geometric", "huge"])
def test_integer_coder_round_trips(values):
    decoded = decode_ints(encode_ints(values))
    assert decoded.dtype == np.int64
    np.testing.assert_array_equal(decoded, np.asarray(values).reshape(-1))


def test_integer_coder_is_close_to_the_empirical_entropy():
    """A real entropy coder: 20,000 skewed symbols cost their entropy plus the table, within
    1%; deflate on the same int8 bytes costs more (about 1.2x here)."""
    import zlib

    rng = np.random.default_rng(3)
    values = np.round(rng.laplace(0, 1.5, size=20_000)).astype(np.int64)
    coded = 8 * len(encode_ints(values))
    ideal = entropy_bits(values)
    table_bits = 8 * 4 * len(np.unique(values))
    assert ideal <= coded <= 1.01 * ideal + table_bits
    assert coded < 0.9 * 8 * len(zlib.compress(values.astype(np.int8).tobytes(), 9))


@pytest.mark.parametrize("count", [0, 1, 37, 1000, 5000])
def test_index_coder_round_trips_and_costs_the_pattern_entropy(count):
    total = 5000
    idx = np.sort(np.random.default_rng(count).choice(total, size=count, replace=False))
    data = encode_indices(idx, total)
    np.testing.assert_array_equal(decode_indices(data, total), idx)
    if 0 < count < total:
        assert 8 * len(data) <= binary_entropy_bits(count, total) * 1.02 + 64


def test_index_coder_refuses_unsorted_or_out_of_range():
    with pytest.raises(ValueError, match="sorted"):
        encode_indices(np.array([3, 2]), 10)
    with pytest.raises(ValueError, match="range"):
        encode_indices(np.array([3, 10]), 10)


@pytest.mark.parametrize("dtype", ["<f4", "<f2"])
def test_float_packing_is_exact(dtype):
    a = np.random.default_rng(0).normal(size=1234).astype(dtype)
    a[5] = np.nan
    np.testing.assert_array_equal(unpack_floats(pack_floats(a, dtype), dtype), a)


def test_entropy_estimates():
    assert entropy_bits(np.array([1, 1, 2, 2])) == 4.0
    assert binary_entropy_bits(1, 2) == 2.0
    assert binary_entropy_bits(0, 10) == 0.0 == entropy_bits(np.zeros(9))


# ----------------------------------------------------------------------------------- gates
def test_the_config_uses_queens_gate_constants_on_the_core_gate():
    cfg = QueenConfig()
    assert (cfg.gate_temperature, cfg.gate_gamma, cfg.gate_zeta) == (0.3, -0.5, 1.01)
    residuals = FrameResiduals(StreamState.from_params(params_from_scene(_scene(10)), 8),
                               torch.tensor([0.95] * 5 + [0.02] * 5), cfg)
    gate = residuals.gate
    assert isinstance(gate, HardConcreteGate) and not gate.training
    assert (gate.beta, gate.gamma, gate.zeta) == (0.3, -0.5, 1.01)
    # the gates start open where the initial probability is high and closed where it is low
    values = residuals.gate_values()
    assert (values[:5] > 0.5).all() and (values[5:] == 0).all()
    # QUEEN's deterministic gate is the median of z: open exactly where p > 1/2 (the paper's
    # test-time estimate opened gates from p = 0.38 on, outside the footprint of p >= 0.5)
    around = FrameResiduals(StreamState.from_params(params_from_scene(_scene(4)), 8),
                            torch.tensor([0.40, 0.49, 0.51, 0.60]), cfg)
    assert around.gate.eval_gate == "median"
    assert (around.gate_values() > 0).tolist() == [False, False, True, True]


def _table(**changes):
    return {"sh0": 8, "quats": 6, "opacities": 3, "scales": 8, "shN": 4, **changes}


@pytest.mark.parametrize(("fields", "message"), [
    ({"epochs": 1.5}, "epochs must be an integer >= 1, got 1.5"),
    ({"epochs": 0}, "epochs must be an integer >= 1, got 0"),
    ({"epochs": True}, "epochs must be an integer >= 1, got True"),
    ({"epochs": "3"}, "epochs must be an integer >= 1, got '3'"),
    ({"gate_temperature": 0.0}, "gate_temperature must be a finite number > 0, got 0.0"),
    ({"gate_gamma": 0.1}, "gate_gamma must be a finite number < 0, got 0.1"),
    ({"gate_zeta": 1.0}, "gate_zeta must be a finite number > 1, got 1.0"),
    ({"gate_lr": -0.1}, "gate_lr must be a finite number >= 0, got -0.1"),
    ({"lambda_l0": float("inf")}, "lambda_l0 must be a finite number >= 0, got inf"),
    ({"lambda_rate": float("nan")}, "lambda_rate must be a finite number >= 0, got nan"),
    ({"masked_fraction": 1.5}, "masked_fraction must be in [0, 1], got 1.5"),
    ({"dilation": -1}, "dilation must be a finite number >= 0, got -1"),
    ({"position_lr": None}, "position_lr must be a finite number >= 0, got None"),
    ({"latent_dims": [8, 6]}, "latent_dims must be a Mapping, got [8, 6]"),
    ({"latent_dims": _table(sh0=2.5)}, "latent_dims['sh0'] must be an integer >= 1, got 2.5"),
    ({"latent_dims": _table(shN=0)}, "latent_dims['shN'] must be an integer >= 1, got 0"),
    ({"latent_lr": {"sh0": 0.05}}, "latent_lr lacks an entry for 'quats'"),
    ({"decoder_lr": _table(scales=-1e-4)}, "decoder_lr['scales'] must be a finite number >= 0, got -0.0001"),
    ({"decoder_std": _table(opacities=0)}, "decoder_std['opacities'] must be a finite number > 0, got 0"),
], ids=lambda v: next(iter(v)) if isinstance(v, dict) else None)
def test_the_config_refuses_a_bad_field_when_made_and_names_it(fields, message):
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        QueenConfig(**fields)


def test_the_config_takes_numpy_numbers():
    cfg = QueenConfig(epochs=np.int64(3), lambda_l0=np.float32(0.05), masked_fraction=0,
                      latent_dims=_table(sh0=np.int32(4)))
    assert (cfg.epochs, cfg.latent_dims["sh0"]) == (3, 4)


def test_gate_initialisation_finds_the_moving_gaussians(video):
    """p_init from the view-space gradient difference is higher on the Gaussians that moved
    (those visible in the views) than on the static ones."""
    folder, truth = video
    frames = read_video(folder)
    scene = read_ply(frames[0].folder / "point_cloud.ply")
    g, p = gate_probabilities(scene, frames[0].cameras, frames[2].images(),
                              frames[0].images(), backend="numba")
    moving = np.zeros(len(scene), dtype=bool)
    moving[truth["moving"]] = True
    assert ((p >= 0) & (p < 1)).all()
    assert float(p[moving].mean()) > 2 * float(p[~moving].mean())
    # no change, no signal
    g0, p0 = gate_probabilities(scene, frames[0].cameras, frames[0].images(),
                                frames[0].images(), backend="numba")
    assert float(g0.abs().max()) == 0.0 and float(p0.max()) == 0.0
    with torch.no_grad():  # a caller's no_grad: the gradients are taken all the same
        g_off, _ = gate_probabilities(scene, frames[0].cameras, frames[2].images(),
                                      frames[0].images(), backend="numba")
    assert torch.equal(g_off, g)


def test_encoder_checks_its_inputs_and_continues_from_a_state_dict(video):
    folder, _ = video
    frames = read_video(folder)
    scene = read_ply(frames[0].folder / "point_cloud.ply")
    cams = frames[0].cameras
    enc = QueenEncoder(QueenConfig(epochs=1), backend="numba")
    with pytest.raises(Exception, match="start"):
        enc.encode_frame(cams, frames[1].images())
    # a path, not the scene (was "'str' object has no attribute 'means'")
    with pytest.raises(InvalidParameterError, match=r"start takes the first frame as a "
                                                    r"GaussianScene \(scenesparse.read_ply"):
        enc.start(str(frames[0].folder / "point_cloud.ply"), cams, frames[0].images())
    with pytest.raises(ValueError, match=r"target 1 must be \(height, width, 3\) = \(32, 32"):
        enc.start(scene, cams, [im if i != 1 else im[:20, :20]
                                for i, im in enumerate(frames[0].images())])
    enc.start(scene, cams, frames[0].images())
    with pytest.raises(ValueError, match="3 cameras"):
        enc.encode_frame(cams[:2], frames[1].images()[:2])
    with pytest.raises(ValueError, match=r"target 0 must be \(height, width, 3\)"):  # not torch's
        enc.encode_frame(cams, [im[:20, :20] for im in frames[1].images()])
    with pytest.raises(ValueError, match="backend must be one of"):  # when made, not later
        QueenEncoder(QueenConfig(epochs=1), backend="bogus")
    # seed and config are named when made (were torch's "manual_seed expected a long" and an
    # AttributeError on 'latent_dims' in start)
    for kwargs, message in (({"seed": 1.5}, "seed must be an integer, got 1.5"),
                            ({"seed": -1}, "seed must be >= 0, got -1"),
                            ({"config": {"epochs": 1}}, "config must be a QueenConfig")):
        with pytest.raises(InvalidParameterError, match=re.escape(message)):
            QueenEncoder(**kwargs)
    # cameras of another size than the previous frame's (was torch's "size of tensor a")
    small = [c.resized(16, 16) for c in cams]
    with pytest.raises(ValueError, match=r"image 0 is \(16, 16, 3\), where the previous frame's "
                                         r"is \(32, 32, 3\)"):
        enc.encode_frame(small, [im[:16, :16] for im in frames[1].images()])
    enc.encode_frame(cams, frames[1].images())
    buffer = io.BytesIO()
    torch.save(enc.state_dict(), buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)  # tensors, numbers, strings, lists, dicts
    a = enc.encode_frame(cams, frames[2].images())
    twin = QueenEncoder(QueenConfig(epochs=1), backend="numba").load_state_dict(saved)
    restored = twin.frames_[0]
    assert isinstance(restored, FrameState) and len(twin.frames_) == 1
    for name in ("gate_init", "gate_final", "gated"):
        np.testing.assert_array_equal(getattr(restored, name), getattr(enc.frames_[0], name))
        assert getattr(restored, name).dtype == getattr(enc.frames_[0], name).dtype
    assert restored.estimate_bits == enc.frames_[0].estimate_bits
    b = twin.encode_frame(cams, frames[2].images())
    np.testing.assert_array_equal(a.gated, b.gated)
    for name in a.symbols:
        np.testing.assert_array_equal(a.symbols[name], b.symbols[name])
    for name, value in enc.state_.params.items():
        assert torch.equal(twin.state_.params[name], value), name
    assert twin.state_.index == enc.state_.index == 2
    # scene() is a copy: editing it had moved the encoder's own Gaussians
    means = enc.state_.params["means"].clone()
    enc.scene().means.add_(1.0)
    assert torch.equal(enc.state_.params["means"], means)




def test_a_state_dict_of_other_latent_dims_is_refused_when_loaded(video):
    """Loaded into an encoder of other latent_dims, a state failed a frame later with torch's
    "mat1 and mat2 shapes cannot be multiplied"; now it is refused when loaded, naming them."""
    folder, _ = video
    frames = read_video(folder)
    cams = frames[0].cameras
    enc = QueenEncoder(QueenConfig(epochs=1), backend="numba")
    enc.start(read_ply(frames[0].folder / "point_cloud.ply"), cams, frames[0].images())
    enc.encode_frame(cams, frames[1].images())
    state = enc.state_dict()
    dims = dict(QueenConfig().latent_dims)
    for name in ("sh0", "shN"):
        other = QueenEncoder(QueenConfig(epochs=1, latent_dims={**dims, name: 2}))
        with pytest.raises(InvalidParameterError, match=rf"latent_dims \{{'{name}': {dims[name]}\}}, "
                                                        rf"where this encoder's config has "
                                                        rf"\{{'{name}': 2\}}"):
            other.load_state_dict(state)
    # another number of epochs (or any setting but the shapes) goes on
    assert QueenEncoder(QueenConfig(epochs=2)).load_state_dict(state).state_.index == 1
    # a path or a dict that is no state: named (were a TypeError and a bare KeyError)
    for given, message in (("sd.pt", r"takes the dict state_dict\(\) returned, got str \(a file: "
                                     r"pass torch.load\(path, weights_only=True\)\)"),
                           ({}, r"not a QueenEncoder state: no 'state'"),
                           ({k: v for k, v in state.items() if k != "generator"},
                            r"not a QueenEncoder state: no 'generator'")):
        fresh = QueenEncoder(QueenConfig(epochs=1))
        with pytest.raises(InvalidParameterError, match=message):
            fresh.load_state_dict(given)
        assert not hasattr(fresh, "state_")  # refused before any of it was taken
    # a garbled generator state: named, and the encoder keeps its own state (it took the new
    # stream state, then failed on the generator with torch's "Expected a CPUGeneratorImplState ...")
    garbled = {**state, "state": {**state["state"], "index": 7}, "generator": state["generator"][:8]}
    with pytest.raises(InvalidParameterError, match=r"its 'generator' is no torch generator state"):
        enc.load_state_dict(garbled)
    assert enc.state_.index == 1 and enc.state_dict()["generator"].equal(state["generator"])
    with pytest.raises(AttributeError):  # a part read last (no tensors): nothing taken either
        enc.load_state_dict({**state, "state": garbled["state"], "previous": ["x"]})
    assert enc.state_.index == 1


def test_moved_gaussians_is_the_motion_of_the_video(video):
    """Frame t's Gaussians from frame 0's and the ground truth render the video's photos of frame
    t; the ball moves rigidly and nothing else moves."""
    folder, truth = video
    frames = read_video(folder)
    first = read_ply(frames[0].folder / "point_cloud.ply")
    moving = np.zeros(len(first), dtype=bool)
    moving[truth["moving"]] = True
    same, _ = moved_gaussians(truth, first.means, first.quats, 0)
    torch.testing.assert_close(same, first.means)
    means, quats = moved_gaussians(truth, first.means, first.quats, 2)  # the last frame
    assert torch.equal(means[~moving], first.means[~moving])
    ball, before = means[moving], first.means[moving]
    def distances(x):
        return (x[:, None] - x[None]).norm(dim=-1)

    torch.testing.assert_close(distances(ball), distances(before), atol=1e-5, rtol=0)
    slide = truth["shift"] * truth["extent"] * torch.tensor(truth["direction"])
    torch.testing.assert_close(ball.mean(0), before.mean(0) + slide.float(), atol=1e-5, rtol=0)
    assert float((means[moving] - first.means[moving]).norm(dim=1).min()) > 0
    sh_dc = first.sh_dc.clone()
    sh_dc[truth["recoloured"]] += torch.tensor([1.2, -0.6, -0.6])
    last = GaussianScene(means=means, quats=quats, log_scales=first.log_scales,
                         opacity_logits=first.opacity_logits, sh_dc=sh_dc, sh_rest=first.sh_rest)
    for cam, photo in zip(frames[2].cameras, frames[2].images(), strict=True):
        image = render(last, cam, backend="numba").image.clamp(0, 1)
        assert float((image - photo).abs().max()) <= 1 / 255 + 1e-4


def test_make_residuals_is_the_encoders_hook_for_other_residuals(video):
    """An encoder whose residuals are fixed to the true displacement stores exactly those
    (times the gate) for the Gaussians it gates: zero for the static ones."""
    folder, truth = video
    frames = read_video(folder)
    first = read_ply(frames[0].folder / "point_cloud.ply")
    true_means, _ = moved_gaussians(truth, first.means, first.quats, 1)

    class TrueResiduals(QueenEncoder):
        def make_residuals(self, gate_init):
            residuals = super().make_residuals(gate_init)
            with torch.no_grad():
                residuals.delta.copy_(true_means - self.state_.params["means"])
            residuals.delta.requires_grad_(False)
            self.residuals = residuals
            return residuals

    enc = TrueResiduals(QueenConfig(epochs=2, lambda_l0=0.01), backend="numba")
    enc.start(first, frames[0].cameras, frames[0].images())
    record = enc.encode_frame(frames[1].cameras, frames[1].images())
    gate = enc.residuals.gate_values()[record.gated]
    expected = (true_means - first.means)[record.gated] * gate[:, None]
    np.testing.assert_allclose(record.deltas.astype(np.float32), expected.numpy(), atol=1e-3)
    moved = np.isin(record.gated, truth["moving"])
    assert moved.any() and (record.deltas[~moved] == 0).all()
    assert (np.abs(record.deltas[moved]).sum(axis=1) > 0).all()


# ----------------------------------------------------------------------------------- stream
def test_the_stream_decodes_bit_for_bit_what_the_encoder_holds(encoded, video):
    out, report, states = encoded
    folder, _ = video
    stream = QueenStream(out)
    assert len(stream) == 3 and len(states) == 2
    first = read_ply(read_video(folder)[0].folder / "point_cloud.ply")
    assert torch.equal(stream.frame(0).means, first.means)
    assert torch.equal(stream.frame(0).sh_rest, first.sh_rest)
    for t, params in enumerate(states, start=1):
        decoded = stream.state(t).params
        for name, value in params.items():
            assert torch.equal(decoded[name], value), (t, name)
    assert [len(s) for s in stream] == [300] * 3


def test_a_frame_outside_the_stream_is_an_index_error(encoded):
    """Negative indices do not count from the end; a decoded state kept from an earlier read does
    not answer for them either."""
    out, _, _ = encoded
    stream = QueenStream(out)
    stream.state(2)
    for read in (stream.frame, stream.state):
        for index in (-1, -3, 3, 10):
            with pytest.raises(IndexError, match=rf"frame {index} is not in 0\.\.2"):
                read(index)
    assert torch.equal(stream.frame(np.int64(1)).means, stream.frame(1).means)
    assert torch.equal(stream.frame(torch.tensor(1)).means, stream.frame(1).means)
    for index in (True, np.True_, torch.tensor(True), torch.tensor([1]), np.array([1]), 1.0,
                  torch.tensor(1.0), "1", None):  # True was read as frame 1
        for read in (stream.frame, stream.state):
            with pytest.raises(TypeError, match=f"a frame index must be an integer, got "
                               f"{re.escape(repr(index))}$"):
                read(index)


def test_a_state_given_out_is_a_copy_that_later_frames_do_not_replay_from(encoded):
    out, _, states = encoded
    stream = QueenStream(out)
    stream.state(1).params["means"].add_(1.0)  # a caller's own use of it
    assert torch.equal(stream.state(1).params["means"], states[0]["means"])
    assert torch.equal(stream.state(2).params["means"], states[1]["means"])


def test_info_bytes_add_up_to_the_file_and_the_report(encoded):
    out, report, _ = encoded
    layout = QueenStream(out).info()
    sizes = [f["bytes"] for f in layout["frames"]]
    assert layout["header_bytes"] + sum(sizes) == out.stat().st_size == report["file_bytes"]
    assert sizes == [r["bytes"] for r in report["frames"]]
    # the residual frames are smaller than frame 0, and the rate estimate is near the coded size
    assert max(sizes[1:]) < sizes[0]
    assert report["coded_bits"] <= 1.1 * report["estimate_bits"] + 8 * 64 * 2


def test_a_damaged_record_is_named_and_the_frames_before_it_decode(encoded, tmp_path):
    out, _, states = encoded
    data = out.read_bytes()
    layout = QueenStream(out).info()
    start_of_2 = layout["header_bytes"] + sum(f["bytes"] for f in layout["frames"][:2])
    flipped = bytearray(data)
    flipped[start_of_2 + 20] ^= 0xFF
    said_of = {"flipped.qsv": "fails its checksum", "truncated.qsv": "is truncated: it needs bytes",
               "cut.qsv": "is missing .the stream is truncated after 2 of 3 records."}
    for name, damaged in (("flipped.qsv", bytes(flipped)),
                          ("truncated.qsv", data[:start_of_2 + 30]),
                          ("cut.qsv", data[:start_of_2 + 2])):  # inside record 2's length
        path = tmp_path / name
        path.write_bytes(damaged)
        stream = QueenStream(path)
        assert torch.equal(stream.frame(1).means, states[0]["means"])
        said = said_of[name]
        with pytest.raises(CorruptStreamError, match=f"record 2 {said}.* .frames 0-1 decode.$"):
            stream.frame(2)
    # bytes after the last record: the last frame is refused, the frames before it decode
    (tmp_path / "junk.qsv").write_bytes(data + b"junk")
    stream = QueenStream(tmp_path / "junk.qsv")
    last = len(stream) - 1
    assert torch.equal(stream.frame(last - 1).means, states[last - 2]["means"])
    for read in (lambda: stream.frame(last), stream.info):
        with pytest.raises(CorruptStreamError, match="4 bytes after the last record"):
            read()
    # a stream of no frame (its header alone): junk after the header is refused too
    import struct
    import zlib

    length = struct.unpack_from("<I", data, 4)[0]
    body = json.dumps({**json.loads(data[8:8 + length]), "frames": 0}).encode()
    header_only = data[:4] + struct.pack("<I", len(body)) + body + struct.pack("<I", zlib.crc32(body))
    (tmp_path / "none.qsv").write_bytes(header_only)
    assert QueenStream(tmp_path / "none.qsv").info()["frames"] == []
    (tmp_path / "none.qsv").write_bytes(header_only + b"junk")
    with pytest.raises(CorruptStreamError, match="4 bytes after the last record .*holds no frame"):
        QueenStream(tmp_path / "none.qsv").info()
    (tmp_path / "not.qsv").write_bytes(b"PK\x03\x04" + bytes(20))
    with pytest.raises(Exception, match="not a QUEEN stream"):
        QueenStream(tmp_path / "not.qsv")
    for cut in (layout["header_bytes"] - 5, 10, 2):  # the magic or part of it is there
        (tmp_path / "cut_header.qsv").write_bytes(data[:cut])
        with pytest.raises(CorruptStreamError, match="truncated inside its header"):
            QueenStream(tmp_path / "cut_header.qsv")
    (tmp_path / "empty.qsv").write_bytes(b"")
    with pytest.raises(Exception, match="not a QUEEN stream"):
        QueenStream(tmp_path / "empty.qsv")
    damaged_header = bytearray(data)
    damaged_header[10] ^= 0xFF
    (tmp_path / "bad_header.qsv").write_bytes(bytes(damaged_header))
    with pytest.raises(CorruptStreamError, match="header fails its checksum"):
        QueenStream(tmp_path / "bad_header.qsv")


def test_a_damaged_length_field_is_named_as_damage_not_as_a_truncated_file(encoded, tmp_path):
    """A record's length field whose high byte was flipped said "record 1 is truncated: it needs
    bytes up to 4278190...", though every byte of the file was there; its chunks (and its CRC)
    say where it ends, so the length is named as damaged. A file cut short is still truncated,
    and one frame decoding reads "(frame 0 decodes)", not "(frames 0..0 decode)"."""
    import struct
    import zlib

    out, _, states = encoded
    data = out.read_bytes()
    layout = QueenStream(out).info()
    start = layout["header_bytes"] + layout["frames"][0]["bytes"]  # record 1's length field
    (length,) = struct.unpack_from("<I", data, start)
    for name, said in (("huge", 0xFF000000 + length), ("longer", length + 10),
                       ("shorter", length - 10), ("none", 0)):
        path = tmp_path / f"{name}.qsv"
        path.write_bytes(data[:start] + struct.pack("<I", said) + data[start + 4:])
        stream = QueenStream(path)
        assert torch.equal(stream.frame(0).means, QueenStream(out).frame(0).means)
        with pytest.raises(CorruptStreamError, match=rf"{name}.qsv: record 1 is damaged: its length "
                                                     rf"field says {said:,} bytes, where its chunks "
                                                     rf"take {length:,} \(frame 0 decodes\)$"):
            stream.frame(1)
    (tmp_path / "cut.qsv").write_bytes(data[:start + length])  # the file ends inside record 1
    with pytest.raises(CorruptStreamError, match=r"record 1 is truncated: it needs bytes up to "
                                                 r".*\(frame 0 decodes\)$"):
        QueenStream(tmp_path / "cut.qsv").frame(1)
    (tmp_path / "cut_crc.qsv").write_bytes(data[:start + length + 6])  # inside its checksum
    with pytest.raises(CorruptStreamError, match="record 1 is truncated"):
        QueenStream(tmp_path / "cut_crc.qsv").frame(1)
    # the header's length field: its JSON (and CRC) say where it ends
    (size,) = struct.unpack_from("<I", data, 4)
    assert struct.unpack_from("<I", data, 8 + size)[0] == zlib.crc32(data[8:8 + size])
    for said in (size + 2**24, size + 3, size - 3):
        (tmp_path / "header.qsv").write_bytes(data[:4] + struct.pack("<I", said) + data[8:])
        with pytest.raises(CorruptStreamError, match=f"the header is damaged: its length field "
                                                     f"says {said:,} bytes, where its JSON takes "
                                                     f"{size:,}$"):
            QueenStream(tmp_path / "header.qsv")
    (tmp_path / "header_cut.qsv").write_bytes(data[:8 + size - 3])
    with pytest.raises(CorruptStreamError, match="truncated inside its header"):
        QueenStream(tmp_path / "header_cut.qsv")


def test_scene_of_state_renders(encoded):
    out, _, _ = encoded
    scene = scene_of_state(QueenStream(out).state(2))
    cam = orbit_cameras((0.2, 0.2, 0.2), 1.0, 1, width=16, height=16)[0]
    assert torch.isfinite(render(scene, cam).image).all()


# ----------------------------------------------------------------------------------- CLI
def test_encode_decode_info_on_the_command_line(video, cli, tmp_path):
    folder, _ = video
    out = tmp_path / "v.qsv"
    result = cli("scene", "queen", "encode", folder, "-o", out, "--epochs", "1",
                 "--test-camera", "0", "--backend", "numba")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["file_bytes"] == out.stat().st_size
    report = json.loads((tmp_path / "v.report.json").read_text())
    assert report["test_camera"] == 0 and len(report["frames"]) == 3
    assert (tmp_path / "v.report.png").stat().st_size > 0

    result = cli("scene", "queen", "decode", out, "--frame", "2", "-o", tmp_path / "f2.ply")
    assert result.exit_code == 0, result.output
    assert torch.equal(read_ply(tmp_path / "f2.ply").means, QueenStream(out).frame(2).means)

    result = cli("scene", "queen", "info", out, "--json")
    layout = json.loads(result.stdout)
    assert layout["header_bytes"] + sum(f["bytes"] for f in layout["frames"]) == \
        out.stat().st_size
    text = cli("scene", "queen", "info", out).stdout
    assert "3 frames of 300 Gaussians" in text and f"total {out.stat().st_size:,} bytes" in text


def test_a_video_is_never_written_over_another(video):
    """A reader takes every frame_NNNN folder, so a shorter video written into the folder of a
    longer one would take on its last frames: refused."""
    folder, _ = video
    with pytest.raises(ValueError, match="already holds frame_NNNN folders"):
        make_moving_video(_scene(), folder, frames=2, cameras=2, resolution=16)
    assert len(read_video(folder)) == 3


def _nan_scene():
    scene = _scene(n=20)
    scene.means[3, 0] = float("nan")
    return scene


@pytest.mark.parametrize(("settings", "message"), [
    ({"frames": 1}, "frames must be >= 2, got 1"),  # written, then refused by every reader
    ({"frames": 0}, "frames must be >= 2, got 0"),
    ({"resolution": 0}, "resolution must be >= 1, got 0"),  # a ZeroDivisionError half-way
    ({"cameras": 0}, "cameras must be >= 1, got 0"),
    ({"moving_fraction": 1.5}, r"moving_fraction must be in \(0, 1\], got 1.5"),
    ({"moving_fraction": 0.6, "recolour_fraction": 0.6}, "must be <= 1 .the balls do not overlap"),
    ({"angle_deg": float("nan")}, "angle_deg must be a finite number, got nan"),  # a NaN PLY
    ({"scene": _scene(n=0)}, "scene must hold at least 2 Gaussians .*got 0"),
    ({"scene": _nan_scene()}, "scene.means is nan at Gaussian 3"),  # frame 0's photos, then no PLY
])
def test_make_moving_video_refuses_bad_arguments_before_writing_anything(settings, message,
                                                                         tmp_path):
    """Bad arguments were a ZeroDivisionError or a NaN PLY after frame_0000 was written, or a
    video of fewer than two frames that no reader takes; now an error naming the argument, and
    no folder."""
    settings = {"scene": _scene(n=20), "frames": 2, "cameras": 2, "resolution": 8, **settings}
    folder = tmp_path / "video"
    with pytest.raises(InvalidParameterError, match=message):
        make_moving_video(settings.pop("scene"), folder, **settings)
    assert not folder.exists()


def test_frames_must_be_numbered_from_zero_without_gaps(video, tmp_path):
    import shutil

    folder, _ = video
    copy = tmp_path / "frames"
    shutil.copytree(folder, copy)
    (copy / "frame_0002").rename(copy / "frame_0005")
    with pytest.raises(ValueError, match="frame_0002 is missing"):
        read_video(copy)
    (copy / "frame_0005").rename(copy / "frame_0002")
    shutil.copytree(copy / "frame_0001", copy / "frame_0001_old")  # a user's copy is no frame
    assert [f.folder.name for f in read_video(copy)] == ["frame_0000", "frame_0001", "frame_0002"]


def test_a_frame_with_a_bad_transforms_json_or_photo_size_is_named(video, tmp_path):
    import shutil

    from PIL import Image

    folder, _ = video
    for case in ("no frames", "not json", "angle", "matrix", "photo size"):
        copy = tmp_path / case.replace(" ", "_")
        shutil.copytree(folder, copy)
        meta = copy / "frame_0001" / "transforms.json"
        if case == "no frames":
            meta.write_text(json.dumps({**json.loads(meta.read_text()), "frames": []}))
            message = "frame_0001/transforms.json: no frames"
        elif case == "not json":
            meta.write_text("{camera_angle_x: 1}")
            message = "frame_0001/transforms.json: not valid JSON"
        elif case == "angle":
            meta.write_text(json.dumps({**json.loads(meta.read_text()), "camera_angle_x": "abc"}))
            message = ("frame_0001/transforms.json: frame 0.s camera_angle_x must be a JSON "
                       "number, got 'abc'")
        elif case == "matrix":
            content = json.loads(meta.read_text())
            content["frames"][0]["transform_matrix"] = [[1, 0], [0, 1, 0]]
            meta.write_text(json.dumps(content))
            message = "frame_0001/transforms.json: frame 0 has no 4x4 transform_matrix"
        else:  # a frame's first photo sets its image size
            first = json.loads(meta.read_text())["frames"][0]["file_path"]
            photo = next((copy / "frame_0001").glob(first.rsplit("/", 1)[-1] + "*"))
            with Image.open(photo) as im:
                im.resize((20, 20)).save(photo)
            message = f"{photo.name}: 20x20 pixels, where frame_0000's photos are 32x32"
        with pytest.raises(ValueError, match=message):
            read_video(copy)
    # a later photo of another size was resized without a word
    copy = tmp_path / "later_photo"
    shutil.copytree(folder, copy)
    frame = read_video(copy)[1]
    with Image.open(frame.photos[1]) as im:
        im.resize((20, 20)).save(frame.photos[1])
    with pytest.raises(ValueError, match=f"{frame.photos[1].name}: 20x20 pixels, where its camera "
                                         "is 32x32"):
        frame.images()


def test_every_photo_and_camera_is_checked_before_any_frame_is_trained(video, cli, tmp_path):
    """A later frame's photo of another size was found only when that frame was trained (after
    the frames before it), and a frame whose field of view differs from frame 0's was trained
    and scored as if it were the same view: both are refused before any work."""
    import shutil

    from PIL import Image

    folder, _ = video
    late = tmp_path / "late_photo"
    shutil.copytree(folder, late)
    photo = read_video(late)[2].photos[2]
    with Image.open(photo) as im:
        im.resize((20, 20)).save(photo)
    out = tmp_path / "v.qsv"
    line = cli("scene", "queen", "encode", late, "-o", out, "--epochs", "1").error_line()
    assert line.endswith(f"{photo}: 20x20 pixels, where its camera is 32x32") and not out.exists()
    assert not list(tmp_path.glob("v.*"))
    fov = tmp_path / "fov"
    shutil.copytree(folder, fov)
    meta = fov / "frame_0001" / "transforms.json"
    content = json.loads(meta.read_text())
    meta.write_text(json.dumps({**content, "camera_angle_x": 1.5 * content["camera_angle_x"]}))
    with pytest.raises(ValueError, match="frame_0001/transforms.json: camera 0's intrinsics differ "
                                         "from frame_0000's"):
        read_video(fov)


def test_a_stream_of_no_frame_is_described_and_has_no_frame_to_decode(encoded, cli, tmp_path):
    """A header alone is a stream (what a writer that was given no record writes): ``info``
    said so with an internal error, ``decode`` asked for a frame in 0..-1."""
    from scenesparse.queen.stream import QueenStreamWriter

    out, _, _ = encoded
    empty = tmp_path / "none.qsv"
    with QueenStreamWriter(empty, QueenStream(out).header):
        pass
    result = cli("scene", "queen", "info", empty)
    assert result.exit_code == 0, result.output
    assert "0 frames of 300 Gaussians" in result.stdout and "no frames" in result.stdout
    assert f"total {empty.stat().st_size:,} bytes" in result.stdout
    ply = tmp_path / "f0.ply"
    line = cli("scene", "queen", "decode", empty, "--frame", "0", "-o", ply).error_line("--frame")
    assert line.endswith(f"{empty} holds no frames, got 0") and not ply.exists()


def test_a_stream_of_one_or_two_frames_is_described_in_words(encoded, cli, tmp_path):
    """A stream of one frame said "holds 1 frames", "must be in 0..0" and "frame 1 is not in
    0..0"; one of two frames listed "frames 1..1: mean ... (min ..., max ...)"."""
    from scenesparse.queen.stream import QueenStreamWriter, _unpack_chunks

    out, _, _ = encoded
    reader = QueenStream(out)
    records = [_unpack_chunks(reader._payload(t)) for t in range(2)]
    one, two = tmp_path / "one.qsv", tmp_path / "two.qsv"
    for path, count in ((one, 1), (two, 2)):
        with QueenStreamWriter(path, reader.header) as writer:
            for chunks in records[:count]:
                writer.write(chunks)
    text = cli("scene", "queen", "info", one).stdout
    assert "1 frame of 300 Gaussians" in text
    ply = tmp_path / "f.ply"
    line = cli("scene", "queen", "decode", one, "--frame", "1", "-o", ply).error_line("--frame")
    assert line.endswith(f"must be 0 ({one} holds 1 frame), got 1") and not ply.exists()
    with pytest.raises(IndexError, match="frame 1: the stream has only frame 0$"):
        QueenStream(one).frame(1)
    sizes = [f["bytes"] for f in QueenStream(two).info()["frames"]]
    text = cli("scene", "queen", "info", two).stdout
    assert "2 frames of 300 Gaussians" in text and f"  frame 1 {sizes[1]:,} bytes\n" in text
    assert "mean" not in text
    line = cli("scene", "queen", "decode", two, "--frame", "2", "-o", ply).error_line("--frame")
    assert line.endswith(f"must be in 0..1 ({two} holds 2 frames), got 2")


def test_frames_dir_that_is_a_file_is_named_as_such(cli, tmp_path):
    ply = tmp_path / "scene.ply"
    ply.write_text("ply\n")
    out = tmp_path / "v.qsv"
    line = cli("scene", "queen", "encode", ply, "-o", out).error_line("FRAMES_DIR")
    assert line.endswith(f"{ply}: is a file, not a folder of frames") and not out.exists()
    missing = cli("scene", "queen", "encode", tmp_path / "nope", "-o", out).error_line()
    assert missing.endswith("nope: no such folder")


def test_a_photo_outside_frames_dir_is_never_overwritten_by_an_output(video, cli, tmp_path):
    """transforms.json may name a photo anywhere: one named as the report's plot (or the stream)
    was overwritten by it, though the stream's place inside FRAMES_DIR was refused."""
    import shutil

    folder, _ = video
    moved = tmp_path / "moved"
    shutil.copytree(folder, moved)
    outside = tmp_path / "out"
    outside.mkdir()
    for t in range(3):  # camera 1 of every frame, moved beside the stream to be written
        meta = moved / f"frame_{t:04d}" / "transforms.json"
        content = json.loads(meta.read_text())
        entry = content["frames"][1]
        source = meta.parent / entry["file_path"]
        target = outside / f"p{t}.report.png"
        shutil.move(source, target)
        entry["file_path"] = f"../../out/p{t}.report.png"
        meta.write_text(json.dumps(content))
    photo = outside / "p1.report.png"
    before = photo.read_bytes()
    line = cli("scene", "queen", "encode", moved, "-o", outside / "p1.qsv", "--epochs",
               "1").error_line("--output")
    assert line.endswith(f"its report's plot, {photo}, would overwrite a photo that "
                         f"{moved / 'frame_0001' / 'transforms.json'} names; name the stream "
                         "otherwise (inputs are never overwritten)")
    assert photo.read_bytes() == before and not (outside / "p1.qsv").exists()


def test_an_empty_output_name_is_named_as_the_output(video, cli, tmp_path):
    """-o "" (an unset shell variable) said "PosixPath('.') has an empty name": the report's
    names were made from it before it was checked (the command line refuses an empty path
    before any command reads it)."""
    folder, _ = video
    line = cli("scene", "queen", "encode", folder, "-o", "").error_line("--output")
    assert line == "error: --output: is empty; give a file or folder name"


def test_properties_queen_does_not_code_are_named_in_a_warning(video, tmp_path):
    """Frame 0's normals and extra properties are not Gaussian attributes the stream codes: the
    encoder says so instead of dropping them without a word."""
    import dataclasses
    import shutil
    import warnings

    from scenesparse.gaussians import write_ply

    folder = tmp_path / "video"
    shutil.copytree(video[0], folder)
    ply = folder / "frame_0000" / "point_cloud.ply"
    scene = read_ply(ply)
    n = len(scene)
    class Stop(Exception):
        pass

    def stop(row, encoder):
        raise Stop

    write_ply(ply, dataclasses.replace(scene, normals=torch.ones(n, 3),
                                       extra={"semantic": np.arange(n, dtype=np.uint8)},
                                       layout=None))
    with pytest.warns(UserWarning, match=r"point_cloud.ply: nx, ny, nz, semantic are not Gaussian "
                                         "attributes QUEEN codes: the stream does not keep them"):
        with pytest.raises(Stop):
            encode_video(folder, tmp_path / "v.qsv", config=QueenConfig(epochs=1), on_frame=stop)
    # the zero normals every INRIA point_cloud.ply carries lose nothing: no warning
    write_ply(ply, dataclasses.replace(scene, normals=torch.zeros(n, 3), layout=None))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(Stop):
            encode_video(folder, tmp_path / "w.qsv", config=QueenConfig(epochs=1), on_frame=stop)


def test_decoding_a_frame_warns_of_nothing(encoded):
    """The records read from a file hold read-only arrays, and torch warned the user that it
    does not support non-writable tensors (through `queen decode`, as "warning: ...")."""
    import warnings

    from scenesparse.queen.residuals import apply_record
    from scenesparse.queen.stream import _record_from_chunks, _state_from_frame0

    out, _, states = encoded
    stream = QueenStream(out)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(stream.frame(len(states) - 1)) == len(states[-1]["means"])
        # what a small record decodes to: arrays on the file's bytes (the coder's raw mode)
        record = stream._decoded(1, _record_from_chunks)
        for array in (record.gated, record.deltas, *record.symbols.values(),
                      *record.decoders.values()):
            array.flags.writeable = False
        state = apply_record(stream._decoded(0, _state_from_frame0), record)
    assert torch.equal(state.params["means"], stream._replayed(1).params["means"])


def test_a_header_that_passes_its_checksum_but_is_malformed_is_refused_by_field(encoded, tmp_path):
    """A header whose checksum holds but whose JSON is not the writer's shape (a hand-made or
    foreign file) was a KeyError or TypeError traceback."""
    import struct
    import zlib

    from sparsebox.exceptions import InputFileError

    out, _, _ = encoded
    data = out.read_bytes()
    (length,) = struct.unpack_from("<I", data, 4)
    header = json.loads(data[8:8 + length])
    cases = {"list": (b"[1, 2]", "not a JSON object"),
             "frames": (dict(header, frames="3"), "header's frames is missing or malformed"),
             "gaussians": ({k: v for k, v in header.items() if k != "gaussians"},
                           "header's gaussians is missing"),
             "attributes": (dict(header, attributes={"means": 3}), "header's attributes is"),
             "dims": (dict(header, latent_dims=dict(header["latent_dims"], shN=0)),
                      "header's latent_dims is"),
             # info printed "SH degree 7" of a degree-0 stream, and decode went on
             "sh_degree": (dict(header, sh_degree=header["sh_degree"] + 1),
                           f"header's sh_degree {header['sh_degree'] + 1} needs "
                           f"{3 * ((header['sh_degree'] + 2) ** 2 - 1)} shN values per Gaussian, "
                           f"its attributes say {header['attributes']['shN']}")}
    for name, (body, said) in cases.items():
        body = body if isinstance(body, bytes) else json.dumps(body).encode()
        path = tmp_path / f"{name}.qsv"
        path.write_bytes(data[:4] + struct.pack("<I", len(body)) + body
                         + struct.pack("<I", zlib.crc32(body)) + data[12 + length:])
        with pytest.raises(InputFileError, match=said):
            QueenStream(path)


def test_a_record_that_passes_its_checksum_but_does_not_decode_is_named(encoded, cli, tmp_path):
    """A record whose checksum holds but whose payload is not what the writer writes (a hand-made
    or foreign file, or a header that does not describe its records) was a bare "cannot reshape"
    or "gated" error naming no file, or an internal error (struct.error, zlib.error) with exit
    code 1; now it is refused with its number, as a damaged record is."""
    import struct
    import zlib

    from scenesparse.queen.stream import _pack_chunks, _unpack_chunks

    out, _, states = encoded
    data = out.read_bytes()
    layout = QueenStream(out).info()
    start = layout["header_bytes"] + layout["frames"][0]["bytes"]  # record 1
    end = start + layout["frames"][1]["bytes"]
    chunks = _unpack_chunks(data[start + 4:end - 4])
    too_many = np.zeros((len(states[0]["means"]) + 1, 3), dtype=np.float16)  # more than gated
    cases = {"tiny": (b"\x01", "unpack_from requires"),
             "no_gated": (_pack_chunks({k: v for k, v in chunks.items() if k != "gated"}),
                          "it has no gated chunk"),
             "deltas": (_pack_chunks({**chunks, "deltas": b"xyz"}), "Error -3 while decompressing"),
             "more_deltas": (_pack_chunks({**chunks, "deltas": pack_floats(too_many, "<f2")}),
                             "301 position residuals for"),
             "latent": (_pack_chunks({**chunks, "latent.sh0": b"\x00"}),
                        "0 integers where"),
             "decoder": (_pack_chunks({**chunks, "decoder.sh0": bytes(8)}), "cannot reshape"),
             "trailing": (data[start + 4:end - 4] + b"x", "its chunks take")}
    for name, (payload, said) in cases.items():
        path = tmp_path / f"{name}.qsv"
        path.write_bytes(data[:start] + struct.pack("<I", len(payload)) + payload
                         + struct.pack("<I", zlib.crc32(payload)) + data[end:])
        stream = QueenStream(path)
        assert torch.equal(stream.frame(0).means, QueenStream(out).frame(0).means)
        with pytest.raises(CorruptStreamError, match=f"{name}.qsv: record 1 passes its checksum "
                                                     f"but does not decode: {said}.* .frame 0 "
                                                     "decodes.$"):
            stream.frame(2)
        ply = tmp_path / f"{name}.ply"
        line = cli("scene", "queen", "decode", path, "--frame", "1", "-o", ply).error_line(str(path))
        assert "record 1 passes its checksum" in line and not ply.exists()
    # a header whose Gaussian count does not describe frame 0: record 0 is named
    (length,) = struct.unpack_from("<I", data, 4)
    header = json.loads(data[8:8 + length])
    body = json.dumps({**header, "gaussians": header["gaussians"] + 1}).encode()
    path = tmp_path / "count.qsv"
    path.write_bytes(data[:4] + struct.pack("<I", len(body)) + body
                     + struct.pack("<I", zlib.crc32(body)) + data[12 + length:])
    with pytest.raises(CorruptStreamError, match="record 0 passes its checksum but does not decode: "
                                                 "cannot reshape"):
        QueenStream(path).frame(0)


def test_counts_of_one_read_in_the_singular(encoded, video, tmp_path):
    """One byte after the last record said "1 bytes", a one-byte file "(1 bytes; ...)", an
    encoder of one camera "give the 1 cameras", and --test-camera on a video of one camera
    offered camera 0 ("must be in 0..0 (the frames have 1 cameras)"), which leaves none."""
    out, _, _ = encoded
    (tmp_path / "newline.qsv").write_bytes(out.read_bytes() + b"\n")  # an editor's last newline
    with pytest.raises(CorruptStreamError, match="newline.qsv: 1 byte after the last record"):
        QueenStream(tmp_path / "newline.qsv").info()
    (tmp_path / "q.qsv").write_bytes(b"Q")
    with pytest.raises(CorruptStreamError, match=r"truncated inside its header \(1 byte; "):
        QueenStream(tmp_path / "q.qsv")
    one = tmp_path / "one_camera"
    make_moving_video(_scene(n=20), one, frames=2, cameras=1, resolution=8)
    for camera in (0, 3):
        with pytest.raises(InvalidParameterError, match=r"^test_camera leaves no camera to train "
                                                        r"on \(the frames have 1 camera\)$"):
            encode_video(one, tmp_path / "v.qsv", test_camera=camera)
    assert not (tmp_path / "v.qsv").exists()
    frames = read_video(one)
    enc = QueenEncoder(QueenConfig(epochs=1), backend="numba")
    enc.start(read_ply(frames[0].folder / "point_cloud.ply"), frames[0].cameras, frames[0].images())
    cams = frames[1].cameras * 2
    with pytest.raises(InvalidParameterError, match="^give the 1 camera of the previous frame, one "
                                                    "image each, got 2 cameras and 1 image$"):
        enc.encode_frame(cams, frames[1].images())


def test_a_frame_of_other_cameras_says_how_they_differ(video, tmp_path):
    """A frame with another number of cameras, or one camera moved, said only "its cameras
    differ from frame_0000's"; now the count, or the camera, is named."""
    import shutil

    folder, _ = video
    for case in ("count", "pose"):
        copy = tmp_path / case
        shutil.copytree(folder, copy)
        meta = copy / "frame_0002" / "transforms.json"
        content = json.loads(meta.read_text())
        if case == "count":
            content["frames"] = content["frames"][:2]
            message = "frame_0002/transforms.json: 2 cameras, where frame_0000 has 3$"
        else:
            content["frames"][1]["transform_matrix"][0][3] += 0.5
            message = "frame_0002/transforms.json: camera 1's pose differs from frame_0000's$"
        meta.write_text(json.dumps(content))
        with pytest.raises(ValueError, match=message):
            read_video(copy)


def test_cameras_in_another_order_than_the_previous_frames_are_refused(video):
    """encode_frame with the same cameras in another order (or another view of the same size)
    compared each photo with another camera's previous photo: the gates opened on the wrong
    Gaussians (2 of the 25 moving ones gated instead of 22, on the donut) without a word. The
    cameras are kept in the state dict, so a resumed encoder checks them too."""
    folder, _ = video
    frames = read_video(folder)
    cams, images = frames[1].cameras, frames[1].images()
    enc = QueenEncoder(QueenConfig(epochs=1), backend="numba")
    enc.start(read_ply(frames[0].folder / "point_cloud.ply"), frames[0].cameras, frames[0].images())
    said = r"^camera 0 is not the previous frame's camera 0 \(another pose or intrinsics\)"
    with pytest.raises(InvalidParameterError, match=said):
        enc.encode_frame(cams[::-1], images[::-1])
    zoomed = [dataclasses.replace(c, fx=1.5 * c.fx) if i == 2 else c for i, c in enumerate(cams)]
    with pytest.raises(InvalidParameterError, match="^camera 2 is not the previous frame's camera 2"):
        enc.encode_frame(zoomed, images)
    assert enc.state_.index == 0 and not enc.frames_
    buffer = io.BytesIO()
    torch.save(enc.state_dict(), buffer)
    buffer.seek(0)
    twin = QueenEncoder(QueenConfig(epochs=1), backend="numba").load_state_dict(
        torch.load(buffer, weights_only=True))
    with pytest.raises(InvalidParameterError, match=said):
        twin.encode_frame(cams[::-1], images[::-1])
    twin.encode_frame(cams, images)  # frame 1's own cameras, read from its transforms.json
    assert twin.state_.index == 1


def test_test_camera_is_named_as_each_caller_spells_it(video, tmp_path, cli):
    """encode_video named the command line's --test-camera to a Python caller."""
    video, _ = video
    with pytest.raises(InvalidParameterError, match=r"^test_camera must be in 0\.\."):
        encode_video(video, tmp_path / "v.qsv", test_camera=99)
    result = cli("scene", "queen", "encode", video, "-o", tmp_path / "v.qsv", "--test-camera", "99")
    assert result.exit_code == 2 and "--test-camera" in result.error_line()
    assert not (tmp_path / "v.qsv").exists()


def test_queen_residuals_transform_gives_a_copy_of_the_frame_it_was_fitted_on(video):
    """transform gave its own frame_ (an edit of the result changed every later transform) for
    any scene of as many Gaussians; QueenEncoder.start took an empty scene, and its first frame
    ended in "IndexError: index 0 is out of bounds"."""
    from scenesparse.queen.encoder import QueenResiduals

    folder, _ = video
    frames = read_video(folder)
    scene = read_ply(frames[0].folder / "point_cloud.ply")
    cams = frames[0].cameras
    est = QueenResiduals(epochs=1, backend="numba").fit(scene, cams, frames[1].images(),
                                                       frames[0].images())
    first = est.transform(scene)
    first.means.add_(1.0)
    assert torch.equal(est.transform(scene).means, est.frame_.means)
    assert not torch.equal(first.means, est.frame_.means)
    other = _scene(n=len(scene), seed=5)
    with pytest.raises(InvalidParameterError, match="transform takes the scene fit was given"):
        est.transform(other)
    with pytest.raises(InvalidParameterError, match="at least one Gaussian, got an empty scene"):
        QueenEncoder(QueenConfig(epochs=1), backend="numba").start(
            scene.subset(np.zeros(len(scene), dtype=bool)), cams, frames[0].images())


def test_encode_video_reports_numpy_numbers_as_plain_ones(video, tmp_path):
    """test_camera=np.int64(1) or QueenConfig(epochs=np.int64(1)) left numpy integers in the
    report, which json.dumps refused; test_camera=True was camera 1."""
    folder, _ = video
    with pytest.raises(InvalidParameterError, match="test_camera must be an integer, got True"):
        encode_video(folder, tmp_path / "t.qsv", test_camera=True)
    report = encode_video(folder, tmp_path / "v.qsv", test_camera=np.int64(1),
                          config=QueenConfig(epochs=np.int64(1)), backend="numba")
    assert json.loads(json.dumps(report))["test_camera"] == 1 and report["epochs"] == 1


def test_encode_video_checks_its_output_before_any_work_and_overwrites_no_input(video, tmp_path,
                                                                                monkeypatch):
    """From Python, encode_video wrote its stream over frame 0's point_cloud.ply, and a stream
    in a missing folder failed with a FileNotFoundError once every frame was trained. Both are
    refused before training now; the stream appears whole or not at all."""
    import os

    from sparsebox import outputs

    folder, _ = video
    ply = folder / "frame_0000" / "point_cloud.ply"
    before = ply.read_bytes()

    def trained(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(QueenEncoder, "start", trained)
    for output, message in ((ply, "must end in .qsv"),
                            (folder / "frame_0000" / "v.qsv", "inside frames_dir"),
                            (tmp_path / "missing" / "v.qsv", "the folder .* does not exist"),
                            (tmp_path, "is a folder")):
        with pytest.raises(InvalidParameterError, match=f"^output: .*{message}"):
            encode_video(folder, output, config=QueenConfig(epochs=1), backend="numba")
    assert ply.read_bytes() == before
    monkeypatch.undo()
    out = tmp_path / "v.qsv"
    out.write_bytes(b"an older stream")

    class Interrupted:  # the os of sparsebox.outputs alone (numba's cache renames files too)
        renamed: list = []

        def __getattr__(self, name):
            return getattr(os, name)

        def replace(self, source, target):
            self.renamed.append((source, target))
            raise KeyboardInterrupt  # stopped as the stream is put in place

    monkeypatch.setattr(outputs, "os", Interrupted())
    with pytest.raises(KeyboardInterrupt):
        encode_video(folder, out, config=QueenConfig(epochs=1), backend="numba")
    assert [target for _, target in Interrupted.renamed] == [out]
    assert out.read_bytes() == b"an older stream"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.qsv"]  # no part of a stream left


def test_a_damaged_photo_of_a_later_frame_is_found_before_any_frame_is_trained(video, tmp_path):
    """read_video read each photo's header only: a truncated photo of frame 2 failed once frames
    0 and 1 were trained."""
    import shutil

    folder, _ = video
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    photo = sorted((copy / "frame_0002").glob("*.png"))[1]
    photo.write_bytes(photo.read_bytes()[:120])
    with pytest.raises(ValueError, match=f"{re.escape(str(photo))}: not a readable image"):
        read_video(copy)
    data = bytearray((folder / "frame_0002" / photo.name).read_bytes())
    data[len(data) // 2] ^= 0xFF  # a flipped bit: the PNG chunk's checksum fails
    photo.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"{re.escape(str(photo))}: not a readable image"):
        read_video(copy)
    # a JPEG cut short (PIL's verify() checks nothing of a JPEG)
    from PIL import Image

    jpeg = photo.with_suffix(".jpg")
    Image.open(folder / "frame_0002" / photo.name).convert("RGB").save(jpeg, quality=95)
    jpeg.write_bytes(jpeg.read_bytes()[: jpeg.stat().st_size // 2])
    photo.unlink()
    meta = copy / "frame_0002" / "transforms.json"
    meta.write_text(meta.read_text().replace(photo.stem + ".png", jpeg.name))
    with pytest.raises(ValueError, match=f"{re.escape(str(jpeg))}: not a readable image"):
        read_video(copy)
