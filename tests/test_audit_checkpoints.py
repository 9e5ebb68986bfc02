"""Signed checkpoints anchor the audit chain outside the database (issue 16, point 5), and
bulk views of people are audited without naming anyone.

- ``audit checkpoint`` appends one signed line (0600) to ``audit-checkpoints.jsonl`` in the
  data folder; ``audit verify`` names the first cut (rows gone after a checkpoint) or the
  stretch rewritten and rehashed between two checkpoints, and refuses a checkpoint file
  with an unsigned, ``alg none``, foreign-key, edited or oversized line.
- A checkpoint is taken after each report (and export and receipt: tests/test_exchange*),
  and when no key can sign it the report still works and says so once.
- ``person list`` / ``person find`` (and the app's search, the same action) write one
  ``view`` of ``people``: what was asked and how many were shown, never who.
"""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from linkwork import db as lwdb
from linkwork.settings import load_settings
from linkwork.workspace import Workspace
from screening.audit import compute_hash, record_event
from screening.audit_checkpoints import FILE_NAME, MAX_LINE_BYTES
from screening.models import AuditEvent

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _add_rows(db_url: str, first: int, count: int) -> None:
    engine = lwdb.open_engine(db_url)
    with Session(engine) as session:
        for i in range(first, first + count):
            record_event(
                session,
                "worker.a",
                "update",
                "person",
                f"id-{i}",
                {"n": i},
                person_id=f"p-{i % 3}",
                at=START + timedelta(minutes=i),
            )
        session.commit()
    engine.dispose()


def _checkpoint(cli, db_url: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    made = cli("audit", "checkpoint", "--json", db=db_url)
    assert made.code == 0, made.err
    return made.json()  # type: ignore[no-any-return]


def _rows(conn: sa.Connection) -> list[sa.RowMapping]:
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    return list(conn.execute(sa.select(table).order_by(table.c.seq)).mappings())


def _recompute_from(db_url: str, seq: int) -> None:
    """Row ``seq`` edited, then it and every later row rehashed and re-linked: a chain
    consistent in itself."""
    engine = lwdb.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_event SET actor = 'mallory' WHERE seq = :s"), {"s": seq})
        rows = _rows(conn)
        prev = rows[seq - 2]["hash"] if seq > 1 else "0" * 64
        for row in rows[seq - 1 :]:
            digest = compute_hash(
                seq=row["seq"],
                at=row["at"],
                actor=row["actor"],
                action=row["action"],
                entity=row["entity"],
                entity_id=row["entity_id"],
                person_id=row["person_id"],
                detail=row["detail"] or {},
                prev_hash=prev,
                org=row["org"],
                chain_seq=row["chain_seq"],
            )
            conn.execute(
                sa.text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": digest, "s": row["seq"]},
            )
            prev = digest
    engine.dispose()


def _sql(db_url: str, statement: str) -> None:
    engine = lwdb.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text(statement))
    engine.dispose()


@pytest.fixture
def anchored(cli, db_url: str) -> str:  # type: ignore[no-untyped-def]
    """Rows 1-10, a checkpoint, rows 11-20, a checkpoint."""
    assert cli("keys", "new", "our-practice").code == 0
    _add_rows(db_url, 1, 10)
    assert [c["seq"] for c in _checkpoint(cli, db_url)["chains"]] == [10]
    _add_rows(db_url, 11, 10)
    assert [c["seq"] for c in _checkpoint(cli, db_url)["chains"]] == [20]
    return db_url


def _broken(cli, db_url: str) -> tuple[int | None, str]:  # type: ignore[no-untyped-def]
    result = cli("audit", "verify", db=db_url)
    as_json = cli("audit", "verify", "--json", db=db_url).json()
    assert result.code == 2 and result.out == ""
    seq = as_json["broken_seq"]
    where = "" if seq is None else f" at row seq {seq}"
    assert result.err == f"linkwork: audit trail broken{where}: {as_json['problem']}\n"
    assert as_json["org"] == ""
    return seq, as_json["problem"]


