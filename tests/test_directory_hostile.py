"""Directory import of hostile feeds (issue 15, points 3, 4 and 8).

Every read is bounded (bytes per page and per feed, pages, services, JSON depth, value count,
number length); a server that never stops paging, or keeps sending one page, is stopped; a
wrong type is a reject with its reason (``--strict``: the import fails) and never coerced;
control characters are taken out of feed text (``--strict``: a reject). Whatever is refused:
one line on stderr, exit 2, the database unchanged.

The broken feeds are the council pages of ``make_fixtures.py``, each broken one way
(``tests/data/directory/hostile``); the endless ones are made here (``hostile_feeds.py``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hostile_feeds import (
    endless_csv_rows,
    endless_pipe,
    oruk_server,
    random_bytes,
    run_measured,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from test_directory_import import DATA, snapshot

from directory.bounded import (
    MAX_DEPTH,
    WINDOW,
    Budget,
    FeedTooLarge,
    Limits,
    check_json,
    load_json,
)
from directory.untrusted import has_control

HOSTILE = DATA / "hostile"
MB = 1024 * 1024


def refused(result, *expected: str) -> None:  # type: ignore[no-untyped-def]
    """One line on stderr naming the problem, exit 2, nothing on stdout, nothing raw."""
    assert result.code == 2, (result.code, result.err)
    assert result.err.startswith("linkwork: ") and result.err.count("\n") == 1, result.err
    assert result.out == ""
    assert not has_control(result.err.rstrip("\n")), repr(result.err)
    for words in expected:
        assert words in result.err, result.err


@pytest.fixture(scope="module")
def sample_sqlite(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    """A copy of the template with the bundled sample loaded (as ``directory load-sample``
    loads it), made once per module: a SQLite test takes a copy of the file instead of
    loading the 400 services again (~0.5 s each)."""
    from sqlmodel import Session

    from linkwork import db as lwdb
    from linkwork.sample import load_sample_directory

    path = tmp_path_factory.mktemp("hostile-sample") / "sample.db"
    shutil.copy(sqlite_template, path)
    engine = lwdb.open_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        loaded = load_sample_directory(session)
        session.commit()
    assert loaded.added == 400 and not loaded.rejected
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def sampled(cli, db_url: str, request: pytest.FixtureRequest) -> str:  # type: ignore[no-untyped-def]
    """``db_url`` holding the bundled sample directory: on SQLite a copy of ``sample_sqlite``
    (the refused imports here read and write no search index), on PostgreSQL loaded by
    ``directory load-sample``."""
    if db_url.startswith("sqlite:///"):
        shutil.copy(request.getfixturevalue("sample_sqlite"), db_url.removeprefix("sqlite:///"))
    else:
        loaded = cli("directory", "load-sample", db=db_url)
        assert loaded.code == 0, loaded.err
    return db_url


def strings_of(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for v in data.values() for s in strings_of(v)]
    if isinstance(data, list):
        return [s for v in data for s in strings_of(v)]
    return []


# --- a page that cannot be read safely: the whole feed refused ---------------------------


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("deep-nesting.json", "JSON nested more than 64 levels deep"),
        ("long-number.json", "a number more than 100 characters long"),
        ("gzip-bomb.json.gz", "more than 16 MiB in one page (setting import_max_page_bytes)"),
        ("dense-values.json.gz", "more than 1,048,576 JSON values in one page"),
        ("total-pages-words.json", "totalPages 'lots' is not a whole number"),
        ("not-utf8.csv", "line 3: not UTF-8 text"),
        ("long-field.csv.gz", "line 3: a field longer than 131,072 characters"),
    ],
)
def test_an_unsafe_page_refuses_the_feed(
    cli, sampled: str, name: str, expected: str, strict: bool
) -> None:
    db_url = sampled
    before = snapshot(db_url)
    result = cli("directory", "import", HOSTILE / name, *(["--strict"] * strict), db=db_url)
    refused(result, name, expected)
    assert snapshot(db_url) == before


# --- wrong types: a reject with its reason, never coerced --------------------------------

WRONG_TYPES = {
    "record 2": "name is a number (12345), not text",
    "record 3": "languages is text, not a list",
    "record 4": "languages[0] is a number (1), not text or an object",
    "record 5": "organization is text, not an object",
    "record 6": "service_at_locations[0].location.latitude is not a finite number (NaN)",
    "record 7": "eligibilitys[0].minimum_age is not a finite number (Infinity)",
    "record 8": "phones[0] is null, not an object",
    "record 9": "eligibilitys is an object, not a list",
    "record 10": "id is true, not text",
    "record 11": "description is longer than 50,000 characters (54,007)",
    "record 12": "bad service_at_locations[0].location.longitude 'east'",
}


def test_wrong_types_are_rejected_with_their_reasons(cli, db_url: str) -> None:
    result = cli("directory", "import", HOSTILE / "wrong-types.json", "--json", db=db_url)
    assert result.code == 0, result.err
    data = result.json()
    assert {r["where"]: r["reason"] for r in data["rejected"]} == WRONG_TYPES
    assert data["added"] == 1
    listed = cli("directory", "list", "--json", "--limit", "0", db=db_url).json()
    assert [row["name"] for row in listed] == ["Greyholt Food Bank"]


@pytest.mark.parametrize("where", sorted(WRONG_TYPES, key=lambda w: int(w.split()[1])))
def test_strict_refuses_each_wrong_type(cli, db_url: str, tmp_path: Path, where: str) -> None:
    items = json.loads((HOSTILE / "wrong-types.json").read_text())["content"]
    bad = items[int(where.split()[1]) - 1]
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps([items[0], bad]))  # NaN and Infinity written as JS literals
    before = snapshot(db_url)
    result = cli("directory", "import", feed, "--strict", db=db_url)
    refused(result, "feed.json, record 2", WRONG_TYPES[where], "nothing imported (--strict)")
    assert snapshot(db_url) == before


def test_the_reported_cases_store_nothing_coerced(cli, db_url: str, tmp_path: Path) -> None:
    """The issue's examples, one service each: none of them stored, whatever the mode."""
    feed = tmp_path / "reported.json"
    feed.write_text(
        json.dumps(
            [
                {"id": "ok", "name": "Fine"},
                {"id": "a", "name": 12345},
                {"id": "b", "name": "Words", "languages": "English"},
                {"id": "c", "name": "Mixed", "languages": [1, None, "x", 2.5, True]},
                {"id": "d", "name": "N" * 2_000_000},
                {"id": "e", "name": "Nan", "minimum_age": float("nan")},
            ]
        )
    )
    result = cli("directory", "import", feed, "--json", db=db_url)
    assert result.code == 0 and result.json()["added"] == 1
    assert [r["id"] for r in result.json()["rejected"]] == ["a", "b", "c", "d", "e"]
    assert [r["reason"] for r in result.json()["rejected"]][3] == (
        "name is longer than 500 characters (2,000,000)"
    )
    assert len(result.json()["rejected"][3]["name"]) == 101  # shown cut short
    listed = cli("directory", "list", "--json", "--limit", "0", db=db_url).json()
    assert [row["id"] for row in listed] == ["ok"]


