"""Directory search: quality on the dev and held-out queries, filters, why, CLI, threads."""

from __future__ import annotations

import csv
import gzip
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from importlib import resources
from pathlib import Path

import pytest

from directory.search import ServiceIndex
from linkwork.sample import SAMPLE_FILE

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 11, 1)  # the sample's reference day


@pytest.fixture(scope="module")
def truth() -> dict[str, set[str]]:
    """Ground truth categories, read only here (the importer and search never see them).
    From the bundled copy of the sample (test_bundled_sample_is_the_shared_sample checks it
    is the shared file), so these tests also run in a clone without ../shared."""
    data = resources.files("linkwork").joinpath("data", SAMPLE_FILE).read_bytes()
    services = json.loads(gzip.decompress(data))["content"]
    return {s["id"]: set(s["x_category"]) for s in services}


def _quality(
    index: ServiceIndex, truth: dict[str, set[str]], path: Path
) -> tuple[float, float, float]:
    rows = list(csv.DictReader(path.open(encoding="utf-8"), delimiter="\t"))
    s1 = s5 = rr = 0.0
    for row in rows:
        relevant = set(row["relevant_categories"].split(";"))
        results = index.search(row["query"], include_stale=True, limit=10, today=TODAY)
        rank = next((k for k, m in enumerate(results, 1) if truth[m.id] & relevant), None)
        s1 += rank == 1
        s5 += bool(rank and rank <= 5)
        rr += 1 / rank if rank else 0
    n = len(rows)
    return s1 / n, s5 / n, rr / n


def test_quality_dev_queries(sample_index: ServiceIndex, truth, shared_data: Path) -> None:
    s1, s5, mrr = _quality(sample_index, truth, shared_data / "queries-dev.tsv")
    assert s5 >= 0.90 and mrr >= 0.80, (s1, s5, mrr)


def test_quality_heldout_queries(sample_index: ServiceIndex, truth) -> None:
    s1, s5, mrr = _quality(sample_index, truth, ROOT / "bench" / "queries-heldout.tsv")
    assert s5 >= 0.90 and mrr >= 0.80, (s1, s5, mrr)


def test_typo_and_why(sample_index: ServiceIndex, truth) -> None:
    results = sample_index.search("fodbank", include_stale=True, today=TODAY, limit=3)
    assert "food_bank" in truth[results[0].id]
    assert any("'fodbank' as 'foodbank'" in w for w in results[0].why)
    lay = sample_index.search("bailiffs keep knocking", include_stale=True, today=TODAY, limit=1)
    assert "debt_advice" in truth[lay[0].id]
    assert any("bailiffs" in w for w in lay[0].why)


def test_name_search(sample_index: ServiceIndex) -> None:
    doc = next(d for d in sample_index.docs if "Food Bank" in d.name)
    results = sample_index.search(doc.name, include_stale=True, today=TODAY, limit=3)
    assert doc.name in [r.name for r in results]


def test_stale_shown_by_default_flagged_and_left_out_when_current_only(
    sample_index: ServiceIndex,
) -> None:
    everything = sample_index.search("", needs=["housing"], limit=400, today=TODAY)
    current = sample_index.search("", needs=["housing"], current_only=True, limit=400, today=TODAY)
    assert current and not any(r.stale for r in current)
    stale = [r for r in everything if r.stale]
    assert stale and len(everything) == len(current) + len(stale)
    cutoff = date(2025, 11, 1)
    assert all(r.last_verified and r.last_verified < cutoff for r in stale)
    assert all(r.last_verified is None or r.last_verified >= cutoff for r in current)
    for r in stale:  # flagged with the date it was last verified
        assert f"not verified since {r.last_verified.isoformat()}" in "; ".join(r.why)
    # the old spelling still works: include_stale=False is current_only
    old = sample_index.search("", needs=["housing"], include_stale=False, limit=400, today=TODAY)
    assert [r.id for r in old] == [r.id for r in current]


