"""Matplotlib figures for run summaries (headless: the Agg backend).

Matplotlib is imported when the first figure is drawn, not when an experiment
that draws figures is declared.
"""

import contextlib

import numpy as np

__all__ = ["attention_maps", "captioned_images", "close", "lines_with_spread", "noted", "save"]

_NOTES: list[str] = []  # what every figure saved now must say under it (see `noted`)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def lines_with_spread(
    series: dict, *, xlabel, ylabel, title, logx=False, logy=False, hline=None, hline_label=None
):
    """One line per key: `series[key] = (x, mean, spread_or_None)`."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, (x, mean, spread) in series.items():
        x, mean = np.asarray(x), np.asarray(mean)
        ax.plot(x, mean, marker="o" if len(x) < 30 else None, label=label)
        if spread is not None:
            spread = np.asarray(spread)
            ax.fill_between(x, mean - spread, mean + spread, alpha=0.2)
    if hline is not None:
        ax.axhline(hline, color="grey", linestyle="--", label=hline_label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def save(fig, path):
    plt = _pyplot()
    if _NOTES:  # below the figure, in a strip the tight bounding box adds: nothing is covered
        fig.text(0.5, 0, _NOTES[-1], ha="center", va="top", color="firebrick", fontsize=11)
        fig.savefig(path, dpi=110, bbox_inches="tight")
    else:
        fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


@contextlib.contextmanager
def noted(text: str):
    """Every figure saved inside says `text` under it (e.g. "partial: 20 of 72 trials")."""
    _NOTES.append(text)
    try:
        yield
    finally:
        _NOTES.pop()


def close(fig):
    plt = _pyplot()
    plt.close(fig)


def attention_maps(examples, *, title):
    """One heat map per example: `(weights (T, S), source_tokens, output_tokens)`."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(examples), figsize=(4.2 * len(examples), 4.2), squeeze=False)
    for ax, (weights, source, output) in zip(axes[0], examples):
        weights = np.asarray(weights)[: len(output), : len(source)]
        ax.imshow(weights, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(source)), source, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(output)), output, fontsize=8)
        ax.set_xlabel("source")
    axes[0][0].set_ylabel("output")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def captioned_images(images, captions, *, title, columns=4):
    """A grid of grey or RGB images, each titled with its (multi-line) caption."""
    plt = _pyplot()
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 2.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption in zip(axes.flat, images, captions):
        image = np.asarray(image)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        ax.imshow(image, cmap="gray_r" if image.ndim == 2 else None)
        ax.set_title(caption, fontsize=7, loc="left")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
