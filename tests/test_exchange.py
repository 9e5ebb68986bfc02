"""The closed loop between two linkwork databases (a practice and a hub), through the CLI:
refer -> export -> receive at the hub -> accept -> complete with outcome -> update back ->
the practice shows completed with the outcome. Replays and late updates change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from test_exchange_support import (
    NHS,
    PRACTICE_ODS,
    Keys,
    counts,
    make_referral,
    second_db,
    session_for,
)


@pytest.fixture
def hub_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    yield from second_db(request, db_url, tmp_path)


@pytest.fixture
def keys(cli, tmp_path: Path, db_url: str, hub_url: str) -> Keys:  # type: ignore[no-untyped-def]
    """Practice and hub key pairs; each side trusts the other's public key."""
    folder = tmp_path / "keys"
    for name in ("practice", "hub"):
        result = cli("keys", "new", name, "--out", folder, "--json")
        assert result.code == 0, result.err
    assert cli("keys", "trust", folder / "hub.public.jwk", "--name", "hub", db=db_url).code == 0
    assert (
        cli("keys", "trust", folder / "practice.public.jwk", "--name", "practice", db=hub_url).code
        == 0
    )
    return Keys(folder)


def _status(cli, url: str, referral_id: str, status: str, reason: str = ""):  # type: ignore[no-untyped-def]
    from screening.referrals import get_referral, set_status

    with session_for(url) as session:
        set_status(
            session, get_referral(session, referral_id), status, actor="hub.worker", reason=reason
        )
        session.commit()