def test_need_filter(sample_index: ServiceIndex) -> None:
    results = sample_index.search("", needs=["Z59.4"], include_stale=True, limit=50, today=TODAY)
    assert results and all("food" in r.domains for r in results)
    assert all(any("Z59.4" in w for w in r.why) for r in results)
    with pytest.raises(LookupError, match=r"unknown code 'Z99\.9'"):
        sample_index.search("", needs=["Z99.9"])


def test_empty_text_needs_need(sample_index: ServiceIndex) -> None:
    with pytest.raises(ValueError, match="type some words to search for"):
        sample_index.search("   ")


def test_free_age_language_filters(sample_index: ServiceIndex) -> None:
    by_id = {d.source_id: d for d in sample_index.docs}
    free = sample_index.search("support", free=True, include_stale=True, limit=400, today=TODAY)
    assert free and all(by_id[r.id].is_free for r in free)
    everyone = sample_index.search("support", include_stale=True, limit=400, today=TODAY)
    assert len(everyone) > len(free)
    old = sample_index.search("youth mentoring", age=70, include_stale=True, limit=50, today=TODAY)
    assert all((by_id[r.id].max_age or 200) >= 70 for r in old)
    young = sample_index.search(
        "youth mentoring", age=15, include_stale=True, limit=50, today=TODAY
    )
    assert any(by_id[r.id].max_age == 25 for r in young)
    assert all((by_id[r.id].min_age or 0) <= 15 for r in young)
    polish = sample_index.search(
        "advice", language="polish", include_stale=True, limit=50, today=TODAY
    )
    assert polish and all("Polish" in by_id[r.id].languages for r in polish)
    bsl = sample_index.search("advice", language="BSL", include_stale=True, limit=50, today=TODAY)
    assert bsl and all("British Sign Language" in by_id[r.id].languages for r in bsl)


def test_open_now(sample_index: ServiceIndex) -> None:
    by_id = {d.source_id: d for d in sample_index.docs}
    monday_ten = datetime(2026, 11, 2, 10, 30)
    results = sample_index.search(
        "advice", open_now=True, now=monday_ten, include_stale=True, limit=50
    )
    assert results
    for r in results:
        hours = by_id[r.id].opening_hours
        assert any(h["day"] == 1 and h["opens"] <= "10:30" < h["closes"] for h in hours)
    at_night = sample_index.search(
        "advice", open_now=True, now=datetime(2026, 11, 2, 3, 0), include_stale=True
    )
    assert at_night == []


def test_near_ranks_close_services_first(sample_index: ServiceIndex) -> None:
    results = sample_index.search("food bank", near="ZZ3", include_stale=True, limit=5, today=TODAY)
    assert results[0].town == "Kestonbury"
    assert results[0].distance_km is not None and results[0].distance_km < 10
    by_town = sample_index.search(
        "food bank", near="kestonbury", include_stale=True, limit=5, today=TODAY
    )
    assert by_town[0].town == "Kestonbury"
    postcode = sample_index.docs[0].locations[0][1]
    exact = sample_index.search(
        "housing", near=postcode.lower(), include_stale=True, limit=50, today=TODAY
    )
    assert any(r.distance_km == 0.0 for r in exact)
    with pytest.raises(ValueError, match="bad postcode"):
        sample_index.search("food", near="ZZ1 2ABC")
    with pytest.raises(LookupError, match="no town or postcode 'Atlantis' in the directory"):
        sample_index.search("food", near="Atlantis")


