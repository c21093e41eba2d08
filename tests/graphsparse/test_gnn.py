import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from graphsparse.datasets import load_planetoid
from graphsparse.gnn import distillation_loss, make_model, prunable_weights, train_node_classifier
from graphsparse.levels import run_levels
from graphsparse.random_edges import prune_edges_random
from sparsebox.exceptions import InvalidParameterError


@pytest.fixture(scope="module")
def cora(data_dir):
    return load_planetoid("cora")


def test_distillation_loss_matches_a_direct_computation():
    torch.manual_seed(0)
    student, teacher_logits = torch.randn(5, 3), torch.randn(5, 3)
    p_t = F.softmax(teacher_logits, 1)
    p_s = F.softmax(student, 1)
    direct = (p_t * (p_t.log() - p_s.log())).sum() / 5
    assert distillation_loss(student, p_t).item() == pytest.approx(direct.item(), rel=1e-5)


def test_weight_projection_keeps_exactly_the_target_after_each_step(cora):
    torch.manual_seed(0)
    model = make_model("gcn", cora.num_features, 7, hidden=16)
    res = train_node_classifier(model, cora, epochs=3, weight_keep_ratio=0.2)
    weights = prunable_weights(model)
    total = sum(w.numel() for w in weights)
    assert sum(int(torch.count_nonzero(w)) for w in weights) == math.floor(0.2 * total + 0.5)
    assert res.weight_keep == pytest.approx(0.2, abs=1e-4)


@pytest.mark.parametrize("name", ["gcn", "gat", "gin"])
def test_model_factories_train(cora, name):
    torch.manual_seed(0)
    res = train_node_classifier(make_model(name, cora.num_features, 7), cora, epochs=2)
    assert 0 <= res.test_acc <= 1 and res.logits.shape == (cora.num_nodes, 7)


def test_random_edge_pruning_keeps_pairs(cora):
    ei = prune_edges_random(cora.edge_index, cora.num_nodes, 1000, seed=0)
    pairs = {(int(a), int(b)) for a, b in ei.T}
    assert len(pairs) == 2000 and all((b, a) in pairs for a, b in pairs)


def test_random_edge_pruning_reads_the_seed_stream_at_pair_keys(cora):
    """The jumped generator gives the numbers a full draw of the stream would, without n**2
    memory: Cora picks the pairs of the dense draw, and a 3 M-node graph needs no 9e12 draws."""
    from sparsebox.select import select
    from sparsebox.structure import undirected_pair_keys

    pair = undirected_pair_keys(*cora.edge_index.numpy(), cora.num_nodes)
    dense = np.random.default_rng(7).random(pair.max() + 1)[pair]
    expected = cora.edge_index[:, torch.from_numpy(select(dense, budget=1000, groups=pair))]
    assert torch.equal(prune_edges_random(cora.edge_index, cora.num_nodes, 1000, seed=7),
                       expected)
    far = cora.edge_index * 1000 + 1
    kept = {(int(a), int(b)) for a, b in prune_edges_random(far, 3_000_000, 1000, seed=7).T}
    assert len(kept) == 2000 and all((b, a) in kept for a, b in kept)
    assert kept <= {(int(a), int(b)) for a, b in far.T}


def test_random_edge_pruning_refuses_nodes_past_num_nodes():
    """With too small a num_nodes two pairs shared a key, (0, 5) and (1, 2) at 3 nodes, and
    keep=1 kept both of them."""
    from sparsebox.exceptions import InvalidParameterError

    ei = torch.tensor([[0, 5, 1, 2], [5, 0, 2, 1]])
    with pytest.raises(InvalidParameterError, match=r"edge_index must hold nodes 0\.\.2 "
                                                    r"\(num_nodes 3\), got 0\.\.5"):
        prune_edges_random(ei, 3, keep=1, seed=0)
    assert prune_edges_random(ei, 6, keep=1, seed=0).shape == (2, 2)
    for name, value in [("keep", 3), ("seed", -1)]:
        with pytest.raises(InvalidParameterError, match=f"{name} must be"):
            prune_edges_random(ei, 6, **{"keep": 1, "seed": 0, name: value})


def test_short_cora_run_beats_random_at_high_sparsity(cora):
    """Level 20: 35.8% of the edges and 12.2% of the weights kept, one seed."""
    torch.set_num_threads(2)
    records = run_levels(cora, "gcn", [20], [0], epochs=100)
    acc = {r["method"]: r["test_acc"] for r in records}
    assert acc["teddy"] > acc["random"]


