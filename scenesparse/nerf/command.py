"""`sparsebox scene hollownerf`: train HollowNeRF on posed photos, prune, and report.

The output folder receives ``report.json`` (PSNR / SSIM on the held-out views before and after
pruning, parameters and bytes on disk before and after, entries kept per level), ``model.pt``
(the pruned model, :meth:`HollowNeRF.load` reads it), ``renders.png`` (ground truth, the model
before pruning, after pruning) and ``curve.png`` (training PSNR and mean saliency), each written
whole or not at all, and ``checkpoint.pt``, the training state every few hundred steps and at
the end of the step a Ctrl-C stopped: the same command run again goes on from it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sparsebox.exceptions import InputFileError
from sparsebox.outputs import StagedOutputs, json_text

__all__ = ["run_hollownerf", "OUTPUTS", "CHECKPOINT", "SUBSET_NOTE", "SALIENCY_BUDGET_SLACK",
           "shipped_subset"]

#: The files a run writes into its folder (besides :data:`CHECKPOINT`).
OUTPUTS = {"report": "report.json", "model": "model.pt", "renders": "renders.png",
           "curve": "curve.png"}
#: The training state a run writes into its folder as it goes, and resumes from.
CHECKPOINT = "checkpoint.pt"
#: How far above ``saliency_budget`` the grid's mean saliency may end and the report's
#: ``saliency_budget_met`` still hold (the augmented Lagrangian settles onto the budget from
#: above: 300 steps on lego at a budget of 0.1 end within 10%).
SALIENCY_BUDGET_SLACK = 0.1
#: The report's ``note`` on the shipped NeRF-synthetic subsets (lego), whose held-out views are
#: drawn from the training split.
SUBSET_NOTE = ("held-out views of the subset, not the published test split: not comparable "
               "with published test-split figures")


def shipped_subset(folder: Path) -> bool:
    """Whether ``folder`` is where a catalogued NeRF-synthetic scene (the lego subset) lies, as
    opposed to a user's own photos.

    Examples
    --------
    >>> import tempfile
    >>> shipped_subset(Path(tempfile.mkdtemp()))
    False
    """
    from sparsebox.data.sources import DatasetNotFoundError, catalogue, fetch

    where = Path(folder).resolve()
    for name, info in catalogue().items():
        if info.kind == "nerf-synthetic":
            try:
                files = fetch(name, download=False)
            except DatasetNotFoundError:
                continue
            if any(f.parent.resolve() == where for f in files):
                return True
    return False


def run_hollownerf(views: Any, out: Path, estimator: Any, *, data: str, resolution: int,
                   progress: bool = True, note: str | None = None) -> dict:
    """Fit ``estimator`` (a :class:`~scenesparse.nerf.estimator.HollowNeRF`) on ``views``,
    prune it and write the run's files into ``out``; returns the report (with ``note``, a
    caveat on the views, when given; :data:`SUBSET_NOTE` for the shipped subsets).

    ``seconds`` adds the training time of the earlier runs a resumed run's checkpoint recorded
    to this run's, ``seconds_this_run``."""
    if not views.test_cameras:  # found before training: nothing to report PSNR or renders on
        raise InputFileError(f"{data}: no view is held out to evaluate on ({views.description}); "
                             "give at least two views")
    start = time.perf_counter()
    estimator.fit(views, progress=progress, checkpoint=out / CHECKPOINT)
    with _interrupt_names_the_checkpoint(estimator, out / CHECKPOINT):
        return _prune_and_write(views, out, estimator, start, data=data, resolution=resolution,
                                progress=progress, note=note)


@contextmanager
def _interrupt_names_the_checkpoint(estimator: Any, path: Path) -> Iterator[None]:
    """A Ctrl-C after training (evaluating, pruning, writing) says that the checkpoint holds
    the whole training and a run with it goes on from there, as one during training does (it
    was a bare "error: interrupted")."""
    try:
        yield
    except KeyboardInterrupt as err:
        if err.args:
            raise
        raise KeyboardInterrupt(estimator._stopped(path)) from None