def test_refer_export_receive_update_closes_the_loop(cli, db_url, hub_url, keys, tmp_path):  # type: ignore[no-untyped-def]
    made = make_referral(db_url)
    out = tmp_path / "out" / "referral.jwe"
    out.parent.mkdir()

    sent = cli(
        "referral",
        "export",
        made.referral_id,
        "--to",
        "hub",
        "--key",
        keys.private("practice"),
        "--out",
        out,
        "--json",
        db=db_url,
    )
    assert sent.code == 0, sent.err
    assert sent.json()["to"] == "hub"
    token = out.read_bytes()
    assert token.count(b".") == 4  # a compact JWE
    assert b"Testperson" not in token and NHS.encode() not in token
    assert list(out.parent.iterdir()) == [out]  # no plain Bundle, no temp file left
    assert out.stat().st_mode & 0o077 == 0

    before = counts(hub_url)
    got = cli("referral", "receive", out, "--key", keys.private("hub"), "--json", db=hub_url)
    assert got.code == 0, got.err
    assert got.json()["status"] == "created"
    after = counts(hub_url)
    assert after["Person"] == before["Person"] + 1
    assert after["Need"] == before["Need"] + 2
    assert after["Referral"] == before["Referral"] + 1
    assert after["Consent"] == before["Consent"] + 1

    from screening.models import Need, Person, Referral

    with session_for(hub_url) as session:
        referral = session.get(Referral, made.referral_id)
        assert referral is not None
        assert referral.direction == "incoming"
        assert referral.status == "requested"
        assert referral.business_status == "received, awaiting triage"
        assert referral.origin == PRACTICE_ODS
        assert referral.service_id is None  # the hub has no such directory entry
        assert referral.hub == "Riverside Money Advice"
        person = session.get(Person, made.person_id)
        assert person is not None
        assert (person.nhs_number, person.given_name, person.birth_date) == (
            NHS,
            "Ada",
            date(1984, 3, 2),
        )
        assert person.postcode == "ZZ99 3AB"  # consent shares contact
        assert person.ethnic_category == "99"  # ... but not equality data
        assert person.religion == "not-asked"
        codes = sorted(n.code for n in (session.get(Need, i) for i in made.need_ids) if n)
        assert codes == ["Z59.0", "Z59.4"]

    # The same file again, and the same referral re-exported: nothing new.
    again = cli("referral", "receive", out, "--key", keys.private("hub"), "--json", db=hub_url)
    assert again.code == 0 and again.json()["status"] == "duplicate"
    out2 = tmp_path / "out" / "referral-again.jwe"
    cli(
        "referral",
        "export",
        made.referral_id,
        "--to",
        "hub",
        "--key",
        keys.private("practice"),
        "--out",
        out2,
        db=db_url,
    )
    resent = cli("referral", "receive", out2, "--key", keys.private("hub"), "--json", db=hub_url)
    assert resent.code == 0 and resent.json()["status"] == "unchanged"
    settled = counts(hub_url)
    for table in ("Person", "Need", "Referral", "Consent"):
        assert settled[table] == after[table]

    # The hub accepts, works, completes with an outcome.
    _status(cli, hub_url, made.referral_id, "accepted")
    _status(cli, hub_url, made.referral_id, "in-progress")
    from screening.referrals import complete_referral, get_referral

    with session_for(hub_url) as session:
        complete_referral(
            session,
            get_referral(session, made.referral_id),
            actor="hub.worker",
            resolved={made.need_ids[1]: True, made.need_ids[0]: False},
            ons4={"satisfied": 7, "worthwhile": 8, "happy": 6, "anxious": 3},
            note="Food bank vouchers and a housing options appointment",
        )
        session.commit()
    back = tmp_path / "out" / "update.jwe"
    update = cli(
        "referral",
        "update-export",
        made.referral_id,
        "--key",
        keys.private("hub"),
        "--out",
        back,
        "--json",
        db=hub_url,
    )
    assert update.code == 0, update.err
    assert update.json()["to"] == "practice"  # the sender, by default

    # Before: the practice's referral is open and has a follow-up coming.
    from screening.referrals import followups

    with session_for(db_url) as session:
        due = followups(session, today=date.today() + timedelta(days=30))
        assert made.referral_id in [f.referral.id for f in due]

    home = cli("referral", "receive", back, "--key", keys.private("practice"), "--json", db=db_url)
    assert home.code == 0, home.err
    assert home.json()["status"] == "updated"
    assert home.json()["to_status"] == "completed"

    from screening.referrals import get_outcome, referral_events

    with session_for(db_url) as session:
        referral = get_referral(session, made.referral_id)
        assert referral.status == "completed"
        assert referral.direction == "outgoing"
        outcome = get_outcome(session, referral)
        assert outcome is not None
        assert outcome.note == "Food bank vouchers and a housing options appointment"
        assert (outcome.ons4_satisfied, outcome.ons4_worthwhile) == (7, 8)
        assert (outcome.ons4_happy, outcome.ons4_anxious) == (6, 3)
        food = session.get(Need, made.need_ids[1])
        housing = session.get(Need, made.need_ids[0])
        assert food is not None and food.status == "resolved"
        assert housing is not None and housing.status == "active"
        sources = {e.source for e in referral_events(session, referral)}
        assert "remote:hub" in sources
        due = followups(session, today=date.today() + timedelta(days=30))
        assert made.referral_id not in [f.referral.id for f in due]

    # Audit: export and import on both sides, and the chains still verify.
    from screening.audit import list_events, verify_chain

    for url, wanted in ((db_url, {"export", "import"}), (hub_url, {"export", "import"})):
        with session_for(url) as session:
            actions = {e.action for e in list_events(session, entity="referral", limit=200)}
            assert wanted <= actions
            assert verify_chain(session).ok


def test_a_need_recorded_by_its_domain_alone_travels(cli, db_url, hub_url, keys, tmp_path):  # type: ignore[no-untyped-def]
    made = make_referral(db_url, hub="Northside Hub", codes=("digital", "Z59.4"))
    out, plain = tmp_path / "r.jwe", tmp_path / "r.json"
    sent = cli(
        "referral", "export", made.referral_id, "--to", "hub", "--key", keys.private("practice"),
        "--out", out, "--plain-out", plain, db=db_url,
    )  # fmt: skip
    assert sent.code == 0, sent.err
    codings = [
        e["resource"]["code"]["coding"][0]
        for e in json.loads(plain.read_text())["entry"]
        if e["resource"]["resourceType"] == "Condition"
    ]
    assert {(c["system"].rsplit("/", 1)[-1], c["code"]) for c in codings} == {
        ("need-domain", "digital"),
        ("icd-10", "Z59.4"),
    }
    got = cli("referral", "receive", out, "--key", keys.private("hub"), "--json", db=hub_url)
    assert got.code == 0, got.err
    from screening.models import Need

    with session_for(hub_url) as session:
        needs = sorted(
            (n.code, n.domain) for n in (session.get(Need, i) for i in made.need_ids) if n
        )
    assert needs == [("Z59.4", "food"), ("digital", "digital")]


