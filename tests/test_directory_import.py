"""Directory import: ORUK v1/3.0 JSON, CSV, folders, URLs; idempotence; bad input."""

from __future__ import annotations

import copy
import gzip
import hashlib
import http.server
import json
import random
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
import sqlalchemy as sa
from db_rows_support import rows_as_text
from sqlmodel import Session, select

from directory.importer import import_source
from directory.models import Location, Organisation, Service, ServiceLocation
from linkwork.sample import SAMPLE_FILE, load_sample_directory

DATA = Path(__file__).parent / "data" / "directory"


def services(session: Session) -> list[Service]:
    return list(session.exec(select(Service).order_by(Service.id)))  # type: ignore[arg-type]


DIRECTORY_TABLES = ("service", "organisation", "location", "service_location", "directory_import")


def snapshot(db_url: str) -> dict[str, object]:
    """Row counts and a hash of every directory row: equal before and after = nothing written."""
    return {
        table: (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
        for table, rows in rows_as_text(db_url, DIRECTORY_TABLES).items()
    }


# --- the sample -----------------------------------------------------------------------


def test_sample_twice_then_unchanged(session: Session, shared_data: Path) -> None:
    first = import_source(session, shared_data / "directory-sample.oruk.json")
    session.commit()
    assert (first.added, first.updated, first.unchanged, first.withdrawn) == (400, 0, 0, 0)
    assert first.rejected == []
    second = import_source(session, shared_data / "directory-sample.oruk.json")
    session.commit()
    assert (second.added, second.updated, second.unchanged, second.withdrawn) == (0, 0, 400, 0)
    assert session.exec(select(sa.func.count()).select_from(Service)).one() == 400


def test_cli_import_twice_json_summary(cli, db_url: str, shared_data: Path) -> None:
    one = cli(
        "directory", "import", shared_data / "directory-sample.oruk.json", "--json", db=db_url
    )
    assert one.code == 0, one.err
    assert {k: one.json()[k] for k in ("added", "updated", "unchanged", "withdrawn")} == {
        "added": 400,
        "updated": 0,
        "unchanged": 0,
        "withdrawn": 0,
    }
    two = cli(
        "directory", "import", shared_data / "directory-sample.oruk.json", "--json", db=db_url
    )
    assert (two.json()["added"], two.json()["updated"], two.json()["unchanged"]) == (0, 0, 400)
    assert two.json()["rejected"] == []


def test_bundled_sample_is_the_shared_sample(session: Session, shared_data: Path) -> None:
    summary = load_sample_directory(session)
    session.commit()
    assert summary.added == 400
    again = import_source(session, shared_data / "directory-sample.oruk.json")
    assert (again.added, again.unchanged) == (0, 400)
    # the very same document, evaluation fields included (search tests read their truth from it)
    bundled = resources.files("linkwork").joinpath("data", SAMPLE_FILE).read_bytes()
    shared = (shared_data / "directory-sample.oruk.json").read_text(encoding="utf-8")
    assert json.loads(gzip.decompress(bundled)) == json.loads(shared)


def test_csv_gives_the_same_services(tmp_path: Path, shared_data: Path) -> None:
    from linkwork import db as lwdb

    def load(src: Path) -> dict[str, tuple[str, tuple[str, ...], str | None, bool]]:
        engine = lwdb.open_engine(f"sqlite:///{tmp_path / (src.suffix[1:] + '.db')}")
        with Session(engine) as session:
            import_source(session, src)
            session.commit()
            out = {
                s.source_id: (
                    s.name,
                    tuple(s.domains),
                    s.last_verified and s.last_verified.isoformat(),
                    s.is_free,
                )
                for s in services(session)
            }
        engine.dispose()
        return out

    from_json = load(shared_data / "directory-sample.oruk.json")
    from_csv = load(shared_data / "directory-sample.csv")
    assert len(from_json) == 400
    assert from_csv == from_json
    # the feed's own categories agree with the domains derived through the mapping
    raw = json.loads((shared_data / "directory-sample.oruk.json").read_text())["content"]
    assert all(from_json[s["id"]][1] for s in raw)


def test_x_category_is_never_read(tmp_path: Path, session: Session, shared_data: Path) -> None:
    doc = json.loads((shared_data / "directory-sample.oruk.json").read_text())
    scrambled = copy.deepcopy(doc)
    rng = random.Random(3)
    keys = sorted({k for s in doc["content"] for k in s["x_category"]})
    for s in scrambled["content"]:
        s["x_category"] = rng.sample(keys, 2)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "feed.json").write_text(json.dumps(doc))
    (tmp_path / "b" / "feed.json").write_text(json.dumps(scrambled))
    import_source(session, tmp_path / "a" / "feed.json", source_name="a")
    import_source(session, tmp_path / "b" / "feed.json", source_name="b")
    session.commit()
    rows = services(session)
    a = {s.source_id: (s.content_hash, s.domains) for s in rows if s.source == "a"}
    b = {s.source_id: (s.content_hash, s.domains) for s in rows if s.source == "b"}
    assert len(a) == 400 and a == b