def test_a_damaged_planetoid_file_is_named(tmp_path, data_dir):
    """A truncated raw file failed with PyG's bare "UnpicklingError: pickle data was truncated",
    a truncated processed file with "OSError: [Errno 22] Invalid argument"; neither named a
    file."""
    import shutil

    from sparsebox.exceptions import InputFileError

    raw = tmp_path / "planetoid" / "Cora" / "raw"
    shutil.copytree(data_dir / "planetoid" / "Cora" / "raw", raw)
    good = (raw / "ind.cora.graph").read_bytes()
    (raw / "ind.cora.graph").write_bytes(good[:1000])
    with pytest.raises(InputFileError, match=r"Planetoid Cora: cannot read the files in .*Cora "
                                             r"\(UnpicklingError: .*\); .*ind.cora.graph differs "
                                             r"from the catalogue's"):
        load_planetoid("cora", tmp_path, download=False)
    (raw / "ind.cora.graph").write_bytes(good)
    assert load_planetoid("cora", tmp_path, download=False).num_nodes == 2708
    data_pt = tmp_path / "planetoid" / "Cora" / "processed" / "data.pt"
    data_pt.write_bytes(data_pt.read_bytes()[:5000])
    with pytest.raises(InputFileError, match=r"Planetoid Cora: cannot read .*processed \(.*\); PyG "
                                             r"made it from the raw files: delete that folder"):
        load_planetoid("cora", tmp_path, download=False)


def test_teddy_cli_writes_results(tmp_path, data_dir, cli):
    out = tmp_path / "teddy"
    result = cli(*["graph", "teddy", "--dataset", "cora", "--levels", "2",
                                      "--seeds", "1", "--epochs", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = json.loads((out / "results.json").read_text())
    assert {r["method"] for r in records} == {"dense", "teddy", "random", "ugs"}
    assert all(set(r) == {"method", "level", "edge_keep", "weight_keep", "seed", "test_acc",
                          "val_acc", "seconds"} for r in records)
    assert [r["level"] for r in records if r["method"] == "teddy"] == [1, 2]
    assert np.isclose([r["edge_keep"] for r in records if r["method"] == "teddy"][1], 0.95**2,
                      atol=1e-3)
    assert (out / "accuracy.png").stat().st_size > 0
    helped = "".join(cli("graph", "teddy", "--help").stdout.split()).split("--out<path>")[1]
    helped = helped.split("--resume/--no-resume")[0]  # --out's own help
    assert all(p.name in helped for p in out.iterdir())  # --out's help named 3 of the 4
    report = (out / "results.md").read_text()
    assert "| ugs | 2 |" in report and "TEDDY / UGS wall time" in report
    # the settings of run.json: a report of 2 epochs read as one of the default 200
    assert report.splitlines()[2] == "Run with --epochs 2, --distill-lambda 0.1 (run.json)."
    (out / "results.md").unlink()
    again = cli(*["graph", "teddy-report", str(out), "--title", "again"])
    assert again.exit_code == 0, again.output
    assert (out / "results.md").read_text().replace("# again", "# cora / gcn") == report
    missing = cli(*["graph", "teddy-report", str(tmp_path / "nothing")])
    assert missing.exit_code != 0 and "nothing/results.json does not exist" in missing.output


def test_teddy_cli_resumes_a_stopped_run(tmp_path, data_dir, cli):
    """--resume keeps the complete seeds as they are and re-runs a partial one from its start."""
    out = tmp_path / "teddy"
    args = ["graph", "teddy", "--dataset", "cora", "--levels", "2", "--epochs", "2",
            "--methods", "dense,teddy", "--out", str(out)]
    first = cli(*[*args, "--seeds", "1"])
    assert first.exit_code == 0, first.output
    done = json.loads((out / "results.json").read_text())
    partial = {"method": "dense", "level": 0, "edge_keep": 1.0, "weight_keep": 1.0, "seed": 1,
               "test_acc": 0.123, "seconds": 0.0}
    (out / "results.json").write_text(json.dumps([*done, partial]))
    again = cli(*[*args, "--seeds", "2", "--resume"])
    assert again.exit_code == 0, again.output
    records = json.loads((out / "results.json").read_text())
    assert records[:len(done)] == done  # seed 0 kept, seconds and all
    assert [(r["method"], r["level"]) for r in records if r["seed"] == 1] == [
        ("dense", 0), ("teddy", 1), ("teddy", 2)]
    assert partial not in records
    other = cli(*[*args, "--seeds", "2", "--resume", "--model", "gat"])
    assert other.exit_code != 0 and "was run with --model gcn, this run has --model gat" in " ".join(
        other.output.split())
    (out / "run.json").write_text("{")
    broken = cli(*[*args, "--seeds", "2", "--resume"])
    assert broken.exit_code != 0 and "run.json is not JSON" in broken.output


def test_sparse_inputs_compute_the_same_model(cora):
    """The CSR features and the sparse adjacency are a speed-up only: same logits as dense."""
    from graphsparse.gnn import model_inputs

    for name in ("gcn", "gin", "gat"):
        torch.manual_seed(0)
        model = make_model(name, cora.num_features, 7).eval()
        x, edges = model_inputs(model, cora)
        assert x.layout == torch.sparse_csr
        with torch.no_grad():
            fast, plain = model(x, edges), model(cora.x, cora.edge_index)
        assert torch.allclose(fast, plain, atol=1e-5), name


@pytest.mark.parametrize("name", ["gcn", "gin", "gat"])
@pytest.mark.parametrize("layout", ["coo", "csc", "bsr"])
def test_features_of_every_sparse_layout_train_as_dense_ones(name, layout):
    """Features as a CSC or block-sparse matrix failed in the dropout of GAT and GIN ("Could
    not run 'aten::uniform_' with arguments from the 'SparseCsrCPU' backend")."""
    data = _karate_task()
    dense = (torch.rand(34, 6, generator=torch.Generator().manual_seed(0)) < 0.08).float()
    sparse = {"coo": dense.to_sparse(), "csc": dense.to_sparse_csc(),
              "bsr": dense.to_sparse_bsr((2, 2))}[layout]
    results = []
    for x in (dense, sparse):
        data.x = x
        torch.manual_seed(0)
        res = train_node_classifier(make_model(name, 6, 4), data, epochs=2)
        results.append(res.logits)
    assert torch.allclose(results[0], results[1], atol=1e-5)


@pytest.mark.parametrize("name", ["gcn", "gin", "gat"])
def test_sparse_adjacency_keeps_self_loops_and_repeated_columns(name):
    """A graph's own self-loops (GCNConv puts its own in their place) and repeated columns (one
    message each) give the same logits through the sparse adjacency as through the edge list."""
    from torch_geometric.data import Data

    from graphsparse.gnn import model_inputs

    torch.manual_seed(0)
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 0, 1, 3, 3, 4],
                               [1, 0, 2, 1, 2, 1, 0, 3, 3, 0]])  # loops at 2 and 3 (twice)
    data = Data(x=torch.rand(6, 5), edge_index=edge_index, num_nodes=6)  # node 5 isolated
    model = make_model(name, 5, 3, **({} if name == "gat" else {"hidden": 8})).eval()
    x, edges = model_inputs(model, data)
    with torch.no_grad():
        assert torch.allclose(model(x, edges), model(data.x, data.edge_index), atol=1e-6)


