"""Who may see what, enforced by PostgreSQL (issue 16, points 1 and 2): each member of staff
has their own login (made by ``linkwork staff add``), a group role and organisations; row-level
security gives a login only its organisations' rows, through linkwork and through psql
alike; a data lead reads no record table; nobody in the app's roles can rewrite the audit
trail; the actor recorded is the login. PostgreSQL cases skip without pg_virtualenv."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from linkwork import db as lwdb

A, B = "Y00001", "Y00002"


@dataclass
class Login:
    name: str
    password: str
    url: str


@dataclass
class Site:
    owner_url: str
    logins: dict[str, Login]


def _pg_only(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: logins, roles and row-level security")


@pytest.fixture
def site(db_url: str, cli, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:  # type: ignore[no-untyped-def]
    """Two practices (A, B): a worker in each, a PCN worker in both, a data lead and an
    admin, each with its own login; the admin added by the database owner, the others by
    the admin, all with ``linkwork staff add``."""
    _pg_only(db_url)
    monkeypatch.delenv("LINKWORK_USER")  # a login is who it is: no name given
    base = sa.make_url(db_url)
    suffix = str(base.database)
    logins: dict[str, Login] = {}
    for who in ("admin", "worker_a", "worker_b", "pcn", "lead"):
        name = f"{who}_{suffix}"
        password = f"pw-{who}-{suffix[-6:]}"
        url = base.set(username=name, password=password).render_as_string(hide_password=False)
        logins[who] = Login(name, password, url)
    added: list[str] = []

    def add(by_url: str, who: str, role: str, *orgs: str) -> None:
        login = logins[who]
        monkeypatch.setenv("NEW_STAFF_PASSWORD", login.password)
        org_args = [arg for org in orgs for arg in ("--org", org)]
        result = cli(
            "staff", "add", login.name, "--role", role, *org_args,
            "--password-env", "NEW_STAFF_PASSWORD", db=by_url,
        )  # fmt: skip
        assert result.code == 0, result.err
        assert login.password not in result.out + result.err
        added.append(login.name)

    try:
        add(db_url, "admin", "admin", A, B)
        admin = logins["admin"].url
        add(admin, "worker_a", "worker", A)
        add(admin, "worker_b", "worker", B)
        add(admin, "pcn", "worker", A, B)
        add(admin, "lead", "datalead", A, B)
        monkeypatch.delenv("NEW_STAFF_PASSWORD")
        yield Site(db_url, logins)
    finally:
        engine = sa.create_engine(lwdb.normalise_url(db_url), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in added:
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                    (name,),
                )
                conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{name}"')
        engine.dispose()


def _add_person(cli, url: str, family: str, practice: str) -> str:  # type: ignore[no-untyped-def]
    result = cli(
        "person", "add", "--given", "Sam", "--family", family, "--birth-date", "1970-01-01",
        "--practice", practice, "--json", db=url,
    )  # fmt: skip
    assert result.code == 0, result.err
    return str(result.json()["id"])


def _listed(cli, url: str) -> set[str]:  # type: ignore[no-untyped-def]
    result = cli("person", "list", "--json", db=url)
    assert result.code in (0, 1), result.err
    return {p["family_name"] for p in result.json()} if result.code == 0 else set()


def _psql(login: Login, sql: str) -> subprocess.CompletedProcess[str]:
    url = sa.make_url(login.url)
    env = {
        **os.environ,
        "PGUSER": login.name,
        "PGPASSWORD": login.password,
        "PGHOST": url.host or "localhost",
        "PGPORT": str(url.port or 5432),
        "PGDATABASE": str(url.database),
    }
    psql = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
    return subprocess.run(
        [psql, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def _people_seeded(cli, site: Site) -> dict[str, str]:  # type: ignore[no-untyped-def]
    ids = {
        "Ashby": _add_person(cli, site.logins["worker_a"].url, "Ashby", A),
        "Bexley": _add_person(cli, site.logins["worker_b"].url, "Bexley", B),
    }
    return ids


def test_each_worker_sees_only_their_organisations_people_in_linkwork_and_psql(
    cli, site: Site
) -> None:  # type: ignore[no-untyped-def]
    _people_seeded(cli, site)
    a, b, pcn = site.logins["worker_a"], site.logins["worker_b"], site.logins["pcn"]
    assert _listed(cli, a.url) == {"Ashby"}
    assert _listed(cli, b.url) == {"Bexley"}
    assert _listed(cli, pcn.url) == {"Ashby", "Bexley"}
    for login, expected in ((a, ["Ashby"]), (b, ["Bexley"]), (pcn, ["Ashby", "Bexley"])):
        seen = _psql(login, "SELECT family_name FROM person ORDER BY 1")
        assert seen.returncode == 0, seen.stderr
        assert seen.stdout.split() == expected
        # needs, referrals and the counting copies the same way
        counted = _psql(login, "SELECT count(*) FROM count_person")
        assert counted.returncode == 0, counted.stderr
    # worker A cannot write a row into B's organisation, even with psql
    forged = _psql(
        a,
        "INSERT INTO person (id, given_name, family_name, birth_date, org, created_by, "
        f"created_at, updated_at) VALUES ('x1', 'X', 'Forged', '1970-01-01', '{B}', "
        f"'{a.name}', now(), now())",
    )
    assert forged.returncode != 0
    assert "row-level security" in forged.stderr
    moved = _psql(a, f"UPDATE person SET org = '{B}' RETURNING id")
    assert moved.returncode != 0 and "row-level security" in moved.stderr


def test_the_actor_recorded_is_the_login(cli, site: Site) -> None:  # type: ignore[no-untyped-def]
    ids = _people_seeded(cli, site)
    owner = sa.create_engine(lwdb.normalise_url(site.owner_url))
    with owner.connect() as conn:
        created = dict(conn.exec_driver_sql("SELECT family_name, created_by FROM person").all())
        actors = [r[0] for r in conn.exec_driver_sql("SELECT actor FROM audit_event").all()]
        orgs = dict(conn.exec_driver_sql("SELECT id, org FROM person").all())
    owner.dispose()
    assert created == {
        "Ashby": site.logins["worker_a"].name,
        "Bexley": site.logins["worker_b"].name,
    }
    assert orgs == {ids["Ashby"]: A, ids["Bexley"]: B}
    assert site.logins["admin"].name in actors  # the admin's staff additions
    # a name typed with --user is for SQLite only: refused on PostgreSQL, nothing written
    refused = cli("--user", "somebody.else", "person", "list", db=site.logins["worker_a"].url)
    assert refused.code == 2 and refused.err.count("\n") == 1
    assert "only for SQLite" in refused.err
    # and the database itself refuses a row claiming another actor
    forged = _psql(
        site.logins["worker_a"],
        "INSERT INTO person (id, given_name, family_name, birth_date, org, created_by, "
        f"created_at, updated_at) VALUES ('x2', 'X', 'Forged', '1970-01-01', '{A}', "
        "'somebody.else', now(), now())",
    )
    assert forged.returncode != 0 and "the actor must be your login" in forged.stderr


def test_the_data_lead_reads_no_record_table(cli, site: Site) -> None:  # type: ignore[no-untyped-def]
    _people_seeded(cli, site)
    lead = site.logins["lead"]
    for table in ("person", "need", "count_need", "count_person", "referral"):
        refused = _psql(lead, f"SELECT count(*) FROM {table}")
        assert refused.returncode != 0, table
        assert f"permission denied for table {table}" in refused.stderr
    listed = cli("person", "list", db=lead.url)
    assert listed.code == 2 and listed.err.count("\n") == 1
    assert "no access to" in listed.err


def test_no_app_role_can_rewrite_the_audit_trail(cli, site: Site) -> None:  # type: ignore[no-untyped-def]
    _people_seeded(cli, site)
    for who in ("worker_a", "admin"):
        login = site.logins[who]
        for sql in (
            "DELETE FROM audit_event",
            "UPDATE audit_event SET actor = 'nobody'",
            "TRUNCATE audit_event",
            "ALTER TABLE audit_event DISABLE TRIGGER ALL",
            "ALTER TABLE audit_event NO FORCE ROW LEVEL SECURITY",
        ):
            refused = _psql(login, sql)
            assert refused.returncode != 0, (who, sql)
            assert "permission denied" in refused.stderr or "must be owner" in refused.stderr
    owner = sa.create_engine(lwdb.normalise_url(site.owner_url))
    with owner.connect() as conn:
        kept = conn.exec_driver_sql("SELECT count(*) FROM audit_event").scalar()
    owner.dispose()
    assert kept and kept >= 6  # staff additions and the two people


def test_staff_list_and_remove(cli, site: Site) -> None:  # type: ignore[no-untyped-def]
    admin = site.logins["admin"].url
    listed = cli("staff", "list", "--json", db=admin)
    assert listed.code == 0, listed.err
    roles = {r["login"]: (r["role"], r["orgs"]) for r in listed.json()}
    assert roles[site.logins["pcn"].name] == ("worker", [A, B])
    assert roles[site.logins["lead"].name] == ("datalead", [A, B])
    # a worker may not manage staff
    refused = cli("staff", "list", db=site.logins["worker_a"].url)
    assert refused.code == 2 and "managing staff" in refused.err
    ids = _people_seeded(cli, site)
    removed = cli("staff", "remove", site.logins["worker_b"].name, db=admin)
    assert removed.code == 0, removed.err
    # the removed login: one line, exit 2, in linkwork; nothing visible through psql
    gone = cli("person", "list", db=site.logins["worker_b"].url)
    assert gone.code == 2 and gone.err.count("\n") == 1
    assert "no longer has access" in gone.err
    blind = _psql(site.logins["worker_b"], "SELECT count(*) FROM person")
    assert blind.returncode != 0 and "permission denied" in blind.stderr
    # what it recorded stays attributed to it
    owner = sa.create_engine(lwdb.normalise_url(site.owner_url))
    with owner.connect() as conn:
        by = conn.exec_driver_sql(
            "SELECT created_by FROM person WHERE id = %s", (ids["Bexley"],)
        ).scalar()
    owner.dispose()
    assert by == site.logins["worker_b"].name
    history = cli("staff", "list", "--history", "--json", db=admin).json()
    assert [r["removed_by"] for r in history if r["login"] == site.logins["worker_b"].name] == [
        site.logins["admin"].name
    ]


def test_a_login_without_a_linkwork_role_is_refused(cli, site: Site) -> None:  # type: ignore[no-untyped-def]
    stranger = f"stranger_{sa.make_url(site.owner_url).database}"
    engine = sa.create_engine(lwdb.normalise_url(site.owner_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE \"{stranger}\" LOGIN PASSWORD 'pw-stranger'")
    try:
        url = sa.make_url(site.owner_url).set(username=stranger, password="pw-stranger")
        result = cli("person", "list", db=url.render_as_string(hide_password=False))
        assert result.code == 2 and result.err.count("\n") == 1
        assert "has no linkwork role" in result.err
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP ROLE "{stranger}"')
        engine.dispose()


def test_staff_commands_need_a_shared_deployment(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    for args in (
        ("staff", "add", "someone", "--role", "worker", "--org", A),
        ("staff", "list"),
        ("staff", "remove", "someone"),
    ):
        result = cli(*args, db=db_url)
        assert result.code == 2, args
        assert result.err.count("\n") == 1
        assert "need a shared PostgreSQL deployment" in result.err


def _refusals(site: Site) -> list[tuple[str, str, str]]:
    owner = sa.create_engine(lwdb.normalise_url(site.owner_url))
    with owner.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT actor, entity, org FROM audit_event WHERE action = 'refused' ORDER BY seq"
        ).all()
    owner.dispose()
    return [(str(a), str(e), str(o)) for a, e, o in rows]


def test_another_organisations_person_by_id_is_refused_and_audited(cli, site: Site) -> None:  # type: ignore[no-untyped-def]
    ids = _people_seeded(cli, site)
    a = site.logins["worker_a"]
    result = cli("person", "show", ids["Bexley"], db=a.url)
    assert result.code == 2 and result.err.count("\n") == 1
    assert f"your login has no access to person {ids['Bexley']}" in result.err
    assert "Bexley" not in result.err + result.out
    assert _refusals(site) == [(a.name, "person", A)]
    # a record that does not exist at all is still "nothing found"
    missing = cli("person", "show", "00000000-0000-4000-8000-000000000000", db=a.url)
    assert missing.code == 1 and "unknown person" in missing.err
    # and their own is shown
    assert cli("person", "show", ids["Ashby"], db=a.url).code == 0


def test_the_data_leads_person_list_is_refused_and_audited(cli, site: Site) -> None:  # type: ignore[no-untyped-def]
    _people_seeded(cli, site)
    lead = site.logins["lead"]
    result = cli("person", "list", db=lead.url)
    assert result.code == 2 and result.err.count("\n") == 1
    assert "your login has no access to people's records" in result.err
    assert _refusals(site) == [(lead.name, "people", A)]


def test_a_pcn_workers_person_is_held_by_the_practice_given(cli, site: Site) -> None:  # type: ignore[no-untyped-def]
    pcn = site.logins["pcn"]
    _add_person(cli, pcn.url, "Carlow", B)  # one of the PCN worker's organisations
    _add_person(cli, pcn.url, "Dunmore", "Y09999")  # registered elsewhere: held by the first
    assert _listed(cli, site.logins["worker_b"].url) == {"Carlow"}
    assert _listed(cli, site.logins["worker_a"].url) == {"Dunmore"}
    assert _listed(cli, pcn.url) == {"Carlow", "Dunmore"}