def test_replayed_and_out_of_order_updates_never_move_backwards(
    cli, db_url, hub_url, keys, tmp_path
):  # type: ignore[no-untyped-def]
    made = make_referral(db_url, hub="Northside Wellbeing Hub")
    ref = tmp_path / "r.jwe"
    cli(
        "referral",
        "export",
        made.referral_id,
        "--to",
        "hub",
        "--key",
        keys.private("practice"),
        "--out",
        ref,
        db=db_url,
    )
    assert cli("referral", "receive", ref, "--key", keys.private("hub"), db=hub_url).code == 0

    files = {}
    for status in ("accepted", "in-progress", "completed"):
        _status(cli, hub_url, made.referral_id, status)
        files[status] = tmp_path / f"{status}.jwe"
        result = cli(
            "referral",
            "update-export",
            made.referral_id,
            "--to",
            "practice",
            "--key",
            keys.private("hub"),
            "--out",
            files[status],
            db=hub_url,
        )
        assert result.code == 0, result.err

    def receive(name: str) -> dict:
        result = cli(
            "referral",
            "receive",
            files[name],
            "--key",
            keys.private("practice"),
            "--json",
            db=db_url,
        )
        assert result.code == 0, result.err
        return result.json()

    def status() -> str:
        from screening.referrals import get_referral

        with session_for(db_url) as session:
            return get_referral(session, made.referral_id).status

    assert receive("in-progress")["status"] == "updated"
    assert status() == "in-progress"
    assert receive("accepted")["status"] == "ignored"  # late: older than what we have
    assert status() == "in-progress"
    assert receive("completed")["status"] == "updated"
    assert status() == "completed"
    assert receive("in-progress")["status"] == "duplicate"  # a replay of the same file
    assert receive("accepted")["status"] == "duplicate"
    assert status() == "completed"


def test_late_on_hold_and_a_slow_hub_clock_are_handled(cli, db_url, hub_url, keys, tmp_path):  # type: ignore[no-untyped-def]
    made = make_referral(db_url, hub="Northside Hub")
    ref = tmp_path / "r.jwe"
    cli(
        "referral", "export", made.referral_id, "--to", "hub",
        "--key", keys.private("practice"), "--out", ref, db=db_url,
    )  # fmt: skip
    assert cli("referral", "receive", ref, "--key", keys.private("hub"), db=hub_url).code == 0
    files = []
    for status, reason in (
        ("accepted", ""),
        ("in-progress", ""),
        ("on-hold", "person in hospital"),
        ("in-progress", ""),
    ):
        _status(cli, hub_url, made.referral_id, status, reason)
        files.append(tmp_path / f"u{len(files)}.jwe")
        assert (
            cli(
                "referral", "update-export", made.referral_id,
                "--key", keys.private("hub"), "--out", files[-1], db=hub_url,
            ).code
            == 0
        )  # fmt: skip
    # The practice's clock is ahead of the hub's: its own status time is in the "future".
    from screening.models import Referral, utcnow

    with session_for(db_url) as session:
        row = session.get(Referral, made.referral_id)
        assert row is not None
        row.status_at = utcnow() + timedelta(hours=2)
        session.add(row)
        session.commit()

    def receive(index: int) -> dict:
        result = cli(
            "referral", "receive", files[index], "--key", keys.private("practice"), "--json",
            db=db_url,
        )  # fmt: skip
        assert result.code == 0, result.err
        return result.json()

    assert receive(0)["status"] == "updated"  # accepted, despite the slow hub clock
    assert receive(3)["status"] == "updated"  # the latest: in-progress again after on-hold
    late = receive(2)  # the on-hold that came before it arrives last: in-progress ->
    assert late["status"] == "ignored"  # on-hold is allowed, but this one is older
    assert late["to_status"] == "in-progress"
    assert receive(1)["status"] == "ignored"
    from screening.referrals import get_referral

    with session_for(db_url) as session:
        assert get_referral(session, made.referral_id).status == "in-progress"


