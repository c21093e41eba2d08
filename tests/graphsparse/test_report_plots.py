"""The report plots: titled with their run, legends beside the data, never over a point."""

from __future__ import annotations

GOOD = {"method": "teddy", "level": 1, "edge_keep": 0.95, "weight_keep": 0.9, "seed": 0,
        "test_acc": 0.8, "val_acc": 0.78, "seconds": 1.5}
DENSE = {**GOOD, "method": "dense", "level": 0, "edge_keep": 1.0, "weight_keep": 1.0}


def _report_figure(monkeypatch, write, records, tmp_path, **kwargs):
    """The figure a report function hands to ``write_figure_and_text``, drawn and still open."""
    import sparsebox.outputs

    seen = []
    monkeypatch.setattr(sparsebox.outputs, "write_figure_and_text",
                        lambda figure, *args, **kw: seen.append(figure))
    write(records, tmp_path, **kwargs)
    (fig,) = seen
    fig.canvas.draw()
    return fig


def _points_under_legends(fig) -> list:
    """The plotted markers (in any panel) that a legend of ``fig`` covers."""
    import matplotlib.pyplot as plt

    legends = [ax.get_legend().get_window_extent() for ax in fig.axes if ax.get_legend()]
    covered = []
    for ax in fig.axes:
        for line in ax.get_lines():
            for x, y in ax.transData.transform(line.get_xydata()):
                covered += [(x, y) for box in legends if box.contains(x, y)]
    plt.close(fig)
    return covered


def _gtsp_records() -> list[dict]:
    """Runs that fill the whole plot, so that no corner inside it is free for a legend."""
    records = [{"dataset": "ogbg-molbace", "axes": "dense", "keep": 1.0, "seed": 0,
                "metric_name": "rocauc", "metric": 0.8, "flops": 13e6,
                "flops_sparse_kernel": 13e6, "inference_seconds": 1.0, "epochs": 1,
                "attention_flops": 1e6, "attention_block_flops": 2e6}]
    for i, axes in enumerate(("tokens", "heads", "layers", "weights", "random-tokens")):
        for keep in (0.1, 0.25, 0.5, 0.75, 0.9):
            metric = 0.6 + 0.05 * i if i % 2 else 0.85 - 0.05 * i
            records.append({**records[0], "axes": axes, "keep": keep, "flops": 13e6 * keep,
                            "flops_sparse_kernel": 13e6 * keep, "metric": metric})
    return records


def test_the_gtsp_plot_names_its_run_and_its_legend_covers_no_point(tmp_path, monkeypatch):
    """pareto.png's legend sat inside the left panel over the runs, its figure did not carry the
    report's title (the method), and the numbers beside the points did not say they are keep
    ratios (fractions kept), not sparsities."""
    from graphsparse.gtsp.report import write_gtsp_report

    fig = _report_figure(monkeypatch, write_gtsp_report, _gtsp_records(), tmp_path,
                         title="GTSP on ogbg-molbace")
    assert fig.get_suptitle() == "GTSP on ogbg-molbace"
    (legend,) = [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert "keep ratio" in legend.get_title().get_text()
    assert _points_under_legends(fig) == []


def test_the_teddy_plot_legend_covers_no_point(tmp_path, monkeypatch):
    from graphsparse.teddy_report import write_teddy_report

    records = [DENSE] + [{**GOOD, "method": method, "level": level, "edge_keep": 0.95 ** level,
                          "test_acc": 0.8 - step * level}
                         for method, step in (("teddy", 0.002), ("random", 0.01), ("ugs", 0.005))
                         for level in range(1, 21)]
    fig = _report_figure(monkeypatch, write_teddy_report, records, tmp_path, title="cora / gcn")
    assert fig.axes[0].get_title() == "cora / gcn"
    assert _points_under_legends(fig) == []