def test_a_two_million_character_name(cli, db_url: str) -> None:
    result = cli("directory", "import", HOSTILE / "long-name.json.gz", "--json", db=db_url)
    assert result.code == 0, result.err
    (reject,) = result.json()["rejected"]
    assert reject["reason"] == "name is longer than 500 characters (2,000,016)"
    listed = cli("directory", "list", "--json", "--limit", "0", db=db_url).json()
    assert len(listed) == 2 and all(len(row["name"]) < 100 for row in listed)
    strict = cli("directory", "import", HOSTILE / "long-name.json.gz", "--strict", db=db_url)
    refused(strict, "record 2", "name is longer than 500 characters")


# --- control characters: taken out, or a reject under --strict ---------------------------


@pytest.mark.parametrize(
    ("name", "first"),
    [("control-chars.json", "record 2 (id "), ("control-chars.csv", "line 3 (id h-3)")],
)
def test_control_characters_taken_out_or_refused(cli, db_url: str, name: str, first: str) -> None:
    before = snapshot(db_url)
    strict = cli("directory", "import", HOSTILE / name, "--strict", db=db_url)
    refused(strict, first, "control characters in name", "(--strict)")
    assert snapshot(db_url) == before

    result = cli("directory", "import", HOSTILE / name, "--json", db=db_url)
    assert result.code == 0 and result.json()["rejected"] == []
    listed = cli("directory", "list", "--json", "--limit", "0", db=db_url).json()
    shown = [cli("directory", "show", row["id"], "--json", db=db_url).json() for row in listed]
    assert all(not has_control(s, multiline=True) for s in strings_of(shown))
    names = {s["name"] for s in shown}
    if name.endswith(".json"):
        assert "Eve]0;owned[2J Food Bank" in names
        assert any(s["description"] == "Help [31mwith debt[0m" for s in shown)
        assert any(s["organisation"] == "Trust2J North" for s in shown)
    else:
        assert "Eve[2J Club" in names
        eve = next(s for s in shown if s["name"] == "Eve[2J Club")
        assert (eve["organisation"], eve["description"]) == ("Trust", "Desc]0;t")