def test_feature_dropout_keeps_sparse_features_sparse():
    from graphsparse.gnn import feature_dropout

    torch.manual_seed(0)
    x = (torch.rand(200, 50) < 0.05).float()
    out = feature_dropout(x.to_sparse_csr(), 0.5, True)
    assert out.layout == torch.sparse_csr
    dense = out.to_dense()
    assert bool(((dense == 0) | (dense == 2.0)).all()) and bool((dense[x == 0] == 0).all())
    assert 0.35 < float((dense > 0).sum() / (x > 0).sum()) < 0.65
    assert feature_dropout(x.to_sparse_csr(), 0.5, False).to_dense().equal(x)


def test_dropout_keeps_each_entry_with_probability_one_minus_p():
    from graphsparse.gnn import dropout

    torch.manual_seed(0)
    x = torch.full((200_000,), 3.0, requires_grad=True)
    out = dropout(x, 0.3, True)
    kept = out != 0
    assert abs(float(kept.float().mean()) - 0.7) < 0.005
    assert torch.allclose(out[kept], torch.tensor(3.0 / 0.7))
    out.sum().backward()
    assert torch.equal(x.grad != 0, kept)
    assert dropout(x, 0.3, False) is x and dropout(x, 0.0, True) is x
    assert not dropout(x, 1.0, True).any()
    with pytest.raises(ValueError, match="p must be in"):
        dropout(x, 1.5, True)


def test_linear_first_gin_is_pyg_gin(cora):
    """Summing W x over neighbours instead of x, then W, is the same GIN layer."""
    from torch_geometric.nn import GINConv

    from graphsparse.gnn.models import _LinearFirstGINConv

    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(cora.num_features, 16), torch.nn.ReLU(),
                              torch.nn.Linear(16, 8))
    ours, pyg = _LinearFirstGINConv(mlp, eps=0.25), GINConv(mlp, eps=0.25)
    with torch.no_grad():
        assert torch.allclose(ours(cora.x, cora.edge_index), pyg(cora.x, cora.edge_index),
                              atol=1e-5)
        assert torch.allclose(ours(cora.x.to_sparse_csr(), cora.edge_index),
                              pyg(cora.x, cora.edge_index), atol=1e-5)


