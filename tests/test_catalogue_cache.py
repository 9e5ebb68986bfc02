"""directory.catalogue_cache: the codes catalogue kept ready-made between processes reads
a person's words exactly as the catalogue loaded from its files does, and an edited
catalogue is never read from an old copy."""

from __future__ import annotations

import shutil
from pathlib import Path

from codes.catalogue import DATA_DIR, Catalogue, load_catalogue_from
from codes.search import read_needs
from directory import catalogue_cache

TEXTS = [
    "sleeping on a mate's sofa",
    "my benefits were stopped and there's no food in the house",
    "lonely since my wife died",
    "evicted",
    "cant read my letters",
    "gambling debts",
]


def _copy_of_the_catalogue(tmp_path: Path) -> Path:
    folder = tmp_path / "codes"
    folder.mkdir()
    for path in DATA_DIR.iterdir():
        if path.is_file() and path.suffix in (".csv", ".toml"):
            shutil.copy(path, folder / path.name)
    return folder


Reading = tuple[list[tuple[str, float]], list[tuple[str, float, str]]]


def _reading(catalogue: Catalogue, text: str) -> Reading:
    matches, domains = read_needs(catalogue, text)
    return [(str(m.code), m.score) for m in matches], domains


def test_the_kept_catalogue_reads_as_the_one_loaded_from_its_files(tmp_path: Path) -> None:
    keep = tmp_path / "cache"
    written = catalogue_cache.load_cached(DATA_DIR, keep)  # loaded from the files, kept
    kept_files = list(keep.glob("catalogue-*.pickle"))
    assert len(kept_files) == 1
    again = catalogue_cache.load_cached(DATA_DIR, keep)  # read back from the pickle
    assert again is not written
    fresh = load_catalogue_from(DATA_DIR)
    assert [c.code for c in again.codes] == [c.code for c in fresh.codes]
    for text in TEXTS:
        assert _reading(again, text) == _reading(fresh, text), text
        assert _reading(again, text)[0], text  # the catalogue reads each of them
    for word in ("evicted", "homelessness", "benefits", "lonely"):
        assert again.index.stem(word) == fresh.index.stem(word)
    assert again.index.stemmer.stemWord("running") == "run"  # a working stemmer, made anew


def test_an_edited_catalogue_is_loaded_from_its_files_not_the_old_copy(tmp_path: Path) -> None:
    folder = _copy_of_the_catalogue(tmp_path)
    keep = tmp_path / "cache"
    before = catalogue_cache.load_cached(folder, keep)
    assert not any(m.code == "Z59.0" for m in read_needs(before, "xqzvwk")[0])
    synonyms = folder / "synonyms.toml"
    text = synonyms.read_text(encoding="utf-8")
    assert '"Z59.0" = [' in text
    synonyms.write_text(text.replace('"Z59.0" = [', '"Z59.0" = [ "xqzvwk",', 1), "utf-8")
    after = catalogue_cache.load_cached(folder, keep)
    assert read_needs(after, "xqzvwk")[0][0].code == "Z59.0"
    assert len(list(keep.glob("catalogue-*.pickle"))) == 1  # the old copy is gone


def test_a_damaged_or_unwritable_cache_still_gives_the_catalogue(tmp_path: Path) -> None:
    keep = tmp_path / "cache"
    catalogue_cache.load_cached(DATA_DIR, keep)
    (kept,) = keep.glob("catalogue-*.pickle")
    kept.write_bytes(b"not a pickle")
    catalogue = catalogue_cache.load_cached(DATA_DIR, keep)
    assert _reading(catalogue, TEXTS[0])[0]
    assert kept.read_bytes() != b"not a pickle"  # written again
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("x")
    catalogue = catalogue_cache.load_cached(DATA_DIR, blocked)
    assert _reading(catalogue, TEXTS[0])[0]


def test_the_kept_vocabulary_is_the_one_read_from_its_files() -> None:
    from directory.vocabulary import _read_vocabulary, load_vocabulary

    load_vocabulary.cache_clear()
    try:
        kept = load_vocabulary()  # read from the kept pickle (or made and kept)
        assert kept == _read_vocabulary()
        assert any(p.text == "food bank" for p in kept.phrases)
    finally:
        load_vocabulary.cache_clear()


def test_kept_makes_the_value_again_when_its_sources_change(tmp_path: Path) -> None:
    source = tmp_path / "words.txt"
    source.write_text("one", encoding="utf-8")
    made: list[str] = []

    def make() -> list[str]:
        made.append(source.read_text(encoding="utf-8"))
        return [made[-1]]

    def value() -> list[str]:
        key = catalogue_cache.files_key([source])
        return catalogue_cache.kept(tmp_path / "keep", "words", key, make, list)  # type: ignore[no-any-return]

    assert value() == ["one"] and value() == ["one"]
    assert made == ["one"]  # the second from the kept copy
    source.write_text("two", encoding="utf-8")
    assert value() == ["two"]
    assert made == ["one", "two"]
    assert len(list((tmp_path / "keep").glob("words-*.pickle"))) == 1


def test_the_kept_english_list_is_the_one_read_from_wordfreq() -> None:
    from directory import english

    english._load.cache_clear()
    english._groups.cache_clear()
    try:
        words = english.english_words()  # kept (or read and kept)
        assert words == english._read()
        assert list(words)[:50] == list(english._read())[:50]  # commonest first, as read
        assert english._groups() == english._group()
        assert english.is_english("wheelbarrow") and not english.is_english("benifits")
    finally:
        english._load.cache_clear()
        english._groups.cache_clear()


def test_the_english_list_is_read_without_importing_wordfreq() -> None:
    """wordfreq's package imports ftfy, langcodes and regex (a tenth of a second): its data
    file is found and read (or its kept copy) without it."""
    import subprocess
    import sys

    code = (
        "import sys; from directory import english; "
        "print(english.is_english('thimble'), len(english.near('t', 6)) > 100, "
        "'wordfreq' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["True", "True", "False"]
