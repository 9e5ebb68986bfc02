"""Near text read while it is being typed, and distances in miles (directory/near.py)."""

from __future__ import annotations

from datetime import date

import pytest

from directory.near import (
    NearText,
    format_miles,
    haversine_km,
    read_near,
    resolve_near,
    search_near,
    towns,
)
from directory.search import IndexDoc, ServiceIndex

# Two towns 0.1 degree of latitude apart (about 6.9 miles), on the same meridian.
MARL = (52.70, -1.50)
HOLL = (52.80, -1.50)


def doc(n: int, name: str, town: str, postcode: str, lat: float, lon: float) -> IndexDoc:
    return IndexDoc(
        service_id=n,
        source_id=f"svc-{n}",
        name=name,
        description="emergency food parcels and a food bank",
        domains=["food"],
        last_verified=date(2026, 10, 1),
        locations=[(town, postcode, lat, lon)],
    )


@pytest.fixture(scope="module")
def index() -> ServiceIndex:
    return ServiceIndex(
        [
            doc(1, "Marlbridge Food Bank", "Marlbridge", "ZZ1 2AB", *MARL),
            doc(2, "Hollinsford Food Bank", "Hollinsford", "ZZ2 3CD", *HOLL),
            IndexDoc(
                service_id=3,
                source_id="svc-3",
                name="Food bank helpline",
                description="food bank by phone",
                last_verified=date(2026, 10, 1),
            ),
        ]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", NearText("empty")),
        ("   ", NearText("empty")),
        ("LS", NearText("town", "LS")),
        ("ls6", NearText("outward", "LS6")),
        ("LS6 ", NearText("outward", "LS6")),
        ("LS6 1", NearText("partial", "LS6")),
        ("LS6 1A", NearText("partial", "LS6")),
        ("ls61a", NearText("partial", "LS6")),
        ("LS6 1AA", NearText("postcode", "LS6 1AA")),
        ("ls61aa", NearText("postcode", "LS6 1AA")),
        ("Wrenfield Moor", NearText("town", "Wrenfield Moor")),
        ("12 High St", NearText("other", "12 High St")),
        ("LS6 1AAA", NearText("other", "LS6 1AAA")),
    ],
)
def test_read_near_never_calls_a_half_typed_postcode_bad(text: str, expected: NearText) -> None:
    assert read_near(text) == expected


def test_distance_one_tenth_degree_of_latitude() -> None:
    # 0.1 degree of latitude on a 6371 km sphere is 11.119 km = 6.909 miles.
    assert haversine_km(*MARL, *HOLL) == pytest.approx(11.119, abs=0.001)
    assert format_miles(6.909) == "6.9 mi"
    assert format_miles(0.84) == "0.8 mi"
    assert format_miles(None) == "-"


def test_full_postcode_gives_distances_in_miles_nearest_known(index: ServiceIndex) -> None:
    result = search_near(index, "food bank", "zz1 2ab")
    assert result.place == "ZZ1 2AB"
    assert result.hint == "" and not result.unknown
    miles = {m.name: mi for m, mi in zip(result.matches, result.miles, strict=True)}
    assert miles["Marlbridge Food Bank"] == pytest.approx(0.0, abs=1e-9)
    assert miles["Hollinsford Food Bank"] == pytest.approx(6.909, abs=0.001)
    assert miles["Food bank helpline"] is None  # no location: no distance invented


def test_outward_code_and_town_prefix_are_places(index: ServiceIndex) -> None:
    assert search_near(index, "food", "ZZ2").place == "ZZ2"
    result = search_near(index, "food", "holl")  # the only town starting "holl"
    assert result.place == "Hollinsford"
    first = result.matches[0]
    assert first.name == "Hollinsford Food Bank"  # nearest of equally good matches


def test_partial_postcode_is_quiet_and_uses_its_area_meanwhile(index: ServiceIndex) -> None:
    place, hint, unknown = resolve_near(index, "ZZ1 2")
    assert place is not None and place.label == "ZZ1"
    assert "until the postcode is complete" in hint
    assert not unknown
    assert "bad" not in hint.lower()


def test_letters_not_yet_a_town_get_a_hint_not_an_error(index: ServiceIndex) -> None:
    result = search_near(index, "food bank", "LS")
    assert result.place is None
    assert len(result.matches) == 3  # searched at any distance
    assert result.miles == []
    assert "Keep typing" in result.hint
    assert "Hollinsford, Marlbridge" in result.hint
    assert not result.unknown


def test_complete_unknown_postcode_is_said_clearly(index: ServiceIndex) -> None:
    result = search_near(index, "food bank", "LS6 1AA")
    assert result.unknown
    assert result.place is None
    assert "LS6 1AA is not near any service in the directory" in result.hint
    assert len(result.matches) == 3


def test_unknown_outward_code_is_not_alarming(index: ServiceIndex) -> None:
    place, hint, unknown = resolve_near(index, "LS6")
    assert place is None and not unknown
    assert "No service in postcode area LS6" in hint


def test_other_text_explains_what_to_type(index: ServiceIndex) -> None:
    _, hint, unknown = resolve_near(index, "12 High St")
    assert "not a postcode or a town" in hint and not unknown


def test_towns_listed_from_locations(index: ServiceIndex) -> None:
    assert towns(index) == ["Hollinsford", "Marlbridge"]