def test_checkpoints_are_private_lines_appended_never_rewritten(
    cli, anchored: str, isolated_home: Path
) -> None:  # type: ignore[no-untyped-def]
    path = isolated_home / FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [10, 20]
    first = lines[0]
    _add_rows(anchored, 21, 1)
    _checkpoint(cli, anchored)
    again = path.read_text().splitlines()
    assert again[0] == first and len(again) == 3
    header = json.loads(base64.urlsafe_b64decode(json.loads(first)["jws"].split(".")[0] + "=="))
    assert header["alg"] == "ES256"
    result = cli("audit", "verify", db=anchored)
    assert result.code == 0 and "21 events in 1 chains checked against 3 checkpoints" in result.out


def test_rows_cut_after_a_checkpoint_are_named(cli, anchored: str) -> None:  # type: ignore[no-untyped-def]
    _sql(anchored, "DELETE FROM audit_event WHERE seq > 13")
    seq, problem = _broken(cli, anchored)
    assert seq is None  # the rows cut have no seq left to name
    assert problem.startswith(
        "organisation (none): rows 14 to 20 of its chain are missing (cut): the checkpoint "
        "signed at "
    )
    assert problem.endswith("(line 2) saw the chain reach row 20")


def test_a_recomputed_stretch_is_named_between_its_checkpoints(cli, anchored: str) -> None:  # type: ignore[no-untyped-def]
    _recompute_from(anchored, 15)
    seq, problem = _broken(cli, anchored)
    assert seq == 11
    assert problem.startswith(
        "organisation (none): rows 11 to 20 were rewritten and rehashed: row 20 no longer has"
    )
    assert "(line 2)" in problem


def test_a_recomputed_early_stretch_is_found_at_the_first_checkpoint(cli, anchored: str) -> None:  # type: ignore[no-untyped-def]
    _recompute_from(anchored, 3)
    seq, problem = _broken(cli, anchored)
    assert seq == 1
    assert problem.startswith(
        "organisation (none): rows 1 to 10 were rewritten and rehashed: row 10 no longer has"
    )
    assert "(line 1)" in problem


def _b64(data: dict) -> str:  # type: ignore[type-arg]
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unsigned(line: dict) -> dict:  # type: ignore[type-arg]
    return {k: v for k, v in line.items() if k != "jws"}


def _alg_none(line: dict) -> dict:  # type: ignore[type-arg]
    payload = line["jws"].split(".")[1]
    return line | {"jws": _b64({"alg": "none", "typ": "x"}) + "." + payload + "."}


def _seq_edited(line: dict) -> dict:  # type: ignore[type-arg]
    return line | {"seq": 5}


def _payload_swapped(line: dict) -> dict:  # type: ignore[type-arg]
    header, payload, signature = line["jws"].split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data["seq"] = 5
    return line | {"jws": f"{header}.{_b64(data)}.{signature}"}


EDITS = [
    (_unsigned, "is not signed"),
    (_alg_none, "is not signed with ES256 (alg 'none')"),
    (_seq_edited, "does not match what was signed"),
    (_payload_swapped, "has a signature that does not match"),
]


@pytest.mark.parametrize(("edit", "why"), EDITS, ids=[e[0].__name__ for e in EDITS])
def test_a_checkpoint_file_that_is_not_ours_is_refused(
    cli, anchored: str, isolated_home: Path, edit, why: str
) -> None:  # type: ignore[no-untyped-def]
    path = isolated_home / FILE_NAME
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text(json.dumps(lines[0]) + "\n" + json.dumps(edit(lines[1])) + "\n")
    result = cli("audit", "verify", db=anchored)
    assert result.code == 2 and result.out == ""
    assert result.err == (
        f"linkwork: audit trail cannot be checked: the checkpoint file {path} line 2 {why}\n"
    )
    assert cli("audit", "verify", "--json", db=anchored).json()["ok"] is False