def test_threads_get_the_same_answers(sample_index: ServiceIndex) -> None:
    queries = ["sofa surfing", "dept advise", "lonely", "english classes", "carers brake"] * 8
    serial = [
        [r.id for r in sample_index.search(q, include_stale=True, today=TODAY)] for q in queries
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(
            pool.map(
                lambda q: [r.id for r in sample_index.search(q, include_stale=True, today=TODAY)],
                queries,
            )
        )
    assert parallel == serial


def test_cli_search(cli, db_url: str) -> None:
    cli("directory", "load-sample", db=db_url)
    result = cli(
        "directory",
        "search",
        "help with debts",
        "--include-stale",
        "--limit",
        "3",
        "--json",
        db=db_url,
    )
    assert result.code == 0, result.err
    data = result.json()
    assert len(data) == 3
    for item in data:
        assert {"id", "name", "organisation", "score", "why", "stale"} <= set(item)
        assert item["why"]
    assert cli("directory", "search", "", db=db_url).code == 2
    nothing = cli("directory", "search", "zzzzqqqq xxyyzz", db=db_url)
    assert nothing.code == 1 and nothing.err.startswith("linkwork: ")
    bad = cli("directory", "search", "food", "--near", "ZZ99 99ZZ", db=db_url)
    assert bad.code == 2 and bad.err.count("\n") == 1 and "bad postcode" in bad.err
    need = cli("directory", "search", "--need", "Z59.0", "--json", db=db_url)
    assert need.code == 0 and all("housing" in r["domains"] for r in need.json())
    wide = ("--need", "housing", "--limit", "60")
    text = cli("directory", "search", *wide, db=db_url)
    assert text.code == 0 and "not verified" in text.out and "--current-only" in text.out
    shown = cli("directory", "search", *wide, "--json", db=db_url).json()
    assert any(r["stale"] for r in shown)  # stale services answer by default, flagged
    for r in shown:
        assert r["stale"] is any(f"not verified since {r['last_verified']}" in w for w in r["why"])
    current = cli("directory", "search", *wide, "--current-only", "--json", db=db_url)
    assert current.code == 0 and not any(r["stale"] for r in current.json())


def test_half_typed_last_word(sample_index: ServiceIndex, truth) -> None:
    """Search as you type: the last word may be unfinished ("bere" on the way to bereavement)."""
    results = sample_index.search("bere", include_stale=True, limit=3, today=TODAY)
    assert results and all("bereavement" in truth[r.id] for r in results)
    assert any("bereavement" in w for w in results[0].why)


def test_index_weights_follow_the_formula() -> None:
    """The vectorised index build gives each (token, service) the sum of its field weights
    plus the BM25-saturated description weight, counts a repeated domain once, and lists
    services in ascending order: worked out here by hand for two tiny services."""
    from directory.search import IndexDoc

    docs = [
        IndexDoc(
            service_id=10,
            source_id="a",
            name="Food bank",
            description="Food parcels and food vouchers.",
            domains=["food", "food"],
            z_codes=["Z59.4"],
        ),
        IndexDoc(service_id=11, source_id="b", name="Debt advice", description="Debt help."),
    ]
    index = ServiceIndex(docs)
    # description tokens (stopword "and" dropped): food, parcel, food, voucher | debt, help
    lengths = [4, 2]
    avg = sum(lengths) / 2
    k1, b = 1.2, 0.75

    def bm25(tf: int, length: int) -> float:
        return tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg))

    postings = index._postings
    docs_food, w_food = postings["food"]
    assert docs_food.tolist() == [0]
    assert w_food[0] == pytest.approx(3.0 + bm25(2, 4), rel=1e-6)  # name 3.0 + description
    docs_debt, w_debt = postings["debt"]
    assert docs_debt.tolist() == [1]
    assert w_debt[0] == pytest.approx(3.0 + bm25(1, 2), rel=1e-6)
    assert postings["foodbank"][1][0] == pytest.approx(1.5)  # adjacent pair, half weight
    assert postings["@food"][0].tolist() == [0]
    assert postings["@food"][1][0] == pytest.approx(1.0)  # listed twice, counted once
    assert postings["#z59.4"][0].tolist() == [0]
    assert "and" not in postings
    assert [m.id for m in index.search("food bank", limit=5)] == ["a"]
