"""Issue 18, point 6: results a link worker can trust. Weak matches do not trail strong
ones (a relevance floor), the Match column means the same with a near filter, and the
same service at several sites shows where each is."""

from __future__ import annotations

import gzip
import json
from datetime import date
from importlib import resources
from types import SimpleNamespace

import pytest

from directory.search import ServiceIndex
from linkwork.sample import SAMPLE_FILE
from tui.screens.services import service_cell

TODAY = date(2026, 11, 1)


@pytest.fixture(scope="module")
def sample(sample_index: ServiceIndex) -> tuple[ServiceIndex, dict[str, set[str]]]:
    """conftest's index of the sample, with each service's categories to judge results."""
    data = resources.files("linkwork").joinpath("data", SAMPLE_FILE).read_bytes()
    truth = {s["id"]: set(s["x_category"]) for s in json.loads(gzip.decompress(data))["content"]}
    return sample_index, truth


def test_a_weak_match_does_not_trail_the_strong_ones_near_a_place(sample) -> None:  # type: ignore[no-untyped-def]
    index, truth = sample
    found = index.search("food bank", near="ZZ1 1AA", limit=50, today=TODAY)
    assert len(found) >= 5
    # every service shown is a food bank or pantry: no baby bank because it is close
    assert all("food_bank" in truth[m.id] for m in found), [m.name for m in found]


def test_the_match_means_the_same_with_a_near_filter(sample) -> None:  # type: ignore[no-untyped-def]
    index, _truth = sample
    anywhere = {m.id: m.score for m in index.search("debt advice", limit=50, today=TODAY)}
    near = index.search("debt advice", near="ZZ3", limit=50, today=TODAY)
    assert near and all(m.distance_km is not None for m in near)
    assert {m.id: m.score for m in near} == {i: anywhere[i] for i in (m.id for m in near)}
    assert max(m.score for m in near) > 5  # a relevance, not a 0-1 blend with distance


def test_the_same_service_at_several_sites_says_where() -> None:
    a = SimpleNamespace(name="Advice Centre", postcode="ZZ3 6YF", town="Kestonbury")
    b = SimpleNamespace(name="Advice Centre", postcode="", town="Hollinsford")
    c = SimpleNamespace(name="Food Bank", postcode="ZZ1 1AA", town="Marlbridge")
    repeated = {"Advice Centre"}
    assert service_cell(a, repeated) == "Advice Centre (ZZ3 6YF)"
    assert service_cell(b, repeated) == "Advice Centre (Hollinsford)"
    assert service_cell(c, repeated) == "Food Bank"