def test_update_from_a_partner_it_was_not_sent_to_is_refused(cli, db_url, hub_url, keys, tmp_path):  # type: ignore[no-untyped-def]
    made = make_referral(db_url, hub="Northside Wellbeing Hub")
    ref = tmp_path / "r.jwe"
    cli(
        "referral",
        "export",
        made.referral_id,
        "--to",
        "hub",
        "--key",
        keys.private("practice"),
        "--out",
        ref,
        db=db_url,
    )
    assert cli("referral", "receive", ref, "--key", keys.private("hub"), db=hub_url).code == 0
    _status(cli, hub_url, made.referral_id, "accepted")
    upd = tmp_path / "u.jwe"
    cli(
        "referral",
        "update-export",
        made.referral_id,
        "--key",
        keys.private("hub"),
        "--out",
        upd,
        db=hub_url,
    )
    # The practice trusts the hub's key, but under another partner's name only.
    from screening.exchange.keys import trusted_by_name
    from screening.exchange.models import TrustedKey

    with session_for(db_url) as session:
        row = trusted_by_name(session, "hub")[0]
        session.delete(row)
        session.flush()
        session.add(TrustedKey(**{**row.model_dump(), "name": "other hub"}))
        session.commit()
    before = counts(db_url)
    result = cli("referral", "receive", upd, "--key", keys.private("practice"), db=db_url)
    assert result.code == 2
    assert "wrong partner" in result.err and "was not sent to 'other hub'" in result.err
    assert counts(db_url) == before


def test_equality_data_travel_only_when_consent_shares_them(cli, db_url, hub_url, keys, tmp_path):  # type: ignore[no-untyped-def]
    made = make_referral(db_url, shares=("needs", "contact", "equality"), hub="Northside Hub")
    out = tmp_path / "r.jwe"
    plain = tmp_path / "plain.json"
    result = cli(
        "referral",
        "export",
        made.referral_id,
        "--to",
        "hub",
        "--key",
        keys.private("practice"),
        "--out",
        out,
        "--plain-out",
        plain,
        db=db_url,
    )
    assert result.code == 0, result.err
    bundle = json.loads(plain.read_text())
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    assert patient["gender"] == "female"
    ethnic = [
        x for x in patient["extension"] if x["url"].endswith("Extension-UKCore-EthnicCategory")
    ]
    assert ethnic[0]["valueCodeableConcept"]["coding"][0]["code"] == "N"
    assert cli("referral", "receive", out, "--key", keys.private("hub"), db=hub_url).code == 0
    from screening.models import Person

    with session_for(hub_url) as session:
        person = session.get(Person, made.person_id)
        assert person is not None
        assert (person.ethnic_category, person.sex, person.religion) == ("N", "female", "christian")

    other = make_referral(db_url, shares=("needs",), hub="Northside Hub", nhs=None, given="Bo")
    plain2 = tmp_path / "plain2.json"
    cli(
        "referral",
        "export",
        other.referral_id,
        "--to",
        "hub",
        "--key",
        keys.private("practice"),
        "--out",
        tmp_path / "r2.jwe",
        "--plain-out",
        plain2,
        db=db_url,
    )
    patient2 = next(
        e["resource"]
        for e in json.loads(plain2.read_text())["entry"]
        if e["resource"]["resourceType"] == "Patient"
    )
    assert "extension" not in patient2 and "gender" not in patient2
    assert "address" not in patient2 and "telecom" not in patient2  # contact not shared
    assert "identifier" not in patient2  # no NHS number recorded


def test_export_refused_without_or_after_withdrawn_consent(cli, db_url, hub_url, keys, tmp_path):  # type: ignore[no-untyped-def]
    made = make_referral(db_url, hub="Northside Hub")
    from screening.consent import get_consent, withdraw_consent

    with session_for(db_url) as session:
        withdraw_consent(session, get_consent(session, made.consent_id), actor="practice.worker")
        session.commit()
    before = counts(db_url)
    out = tmp_path / "never.jwe"
    result = cli(
        "referral",
        "export",
        made.referral_id,
        "--to",
        "hub",
        "--key",
        keys.private("practice"),
        "--out",
        out,
        db=db_url,
    )
    assert result.code == 2
    assert "withdrawn" in result.err and len(result.err.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.glob(".never*")) == []
    assert counts(db_url) == before


