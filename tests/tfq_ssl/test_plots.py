"""A figure's title stays inside the figure, however long a spec's heading is."""

import numpy as np
import pytest

from tfq_ssl import plots

TITLE = ("Longer pretraining: Fig. 5's arms at 5 epochs (W=8, L=2, 5 classes, 485 batches "
         "of 256), with a heading longer still than any spec has today")
STAT = {"mean": 0.45, "std": 0.01, "n": 3, "ci_low": 0.44, "ci_high": 0.46}
CURVES = {"quantum": {1: {"final": STAT, "best": STAT}, 2: {"final": STAT, "best": STAT}}}
CONTROLS = {"adam": {"quantum": {"values": {0: 0.45, 1: 0.46}, "accuracy": STAT}}}
DEVICE = {"classical": {"accuracy": 0.47, "low": 0.44, "high": 0.50, "per_class": [0.6] * 5}}
PANELS = {"loss": ([0, 1], [5.0, 4.0], [0.1, 0.1]), "D_HS": ([0, 1], [0.1, 0.2], [0.0, 0.0])}


@pytest.fixture
def figures(monkeypatch):
    """The figures the plotting functions close, drawn, to measure their texts."""
    closed, close = [], plots.plt.close
    monkeypatch.setattr(plots.plt, "close", closed.append)
    yield closed
    for fig in closed:
        close(fig)


@pytest.mark.parametrize("draw", [
    lambda path: plots.plot_accuracy_curves(CURVES, path, TITLE),
    lambda path: plots.plot_width_ablation({"quantum": {2: CURVES["quantum"][2]}}, path, TITLE),
    lambda path: plots.plot_controls(CONTROLS, path, TITLE),
    lambda path: plots.plot_training_panels(PANELS, path, TITLE),
    lambda path: plots.plot_confusion_matrix(np.eye(5, dtype=int), list("abcde"), path, TITLE),
    lambda path: plots.plot_device_accuracy(DEVICE, list("abcde"), {"classical": 0.4727}, path,
                                            TITLE),
], ids=["curves", "width", "controls", "panels", "confusion", "device"])
def test_a_long_title_is_wrapped_inside_the_figure(draw, figures, tmp_path):
    draw(str(tmp_path / "figure.png"))
    [fig] = figures
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    titles = [t for t in [fig._suptitle, *(ax.title for ax in fig.axes)]
              if t is not None and "Longer pretraining" in t.get_text()]
    assert titles
    for text in titles:
        extent = text.get_window_extent(renderer)
        assert box.x0 <= extent.x0 and extent.x1 <= box.x1, (extent, box)
        assert box.y0 <= extent.y0 and extent.y1 <= box.y1, (extent, box)