def test_sparse_linear_matches_f_linear_forward_and_backward(cora):
    from graphsparse.gnn import sparse_linear

    torch.manual_seed(0)
    w = torch.randn(16, cora.num_features, requires_grad=True)
    b = torch.randn(16)
    grad = torch.randn(cora.num_nodes, 16)
    out = sparse_linear(cora.x.to_sparse_csr(), w, b)
    (g_sparse,) = torch.autograd.grad(out, w, grad)
    ref = F.linear(cora.x, w, b)
    (g_dense,) = torch.autograd.grad(ref, w, grad)
    assert torch.allclose(out, ref, atol=1e-5) and torch.allclose(g_sparse, g_dense, atol=1e-4)
    assert torch.equal(sparse_linear(cora.x, w, b), ref)


def test_teddy_cli_runs_seeds_side_by_side(tmp_path, data_dir, cli):
    """--jobs 2 trains the seeds in two processes and writes the records one process would."""
    base = ["graph", "teddy", "--dataset", "cora", "--levels", "1", "--epochs", "2",
            "--seeds", "2", "--methods", "dense,teddy,random"]
    one, two = tmp_path / "one", tmp_path / "two"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the workers' share of this machine's threads
    try:
        first = cli(*[*base, "--out", str(one)])
    finally:
        torch.set_num_threads(threads)
    second = cli(*[*base, "--out", str(two), "--jobs", "2"])
    assert first.exit_code == 0 and second.exit_code == 0, second.output

    def key(r):
        return r["seed"], r["method"], r["level"]

    a = sorted(json.loads((one / "results.json").read_text()), key=key)
    b = sorted(json.loads((two / "results.json").read_text()), key=key)
    assert [key(r) for r in a] == [key(r) for r in b] and len(a) == 6
    assert [r["test_acc"] for r in a] == pytest.approx([r["test_acc"] for r in b], abs=0.01)


def test_negative_distillation_weight_is_refused(cora):
    model = make_model("gcn", cora.num_features, 7, hidden=8)
    with pytest.raises(ValueError, match="distill_lambda must be a finite number >= 0, got -1"):
        train_node_classifier(model, cora, epochs=1, distill_lambda=-1.0)
    with pytest.raises(ValueError, match="distill_lambda must be a finite number >= 0, got inf"):
        train_node_classifier(model, cora, epochs=1, distill_lambda=float("inf"))  # a NaN loss


@pytest.mark.parametrize("offset", [-5.0, math.nan])
def test_a_scorer_below_minus_one_or_nan_still_picks_an_epoch(cora, offset):
    """The best epoch was searched from -1: a negative loss as the score (or NaN) picked none, so
    the result had no logits and a test score of 0, and a TEDDY student got no teacher."""
    def score(logits, y, mask):
        return offset - float(F.cross_entropy(logits[mask], y[mask]))

    torch.manual_seed(0)
    model = make_model("gcn", cora.num_features, 7, hidden=8)
    res = train_node_classifier(model, cora, epochs=3, score=score)
    assert res.logits is not None and res.logits.shape == (cora.num_nodes, 7)
    assert res.test_acc != 0.0 and (res.val_acc < -5 or math.isnan(offset))


def test_teacher_logits_of_another_shape_are_refused_by_name(cora):
    torch.manual_seed(0)
    model = make_model("gcn", cora.num_features, int(cora.y.max()) + 1)
    with pytest.raises(ValueError, match=r"teacher_logits must have the shape of the model's "
                                         r"output, \[2708, 7\].*got \[2708, 3\]"):
        train_node_classifier(model, cora, epochs=1, teacher_logits=torch.zeros(2708, 3))


def test_run_levels_on_an_executor_gives_the_records_of_one_process(cora):
    """Seeds as tasks (the graph shared once): the records one process makes."""
    from sparsebox.parallel import LocalExecutor

    kwargs = dict(methods=("dense", "teddy"), epochs=3)
    inline = run_levels(cora, "gcn", [1], [0, 1], **kwargs)
    seen = []
    spread = run_levels(cora, "gcn", [1], [0, 1], executor=LocalExecutor(2, threads=1),
                        progress=seen.append, **kwargs)

    def key(r):
        return r["seed"], r["method"], r["level"]

    assert sorted(map(key, spread)) == sorted(map(key, inline)) == sorted(map(key, seen))
    assert [r["test_acc"] for r in sorted(spread, key=key)] == pytest.approx(
        [r["test_acc"] for r in sorted(inline, key=key)], abs=0.02)