def test_nul_in_a_csv_cell(cli, db_url: str) -> None:
    result = cli("directory", "import", HOSTILE / "nul.csv", "--json", db=db_url)
    assert result.code == 0 and result.json()["added"] == 3
    assert cli("directory", "show", "h-3", "--json", db=db_url).json()["name"] == "Nul Club"
    refused(
        cli("directory", "import", HOSTILE / "nul.csv", "--strict", "--source", "x", db=db_url),
        "line 3 (id h-3): control characters in name",
    )


def test_unreadable_values_left_out_or_refused_under_strict(
    cli, db_url: str, tmp_path: Path
) -> None:
    result = cli("directory", "import", HOSTILE / "unreadable-values.json", "--json", db=db_url)
    assert result.code == 0 and result.json()["added"] == 3
    assert [(n["where"], n["note"]) for n in result.json()["notes"]] == [
        ("record 2", "unreadable assured_date 'last Tuesday' left out"),
        ("record 3", "unreadable regular_schedules[0].opens_at '9ish' left out"),
        ("record 3", "unreadable regular_schedules[0].weekday 'Funday' left out"),
    ]
    items = json.loads((HOSTILE / "unreadable-values.json").read_text())["content"]
    dated = cli("directory", "show", items[1]["id"], "--json", db=db_url).json()
    assert dated["last_verified"] is None  # unknown, as when the feed gives no date
    hours = cli("directory", "show", items[2]["id"], "--json", db=db_url).json()
    assert hours["opening_hours"] == []

    before = snapshot(db_url)
    refused(
        cli("directory", "import", HOSTILE / "unreadable-values.json", "--strict", db=db_url),
        "record 2",
        "unreadable assured_date 'last Tuesday'",
    )
    feed = tmp_path / "hours.json"
    feed.write_text(json.dumps([items[0], items[2]]))
    refused(
        cli("directory", "import", feed, "--strict", db=db_url),
        "record 2",
        "unreadable regular_schedules[0].opens_at '9ish'",
    )
    assert snapshot(db_url) == before


# --- limits from the settings, named in the error ---------------------------------------