def test_a_checkpoint_signed_by_another_key_is_refused(
    cli, anchored: str, isolated_home: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Mallory signs the head of his rewritten chain with a key of his own."""
    assert cli("keys", "new", "mallory", "--out", str(tmp_path / "mallory")).code == 0
    path = isolated_home / FILE_NAME
    path.unlink()
    _recompute_from(anchored, 3)
    made = cli(
        "audit", "checkpoint", "--key", str(tmp_path / "mallory/mallory.private.jwk"), db=anchored
    )
    assert made.code == 0
    result = cli("audit", "verify", db=anchored)
    assert result.code == 2
    assert "line 1 is signed by key" in result.err and "which is not ours" in result.err


def test_an_oversized_line_is_not_read(cli, anchored: str, isolated_home: Path) -> None:  # type: ignore[no-untyped-def]
    path = isolated_home / FILE_NAME
    with path.open("a") as handle:
        handle.write("x" * (MAX_LINE_BYTES * 4) + "\n")
    result = cli("audit", "verify", db=anchored)
    assert result.code == 2
    assert result.err.endswith("line 3 is longer than a checkpoint\n")


def test_another_databases_checkpoints_are_not_compared(
    cli, anchored: str, db_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    other = f"sqlite:///{tmp_path / 'other.db'}"
    _add_rows(other, 1, 3)
    result = cli("audit", "verify", db=other)
    assert result.code == 0 and "3 events in 1 chains checked against 0 checkpoints" in result.out


def test_no_key_no_checkpoint_and_verify_says_how_many(
    cli, db_url: str, isolated_home: Path
) -> None:  # type: ignore[no-untyped-def]
    _add_rows(db_url, 1, 2)
    made = cli("audit", "checkpoint", db=db_url)
    assert made.code == 2 and made.err.startswith("linkwork: no private key in ")
    assert not (isolated_home / FILE_NAME).exists()


# -- taken after a report -------------------------------------------------------------------


def _workspace(url: str) -> Workspace:
    return Workspace(load_settings(database_url=url), lwdb.open_engine(url))


def _last_audit(url: str, n: int = 1) -> list[AuditEvent]:
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        rows = list(
            session.exec(
                sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(n)  # type: ignore[attr-defined]
            ).scalars()
        )
    engine.dispose()
    return rows


@pytest.fixture
def demo_url(cli, db_url: str) -> str:  # type: ignore[no-untyped-def]
    assert cli("demo", "--people", "40", "--seed", "2", db=db_url).code == 0
    return db_url


def test_a_report_is_followed_by_a_checkpoint_of_its_own_row(
    cli, demo_url: str, isolated_home: Path
) -> None:  # type: ignore[no-untyped-def]
    assert cli("keys", "new", "our-practice").code == 0
    result = cli("report", "needs", "--by", "domain", db=demo_url)
    assert result.code == 0 and result.err == ""
    (event,) = _last_audit(demo_url)
    assert (event.action, event.entity) == ("view", "report")
    assert event.detail["rows"] > 0
    lines = (isolated_home / FILE_NAME).read_text().splitlines()
    assert (json.loads(lines[-1])["chain"], json.loads(lines[-1])["seq"]) == (
        event.org, event.chain_seq,
    )  # fmt: skip


def test_without_a_key_a_report_works_and_says_so_once(
    cli, demo_url: str, isolated_home: Path
) -> None:  # type: ignore[no-untyped-def]
    from linkwork.actions import reports as act

    result = cli("report", "needs", "--by", "domain", db=demo_url)
    assert result.code == 0
    assert result.err.startswith("note: no audit checkpoint was signed (no private key in ")
    ws = _workspace(demo_url)
    spec = act.ReportSpec(name="needs", by="domain")
    first, second = act.make_report(ws, spec), act.make_report(ws, spec)
    assert first.checkpoint_note is not None and "no private key" in first.checkpoint_note
    assert second.checkpoint_note is None
    assert first.rows == second.rows
    assert not (isolated_home / FILE_NAME).exists()


# -- bulk views -----------------------------------------------------------------------------


def test_person_list_and_find_are_audited_without_identifiers(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    for given, nhs in (("Ann", "943 476 5919"), ("Bea", "943 476 5870")):
        added = cli(
            "person", "add", "--given", given, "--family", "Example", "--birth-date",
            "1970-05-06", "--nhs-number", nhs, "--practice", "Y02101", db=db_url,
        )  # fmt: skip
        assert added.code == 0, added.err
    listed = cli("person", "list", "--practice", "y02101", "--limit", "10", "--json", db=db_url)
    assert listed.code == 0 and len(listed.json()) == 2
    (event,) = _last_audit(db_url)
    assert (event.action, event.entity, event.entity_id, event.person_id) == (
        "view", "people", "list", None,
    )  # fmt: skip
    assert event.detail == {"practice": "Y02101", "limit": 10, "rows": 2}

    found = cli("person", "find", "9434765919", "--json", db=db_url)
    assert found.code == 0 and [p["given_name"] for p in found.json()] == ["Ann"]
    (event,) = _last_audit(db_url)
    assert (event.action, event.entity, event.entity_id) == ("view", "people", "find")
    assert event.detail == {"search": "number", "limit": 20, "rows": 1}

    by_name = cli("person", "find", "example", "--json", db=db_url)
    assert by_name.code == 0 and len(by_name.json()) == 2
    (event,) = _last_audit(db_url)
    assert event.detail == {"search": "text", "limit": 20, "rows": 2}
    everything = json.dumps([e.detail for e in _last_audit(db_url, 10)]).lower()
    for said in ("9434765919", "example", "ann", "bea", found.json()[0]["id"]):
        assert said not in everything


def test_nobody_found_is_not_a_view(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _add_rows(db_url, 1, 1)
    assert cli("person", "find", "zebedee", db=db_url).code == 1
    assert cli("person", "list", db=db_url).code == 1
    assert [e.seq for e in _last_audit(db_url, 5)] == [1]


def test_the_apps_search_is_the_same_audited_view(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from linkwork.actions import people

    added = cli("person", "add", "--given", "Cy", "--family", "Test", "--birth-date",
                "1980-01-01", db=db_url)  # fmt: skip
    assert added.code == 0
    ws = _workspace(db_url)
    assert len(people.find_people(ws, "cy", limit=50)) == 1
    (event,) = _last_audit(db_url)
    assert (event.action, event.entity, event.entity_id, event.actor) == (
        "view", "people", "find", ws.user,
    )  # fmt: skip
    assert event.detail == {"search": "text", "limit": 50, "rows": 1}


# -- refusals: the database refusing the login (end to end with real logins: test_access_pg) --


class _Refused(Exception):
    """What SQLAlchemy raises when PostgreSQL refuses a login (insufficient_privilege)."""

    class orig:  # the DBAPI error SQLAlchemy wraps
        sqlstate = "42501"


def test_a_refusal_is_audited_and_goes_on_to_the_front_end(db_url: str) -> None:
    from linkwork.actions import audit

    _add_rows(db_url, 1, 1)
    ws = _workspace(db_url)
    asked = {"practice": "Y02101", "limit": 5}
    with (
        pytest.raises(_Refused, match="permission denied"),
        audit.refusal_audited(ws, "people", "list", asked),
    ):
        raise _Refused("permission denied for table person")
    (event,) = _last_audit(db_url)
    assert (event.action, event.entity, event.entity_id, event.actor) == (
        "refused", "people", "list", ws.user,
    )  # fmt: skip
    assert event.detail == asked
    with (  # anything else is not recorded as a refusal
        pytest.raises(ValueError, match="not a refusal"),
        audit.refusal_audited(ws, "people", "list", asked),
    ):
        raise ValueError("not a refusal")
    assert _last_audit(db_url)[0].seq == event.seq
    ws.engine.dispose()
