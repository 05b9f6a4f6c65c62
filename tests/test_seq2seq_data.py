"""Data of the captioning and translation experiments: generated and local formats."""

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from rnnexp.data.digit_strips import load_digit_scans, make_strips
from rnnexp.data.flickr import clean_caption, load_captions, load_images
from rnnexp.data.imdb import DataError
from rnnexp.data.number_words import number_pairs, number_words, sample_numbers
from rnnexp.data.sentence_pairs import file_pairs, load_pairs


def test_number_words_split_hyphens_and_commas():
    assert number_words(4312) == "four thousand three hundred and twelve"
    assert number_words(99, "fr") == "quatre vingt dix neuf"
    with pytest.raises(ValueError, match="'xx'"):
        number_words(3, "xx")


def test_sample_numbers_distinct_balanced_and_excluding():
    rng = np.random.default_rng(0)
    train = sample_numbers(3000, 6, rng)
    test = sample_numbers(300, 6, rng, exclude=train)
    assert len(set(train)) == 3000 and not set(train) & set(test)
    digits = np.bincount([len(str(n)) for n in train], minlength=7)
    assert digits[1] == 9 and digits[2] == 90  # every 1- and 2-digit number
    assert digits[3:].min() > 500  # the rest spread evenly
    with pytest.raises(ValueError, match="only 99"):
        sample_numbers(100, 2, rng)


def test_digit_strips_show_their_number_from_the_pool_only():
    scans, labels = load_digit_scans()
    pool = np.arange(0, len(scans), 2)
    strips = make_strips(40, scans, labels, pool, np.random.default_rng(1), max_digits=4)
    assert strips.images.shape == (40, 8, 32, 1)
    pool_set = {scans[i].tobytes() for i in pool}
    for image, number, caption in zip(strips.images, strips.numbers, strips.captions):
        k = len(str(number))
        assert 2 <= k <= 4 and caption == number_words(number)
        cells = [image[:, 8 * j : 8 * (j + 1), 0] for j in range(4)]
        assert all(c.tobytes() in pool_set for c in cells[:k])
        assert all(not c.any() for c in cells[k:])  # blank to the right
        assert [labels[np.flatnonzero((scans == c).all((1, 2)))[0]] for c in cells[:k]] == [
            int(d) for d in str(number)
        ]


def write_flickr(folder, lines, images=("a.jpg", "b.jpg")):
    (folder / "Images").mkdir(parents=True)
    for name in images:
        Image.fromarray(np.full((20, 30, 3), 120, np.uint8)).save(folder / "Images" / name)
    (folder / "captions.txt").write_text("\n".join(lines) + "\n")
    return folder


def test_flickr_loader_reads_captions_per_image(tmp_path):
    folder = write_flickr(
        tmp_path / "f",
        [
            "image,caption",
            "a.jpg,A dog, running in the park .",
            "a.jpg,The DOG runs",
            "b.jpg,Two children play with a very very very very long caption here",
        ],
    )
    found = load_captions(folder, max_words=8)
    assert [p.name for p in found.paths] == ["a.jpg"]
    assert found.captions == [["a dog running in the park", "the dog runs"]]
    images = load_images(found.paths, 16)
    assert images.shape == (1, 16, 16, 3) and 0 < images.max() <= 1
    assert clean_caption("It's a cat!") == "it s a cat"


@pytest.mark.parametrize(
    "lines,images,message",
    [
        (["image,caption", "a.jpg,ok"], None, "no Images/"),
        (["img;cap", "a.jpg,x"], ("a.jpg",), "expected the header 'image,caption'"),
        (["image,caption", "a.jpg no comma"], ("a.jpg",), r"captions.txt:2: expected"),
        (["image,caption", "a.jpg,  ..."], ("a.jpg",), "captions.txt:2: empty"),
        (["image,caption", "a.jpg,ok", "c.jpg,x"], ("a.jpg",), "1 captioned image.*'c.jpg'"),
    ],
)
def test_malformed_flickr_folder_fails_with_the_reason(tmp_path, lines, images, message):
    folder = tmp_path / "f"
    if images is None:
        folder.mkdir()
        (folder / "captions.txt").write_text("\n".join(lines))
    else:
        write_flickr(folder, lines, images)
    with pytest.raises(DataError, match=message):
        load_captions(folder)


def test_unreadable_image_names_the_file(tmp_path):
    folder = write_flickr(tmp_path / "f", ["image,caption", "a.jpg,x"], ("a.jpg",))
    (folder / "Images" / "a.jpg").write_text("not a jpeg")
    with pytest.raises(DataError, match="a.jpg"):
        load_images([folder / "Images" / "a.jpg"], 8)


def test_tsv_pairs_are_standardized(tmp_path):
    path = tmp_path / "fra.txt"
    path.write_text("Go.\tVa !\tCC-BY 2.0 (France)\nHi, Tom.\tSalut, Tom.\tx\n\nRun!\tCours !\n")
    assert load_pairs(path)[:2] == [("go .", "va !"), ("hi , tom .", "salut , tom .")]
    assert load_pairs(path, reverse=True)[0] == ("va !", "go .")
    assert load_pairs(path, max_words=2) == [("go .", "va !"), ("run !", "cours !")]
    assert load_pairs(path, max_pairs=2)[-1][0] == "hi , tom ."


@pytest.mark.parametrize(
    "text,message",
    [
        ("Go.\tVa !\nno tab here\n", r"fra.txt:2: expected 'source<TAB>target'"),
        ("Go.\t  \nHi.\tSalut.\n", r"fra.txt:1: empty target"),
        ("Go.\tVa !\n", "found 1 usable sentence pair"),
    ],
)
def test_malformed_tsv_fails_with_file_and_line(tmp_path, text, message):
    path = tmp_path / "fra.txt"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        load_pairs(path)


def test_missing_tsv_says_what_to_provide(tmp_path):
    with pytest.raises(DataError, match="manythings.org/anki"):
        load_pairs(tmp_path / "nope.txt")


def test_number_pairs_split_distinct_numbers_and_refuse_a_language_as_config():
    from rnnexp.config import ConfigError

    cfg = SimpleNamespace(
        seed=0, train_size=20, test_size=5, max_digits=3, source_lang="en", target_lang="fr"
    )
    train, test = number_pairs(cfg)
    assert len(train) == 20 and len(test) == 5 and not {s for s, _ in train} & {s for s, _ in test}
    with pytest.raises(ConfigError, match="'xx'"):
        number_pairs(SimpleNamespace(**{**vars(cfg), "target_lang": "xx"}))


def test_file_pairs_hold_out_a_fifth_at_most_test_size(tmp_path):
    path = tmp_path / "fra.txt"
    path.write_text("".join(f"w{i}\tm{i}\n" for i in range(30)))
    cfg = SimpleNamespace(path=path, max_words=0, reverse=False, seed=0, train_size=20, test_size=9)
    train, test = file_pairs(cfg)  # 29 of the 30 pairs kept, a fifth of them (5) for the test
    assert len(test) == 5 and len(train) == 24 and not set(train) & set(test)
