"""ogbn-arxiv through the ogb package, on a tiny dataset written in OGB's on-disk layout."""

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from graphsparse.datasets import load_node_dataset, load_ogbn
from graphsparse.gnn import accuracy, make_model, ogb_node_scorer, train_node_classifier
from graphsparse.levels import run_levels
from sparsebox.data import DatasetNotFoundError


def _write_csv_gz(path: Path, rows: np.ndarray, fmt: str = "%d") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        np.savetxt(f, rows, fmt=fmt, delimiter=",")


def write_tiny_arxiv(root: Path, num_nodes: int = 60, num_classes: int = 4, seed: int = 0) -> Path:
    """A 60-node citation graph in ogbn-arxiv's layout: directed edges stored once, 8 features,
    labels, years and a time split. Labels follow the features, so a model can learn them."""
    rng = np.random.default_rng(seed)
    folder = root / "ogb" / "ogbn_arxiv"
    y = rng.integers(0, num_classes, num_nodes)
    feat = rng.normal(size=(num_nodes, 8)) * 0.3
    feat[np.arange(num_nodes), y] += 1.0
    src = rng.integers(0, num_nodes, 4 * num_nodes)
    same_class = np.array([rng.choice(np.flatnonzero(y == y[s])) for s in src])
    dst = np.where(rng.random(src.size) < 0.7, same_class, rng.integers(0, num_nodes, src.size))
    keep = src != dst
    edges = np.unique(np.stack([src[keep], dst[keep]], 1), axis=0)
    raw = folder / "raw"
    _write_csv_gz(raw / "edge.csv.gz", edges)
    _write_csv_gz(raw / "node-feat.csv.gz", feat, fmt="%.6f")
    _write_csv_gz(raw / "node-label.csv.gz", y.reshape(-1, 1))
    _write_csv_gz(raw / "node_year.csv.gz", rng.integers(2000, 2020, (num_nodes, 1)))
    _write_csv_gz(raw / "num-node-list.csv.gz", np.array([[num_nodes]]))
    _write_csv_gz(raw / "num-edge-list.csv.gz", np.array([[len(edges)]]))
    order = rng.permutation(num_nodes)
    for part, idx in zip(("train", "valid", "test"), np.split(order, [30, 45]), strict=True):
        _write_csv_gz(folder / "split" / "time" / f"{part}.csv.gz", np.sort(idx).reshape(-1, 1))
    (folder / "RELEASE_v1.txt").write_text("tiny test copy in ogbn-arxiv's layout\n")
    return folder


@pytest.fixture()
def tiny_root(tmp_path):
    write_tiny_arxiv(tmp_path)
    return tmp_path


def test_load_ogbn_gives_planetoid_style_data(tiny_root):
    data = load_ogbn("ogbn-arxiv", tiny_root, download=False)
    assert data.num_nodes == 60 and data.x.shape == (60, 8) and data.y.shape == (60,)
    assert [int(data[m].sum()) for m in ("train_mask", "val_mask", "test_mask")] == [30, 15, 15]
    assert not (data.train_mask & data.test_mask).any()
    edges = {(int(a), int(b)) for a, b in data.edge_index.T}
    assert all((b, a) in edges for a, b in edges)  # stored once, read both ways
    assert load_node_dataset("OGBN-arxiv", tiny_root, download=False).num_edges == data.num_edges


def test_missing_ogbn_files_name_the_folder(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="ogbn_arxiv"):
        load_ogbn("ogbn-arxiv", tmp_path, download=False)
    folder = write_tiny_arxiv(tmp_path)
    (folder / "RELEASE_v1.txt").unlink()
    with pytest.raises(DatasetNotFoundError, match="RELEASE_v1.txt"):
        load_ogbn("ogbn-arxiv", tmp_path, download=False)


def test_ogb_evaluator_scores_like_accuracy(tiny_root):
    data = load_ogbn("ogbn-arxiv", tiny_root, download=False)
    logits = torch.randn(60, 4, generator=torch.Generator().manual_seed(0))
    score = ogb_node_scorer("ogbn-arxiv")
    assert score(logits, data.y, data.test_mask) == pytest.approx(
        accuracy(logits, data.y, data.test_mask))
    torch.manual_seed(0)
    res = train_node_classifier(make_model("gcn", 8, 4, hidden=16), data, epochs=60, score=score)
    assert res.val_acc > 0.5  # well above the 0.25 of guessing on this separable toy


def test_level_protocol_runs_on_ogbn(tiny_root):
    data = load_ogbn("ogbn-arxiv", tiny_root, download=False)
    records = run_levels(data, "gcn", [1, 2], [0], epochs=3, methods=("teddy", "ugs"),
                         score=ogb_node_scorer("ogbn-arxiv"))
    assert sorted((r["method"], r["level"]) for r in records) == [
        ("teddy", 1), ("teddy", 2), ("ugs", 1), ("ugs", 2)]


def test_teddy_cli_on_ogbn_arxiv(tiny_root, tmp_path, monkeypatch, cli):
    monkeypatch.setenv("SPARSEBOX_DATA", str(tiny_root))
    out = tmp_path / "arxiv"
    result = cli(*["graph", "teddy", "--dataset", "ogbn-arxiv", "--levels",
                                      "1", "--seeds", "1", "--epochs", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {r["method"] for r in json.loads((out / "results.json").read_text())} == {
        "dense", "teddy", "random", "ugs"}