# --- changes, withdrawals -------------------------------------------------------------


def _write(path: Path, items: list[dict]) -> Path:
    path.write_text(
        json.dumps({"totalElements": len(items), "totalPages": 1, "number": 1, "content": items})
    )
    return path


def test_changed_updated_missing_withdrawn_not_deleted(
    tmp_path: Path, session: Session, shared_data: Path
) -> None:
    items = json.loads((shared_data / "directory-sample.oruk.json").read_text())["content"][:20]
    feed = tmp_path / "feed.json"
    import_source(session, _write(feed, items))
    session.commit()
    changed = copy.deepcopy(items[:19])
    changed[0]["description"] = "A completely new description."
    summary = import_source(session, _write(feed, changed))
    session.commit()
    assert (summary.added, summary.updated, summary.unchanged, summary.withdrawn) == (0, 1, 18, 1)
    gone = session.exec(select(Service).where(Service.source_id == items[19]["id"])).one()
    assert gone.withdrawn and gone.withdrawn_at is not None
    assert session.exec(select(sa.func.count()).select_from(Service)).one() == 20
    first = session.exec(select(Service).where(Service.source_id == items[0]["id"])).one()
    assert first.description == "A completely new description."
    # it comes back: updated, no longer withdrawn, same internal id
    back = import_source(session, _write(feed, items))
    session.commit()
    assert back.updated == 2 and back.added == 0
    again = session.exec(select(Service).where(Service.source_id == items[19]["id"])).one()
    assert not again.withdrawn and again.id == gone.id


def test_partial_feed_withdraws_nothing(
    tmp_path: Path, session: Session, shared_data: Path
) -> None:
    import_source(session, shared_data / "directory-sample.oruk.json")
    session.commit()
    items = json.loads((shared_data / "directory-sample.oruk.json").read_text())["content"]
    page = {
        "totalElements": 400,
        "totalPages": 4,
        "number": 2,
        "size": 100,
        "content": items[100:200],
    }
    part = tmp_path / "directory-sample.json"
    part.write_text(json.dumps(page))
    summary = import_source(session, part)
    assert summary.full is False
    assert (summary.unchanged, summary.withdrawn) == (100, 0)
    single = tmp_path / "one" / "directory-sample.json"
    single.parent.mkdir()
    single.write_text(json.dumps(items[5]))
    summary = import_source(session, single)
    assert (summary.unchanged, summary.withdrawn) == (1, 0)


# --- real-shaped council feeds --------------------------------------------------------