def test_a_teddy_run_whose_every_seed_fails_leaves_nothing_and_says_so(tmp_path, data_dir, cli,
                                                                       monkeypatch):
    """The folder the run made is removed, so the message must not send the user to its
    results.json with --resume."""
    import graphsparse.cli

    def fails(task, emit):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(graphsparse.cli, "_teddy_seed", fails)
    out = tmp_path / "new" / "teddy"
    result = cli("graph", "teddy", "--dataset", "cora", "--levels", "1", "--seeds", "2",
                 "--epochs", "1", "--out", out)
    assert result.exit_code == 1
    assert result.stderr.strip().endswith(
        "error: 2 seeds failed (seed 0: RuntimeError: out of memory; seed 1: RuntimeError: out of "
        "memory); no run finished, nothing was kept")
    assert not (tmp_path / "new").exists()
    resumed = cli("graph", "teddy", "--dataset", "cora", "--levels", "1", "--seeds", "2",
                  "--epochs", "1", "--out", out, "--resume")  # keeps its run.json
    assert resumed.stderr.strip().endswith("no run finished, run again with --resume to try "
                                           "again")


def _karate_task():
    from torch_geometric.datasets import KarateClub

    data = KarateClub()[0]  # a train_mask only
    data.val_mask = data.test_mask = ~data.train_mask
    return data


@pytest.mark.parametrize(("model", "message"), [
    (("gcn", 5, 4), r"^the model does not take data.x's 34 features per node \(mat1 and mat2 "
                    r"shapes cannot be multiplied .*\); make it for data, as "
                    r"model_factory\(data, name\) does"),
    (("gin", 7, 4), r"^the model does not take data.x's 34 features"),
    (("gcn", 34, 2), r"^the model gives outputs of shape \[34, 2\], where data needs \[34, 4\] "
                     r"\(a row per node, a column per class of data.y\); make it for data"),
    (("gat", 34, 3), r"^the model gives outputs of shape \[34, 3\], where data needs \[34, 4\]"),
])
def test_a_model_not_made_for_the_data_is_refused_by_name(model, message):
    """torch's "mat1 and mat2 shapes cannot be multiplied (34x34 and 5x512)" or cross-entropy's
    "Target 3 is out of bounds" named neither the model's channels nor data.x or data.y."""
    with pytest.raises(InvalidParameterError, match=message):
        train_node_classifier(make_model(*model), _karate_task(), epochs=1)
    assert 0 <= train_node_classifier(make_model("gcn", 34, 4), _karate_task(), epochs=1).val_acc


def test_a_failure_inside_a_users_model_is_not_blamed_on_data_x():
    class Broken(torch.nn.Module):  # its second layer does not take the first's output
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(34, 16), torch.nn.Linear(32, 4)

        def forward(self, x, edge_index):
            return self.b(self.a(x))

    with pytest.raises(RuntimeError, match=r"^mat1 and mat2 shapes cannot be multiplied "
                                           r"\(34x16 and 32x4\)$"):
        train_node_classifier(Broken(), _karate_task(), epochs=1)


@pytest.mark.parametrize(("change", "message"), [
    ({"val_mask": None, "test_mask": None}, r"a Data lacks val_mask, test_mask"),
    ({"val_mask": torch.zeros(34, dtype=torch.bool)}, r"data.val_mask selects no node"),
    ({"train_mask": torch.zeros(34, dtype=torch.bool)}, r"data.train_mask selects no node"),
    ({"test_mask": torch.ones(34, 3, dtype=torch.bool)}, r"data.test_mask must be one mask over"),
    ({"y": torch.zeros(34, 1, dtype=torch.long)}, r"data.y must hold one class per node"),
    ({"y": torch.zeros(30, dtype=torch.long)}, r"data.y must hold one class per node"),
    ({"y": torch.zeros(34)}, r"data.y must hold a class id per node \(integers\), got torch.float32"),
    ({"y": torch.full((34,), -1)}, r"data.train_mask selects nodes without a class \(data.y holds -1"),
    ({"num_nodes": 40}, r"data.x must hold a row of features per node \(40, data.num_nodes\), got "
                          r"shape \[34, 34\]"),
    # a torch IndexError ("Dimension out of range") in UgsPruner.fit and train_node_classifier
    ({"x": torch.arange(34.0)}, r"got shape \[34\]; one feature per node: data.x.view\(-1, 1\)"),
    ({"x": torch.eye(34).index_put((torch.tensor([3]), torch.tensor([0])),
                                    torch.tensor(float("nan")))},
     r"data.x holds NaN or infinite features \(node 3 is the first\)"),
    ({"x": torch.eye(34).index_put((torch.tensor([5]), torch.tensor([1])),
                                    torch.tensor(float("inf")))},
     r"data.x holds NaN or infinite features \(node 5 is the first\)"),
    ({"edge_index": torch.tensor([[0, 40], [40, 0]])}, r"data.edge_index holds node 40, but "
                                                       r"data.num_nodes is 34"),
    ({"edge_index": torch.tensor([[0, -1], [-1, 0]])}, r"data.edge_index holds node -1"),
    ({"train_mask": torch.tensor([0, 34])}, r"data.train_mask holds node 34, but the nodes are "
                                            r"0..33"),  # an IndexError
    ({"val_mask": torch.tensor([-2, 3])}, r"data.val_mask holds node -2"),
])
def test_a_graph_that_is_no_node_task_is_refused_by_name(change, message):
    """KarateClub has no validation mask: training failed with an AttributeError; an empty one
    returned a validation accuracy of -1 and no logits, an empty train mask trained on a NaN
    loss, both without a word."""
    from sparsebox.exceptions import InvalidParameterError

    data = _karate_task()
    for key, value in change.items():
        data[key] = value
    with pytest.raises(InvalidParameterError, match=message):
        train_node_classifier(make_model("gcn", 34, 4, hidden=8), data, epochs=1)