@pytest.mark.parametrize(
    ("setting", "value", "source", "expected"),
    [
        ("PAGE_BYTES", "100000", "sample.json", "more than 100,000 bytes in one page"),
        ("FEED_BYTES", "200000", "pages", "more than 200,000 bytes in all"),
        ("FEED_BYTES", "102400", "sample.csv", "more than 100 KiB in all"),
        ("PAGES", "2", "pages", "more than 2 files"),
        ("SERVICES", "100", "sample.json", "more than 100 services"),
        ("SERVICES", "100", "sample.csv", "more than 100 services"),
    ],
)
def test_each_limit_is_a_setting_named_in_the_error(
    cli,
    db_url: str,
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
    value: str,
    source: str,
    expected: str,
) -> None:
    path = {
        "sample.json": shared_data / "directory-sample.oruk.json",
        "sample.csv": shared_data / "directory-sample.csv",
        "pages": DATA / "council-v1-pages",
    }[source]
    assert cli("directory", "import", path, "--source", "fits", db=db_url).code == 0
    before = snapshot(db_url)
    monkeypatch.setenv(f"LINKWORK_IMPORT_MAX_{setting}", value)
    result = cli("directory", "import", path, db=db_url)
    refused(result, expected, f"(setting import_max_{setting.lower()})", "nothing imported")
    assert snapshot(db_url) == before