def test_messy_council_feed(session: Session) -> None:
    summary = import_source(session, DATA / "council-v1-array.json")
    session.commit()
    reasons = {r.where: r.reason for r in summary.rejected}
    assert reasons == {
        "record 10": "empty name",
        "record 58": "empty name",
        "record 101": "duplicate id (first seen at record 21)",
        "record 151": "no id",
        "record 201": "bad postcode 'NOT A POSTCODE'",
        "record 242": "not a service object (a JSON str)",
    }
    raw = json.loads((DATA / "council-v1-array.json").read_text())
    assert summary.added == len(raw) - 6
    rows = services(session)
    assert all("<" not in s.description and "&amp;" not in s.description for s in rows)
    carers = next(s for s in rows if s.name.endswith("Carers Centre"))
    assert carers.description == (
        "Information, advice & short breaks for unpaid carers.\n\n- Carers assessments\n- Respite"
    )
    food = next(s for s in rows if s.name.endswith("Food Bank"))
    assert "\n\n" in food.description  # paragraph break kept
    assert "food" in food.domains  # no taxonomy: domains from the name
    walk = next(s for s in rows if s.name.endswith("Walking Group"))
    assert "30 minutes every Tuesday – all welcome" in walk.description
    # services without an organisation are imported without one, and listed
    no_org = [s for s in rows if s.organisation_id is None]
    assert no_org and {n["id"] for n in summary.notes} == {s.source_id for s in no_org}
    assert all(s.url == "" or s.url.startswith("https://") for s in rows)  # "" stays absent
    assert not any("pc_" in json.dumps(s.model_dump(mode="json")) for s in rows)


def test_folder_of_pages_matches_the_array(session: Session) -> None:
    summary = import_source(session, DATA / "council-v1-pages", source_name="council")
    assert summary.full is True
    assert summary.added == 236 and len(summary.rejected) == 6
    assert summary.rejected[0].where == "page-1.json record 10"


def test_oruk3_fields(session: Session) -> None:
    summary = import_source(session, DATA / "oruk3-page.json")
    session.commit()
    assert summary.added == 2
    carers, pantry = services(session)
    assert (carers.min_age, carers.max_age) == (8, 18)
    assert carers.phone == "01632 960111"
    assert carers.opening_hours == [
        {"day": 1, "opens": "16:00", "closes": "18:30"},
        {"day": 3, "opens": "16:00", "closes": "18:30"},
    ]
    assert carers.languages == ["English", "Polish"]
    assert carers.domains == ["caring"] and "Z63.6" in carers.z_codes
    loc = session.exec(select(Location)).one()
    assert loc.postcode == "ZZ9 1AA" and loc.town == "Fennick"
    assert pantry.is_free is False and pantry.domains == ["food"]
    org_ids = {o.source_id for o in session.exec(select(Organisation))}
    assert "9a8b7c6d-0000-4000-8000-000000000002" in org_ids  # organization_id alone


def test_single_service_document(session: Session) -> None:
    summary = import_source(session, DATA / "single-service.json")
    session.commit()
    (svc,) = services(session)
    assert summary.full is False and summary.added == 1
    assert svc.description == "Debt & money advice by appointment."
    assert svc.opening_hours == [{"day": 2, "opens": "09:30", "closes": "13:00"}]
    assert svc.min_age == 18 and svc.domains == ["money"]


def test_mixed_case_csv_header(session: Session) -> None:
    summary = import_source(session, DATA / "mixed-case.csv")
    assert summary.added == 2 and len(summary.notes) == 1
    rows = services(session)
    assert rows[0].domains == ["food"] and rows[1].domains == ["money"]


def test_strict_fails_whole_import(cli, db_url: str) -> None:
    before = snapshot(db_url)
    result = cli("directory", "import", DATA / "council-v1-array.json", "--strict", db=db_url)
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "record 10" in result.err and "empty name" in result.err
    assert snapshot(db_url) == before


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("not-json.json", "not JSON"),
        ("truncated.json", "truncated or malformed JSON"),
        ("wrong-shape.json", "wrong page shape"),
        ("unknown-header.csv", "unknown CSV column 'colour'"),
        ("broken-quote.csv", "broken CSV quoting"),
        ("missing.json", "no such file"),
    ],
)
def test_bad_feed_one_line_exit_2_nothing_written(
    cli, db_url: str, name: str, expected: str
) -> None:
    cli("directory", "load-sample", db=db_url)
    before = snapshot(db_url)
    result = cli("directory", "import", DATA / name, db=db_url)
    assert result.code == 2
    assert result.err.startswith("linkwork: ") and result.err.count("\n") == 1
    assert name in result.err and expected in result.err
    assert snapshot(db_url) == before