@pytest.mark.parametrize(("dtype", "message"), [
    (torch.long, r"data.val_mask holds a 0 or 1 per node, a mask stored as integers.*"
                 r"data.val_mask.bool\(\)"),
    (torch.int32, r"data.val_mask holds a 0 or 1 per node"),
    (torch.float32, r"data.val_mask must be a boolean mask or an integer index of nodes, got "
                    r"torch.float32"),
])
def test_a_mask_of_numbers_is_refused_by_name(dtype, message):
    """A mask of 0/1 integers (read from a file of numbers) was taken as an index of nodes 0 and
    1: the model was scored on those two nodes over and over, without a word; one of floats
    failed in torch's indexing with an IndexError that named no mask."""
    from sparsebox.exceptions import InvalidParameterError

    data = _karate_task()
    data.val_mask = data.val_mask.to(dtype)
    with pytest.raises(InvalidParameterError, match=message):
        train_node_classifier(make_model("gcn", 34, 4, hidden=8), data, epochs=1)


@pytest.mark.filterwarnings("error:indexing with dtype torch.uint8")  # torch's deprecated path
def test_masks_of_bytes_and_indices_train_as_boolean_masks():
    data = _karate_task()
    results = []
    for form in (lambda m: m, lambda m: m.to(torch.uint8), lambda m: m.nonzero().view(-1)):
        changed = data.clone()
        changed.train_mask, changed.val_mask = form(data.train_mask), form(data.val_mask)
        torch.manual_seed(0)
        res = train_node_classifier(make_model("gcn", 34, 4, hidden=8), changed, epochs=3)
        results.append((res.val_acc, res.test_acc))
    assert results[1] == results[0] and results[2] == results[0]


@pytest.mark.parametrize(("ratio", "message"), [
    (0.0, r"weight_keep_ratio must be in \(0, 1\], got 0.0"),
    (1e-9, r"weight_keep_ratio 1e-09 keeps none of the 304 weights"),
])
def test_a_weight_keep_ratio_out_of_range_is_named(ratio, message):
    """The message said "keep_ratio", and a ratio that rounds to no weight trained a model whose
    weights were all zero."""
    from sparsebox.exceptions import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=message):
        train_node_classifier(make_model("gcn", 34, 4, hidden=8), _karate_task(), epochs=1,
                              weight_keep_ratio=ratio)


@pytest.mark.parametrize("name", ["gcn", "gin"])
def test_an_edge_index_of_pyg_s_edge_index_class_trains(name):
    """An ``EdgeIndex`` failed in PyG's coalesce with "'Tensor' object has no attribute
    'dim_size'" where the sparse adjacency was built."""
    from torch_geometric import EdgeIndex

    from graphsparse.gnn import model_inputs

    data = _karate_task()
    plain = data.edge_index
    data.edge_index = EdgeIndex(plain, sparse_size=(34, 34))
    model = make_model(name, 34, 4, hidden=8).eval()
    x, edges = model_inputs(model, data)
    with torch.no_grad():
        assert torch.allclose(model(x, edges), model(data.x, plain), atol=1e-6)
    assert train_node_classifier(model, data, epochs=1).logits.shape == (34, 4)


