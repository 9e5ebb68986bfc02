"""Issue 18: variety in the first results, and a short query's everyday words.

In a large directory one kind of service is offered at many places: the first five hold
at most three of one kind while a service of another kind matches well, so the second
thing a person said is not buried under copies of the first. A query that only one kind
answers still lists that kind in full. A rare everyday word ("honestly") matches some
service's description literally with a high weight: in a query of a few words it counts
less, as in a longer account."""

from __future__ import annotations

from datetime import date

from directory.search import IndexDoc, ServiceIndex

TODAY = date(2026, 11, 1)
PLACES = ["Ashby", "Brindle", "Corley", "Dunmore", "Elston", "Fenwick", "Garth", "Holm"]


def energy(n: int, place: str, suffix: bool = False) -> IndexDoc:
    """One council's energy debt outreach at one of its places."""
    name = f"Energy Debt Outreach – {place}" if suffix else f"{place} Energy Debt Outreach"
    return IndexDoc(
        service_id=n,
        source_id=f"energy-{n}",
        name=name,
        description="Help with electricity and gas debt, prepayment meters and keeping warm.",
        domains=["fuel"],
        last_verified=date(2026, 10, 1),
        locations=[(place, "", None, None)],
    )


def counselling(n: int, place: str, about: str = "debt, including energy debt") -> IndexDoc:
    return IndexDoc(
        service_id=n,
        source_id=f"counselling-{n}",
        name=f"{place} Money Counselling",
        description=f"Free confidential counselling about {about}.",
        domains=["money"],
        last_verified=date(2026, 10, 1),
        locations=[(place, "", None, None)],
    )


def background(n: int) -> IndexDoc:
    """A service of another need, so that the words above are not everyone's."""
    topic = ["Reading Group", "Allotment Society", "Chess Club", "Choir", "Repair Café"][n % 5]
    return IndexDoc(
        service_id=n,
        source_id=f"other-{n}",
        name=f"{PLACES[n % len(PLACES)]} {topic}",
        description=f"A friendly {topic.lower()} that meets weekly in the village hall.",
        domains=["isolation"],
        last_verified=date(2026, 10, 1),
    )


def kinds(found: list) -> list[str]:  # type: ignore[type-arg]
    return ["energy" if m.id.startswith("energy") else "counselling" for m in found]


def directory(
    energy_services: int, others: int = 300, about: str = "debt, including energy debt"
) -> ServiceIndex:
    docs = [
        energy(i, PLACES[i % len(PLACES)] + ("" if i < len(PLACES) else f" {i}"), suffix=i % 2 == 1)
        for i in range(energy_services)
    ]
    docs += [counselling(1000, "Ashby", about), counselling(1001, "Brindle", about)]
    docs += [background(2000 + i) for i in range(others)]
    return ServiceIndex(docs)


def test_one_kind_at_many_places_leaves_room_for_another_kind_that_matches() -> None:
    index = directory(8)
    found = index.search("electricity debt", limit=10, today=TODAY)
    shown = kinds(found)
    # the best kind keeps the first places, named with the place before or after it
    assert shown[:3] == ["energy"] * 3, [m.name for m in found]
    assert shown[:5].count("energy") == 3
    assert shown[:5].count("counselling") == 2
    # the rest of the energy services follow: nothing is lost, only moved down
    assert shown.count("energy") == 8
    moved = [m for m in found[:5] if m.id.startswith("counselling")]
    assert all(any(w.startswith("shown for variety") for w in m.why) for m in moved)


def test_a_query_for_one_kind_lists_that_kind_in_full() -> None:
    index = directory(8)
    found = index.search("prepayment meters", limit=10, today=TODAY)
    assert kinds(found)[:8] == ["energy"] * 8, [m.name for m in found]
    assert not any(w.startswith("shown for variety") for m in found for w in m.why)


def test_another_kind_is_found_behind_more_copies_than_the_short_list_holds() -> None:
    # more services of one kind than the short list that is reranked (60)
    index = directory(90, others=3000, about="debt")
    found = index.search("electricity debt", limit=5, today=TODAY)
    shown = kinds(found)
    assert shown[:3] == ["energy"] * 3
    assert "counselling" in shown, [m.name for m in found]


def test_everyday_words_of_a_short_query_do_not_outrank_its_need() -> None:
    docs = [
        IndexDoc(
            service_id=i,
            source_id=f"food-{i}",
            name=f"{PLACES[i % len(PLACES)]} Community Larder",
            description="Food parcels and low-cost groceries for local families.",
            domains=["food"],
            last_verified=date(2026, 10, 1),
        )
        for i in range(12)
    ]
    # in a directory of thousands, two say in passing the everyday words the person used
    others = [background(2000 + i) for i in range(3000)]
    others[0].description += " Honestly, it recently reopened."
    others[1].description += " Recently reopened, honestly."
    found = ServiceIndex(docs + others).search("honestly hungry recently", limit=5, today=TODAY)
    assert [m.id.split("-")[0] for m in found] == ["food"] * 5, [m.name for m in found]


def test_a_short_query_of_two_needs_shows_a_service_of_each() -> None:
    # seven differently named services of one need match both words; the other need's
    # service matches one of them, a little less well
    names = ["Gambling Support", "Betting Harm Clinic", "Gamblers' Group", "Bet Recovery Service"]
    names += ["Gambling Helpline", "Gambling Therapy", "Safer Gambling Hub"]
    docs = [
        IndexDoc(
            service_id=i,
            source_id=f"gambling-{i}",
            name=f"{PLACES[i]} {name}",
            description="Help to stop gambling and recover from gambling harm, debt included.",
            domains=["health_behaviours"],
            last_verified=date(2026, 10, 1),
        )
        for i, name in enumerate(names)
    ]
    docs += [
        IndexDoc(
            service_id=100 + i,
            source_id=f"money-{i}",
            name=f"{place} Money Advice",
            description="Free advice on budgeting, benefits and debt.",
            domains=["money"],
            last_verified=date(2026, 10, 1),
        )
        for i, place in enumerate(PLACES[:3])
    ]
    docs += [background(2000 + i) for i in range(300)]
    found = ServiceIndex(docs).search("gambling debt", limit=8, today=TODAY)
    first = [m.id.split("-")[0] for m in found[:5]]
    assert first[:2] == ["gambling", "gambling"]
    assert "money" in first, [m.name for m in found]
    money = next(m for m in found if m.id.startswith("money"))
    assert any("read as: money" in w for w in money.why), money.why