def _prune_and_write(views: Any, out: Path, estimator: Any, start: float, *, data: str,
                     resolution: int, progress: bool, note: str | None) -> dict:
    """:func:`run_hollownerf` past training: evaluate, prune, evaluate again, write."""
    test_cams, test_images = views.test_cameras, views.test_images
    before = estimator.evaluate(test_cams, test_images, progress=progress)
    shown = min(3, len(test_cams))
    renders_before = [estimator.render(c) for c in test_cams[:shown]]
    bytes_before = estimator.saved_bytes()
    params_before = estimator.num_parameters()
    estimator.prune()
    after = estimator.evaluate(test_cams, test_images, progress=progress)
    history = estimator.trainer_.history
    # the rays scored: score_rays of them, or every training ray where there are fewer
    scored = min(estimator.score_rays, len(estimator.trainer_.origins))
    elapsed = time.perf_counter() - start
    report = {
        "psnr": after["psnr"], "ssim": after["ssim"],
        "psnr_before": before["psnr"], "ssim_before": before["ssim"],
        "params_before": params_before, "params_after": estimator.num_parameters(),
        "bytes_before": bytes_before, "bytes_after": None,
        "steps": estimator.steps, "march_steps": estimator.march_steps,
        "score_rays": scored, "keep_mass": estimator.keep_mass, "keep_ratio": estimator.keep_ratio,
        "budget": estimator.budget, "seed": estimator.seed, "table_size": estimator.table_size,
        "finest_resolution": estimator.finest_resolution, "batch_rays": estimator.batch_rays,
        "resolution": resolution, "data": data,
        "views": views.description, "saliency_budget": estimator.saliency_budget,
        "mean_saliency": history[-1].get("saliency_mean") if history else None,
        "saliency_budget_met": None,
        "levels": estimator.pruning_["levels"],
        "compacted": estimator.pruning_["compacted"],
        "aabb": list(estimator.aabb_),
        "aabb_from": estimator.aabb_from_,
        "seconds": estimator.resumed_seconds_ + elapsed, "seconds_this_run": elapsed,
        "resumed_from_step": estimator.resumed_from_step_,
    }
    if estimator.saliency_budget is not None and report["mean_saliency"] is not None:
        report["saliency_budget_met"] = bool(
            report["mean_saliency"] <= estimator.saliency_budget * (1 + SALIENCY_BUDGET_SLACK))
    if note is not None:
        report["note"] = note
    with StagedOutputs(**{k: out / v for k, v in OUTPUTS.items()}) as staged:
        report["bytes_after"] = estimator.save(staged["model"])
        staged["report"].write_text(json_text(report, indent=2))
        _side_by_side(test_images[:shown], renders_before,
                      [estimator.render(c) for c in test_cams[:shown]], report, staged["renders"])
        _curve(history, staged["curve"])
    return report


def _side_by_side(truth: list, before: list, after: list, report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = len(truth)
    fig, axes = plt.subplots(rows, 3, figsize=(9, 3 * rows), squeeze=False)
    # exact counts: pruning a few percent of the parameters vanished at two decimals of millions
    titles = ("ground truth",
              f"unpruned: {report['params_before']:,} params\n"
              f"PSNR {report['psnr_before']:.2f} dB (test views' mean)",
              f"HollowNeRF pruned: {report['params_after']:,} params\n"
              f"PSNR {report['psnr']:.2f} dB (test views' mean)")
    for r in range(rows):
        for c, image in enumerate((truth[r], before[r], after[r])):
            ax = axes[r, c]
            ax.imshow(image.clamp(0, 1).numpy())
            ax.set_axis_off()
            if r == 0:
                ax.set_title(titles[c], fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _curve(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    steps = np.array([h["step"] for h in history])
    psnr = np.array([h["psnr"] for h in history])
    window = max(1, len(psnr) // 50)
    smooth = np.convolve(psnr, np.ones(window) / window, mode="valid")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps[window - 1:], smooth, label="training PSNR" if window == 1
            else f"training PSNR (mean of {window} steps)")
    ax.set(xlabel="step", ylabel="PSNR (dB)")
    if history and "saliency_mean" in history[0]:
        twin = ax.twinx()
        twin.plot(steps, [h["saliency_mean"] for h in history], color="tab:orange",
                  label="mean saliency")
        twin.set_ylabel("mean saliency")
    # one legend above the panel, off both curves
    fig.suptitle("HollowNeRF training", y=0.98, fontsize=10)
    fig.legend(loc="upper center", bbox_to_anchor=(0.5, 0.92), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.84))
    fig.savefig(path, dpi=110)
    plt.close(fig)