@pytest.mark.parametrize("name", ["gcn", "gat", "gin"])
def test_an_edge_index_beyond_the_nodes_is_refused_by_name_not_a_crash(name):
    """GCN's and GIN's sparse adjacency was built over the nodes the edges name: the process died
    in malloc ("unaligned tcache chunk detected") with no Python error."""
    from graphsparse.gnn import model_inputs
    from sparsebox.exceptions import InvalidParameterError

    data = _karate_task()
    data.edge_index = torch.cat([data.edge_index, torch.tensor([[0], [40]])], dim=1)
    with pytest.raises(InvalidParameterError, match=r"data.edge_index holds node 40, but "
                                                    r"data.num_nodes is 34"):
        train_node_classifier(make_model(name, 34, 4, hidden=8), data, epochs=1)
    if name != "gat":
        with pytest.raises(InvalidParameterError, match=r"data.edge_index holds node 40"):
            model_inputs(make_model(name, 34, 4, hidden=8), data)


@pytest.mark.parametrize("name", ["gcn", "gat", "gin"])
def test_features_and_labels_of_other_dtypes_train(name):
    """float64 features (from numpy) and a one-hot of integers failed with a dtype error, a COO
    matrix in GAT's and GIN's dropout ("Could not run 'aten::uniform_' ... 'SparseCPU'"), int32
    labels in the loss ("expected target dtype to be Long or Byte")."""
    from graphsparse.gnn import model_inputs

    data = _karate_task()
    model = make_model(name, 34, 4, hidden=8).eval()
    with torch.no_grad():
        expected = model(*model_inputs(model, data))
    for x in (data.x.double(), data.x.long(), data.x.to_sparse()):
        changed = data.clone()
        changed.x, changed.y = x, data.y.int()
        with torch.no_grad():
            assert torch.allclose(model(*model_inputs(model, changed)), expected, atol=1e-6)
        result = train_node_classifier(make_model(name, 34, 4, hidden=8), changed, epochs=1)
        assert result.logits.shape == (34, 4)


@pytest.mark.parametrize("name", ["gcn", "gat", "gin"])
def test_a_float64_model_trains(name):
    """GCN's and GIN's sparse adjacency held float32 counts: "expected scalar type Double but
    found Float" in spmm, though the features took the model's dtype."""
    data = _karate_task()
    result = train_node_classifier(make_model(name, 34, 4, hidden=8).double(), data, epochs=1)
    assert result.logits.dtype == torch.float64


