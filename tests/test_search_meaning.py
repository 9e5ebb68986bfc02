"""Issue 18: search reads what a lay account means when its words are not the need's words
(directory/meaning.py: a small sentence-embedding model against need descriptions)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
import subprocess
import sys
import textwrap
from datetime import date
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from directory import meaning
from directory.search import ServiceIndex, ServiceMatch
from directory.text import stopwords
from linkwork.sample import SAMPLE_FILE

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 11, 1)  # the sample's reference day


@pytest.fixture(scope="module")
def truth() -> dict[str, set[str]]:
    """The sample's categories per service, read only here for checking."""
    data = resources.files("linkwork").joinpath("data", SAMPLE_FILE).read_bytes()
    services = json.loads(gzip.decompress(data))["content"]
    return {s["id"]: set(s["x_category"]) for s in services}


def _top(index: ServiceIndex, text: str, k: int = 5) -> list[ServiceMatch]:
    return index.search(text, limit=k, today=TODAY)


# --- the model and its tokenizer ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        # ids as the Hugging Face `tokenizers` library gives them for this model's
        # tokenizer.json (BERT uncased WordPiece): apostrophes, accents, a dash and a
        # pound sign split off, an unknown word cut into pieces
        ("don't won't it's", [101, 2123, 1005, 1056, 2180, 1005, 1056, 2009, 1005, 1055, 102]),
        (
            "Café naïve résumé — £20, 10:30am",
            [101, 7668, 15743, 13746, 1517, 21853, 2692, 1010, 2184, 1024, 2382, 3286, 102],
        ),
        (
            "hyper-vigilant e-mail 2x/day",
            [101, 23760, 1011, 6819, 20142, 4630, 1041, 1011, 5653, 1016, 2595, 1013, 2154, 102],
        ),
    ],
)
def test_tokenizer_gives_the_models_wordpiece_ids(text: str, ids: list[int]) -> None:
    assert meaning.token_ids(text) == ids


def test_an_overlong_text_is_cut_to_the_models_window() -> None:
    ids = meaning.token_ids("word " * 500)
    assert len(ids) == meaning.MAX_TOKENS
    assert ids[0] == 101 and ids[-1] == 102