def test_what_services_hold_is_bounded_too(
    cli, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small services holding many entries each (here languages) are bounded by the services
    limit: ten entries for each service it allows, on average."""
    feed = tmp_path / "many.json"
    languages = [f"Language {i}" for i in range(20)]
    feed.write_text(
        json.dumps([{"id": f"s{i}", "name": "S", "languages": languages} for i in range(4)])
    )
    monkeypatch.setenv("LINKWORK_IMPORT_MAX_SERVICES", "5")
    before = snapshot(db_url)
    result = cli("directory", "import", feed, db=db_url)
    refused(result, "more than 50 opening times, locations, contacts, languages and categories")
    assert "(10 for each service the setting import_max_services allows)" in result.err
    assert snapshot(db_url) == before
    monkeypatch.setenv("LINKWORK_IMPORT_MAX_SERVICES", "8")
    assert cli("directory", "import", feed, db=db_url).code == 0


@pytest.mark.parametrize("value", ["0", "-1", "lots"])
def test_a_limit_must_be_a_positive_whole_number(
    cli, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("LINKWORK_IMPORT_MAX_PAGES", value)
    result = cli("directory", "import", DATA / "oruk3-page.json")
    refused(result, "setting import_max_pages must")


def test_the_limits_default_to_the_domain_limits() -> None:
    from linkwork.settings import Settings

    settings, limits = Settings(), Limits()
    assert (
        settings.import_max_page_bytes,
        settings.import_max_feed_bytes,
        settings.import_max_pages,
        settings.import_max_services,
    ) == (limits.page_bytes, limits.feed_bytes, limits.pages, limits.services)
    assert limits.page_bytes == 16 * MB and limits.feed_bytes == 64 * MB


def test_a_feed_named_by_its_file_keeps_no_control_characters(
    cli, db_url: str, tmp_path: Path
) -> None:
    feed = tmp_path / "feed\x1b[2J\x07.json"
    feed.write_bytes((DATA / "oruk3-page.json").read_bytes())
    result = cli("directory", "import", feed, "--json", db=db_url)
    assert result.code == 0 and result.json()["source"] == "feed[2J"
    refused(
        cli("directory", "import", feed, "--source", "mine\x1b[2J", db=db_url),
        "the feed name contains a control character (U+001B)",
    )


# --- addresses that are not http(s), files or folders -----------------------------------


@pytest.mark.parametrize(
    "address", ["ftp://example.org/feed.json", "file:///etc/passwd", "sftp://host/x"]
)
def test_other_schemes_are_named_not_missing(cli, address: str) -> None:
    result = cli("directory", "import", address)
    scheme = address.split(":")[0]
    refused(result, "linkwork reads only http:// and https:// addresses, files and folders")
    assert f"(not {scheme}://)" in result.err and "no such file" not in result.err


# --- a stream that never ends ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "kind", "expected"),
    [
        ("oruk", "random", "more than 16 MiB in one page (setting import_max_page_bytes)"),
        ("auto", "random", "line 1: not UTF-8 text"),
        ("csv", "zeros", "line 1: longer than 1,048,576 characters"),
        ("auto", "json", "more than 16 MiB in one page (setting import_max_page_bytes)"),
        ("auto", "csv", "more than 2,000 services (setting import_max_services)"),
    ],
)
def test_an_endless_stream_stops_at_a_limit(
    cli,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
    kind: str,
    expected: str,
) -> None:
    monkeypatch.setenv("LINKWORK_IMPORT_MAX_SERVICES", "2000")
    rows = endless_csv_rows()
    head, chunk = {
        # 0xFF is never UTF-8: random bytes alone make a valid first line now and then
        "random": (b"\xff", random_bytes),
        "zeros": (b"", lambda: bytes(1 << 16)),
        "json": (b"[", lambda: b'{"id": "s", "name": "Endless"},' * 2000),
        "csv": (b"id,name\n", lambda: next(rows)),
    }[kind]
    before = snapshot(db_url)
    with endless_pipe(tmp_path / "endless", chunk, head) as written:
        result = cli("directory", "import", tmp_path / "endless", "--format", fmt, db=db_url)
    refused(result, "endless", expected)
    assert snapshot(db_url) == before
    assert written[0] < 20 * MB  # it stopped reading (the pipe holds at most 1 MiB more)


@pytest.mark.skipif(not Path("/dev/urandom").exists(), reason="no /dev/urandom")
def test_dev_urandom(cli, db_url: str) -> None:
    result = cli("directory", "import", "/dev/urandom", "--format", "oruk", db=db_url)
    refused(result, "/dev/urandom: more than 16 MiB in one page")


# --- a server that never stops -----------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected", "requests"),
    [
        ("same-1e9", "page=1: the server says there are 1,000,000,000 pages", 1),
        ("changing-1e9", "(setting import_max_pages)", 1),
        ("same-last-false", "page=2: the same page as page 1 again", 2),
        ("same-services", "page=2: only services already read on earlier pages", 2),
        ("changing", "more than 30 pages (setting import_max_pages)", 30),
    ],
)
def test_a_server_that_never_stops_paging(
    cli, sampled: str, monkeypatch: pytest.MonkeyPatch, mode: str, expected: str, requests: int
) -> None:
    monkeypatch.setenv("LINKWORK_IMPORT_MAX_PAGES", "30")
    db_url = sampled
    before = snapshot(db_url)
    with oruk_server(mode) as server:
        result = cli("directory", "import", server.url, db=db_url)
    refused(result, expected, "nothing imported")
    assert len(server.requests) == requests
    assert snapshot(db_url) == before


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("endless-body", "page=1: more than 1 MiB in one page (setting import_max_page_bytes)"),
        ("huge-length", "page=1: more than 1 MiB in one page"),
        ("gzip-bomb", "page=1: more than 1 MiB in one page"),
        ("redirect-loop", "page=1: more than 5 redirects"),
    ],
)
def test_a_response_that_never_ends(
    cli, db_url: str, monkeypatch: pytest.MonkeyPatch, mode: str, expected: str
) -> None:
    monkeypatch.setenv("LINKWORK_IMPORT_MAX_PAGE_BYTES", str(MB))
    before = snapshot(db_url)
    with oruk_server(mode) as server:
        result = cli("directory", "import", server.url, db=db_url)
    refused(result, expected)
    assert len(server.requests) <= 6
    assert snapshot(db_url) == before


def test_a_redirect_body_is_never_read(cli, db_url: str) -> None:
    """httpx reads a redirect's body whole when it follows one: linkwork follows them itself."""
    with oruk_server("redirect-endless-body") as server:
        result = cli("directory", "import", server.url, "--json", db=db_url)
    assert result.code == 0, result.err
    assert result.json()["added"] == 1
    assert [p.split("?")[0] for p in server.requests] == ["/api/services", "/moved/api/services"]


# --- memory: a child process, measured ---------------------------------------------------


@pytest.mark.slow
def test_endless_feeds_stay_under_500_mb(tmp_path: Path) -> None:
    """The two endless feeds of the issue, with the default limits, in a child process each:
    a pipe of random bytes and a server paging for ever with 4 MiB pages (until the 64 MiB
    feed limit: the services read so far are all held). Each fails cleanly; the child's peak
    resident memory (its own high-water mark) stays under 500 MB."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINKWORK_", "PYTEST_", "COV"))}
    env.update(
        LINKWORK_HOME=str(tmp_path / "home"),
        LINKWORK_CONFIG=str(tmp_path / "no-config.toml"),
        LINKWORK_USER="test.worker",
        LINKWORK_DB_PASSPHRASE="endless feeds test passphrase",  # the default is encrypted
        PYTHONPATH=str(Path(__file__).resolve().parents[1]),
    )
    runs = {}
    with endless_pipe(tmp_path / "endless", random_bytes):
        runs["pipe"] = run_measured(
            ["directory", "import", str(tmp_path / "endless"), "--format", "oruk"], env
        )
    with oruk_server("changing", per_page=100, description_chars=40_000) as server:
        runs["server"] = run_measured(["directory", "import", server.url], env)
    assert "more than 16 MiB in one page" in runs["pipe"].err
    assert "more than 64 MiB in all (setting import_max_feed_bytes)" in runs["server"].err
    assert len(server.requests) == 17  # 16 pages of 4 MiB, and the one that went over
    for name, run in runs.items():
        assert run.code == 2 and run.err.count("\n") == 1, (name, run.err)
        assert run.peak_rss_mb < 500, (name, run.peak_rss_mb)


# --- the checks themselves ---------------------------------------------------------------


def nested(depth: int, text: str = "x") -> str:
    """``depth`` arrays and objects, one inside the other, around a string."""
    opens = "".join('{"a": ' if i % 2 else "[" for i in range(depth))
    closes = "".join("}" if i % 2 else "]" for i in reversed(range(depth)))
    return opens + json.dumps(text) + closes


@pytest.mark.parametrize("depth", [1, MAX_DEPTH - 1, MAX_DEPTH])
def test_depth_up_to_the_limit_is_read(depth: int) -> None:
    check_json(nested(depth).encode(), "page", 10_000)
    json.loads(nested(depth))


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 999, 100_000])
def test_depth_over_the_limit_is_refused_before_parsing(depth: int) -> None:
    with pytest.raises(ValueError, match=r"^page: JSON nested more than 64 levels deep$"):
        check_json(nested(depth).encode(), "page", 10**9)


@pytest.mark.parametrize(
    "text",
    [
        '["' + "[" * 500 + '"]',  # brackets inside a string are text
        '["\\"' + "[{" * 200 + '\\""]',  # ... even after an escaped quote
        '{"a\\\\": "' + "]" * 300 + '"}',  # and after an escaped backslash
    ],
)
def test_brackets_in_strings_do_not_count(text: str) -> None:
    check_json(text.encode(), "page", 10_000)
    assert json.loads(text)


def test_malformed_and_deep_is_refused_as_deep() -> None:
    """Unbalanced brackets are left for the parser, whose RecursionError is caught."""
    with pytest.raises(ValueError, match=r"nested more than 64 levels deep"):
        load_json(b"[" * 100_000, "page", Limits())


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": ' + b"9" * 101 + b"}",
        b'{"a": 1.' + b"5" * 200 + b"}",
        b'{"a": -' + b"1" * 5000 + b"e5}",
    ],
)
@pytest.mark.parametrize("window", [7, 64, WINDOW])
def test_long_numbers_are_refused_with_the_file_name(text: bytes, window: int) -> None:
    """Python's own message for a 5,000-digit int names no file; linkwork's does, and says
    the limit, wherever the windows cut the number."""
    with pytest.raises(ValueError, match=r"^feed\.json: a number more than 100 characters long"):
        check_json(text, "feed.json", 10**6, window=window)
    with pytest.raises(ValueError, match=r"^feed\.json: a number more than 100 characters long"):
        load_json(text, "feed.json", Limits())


def test_a_number_of_exactly_the_limit_is_read() -> None:
    assert load_json(b"[" + b"9" * 100 + b"]", "feed.json", Limits()) == [int("9" * 100)]


def test_long_digit_runs_in_text_are_text() -> None:
    doc = load_json(b'{"a": "' + b"9" * 5000 + b'", "b": 1e10}', "feed.json", Limits())
    assert len(doc["a"]) == 5000


def test_value_count_scales_with_the_page_limit() -> None:
    small = Limits(page_bytes=16 * 1000)  # 1,000 values
    load_json(b"[" + b"0," * 998 + b"0]", "page", small)
    with pytest.raises(FeedTooLarge, match=r"more than 1,000 JSON values in one page"):
        load_json(b"[" + b"0," * 1000 + b"0]", "page", small)


def test_budget_names_the_limit_that_was_reached() -> None:
    budget = Budget(Limits(page_bytes=100, feed_bytes=250, pages=2, services=3), "feed")
    budget.take(100, "p1")
    with pytest.raises(FeedTooLarge, match=r"^p2: more than 100 bytes in one page"):
        budget.take(101, "p2")
    budget.take(100, "p2")
    with pytest.raises(FeedTooLarge, match=r"^feed: more than 250 bytes in all"):
        budget.take(51, "p3")
    budget.page("p1")
    budget.page("p2")
    with pytest.raises(FeedTooLarge, match=r"^feed: more than 2 pages"):
        budget.page("p3")
    for _ in range(3):
        budget.service()
    with pytest.raises(FeedTooLarge, match=r"^feed: more than 3 services"):
        budget.service()
    budget.keep(30)
    with pytest.raises(FeedTooLarge, match=r"^feed: more than 30 opening times, locations"):
        budget.keep(1)


@pytest.mark.parametrize("value", [0, -1, True, 1.5])
def test_limits_must_be_positive_whole_numbers(value: object) -> None:
    with pytest.raises(ValueError, match=r"setting import_max_pages must be a whole number"):
        Limits(pages=value)  # type: ignore[arg-type]


# --- the pre-parse check against the parser, on any JSON ---------------------------------

_TRICKY = st.text(alphabet=st.sampled_from(list('ab"\\[]{},:019eE.-+ \n\tX\u00e9\u202e')))
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TRICKY
    | st.just("9" * 150),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(_TRICKY, children, max_size=5)
    ),
    max_leaves=30,
)


def _reference(value: object) -> tuple[int, int]:
    """(values as check_json counts them, nesting depth) from the parsed document."""
    children = (
        list(value.values())
        if isinstance(value, dict)
        else value
        if isinstance(value, list)
        else None
    )
    if children is None:
        return 0, 0
    counted = [_reference(child) for child in children]
    values = 1 + max(len(children) - 1, 0) + sum(v for v, _ in counted)
    return values, 1 + max((d for _, d in counted), default=0)


@settings(max_examples=300, deadline=None)
@given(
    doc=_JSON,
    wrap=st.integers(0, 70),
    window=st.sampled_from([1, 2, 3, 5, 8, 64, WINDOW]),
    ensure_ascii=st.booleans(),
    compact=st.booleans(),
)
def test_check_json_counts_what_the_parser_reads(
    doc: object, wrap: int, window: int, ensure_ascii: bool, compact: bool
) -> None:
    """Whatever the strings hold (quotes, backslashes, brackets, digits, the window's own
    X) and wherever the windows cut: the values counted and the depth found are the
    document's own, so the limits are exact."""
    for level in range(wrap):
        doc = [doc] if level % 2 else {"k": doc}
    text = json.dumps(
        doc, ensure_ascii=ensure_ascii, separators=(",", ":") if compact else None
    ).encode()
    values, depth = _reference(doc)
    if depth > MAX_DEPTH:
        with pytest.raises(ValueError, match=r"nested more than 64 levels deep"):
            check_json(text, "page", values, window=window)
        return
    check_json(text, "page", values, window=window)
    if values:
        with pytest.raises(FeedTooLarge, match=r"JSON values in one page"):
            check_json(text, "page", values - 1, window=window)