def test_record_without_id_rejected_or_strict(cli, db_url: str) -> None:
    result = cli("directory", "import", DATA / "one-without-id.json", "--json", db=db_url)
    assert result.code == 0
    data = result.json()
    assert data["added"] == 1
    assert data["rejected"] == [{"where": "record 2", "id": "", "name": "No id", "reason": "no id"}]
    before = snapshot(db_url)
    strict = cli(
        "directory",
        "import",
        DATA / "one-without-id.json",
        "--strict",
        "--source",
        "other",
        db=db_url,
    )
    assert strict.code == 2 and "record 2" in strict.err and "no id" in strict.err
    assert snapshot(db_url) == before


def test_bad_format_option(cli, db_url: str) -> None:
    result = cli("directory", "import", DATA / "oruk3-page.json", "--format", "xml", db=db_url)
    assert result.code == 2 and "unknown format" in result.err


# --- http(s) feeds --------------------------------------------------------------------


class _Feed(http.server.BaseHTTPRequestHandler):
    pages: list[bytes] = []
    fail_page: int | None = None
    seen: list[str] = []

    def do_GET(self) -> None:
        from urllib.parse import parse_qs, urlparse

        url = urlparse(self.path)
        self.seen.append(self.path)
        page = int(parse_qs(url.query).get("page", ["1"])[0])
        if url.path != "/api/services" or page > len(self.pages):
            self.send_response(404)
            self.end_headers()
            return
        if page == self.fail_page:
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"oops")
            return
        body = self.pages[page - 1]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feed_server(shared_data: Path) -> Iterator[tuple[str, type[_Feed]]]:
    items = json.loads((shared_data / "directory-sample.oruk.json").read_text())["content"]
    size = 150
    pages = []
    for n in range(3):
        chunk = items[n * size : (n + 1) * size]
        pages.append(
            json.dumps(
                {
                    "totalElements": 400,
                    "totalPages": 3,
                    "number": n + 1,
                    "size": size,
                    "first": n == 0,
                    "last": n == 2,
                    "content": chunk,
                }
            ).encode()
        )
    handler = type("Handler", (_Feed,), {"pages": pages, "fail_page": None, "seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # shutdown() waits for serve_forever to notice it: every 20 ms, not the default 0.5 s
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api", handler
    finally:
        server.shutdown()
        server.server_close()


def test_url_import_pages(cli, db_url: str, feed_server) -> None:
    base, handler = feed_server
    result = cli("directory", "import", base, "--json", db=db_url)
    assert result.code == 0, result.err
    assert result.json()["added"] == 400 and result.json()["source"] == base
    assert [p.split("page=")[1].split("&")[0] for p in handler.seen] == ["1", "2", "3"]
    again = cli("directory", "import", base + "/", "--json", db=db_url)
    assert again.json()["unchanged"] == 400


def test_url_http_500_mid_paging(cli, db_url: str, feed_server) -> None:
    base, handler = feed_server
    cli("directory", "load-sample", db=db_url)
    before = snapshot(db_url)
    handler.fail_page = 2
    result = cli("directory", "import", base, db=db_url)
    assert result.code == 2 and result.err.count("\n") == 1
    assert "page=2" in result.err and "HTTP 500" in result.err
    assert snapshot(db_url) == before


def test_unreachable_url(cli, db_url: str) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    before = snapshot(db_url)
    result = cli("directory", "import", f"http://127.0.0.1:{port}/", db=db_url)
    assert result.code == 2 and result.err.count("\n") == 1 and "cannot fetch" in result.err
    assert snapshot(db_url) == before


# --- show -------------------------------------------------------------------------------


def test_show_by_source_id_and_internal_id(cli, db_url: str, shared_data: Path) -> None:
    cli("directory", "load-sample", db=db_url)
    first = json.loads((shared_data / "directory-sample.oruk.json").read_text())["content"][0]
    by_source = cli("directory", "show", first["id"], "--json", db=db_url)
    assert by_source.code == 0
    data = by_source.json()
    assert data["name"] == first["name"] and data["organisation"] == first["organization"]["name"]
    assert (
        data["locations"][0]["postcode"]
        == first["service_at_locations"][0]["location"]["physical_addresses"][0]["postal_code"]
    )
    by_number = cli("directory", "show", str(data["service_id"]), "--json", db=db_url)
    assert by_number.json() == data
    missing = cli("directory", "show", "no-such-service", db=db_url)
    assert missing.code == 1 and "no service" in missing.err  # nothing found (was 2)


def test_links_are_unique_per_location(session: Session, shared_data: Path) -> None:
    import_source(session, shared_data / "directory-sample.oruk.json")
    session.commit()
    links = session.exec(select(ServiceLocation)).all()
    assert len(links) == 400
    assert len({(link.service_id, link.location_id) for link in links}) == 400


def test_both_spellings_of_v1_collections(tmp_path: Path, session: Session) -> None:
    base = {
        "organization": {"id": "o1", "name": "Trust", "description": ""},
        "regular_schedules": [
            {"id": "r", "weekday": "Saturday", "opens_at": "10:00", "closes_at": "12:00"}
        ],
    }
    one = {
        **base,
        "id": "s1",
        "name": "Carers Group",
        "eligibilitys": [
            {"id": "e", "eligibility": "Carers", "minimum_age": 18, "maximum_age": None}
        ],
        "service_taxonomys": [{"id": "t", "taxonomy": {"id": "x", "name": "Carers"}}],
    }
    two = {
        **base,
        "id": "s2",
        "name": "Carers Group Two",
        "eligibilities": [
            {"id": "e", "eligibility": "Carers", "minimum_age": "18", "maximum_age": ""}
        ],
        "service_taxonomies": [{"id": "t", "taxonomy": {"id": "x", "name": "Carers"}}],
    }
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps([one, two]))
    summary = import_source(session, feed)
    assert summary.added == 2 and summary.rejected == []
    a, b = services(session)
    assert (a.min_age, a.domains, a.opening_hours) == (
        18,
        ["caring"],
        [{"day": 6, "opens": "10:00", "closes": "12:00"}],
    )
    assert (b.min_age, b.max_age, b.domains, b.eligibility) == (18, None, ["caring"], "Carers")


def test_cli_list_shows_withdrawn_separately(
    cli, db_url: str, tmp_path: Path, shared_data: Path
) -> None:
    items = json.loads((shared_data / "directory-sample.oruk.json").read_text())["content"][:5]
    feed = tmp_path / "small.json"
    assert cli("directory", "import", _write(feed, items), db=db_url).code == 0
    assert cli("directory", "import", _write(feed, items[:4]), db=db_url).code == 0
    listed = cli("directory", "list", "--json", "--limit", "0", db=db_url)
    assert sorted(r["id"] for r in listed.json()) == sorted(s["id"] for s in items[:4])
    gone = cli("directory", "list", "--withdrawn", "--json", db=db_url)
    assert [r["id"] for r in gone.json()] == [items[4]["id"]]
    none = cli("directory", "list", "--feed", "no-such-feed", db=db_url)
    assert none.code == 1


@pytest.mark.parametrize("body", ["[]", '{"totalElements": 0, "content": []}', "id,name\n"])
def test_an_empty_feed_withdraws_nothing(cli, db_url: str, tmp_path: Path, body: str) -> None:
    """An empty answer (an outage, a wrong filter) must not read as "every service has gone"."""
    assert cli("directory", "load-sample", db=db_url).code == 0
    before = snapshot(db_url)
    empty = tmp_path / ("empty.csv" if body.startswith("id") else "empty.json")
    empty.write_text(body, encoding="utf-8")
    result = cli("directory", "import", empty, "--source", "directory-sample", db=db_url)
    assert result.code == 2 and result.err.count("\n") == 1
    assert result.err.startswith("linkwork: ") and "no services" in result.err
    assert snapshot(db_url) == before
    stats = cli("directory", "stats", "--json", db=db_url).json()
    assert (stats["services"], stats["withdrawn"]) == (400, 0)
