"""Figures of what a model did on a few examples: attention heat maps, captioned images."""

import numpy as np

from rnnexp.report.plots.style import pyplot_agg


def attention_maps(examples, *, title):
    """One heat map per example: `(weights (T, S), source_tokens, output_tokens)`."""
    plt = pyplot_agg()
    fig, axes = plt.subplots(
        1, len(examples), figsize=(4.2 * len(examples), 4.2), squeeze=False, layout="constrained"
    )
    for ax, (weights, source, output) in zip(axes[0], examples):
        weights = np.asarray(weights)[: len(output), : len(source)]
        ax.imshow(weights, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(source)), source, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(output)), output, fontsize=8)
        ax.set_xlabel("source")
    axes[0][0].set_ylabel("output")
    fig.suptitle(title)
    return fig


def captioned_images(images, captions, *, title, columns=4):
    """A grid of grey or RGB images, each titled with its (multi-line) caption."""
    plt = pyplot_agg()
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(3.6 * columns, 2.4 * rows), squeeze=False, layout="constrained"
    )
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption in zip(axes.flat, images, captions):
        image = np.asarray(image)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        ax.imshow(image, cmap="gray_r" if image.ndim == 2 else None)
        ax.set_title(caption, fontsize=7, loc="left")
    fig.suptitle(title)
    return fig