def test_node_ids_for_an_embedding_stay_integers():
    """The features were cast to the dtype of the model's first parameter, an nn.Embedding's
    weights: "Expected tensor for argument #1 'indices' to have one of the following scalar
    types: Long, Int; but got torch.FloatTensor"."""
    from torch import nn
    from torch_geometric.nn import GCNConv

    class Embedded(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding, self.conv = nn.Embedding(34, 8), GCNConv(8, 4)

        def forward(self, x, edge_index):
            return self.conv(self.embedding(x), edge_index)

    data = _karate_task()
    data.x = torch.arange(34)
    assert train_node_classifier(Embedded(), data, epochs=1).logits.shape == (34, 4)


def test_weight_masks_of_floats_are_refused_by_name():
    """UGS's own code holds its masks as 0/1 floats: they failed with "~ (operator.invert) is
    only implemented on integer and Boolean-type tensors"."""
    model = make_model("gcn", 34, 4, hidden=8)
    masks = [torch.ones_like(w) for w in prunable_weights(model)]
    with pytest.raises(ValueError, match=r"weight_masks must be boolean tensors"):
        train_node_classifier(model, _karate_task(), epochs=1, weight_masks=masks)


@pytest.mark.parametrize("teacher, got", [(torch.zeros(2708), r"a Tensor of shape \[2708\]"),
                                          (np.zeros((2708, 7)), r"a ndarray of shape \[2708, 7\]"),
                                          (torch.zeros(140, 7), r"a Tensor of shape \[140, 7\]")])
def test_teacher_logits_that_are_no_matrix_of_a_row_per_node_are_refused_by_name(cora, teacher, got):
    # a vector failed in softmax ("Dimension out of range"), an array with no attribute 'softmax'
    torch.manual_seed(0)
    model = make_model("gcn", cora.num_features, int(cora.y.max()) + 1)
    before = [w.clone() for w in prunable_weights(model)]
    with pytest.raises(ValueError, match=r"teacher_logits must be a tensor of the model's output "
                                         r"shape, \[2708, classes\].*got " + got):
        train_node_classifier(model, cora, epochs=1, weight_keep_ratio=0.5, teacher_logits=teacher)
    assert all(torch.equal(a, b) for a, b in zip(before, prunable_weights(model), strict=True))


def test_a_heterogeneous_graph_is_told_how_to_make_it_one():
    from torch_geometric.data import HeteroData

    from sparsebox.exceptions import InvalidParameterError

    data = HeteroData()
    data["paper"].x = torch.randn(3, 2)
    data["paper", "cites", "paper"].edge_index = torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(InvalidParameterError, match=r"a HeteroData lacks .*data.to_homogeneous\(\)"):
        train_node_classifier(make_model("gcn", 2, 2, hidden=8), data, epochs=1)


def test_a_model_not_made_for_sparse_features_gets_csr_ones_dense():
    """Only COO, CSC and block layouts were made dense for a model that takes no sparse features:
    CSR reached its dropout ('aten::bernoulli_' on SparseCsrCPU)."""
    from graphsparse.gnn.models import model_inputs

    class Plain(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(34, 4)

        def forward(self, x, edge_index):
            return self.lin(torch.nn.functional.dropout(x, 0.5, self.training))

    data = _karate_task()
    data.x = data.x.to_sparse_csr()
    x, _ = model_inputs(Plain(), data)
    assert x.layout == torch.strided
    train_node_classifier(Plain(), data, epochs=1)


def test_teddy_names_in_any_case_are_recorded_and_resumed_in_lower_case(tmp_path, data_dir, cli):
    """--dataset CORA ran and recorded "CORA" (the report's title too), and a run of cora then
    refused to resume with --dataset CORA; --model GCN was refused outright."""
    out = tmp_path / "teddy"
    common = ("graph", "teddy", "--levels", "1", "--seeds", "1", "--epochs", "1", "--methods",
              "dense", "--out", out)
    result = cli(*common, "--dataset", "CORA", "--model", "GCN")
    assert result.exit_code == 0, result.output
    assert {k: v for k, v in json.loads((out / "run.json").read_text()).items()
            if k in ("dataset", "model")} == {"dataset": "cora", "model": "gcn"}
    assert (out / "results.md").read_text().startswith("# cora / gcn")
    resumed = cli(*common, "--dataset", "Cora", "--model", "gcn", "--resume")
    assert resumed.exit_code == 0, resumed.output
    run = json.loads((out / "run.json").read_text())  # as a run before the lower case wrote it
    (out / "run.json").write_text(json.dumps({**run, "dataset": "CORA", "model": "GCN"}))
    resumed = cli(*common, "--dataset", "cora", "--resume")
    assert resumed.exit_code == 0, resumed.output
    # a run.json without its dataset (edited by hand) resumed as citeseer and reported cora's
    # records under that name
    run = {k: v for k, v in json.loads((out / "run.json").read_text()).items() if k != "dataset"}
    (out / "run.json").write_text(json.dumps(run))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    refused = cli(*common, "--dataset", "citeseer", "--resume")
    assert refused.exit_code == 2 and refused.output.startswith(
        f"error: Invalid value for --resume: {out / 'run.json'} does not record the --dataset its "
        "runs were made with, so they cannot be checked against this run's (--dataset citeseer)"
    ), refused.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_training_runs_under_no_grad_and_is_refused_under_inference_mode():
    """Under a caller's torch.no_grad() (evaluation code), training failed with torch's "element
    0 of tensors does not require grad"; UGS's mask search likewise. inference_mode, whose
    tensors autograd cannot record, is refused by name."""
    from graphsparse.ugs import UgsPruner

    data = _karate_task()
    with torch.no_grad():
        result = train_node_classifier(make_model("gcn", 34, 4, hidden=8), data, epochs=2)
        assert 0 <= result.val_acc <= 1
        assert UgsPruner(keep_ratio=0.9, epochs=2).fit(data).mask_.sum() > 0
        assert not torch.is_grad_enabled()  # the caller's mode is back after each call
    with torch.inference_mode(), pytest.raises(RuntimeError, match="train_node_classifier "
                                                                   "computes gradients"):
        train_node_classifier(make_model("gcn", 34, 4, hidden=8), data, epochs=1)


def test_a_nan_feature_is_refused_before_ugs_trains():
    """UGS trained a whole round on NaN features, then said "scores must not contain NaN"."""
    from graphsparse.ugs import UgsPruner
    from sparsebox.exceptions import InvalidParameterError

    data = _karate_task()
    data.x = torch.eye(34)
    data.x[7, 2] = float("nan")
    with pytest.raises(InvalidParameterError, match=r"data.x holds NaN .* \(node 7 is the first\)"):
        UgsPruner(keep_ratio=0.9, epochs=2).fit(data)
    for empty in (torch.zeros(34, 3).to_sparse(), torch.zeros(34, 3).to_sparse_csr()):
        data.x = empty  # sparse features with no stored value: nothing to refuse
        train_node_classifier(make_model("gcn", 3, 4, hidden=8), data, epochs=1)