def test_the_description_vectors_match_their_source() -> None:
    """need_meanings.npy was made from need_meanings.csv and this model: rebuild it with
    `python -m directory.meaning` after changing either."""
    stamp = (ROOT / "directory" / meaning.STAMP).read_text(encoding="utf-8").strip()
    assert stamp == meaning.source_stamp(), "run: python -m directory.meaning"
    stored = np.load(ROOT / "directory" / meaning.VECTORS).astype(np.float32)
    texts = [d for _need, d in meaning.descriptions()]
    assert stored.shape == (len(texts), 384)
    sample = list(range(0, len(texts), max(1, len(texts) // 8)))
    fresh = meaning.embed([texts[i] for i in sample])
    alike = np.sum(fresh * stored[sample], axis=1)
    assert alike.min() > 0.999


def test_alike_texts_are_closer_than_unrelated_ones() -> None:
    """A real embedding, not a stand-in: a paraphrase is nearer than another topic."""
    a, b, c = meaning.embed(
        ["I owe money on three credit cards", "my debts are out of control", "I love gardening"]
    )
    assert float(a @ b) > float(a @ c) + 0.2


def test_the_model_loads_from_its_package_with_no_network() -> None:
    """Run in a fresh interpreter whose sockets refuse to connect: the model is the file in
    the directory package (the one recorded in its licence note) and ONNX Runtime runs it;
    the code sets HF_HUB_OFFLINE."""
    script = textwrap.dedent(
        """
        import hashlib, os, socket
        def refuse(*args, **kwargs):
            raise OSError("no network in this test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        os.environ.pop("HF_HUB_OFFLINE", None)
        import directory
        from directory import meaning
        path = meaning.model_path()
        vectors = meaning.embed(["I'm expecting a baby in March"])
        here = os.path.dirname(directory.__file__)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(str(path.parent) == here, digest, vectors.shape, os.environ.get("HF_HUB_OFFLINE"))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", meaning.MODEL_SHA256, "(1,", "384)", "1"]
    note = (ROOT / "directory" / "meaning_model_LICENCE.txt").read_text(encoding="utf-8")
    assert meaning.MODEL_SHA256 in note and "Apache License" in note


def test_a_short_query_the_vocabulary_reads_loads_no_model() -> None:
    """The model (and ONNX Runtime) is loaded only for an account long enough to be read
    by meaning, or a short query of a few words the vocabulary has no phrase for; never
    for one word or a query the vocabulary reads."""
    script = textwrap.dedent(
        """
        import sys
        from datetime import date
        from sqlmodel import Session
        from directory.search import ServiceIndex
        from linkwork import db as lwdb
        from linkwork.sample import load_sample_directory
        engine = lwdb.open_engine("sqlite://")
        with Session(engine) as session:
            load_sample_directory(session)
            session.commit()
            index = ServiceIndex.build(session)
        day = date(2026, 11, 1)
        for text in ("food bank", "esol classes", "lonely", "debt advice near Kestonbury", "fod"):
            index.search(text, today=day)
        text = "I'm seven months along with my first and the father has gone off."
        index.search(text, today=day, understand=False)  # as the app may, while typing
        from directory import meaning
        print("onnxruntime" in sys.modules, meaning.loaded())
        index.search("our wedding vows are in tatters", today=day)
        print("onnxruntime" in sys.modules, meaning.loaded())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=180
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "True", "True"]


def test_understand_false_leaves_the_meaning_out(sample_index: ServiceIndex) -> None:
    text = "I've got a bun in the oven, seven months on, and the father has gone off."
    found = sample_index.search(text, limit=5, today=TODAY, understand=False)
    assert found
    assert not any(w.startswith("understood as") for m in found for w in m.why)


def test_a_short_idiom_is_read_by_meaning(
    sample_index: ServiceIndex, truth: dict[str, set[str]]
) -> None:
    found = _top(sample_index, "our wedding vows are in tatters")
    assert "relationship_counselling" in truth[found[0].id]
    assert any(w.startswith("understood as: a couple's relationship") for w in found[0].why)


# --- what it reads, and how search uses it ----------------------------------------------------


def test_an_idiom_is_read_as_its_need_and_the_why_says_so(
    sample_index: ServiceIndex, truth: dict[str, set[str]]
) -> None:
    text = "I've got a bun in the oven, seven months on, and the father has gone off."
    found = _top(sample_index, text)
    assert "pregnancy_parents" in truth[found[0].id]
    assert any(w == "understood as: pregnancy" for w in found[0].why), found[0].why


def test_a_situation_without_need_words_finds_its_services(
    sample_index: ServiceIndex, truth: dict[str, set[str]]
) -> None:
    text = "Lately my stomach churns and my heart pounds whenever I go out, I can hardly breathe."
    found = _top(sample_index, text)
    assert all("talking_therapies" in truth[m.id] for m in found[:3])
    assert "understood as: anxiety" in " ".join(found[0].why)


def test_a_literal_match_outranks_a_need_found_by_meaning(
    sample_index: ServiceIndex, truth: dict[str, set[str]]
) -> None:
    """The person names a choir; the rest of what they say reads as anxiety: the choir
    (their own word) comes first, the talking therapies (meaning only) after it."""
    text = (
        "I would like to join a choir. Lately my stomach churns and my heart pounds when I go out."
    )
    found = _top(sample_index, text, k=10)
    assert "arts_wellbeing" in truth[found[0].id]
    assert "choir" in " ".join(found[0].why)
    therapy = [i for i, m in enumerate(found) if "talking_therapies" in truth[m.id]]
    arts = [i for i, m in enumerate(found) if "arts_wellbeing" in truth[m.id]]
    assert therapy, "the need read by meaning still shows"
    assert min(arts) < min(therapy)
    for i in therapy:
        assert "words: choir" not in found[i].why


def test_a_need_denied_is_not_brought_back_by_meaning(
    sample_index: ServiceIndex, truth: dict[str, set[str]]
) -> None:
    text = "It's not the money, we manage. My wife has dementia and I do everything for her now."
    found = _top(sample_index, text)
    assert "carers_support" in truth[found[0].id]
    assert not any("debt_advice" in truth[m.id] for m in found[:3])


def test_a_text_the_model_reads_as_one_read_before_is_not_run_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A space typed after a word gives the model the same input (token ids): its likeness
    is the one worked out before, equal to running the model again; texts read together
    are run as before."""
    monkeypatch.setattr(meaning, "_SIMILAR", {})
    monkeypatch.setattr(meaning, "_ALONE", {})
    runs: list[list[str]] = []
    embed = meaning.embed

    def counted(texts: list[str]) -> np.ndarray:
        runs.append(list(texts))
        return embed(texts)

    monkeypatch.setattr(meaning, "embed", counted)
    first = meaning._similar(["black stuff on the walls"])[0]
    again = meaning._similar(["black stuff on the walls "])[0]
    assert runs == [["black stuff on the walls"]]
    assert np.array_equal(again, (embed(["black stuff on the walls "]) @ meaning._vectors().T)[0])
    assert np.array_equal(again, first)
    meaning._similar(["black stuff on the walls  ", "my mum passed away"])  # two new: run
    assert runs[-1] == ["black stuff on the walls  ", "my mum passed away"]
    meaning._similar(["black stuff on the wall"])  # other ids: run
    assert runs[-1] == ["black stuff on the wall"] and len(runs) == 3


def test_understand_keeps_needs_near_the_best() -> None:
    found = meaning.understand("the walls are wet and black and the kids keep coughing", 0.0, 0.1)
    assert found[0].need.label == "damp and disrepair"
    assert all(f.score >= found[0].score - 0.1 for f in found)
    assert meaning.understand("   ", 0.0, 1.0) == ()


# --- the descriptions ---------------------------------------------------------------------------


def test_every_description_names_known_domains_and_z_codes() -> None:
    rows = meaning.descriptions()
    assert len(rows) >= 200
    needs = {need.label for need, _d in rows}
    assert len(needs) >= 40
    for need, _description in rows:
        assert need.domains and need.terms
        assert all(re.fullmatch(r"Z\d\d(\.\d)?", c) for c in need.codes)


def _normal(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("'", "").replace("’", ""))


def _query_sets() -> list[Path]:
    bench = ROOT / "bench"
    shared = ROOT.parent / "shared" / "data"
    return [
        *sorted(bench.glob("*queries*.tsv")),
        *sorted((bench / "data").glob("*.tsv")),
        *(sorted(shared.glob("queries*.tsv")) if shared.is_dir() else []),
    ]


# Five-word runs of need_meanings.csv (last changed 18:57, 2026-12-07) that occur by chance in a
# blind set written later by someone who had read neither the descriptions nor the code
# (blind4, 2e1d141, ~21:20 that day): kept as SHA-256 of the run, excused in that set only.
BEFORE_BLIND4 = {"c4c5cba8cfe9520873d250f6f1ac8c9e76728ce7849cb8798653ae62f697587c"}


def test_no_description_copies_a_query() -> None:
    """The descriptions are written from what each need is, never from a query: no run of
    five words (three of them not stopwords) of any query set (tuning, dev or blind) is in
    a description. A blind set's words are never printed, only which set."""
    stop = stopwords()
    runs: dict[tuple[str, ...], str] = {}
    for path in _query_sets():
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [line for line in lines if line and not line.startswith("#")][1:]
        for row in rows:
            w = _normal(row.split("\t")[0])
            for i in range(len(w) - 4):
                runs.setdefault(tuple(w[i : i + 5]), path.name)
    text = (ROOT / "directory" / meaning.DESCRIPTIONS).read_text(encoding="utf-8")
    copied: list[str] = []
    for row in csv.DictReader(text.splitlines()):
        w = _normal(row["description"])
        for i in range(len(w) - 4):
            name = runs.get(tuple(w[i : i + 5]))
            if name and sum(word not in stop for word in w[i : i + 5]) >= 3:
                run = " ".join(w[i : i + 5])
                if name.startswith("search-blind4") and _sha256(run) in BEFORE_BLIND4:
                    continue
                blind = name.startswith(("search-heldout", "search-blind"))
                copied.append(name if blind else f"{name}: {run}")
    assert copied == []


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
