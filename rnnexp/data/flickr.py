"""Captioned photos from a Flickr8k-style folder.

Layout (as distributed on Kaggle and used by the Keras captioning example):

    folder/
      Images/1000268201_693b08cb0e.jpg ...
      captions.txt      # header "image,caption", then one line per caption:
                        # 1000268201_693b08cb0e.jpg,A child in a pink dress ...

An image usually has five captions. Captions are standardized (lower-case,
punctuation dropped: `rnnexp.data.vocab.standardize` without the punctuation
tokens); captions longer than `max_words` are dropped. Malformed folders raise
`DataError` naming what is wrong.
"""

import re
from pathlib import Path

import numpy as np

from rnnexp import console
from rnnexp.data import limits
from rnnexp.data.records import DataError
from rnnexp.data.sentence_pairs import text_lines
from rnnexp.data.vocab import standardize

__all__ = ["CaptionedImages", "folder_captions", "load_captions", "load_images"]

MAX_CAPTIONS_BYTES = 64 << 20  # Flickr8k's captions.txt is about 3 MB, Flickr30k's tens of MB
MAX_IMAGE_BYTES = 32 << 20  # a Flickr photo is a few hundred KB


class CaptionedImages:
    """Image file paths and, per image, its list of standardized captions."""

    def __init__(self, paths, captions):
        self.paths, self.captions = list(paths), list(captions)

    def __len__(self):
        return len(self.paths)


def clean_caption(text: str) -> str:
    """Lower-case words only: the usual captioning preprocessing."""
    return " ".join(re.sub(r"[^\w\s]", " ", standardize(text)).split())


def load_captions(folder, *, max_words: int = 20, max_images: int = 0) -> CaptionedImages:
    """Read `captions.txt`; check every referenced image exists."""
    folder = Path(folder)
    images, index = folder / "Images", folder / "captions.txt"
    if not folder.is_dir():
        raise DataError(f"caption folder not found: {folder} (expected Images/ and captions.txt)")
    if not images.is_dir():
        raise DataError(f"{folder}: no Images/ folder (Flickr8k layout: Images/ + captions.txt)")
    if not index.exists():
        raise DataError(f"{folder}: no captions.txt (Flickr8k layout: Images/ + captions.txt)")
    by_image: dict[str, list[str]] = {}
    lines = text_lines(
        index, MAX_CAPTIONS_BYTES, "captions are read whole; Flickr8k's are about 3 MB"
    )
    header = next(lines)[1].strip().lstrip("\ufeff").lower()  # Excel writes a BOM
    if header != "image,caption":
        raise DataError(f"{index}:1: expected the header 'image,caption', found {header!r}")
    for lineno, line in lines:
        if not line.strip():
            continue
        name, sep, caption = line.rstrip("\r").partition(",")
        if not sep:
            raise DataError(f"{index}:{lineno}: expected 'image,caption', found {line[:60]!r}")
        caption = clean_caption(caption)
        if not name.strip() or not caption:
            raise DataError(f"{index}:{lineno}: empty image name or caption")
        if len(caption.split()) <= max_words:
            by_image.setdefault(name.strip(), []).append(caption)
    if not by_image:
        raise DataError(f"{index}: no captions of at most {max_words} words")
    names = sorted(by_image)
    missing = [n for n in names if not (images / n).exists()]
    if missing:
        raise DataError(
            f"{index}: {len(missing)} captioned image(s) missing from {images}, e.g. {missing[0]!r}"
        )
    for name in names:  # a FIFO or device among the images would block or never end
        limits.refuse_special(images / name, "an image must be a JPEG or PNG file", folder_ok=False)
    if max_images:
        names = names[:max_images]
    return CaptionedImages([images / n for n in names], [by_image[n] for n in names])


def load_images(paths, size: int) -> np.ndarray:
    """RGB images resized to `size x size`, scaled to [0, 1]: `(n, size, size, 3)`."""
    import keras

    out = np.zeros((len(paths), size, size, 3), dtype="float32")
    for i, path in enumerate(paths):
        limits.refuse_special(path, "an image must be a JPEG or PNG file", folder_ok=False)
        limits.check_size(path, Path(path).stat().st_size, MAX_IMAGE_BYTES, "not a photo")
        try:
            image = keras.utils.load_img(path, target_size=(size, size), color_mode="rgb")
        except Exception as err:  # PIL raises several types for bad files
            raise DataError(f"cannot read image {path}: {err}") from err
        out[i] = keras.utils.img_to_array(image) / 255.0
    return out


def folder_captions(cfg):
    """A folder's captioned images, split at random: a fifth (at most `test_size`) for the test.

    Args:
        cfg: the data config: `path`, `max_words`, `seed`, `test_size`, `train_size`
            (0 = every image not held out), `image_size`.

    Returns:
        `((train images, captions), (test images, references))`: a training row per caption,
        every caption of a test image among its references.
    """
    found = load_captions(cfg.path, max_words=cfg.max_words)
    if len(found) < 2:  # one image cannot be both trained on and tested
        raise DataError(
            f"{cfg.path}: {len(found)} usable captioned image(s); need at least 2 "
            "(a fifth of them, at least one, is held out for the test)"
        )
    order = np.random.default_rng(cfg.seed).permutation(len(found))
    n_test = min(cfg.test_size, max(1, len(found) // 5))
    test, train = order[:n_test], order[n_test:]
    if cfg.train_size:
        train = train[: cfg.train_size]
    console.say(f"data: {len(train)} train / {len(test)} test images from {cfg.path}")
    train_images = load_images([found.paths[i] for i in train], cfg.image_size)
    rows = [(k, c) for k, i in enumerate(train) for c in found.captions[i]]
    return (
        (train_images[[k for k, _ in rows]], [c for _, c in rows]),
        (
            load_images([found.paths[i] for i in test], cfg.image_size),
            [found.captions[i] for i in test],
        ),
    )