def test_a_failed_export_leaves_no_file_and_records_nothing(cli, db_url, hub_url, keys, tmp_path):  # type: ignore[no-untyped-def]
    made = make_referral(db_url, hub="Northside Hub")
    before = counts(db_url)
    out = tmp_path / "r.jwe"
    result = cli(
        "referral",
        "export",
        made.referral_id,
        "--to",
        "hub",
        "--key",
        keys.private("practice"),
        "--out",
        out,
        "--plain-out",
        tmp_path / "missing-folder" / "plain.json",
        db=db_url,
    )
    assert result.code == 2
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert counts(db_url) == before
    unknown = cli(
        "referral",
        "export",
        made.referral_id,
        "--to",
        "nobody",
        "--key",
        keys.private("practice"),
        db=db_url,
    )
    assert unknown.code == 2 and "no trusted partner called 'nobody'" in unknown.err


def test_exporting_several_referrals_is_all_or_none(cli, db_url, hub_url, keys, tmp_path):  # type: ignore[no-untyped-def]
    one = make_referral(db_url, hub="Northside Hub")
    two = make_referral(db_url, hub="Northside Hub", nhs=None, given="Bo", family="Example")
    three = make_referral(db_url, hub="Northside Hub", nhs=None, given="Cy", family="Example")
    from screening.consent import get_consent, withdraw_consent

    with session_for(db_url) as session:
        withdraw_consent(session, get_consent(session, three.consent_id), actor="practice.worker")
        session.commit()
    folder = tmp_path / "outbox"
    folder.mkdir()
    before = counts(db_url)
    refused = cli(
        "referral", "export", one.referral_id, two.referral_id, three.referral_id,
        "--to", "hub", "--key", keys.private("practice"), "--out-dir", folder, db=db_url,
    )  # fmt: skip
    assert refused.code == 2 and three.referral_id in refused.err
    assert list(folder.iterdir()) == [] and counts(db_url) == before

    done = cli(
        "referral", "export", one.referral_id, two.referral_id,
        "--to", "hub", "--key", keys.private("practice"), "--out-dir", folder, "--json", db=db_url,
    )  # fmt: skip
    assert done.code == 0, done.err
    files = sorted(folder.iterdir())
    assert len(files) == 2 and all(f.suffix == ".jwe" for f in files)
    assert {r["referral_id"] for r in done.json()} == {one.referral_id, two.referral_id}
    for f in files:
        got = cli("referral", "receive", f, "--key", keys.private("hub"), "--json", db=hub_url)
        assert got.code == 0 and got.json()["status"] == "created"


def test_practice_cancels_after_consent_is_withdrawn_and_the_hub_stops(
    cli, db_url, hub_url, keys, tmp_path
):  # type: ignore[no-untyped-def]
    made = make_referral(db_url, hub="Northside Hub")
    first = tmp_path / "r.jwe"
    cli(
        "referral", "export", made.referral_id, "--to", "hub",
        "--key", keys.private("practice"), "--out", first, db=db_url,
    )  # fmt: skip
    assert cli("referral", "receive", first, "--key", keys.private("hub"), db=hub_url).code == 0
    _status(cli, hub_url, made.referral_id, "accepted")

    from screening.consent import get_consent, withdraw_consent

    with session_for(db_url) as session:
        withdraw_consent(session, get_consent(session, made.consent_id), actor="practice.worker")
        session.commit()
    _status(cli, db_url, made.referral_id, "cancelled", reason="person withdrew consent")
    cancel, plain = tmp_path / "cancel.jwe", tmp_path / "cancel.json"
    sent = cli(
        "referral", "export", made.referral_id, "--to", "hub", "--key", keys.private("practice"),
        "--out", cancel, "--plain-out", plain, db=db_url,
    )  # fmt: skip
    assert sent.code == 0, sent.err
    kinds = sorted(e["resource"]["resourceType"] for e in json.loads(plain.read_text())["entry"])
    assert "Condition" not in kinds and "Consent" not in kinds  # nothing more is shared
    got = cli("referral", "receive", cancel, "--key", keys.private("hub"), "--json", db=hub_url)
    assert got.code == 0, got.err
    assert (got.json()["status"], got.json()["to_status"]) == ("updated", "cancelled")
    from screening.referrals import get_referral

    with session_for(hub_url) as session:
        referral = get_referral(session, made.referral_id)
        assert (referral.status, referral.status_reason) == ("cancelled", "person withdrew consent")
