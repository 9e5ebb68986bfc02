"""The bad-input corpus (issue 15, "Must show"): every case is a ``linkwork`` command line
with something wrong in it, and every case must keep the same promises, on SQLite and on
PostgreSQL:

- exactly one line on stderr, starting ``linkwork: `` and naming the problem (a phrase of it
  is in the case), and nothing on stdout;
- exit 2 (bad input, refused), or 1 (nothing found);
- the database unchanged: every table's rows, sorted and hashed, equal before and after;
- no file left behind in any working folder (the data folder, the keys folder, the inbox and
  outbox, the case's own folder, the temporary folder, beside the database): no partial file,
  no temporary file, nothing changed;
- no control character (other than the newline ending the line) in anything printed.

The cases are data: ``tests/data/bad_input/cases.yaml`` (argv, optional stdin, optional
input files made by the small builders below, environment, expected code and phrase). A
case whose fix has not landed yet carries ``xfail: "waiting for <which fix>"`` and runs as
``xfail(strict=True)``: when the fix lands the case passes, strict xfail fails loudly, and
the mark comes off.

One "world" per backend is built once (a hub that has received a referral from a practice,
a person with a need, consent and a referral, a small directory, trusted keys); each case
runs against a working copy of it, replaced only when a case changed it.
"""

from __future__ import annotations

import gc
import hashlib
import io
import json
import os
import shutil
import sqlite3
import stat
import sys
import tempfile
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from db_rows_support import pg_connect, rows_hash
from test_exchange_support import (
    Keys,
    jwcrypto_encrypt,
    jwcrypto_sign,
    make_referral,
)

from linkwork import db as lwdb

HERE = Path(__file__).resolve().parent
CASES_FILE = HERE / "data" / "bad_input" / "cases.yaml"
DIRECTORY_DATA = HERE / "data" / "directory"
HUB = "Northside Hub"
ANN_NHS = "9434765919"  # the NHS's published example of a valid number
GOOD_JWE = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "cty": "JOSE"}


# --- running linkwork in-process (the world's set-up; the cases use the ``cli`` fixture) ----


def _run(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    from linkwork.cli import main

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        for name in ("LINKWORK_DATABASE_URL", "LINKWORK_PRACTICE", "LINKWORK_OUTBOX",
                     "LINKWORK_INBOX", "LINKWORK_EXTRA_QUESTIONS"):  # fmt: skip
            mp.delenv(name, raising=False)
        for name, value in env.items():
            mp.setenv(name, value)
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main([str(a) for a in argv])
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def _ok(argv: list[str], env: dict[str, str]) -> Any:
    code, out, err = _run([*argv, "--json"], env)
    assert code == 0, (argv, err)
    return json.loads(out)


@pytest.fixture(scope="module", autouse=True)
def built_commands_once() -> Iterator[None]:
    """Typer builds the Click command tree from the functions' signatures on every call of
    the app (about 0.3 s, most of an in-process run); the tree is the same each time, so it
    is built once here. Nothing else about a run changes."""
    import typer.main

    build = typer.main.get_command
    built: dict[int, Any] = {}

    def get_command(typer_instance: Any) -> Any:
        key = id(typer_instance)
        if key not in built:
            built[key] = build(typer_instance)
        return built[key]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(typer.main, "get_command", get_command)
        yield


# --- the database as rows -----------------------------------------------------------------


# PostgreSQL connections dump_hash keeps, one per database (idle between looks, in
# autocommit: they hold no lock); closed with the world.
_PG_READERS: dict[str, Any] = {}


def close_pg_readers() -> None:
    for conn in _PG_READERS.values():
        conn.close()
    _PG_READERS.clear()


def dump_hash(url: str) -> str:
    """Every table's rows, each row as text, sorted, hashed: equal = nothing changed (read
    through the driver alone, tests/db_rows_support.py; on PostgreSQL on a connection kept
    for the database: it runs twice per case)."""
    pg = None
    if sa.make_url(url).get_backend_name() != "sqlite":
        pg = _PG_READERS.get(url)
        if pg is None or pg.closed:
            pg = _PG_READERS[url] = pg_connect(url)
    return rows_hash(url, pg=pg)


def files_under(*folders: Path) -> dict[str, tuple[str, int]]:
    """path -> (content hash, permission bits) of every file below ``folders``."""
    out: dict[str, tuple[str, int]] = {}
    for folder in folders:
        if not folder.exists():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_dir() and not path.is_symlink():
                continue
            try:
                data = path.read_bytes() if path.is_file() else b"<special>"
                mode = stat.S_IMODE(path.lstat().st_mode)
            except OSError as exc:
                data, mode = f"<unreadable {exc.errno}>".encode(), 0
            out[str(path)] = (hashlib.sha256(data).hexdigest(), mode)
    return out


# Characters that reorder what a terminal shows (Trojan Source): counted as controls too.
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def control_characters(text: str) -> list[str]:
    """Every control character (Unicode category Cc, and the bidirectional controls) in
    ``text`` other than a newline."""
    return [
        f"U+{ord(ch):04X}"
        for ch in text
        if ch != "\n" and (unicodedata.category(ch) == "Cc" or ch in BIDI)
    ]


# --- the world: a hub with some history, built once per backend ---------------------------


@dataclass
class Practice:
    """The practice side, made once: keys, and referral files the hub can receive."""

    keys: Keys
    received: Path  # referral A: received by every world in its set-up
    good: Path  # referral B: never received; the crafted files are variants of it
    bundle: dict[str, Any]  # referral B's plain Bundle


@dataclass
class World:
    backend: str
    url: str
    folder: Path
    practice: Practice
    hub_keys: Path  # the hub's keys folder (copied for each case)
    ids: dict[str, str]
    baseline: str = ""
    dirty: bool = False
    restore: Callable[[], str] = field(default=lambda: "")


def _valid_nhs(nine: str) -> str:
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    assert check != 10
    return nine + str(0 if check == 11 else check)


@pytest.fixture(scope="session")
def practice(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Practice:
    folder = tmp_path_factory.mktemp("practice")
    env = {
        "LINKWORK_HOME": str(folder / "home"),
        "LINKWORK_CONFIG": str(folder / "no-config.toml"),
        "LINKWORK_USER": "practice.worker",
        "LINKWORK_KEYS_DIR": str(folder / "keys"),
    }
    db = folder / "practice.db"
    shutil.copy(sqlite_template, db)
    url = f"sqlite:///{db}"
    keys = Keys(folder / "keys")
    for name in ("practice", "hub", "other"):
        code, _, err = _run(["keys", "new", name, "--out", keys.folder], env)
        assert code == 0, err
    code, _, err = _run(["--db", url, "keys", "trust", keys.public("hub"), "--name", "hub"], env)
    assert code == 0, err
    files = {}
    for label, nhs in (("received", "9990000018"), ("good", _valid_nhs("999000003"))):
        made = make_referral(url, hub=HUB, nhs=nhs, given=label.title(), family="Testperson")
        target, plain = folder / f"{label}.jwe", folder / f"{label}.json"
        argv = ["--db", url, "referral", "export", made.referral_id, "--to", "hub", "--key",
                keys.private("practice"), "--out", target, "--plain-out", plain]  # fmt: skip
        code, _, err = _run(argv, env)
        assert code == 0, err
        files[label] = (target, plain)
    bundle = json.loads(files["good"][1].read_text())
    return Practice(keys, files["received"][0], files["good"][0], bundle)


def _build_world(backend: str, url: str, folder: Path, practice: Practice) -> World:
    hub_keys = folder / "hub-keys"
    hub_keys.mkdir(mode=0o700)
    for name in ("hub.private.jwk", "hub.public.jwk"):
        shutil.copy(practice.keys.folder / name, hub_keys / name)
        (hub_keys / name).chmod(0o600 if "private" in name else 0o644)
    env = {
        "LINKWORK_HOME": str(folder / "home"),
        "LINKWORK_CONFIG": str(folder / "no-config.toml"),
        "LINKWORK_USER": "hub.worker",
        "LINKWORK_KEYS_DIR": str(hub_keys),
    }
    db = ["--db", url]
    ok = _ok
    ok([*db, "keys", "trust", practice.keys.public("practice"), "--name", "practice"], env)
    received = ok([*db, "referral", "receive", practice.received], env)
    ok([*db, "directory", "import", DIRECTORY_DATA / "oruk3-page.json", "--source", "seed"], env)
    person = ok(
        [*db, "person", "add", "--given", "Ann", "--family", "Example", "--birth-date",
         "1970-05-06", "--nhs-number", ANN_NHS, "--postcode", "ZZ1 1AA", "--practice", "Y02101",
         "--phone", "01632 960123", "--email", "ann@example.org", "--sex", "female"],
        env,
    )  # fmt: skip
    need = ok([*db, "need", "add", person["id"], "--code", "Z59.0", "--words", "sofa"], env)
    ok([*db, "consent", "record", person["id"], "--hub", HUB], env)
    referral = ok([*db, "refer", person["id"], "--need", "Z59.0", "--hub", HUB], env)
    for status in ("accepted", "in-progress"):  # ready for an outcome (the ONS4 cases)
        ok([*db, "referral", "status", received["referral_id"], status], env)
    ids = {
        "person": person["id"],
        "nhs": ANN_NHS,
        "need": need["id"],
        "referral": referral["id"],
        "received": received["referral_id"],
        "service": "3f1f0c8e-2a49-4b3a-9d0e-9b5a7f0e0001",
    }
    return World(backend, url, folder, practice, hub_keys, ids)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    practice: Practice,
    sqlite_template: Path,
) -> Iterator[World]:
    import conftest

    folder = tmp_path_factory.mktemp(f"world-{request.param}")
    if request.param == "sqlite":
        building = folder / "building.db"
        shutil.copy(sqlite_template, building)
        built = _build_world("sqlite", f"sqlite:///{building}", folder, practice)
        gc.collect()  # the set-up's engines let go of the file
        # A consistent copy (with what is still in the WAL) that no engine ever opens: each
        # working copy is taken from it.
        seeded = folder / "db" / "seeded.db"
        seeded.parent.mkdir()
        source, target = sqlite3.connect(building), sqlite3.connect(seeded)
        with target:
            source.backup(target)
        source.close()
        target.close()

        def restore() -> str:
            target = seeded.parent / f"working-{uuid.uuid4().hex[:8]}.db"
            shutil.copy(seeded, target)
            return f"sqlite:///{target}"

        built.restore = restore
        built.url = restore()
        built.baseline = dump_hash(built.url)
        yield built
        return
    if conftest.PG_ADMIN_URL is None:
        if os.environ.get("LINKWORK_REQUIRE_PG") == "1":
            pytest.fail("PostgreSQL required (LINKWORK_REQUIRE_PG=1) but no PG* variables set")
        pytest.skip("no PostgreSQL: run the suite under pg_virtualenv (see .ci/run)")
    template = request.getfixturevalue("pg_template")
    admin = sa.create_engine(conftest.PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def create(name: str, source: str) -> str:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        made.append(name)
        return (
            sa.make_url(conftest.PG_ADMIN_URL)
            .set(database=name)
            .render_as_string(hide_password=False)
        )

    seeded_name = f"lw_bad_seed_{uuid.uuid4().hex[:8]}"
    built = _build_world("postgresql", create(seeded_name, template), folder, practice)
    lwdb.create_engine(built.url).dispose()

    def restore_pg() -> str:
        with admin.connect() as conn:  # the seeded database must have no session to copy it
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{seeded_name}' AND pid <> pg_backend_pid()"
            )
        return create(f"lw_bad_{uuid.uuid4().hex[:10]}", seeded_name)

    built.restore = restore_pg
    built.url = restore_pg()
    built.baseline = dump_hash(built.url)
    yield built
    close_pg_readers()
    with admin.connect() as conn:
        for name in made:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


# --- building a case's input files --------------------------------------------------------


def _seal(w: World, payload: bytes) -> bytes:
    """``payload`` signed by the practice and encrypted to the hub (jwcrypto, not our code)."""
    keys = w.practice.keys
    inner = jwcrypto_sign(
        payload, keys.jwk("practice", private=True), {"alg": "ES256", "kid": keys.kid("practice")}
    )
    head = {**GOOD_JWE, "kid": keys.kid("hub")}
    return jwcrypto_encrypt(inner, keys.jwk("hub"), head).encode()


def _patient(bundle: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    return found


def _service_request(bundle: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
    )
    return found


def _bundle_variant(w: World, change: str, value: Any) -> bytes:
    bundle = json.loads(json.dumps(w.practice.bundle))
    if change == "nhs":
        for ident in _patient(bundle).get("identifier", []):
            if "nhs-number" in ident.get("system", ""):
                ident["value"] = value
    elif change == "given":
        _patient(bundle)["name"][0]["given"] = [value]
    elif change == "family":
        _patient(bundle)["name"][0]["family"] = value
    elif change == "birth_date":
        _patient(bundle)["birthDate"] = value
    elif change == "postcode":
        _patient(bundle)["address"] = [{"postalCode": value}]
    elif change == "reason":
        request = _service_request(bundle)
        request["note"] = [{"text": value}]
    else:
        raise AssertionError(f"unknown bundle change {change!r}")
    return _seal(w, json.dumps(bundle, ensure_ascii=False).encode())


def _deep(depth: int, shell: str = "[]") -> bytes:
    return (shell[0] * depth + shell[1] * depth).encode()


def _flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x01
    return bytes(out)


def build(w: World, spec: Any) -> bytes:
    """A case's file (or stdin) from its spec: text, a copy of a test data file, or a
    builder with its arguments."""
    if isinstance(spec, str):
        return spec.encode("utf-8")
    if "text" in spec:
        return str(spec["text"]).encode(spec.get("encoding", "utf-8"))
    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    if "copy" in spec:
        return (HERE / "data" / spec["copy"]).read_bytes()
    if "json" in spec:
        return json.dumps(spec["json"], ensure_ascii=False).encode()
    kind = spec["build"]
    good = w.practice.good.read_bytes().strip()
    if kind == "random":
        return os.urandom(int(spec["size"]))
    if kind == "deep":
        return _deep(int(spec["depth"]), spec.get("shell", "[]"))
    if kind == "long_number":
        digits = "9" * int(spec["digits"])
        return spec["template"].replace("NUMBER", digits).encode()
    if kind == "good_jwe":
        return good + b"\n"
    if kind == "received_jwe":
        return w.practice.received.read_bytes()
    if kind == "truncated_jwe":
        return good[: int(len(good) * float(spec["fraction"]))]
    if kind == "flipped_jwe":
        return _flip(good, int(len(good) * float(spec["at"])))
    if kind == "oversized_jwe":
        head, rest = good.split(b".", 1)
        padding = b"A" * (int(spec["megabytes"]) * 1024 * 1024)
        return head + b"." + padding + rest
    if kind == "signed_only":
        keys = w.practice.keys
        return jwcrypto_sign(
            json.dumps(w.practice.bundle).encode(),
            keys.jwk("practice", private=True),
            {"alg": "ES256", "kid": keys.kid("practice")},
        ).encode()
    if kind == "sealed":
        payload = spec["payload"]
        if isinstance(payload, dict):
            return _seal(w, build(w, payload))
        return _seal(w, str(payload).encode())
    if kind == "bundle":
        return _bundle_variant(w, spec["change"], spec["value"])
    if kind == "key":
        return (w.practice.keys.folder / f"{spec['name']}.jwk").read_bytes()
    raise AssertionError(f"unknown builder {kind!r}")


# --- the corpus ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]
    code: int
    says: str
    stdin: Any = None
    files: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    keys: dict[str, Any] = field(default_factory=dict)  # changes to the hub's keys folder
    xfail: str = ""
    only: str = ""  # "sqlite" or "postgresql": a case about one backend


def load_cases() -> list[Case]:
    # BaseLoader: every scalar stays the text written (a date, a number, "yes" are argv
    # words as typed), double-quoted escapes ("\e", "\x07", "\0") still work.
    raw = yaml.load(CASES_FILE.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    cases = []
    for item in raw:
        fields = {k.replace("-", "_"): v for k, v in item.items()}
        fields["code"] = int(fields["code"])
        cases.append(Case(**fields))
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases


CASES = load_cases()
AREAS = ("directory", "person", "need", "referral", "keys", "report")


def _params() -> list[Any]:
    out = []
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        out.append(pytest.param(case, marks=marks, id=case.id))
    return out


def _fill(text: str, w: World, folder: Path) -> str:
    values = {
        "in": str(folder / "in"),
        "keys": str(folder / "keys"),
        "home": str(folder / "linkwork-home"),
        "long": "9" * 5000,
        "huge": "A" * 2_000_000,
        **w.ids,
    }
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


@pytest.fixture
def case_folder(tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The case's working folders: data folder, keys (a copy of the hub's), inbox, outbox,
    input files, temporary folder; and a database equal to the world's baseline."""
    for name in ("linkwork-home", "in", "inbox", "outbox", "tmp"):
        (tmp_path / name).mkdir(exist_ok=True)
    shutil.copytree(world.hub_keys, tmp_path / "keys")
    (tmp_path / "keys").chmod(0o700)
    monkeypatch.setenv("LINKWORK_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("LINKWORK_INBOX", str(tmp_path / "inbox"))
    monkeypatch.setenv("LINKWORK_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("LINKWORK_USER", "hub.worker")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    if world.dirty:
        world.url = world.restore()
        world.dirty = False
    return tmp_path


def _prepare(case: Case, w: World, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, spec in case.files.items():
        target = Path(_fill(f"{{in}}/{name}", w, folder))
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(spec, dict) and spec.get("folder"):
            target.mkdir()
            continue
        target.write_bytes(build(w, spec))
        if isinstance(spec, dict) and "mode" in spec:
            target.chmod(int(str(spec["mode"]), 8))
    for name, change in case.keys.items():
        target = folder / "keys" / name
        if change == "remove":
            target.unlink()
        elif isinstance(change, dict) and "mode" in change:
            target.chmod(int(str(change["mode"]), 8))
        else:
            target.write_bytes(build(w, change))
            target.chmod(0o600)
    for name, value in case.env.items():
        monkeypatch.setenv(name, _fill(str(value), w, folder))
    if case.stdin is not None:
        data = build(w, case.stdin)
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def run_case(cli, world: World, folder: Path, case: Case) -> tuple[list[str], str]:  # type: ignore[no-untyped-def]
    """Run one case; what is wrong with the outcome (nothing, for a good refusal) and the
    exit code and stderr, for the failure message."""
    db_folder = None
    if world.backend == "sqlite":
        db_folder = Path(sa.make_url(world.url).database or "").parent

    def files() -> dict[str, tuple[str, int]]:
        found = files_under(folder, *([db_folder] if db_folder else []))
        # the database files themselves (and SQLite's journal beside them) are not the case's
        return {
            p: v
            for p, v in found.items()
            if not (db_folder and Path(p).parent == db_folder and Path(p).name.startswith(
                ("working-", "seeded")))
        }  # fmt: skip

    before_db = dump_hash(world.url)
    assert before_db == world.baseline, "the working database is not the world's baseline"
    before_files = files()

    argv = [_fill(a, world, folder) for a in case.argv]
    result = cli(*argv, db=world.url)

    if os.environ.get("LINKWORK_SHOW_BAD_INPUT"):  # to review the words: pytest -s
        print(f"\n{case.id}: exit {result.code}: {result.err.strip()[:300]}")
    after_db = dump_hash(world.url)
    world.dirty = after_db != before_db
    after_files = files()
    problems = []
    lines = result.err.split("\n")
    if result.code != case.code:
        problems.append(f"exit {result.code}, expected {case.code}")
    if not (len(lines) == 2 and lines[1] == "" and lines[0].startswith("linkwork: ")):
        problems.append(f"stderr is not one 'linkwork: ' line: {result.err[:400]!r}")
    elif case.says not in lines[0]:
        problems.append(f"stderr does not say {case.says!r}")
    if result.out:
        problems.append(f"stdout not empty: {result.out[:200]!r}")
    if world.dirty:
        problems.append("the database changed")
    if after_files != before_files:
        new = sorted(set(after_files) - set(before_files))
        gone = sorted(set(before_files) - set(after_files))
        changed = sorted(p for p in set(after_files) & set(before_files)
                         if after_files[p] != before_files[p])  # fmt: skip
        problems.append(f"files: new {new}, gone {gone}, changed {changed}")
    printed = control_characters(result.out + result.err)
    if printed:
        problems.append(f"control characters printed: {sorted(set(printed))}")
    return problems, f"exit {result.code}, stderr {result.err[:300]!r}"


@pytest.mark.parametrize("case", _params())
def test_bad_input(  # type: ignore[no-untyped-def]
    cli, world: World, case_folder: Path, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    if case.only and case.only != world.backend:
        pytest.skip(f"a case about {case.only} only")
    _prepare(case, world, case_folder, monkeypatch)
    problems, said = run_case(cli, world, case_folder, case)
    assert problems == [], f"{case.id}: " + "; ".join(problems) + f" [{said}]"


# The harness itself: each guarantee is checked, so a case that breaks it fails. The last
# entries' front end is made to echo a raw ESC or RLO, as the CLI did before the text boundary.
SELF_TEST = [
    (Case("good-person-add", ["person", "add", "--given", "Zed", "--family", "Ok",
                              "--birth-date", "1970-01-01"], 2, "x"),
     ["exit 0, expected 2", "stderr is not one 'linkwork: ' line", "stdout not empty",
      "the database changed"]),
    (Case("keys-new-leaves-files", ["keys", "new", "fresh", "--out", "{in}", "--json"], 2, "x"),
     ["exit 0, expected 2", "stderr is not one", "stdout not empty", "files: new"]),
    (Case("wrong-words", ["person", "show", "nobody"], 1, "some other words"),
     ["stderr does not say 'some other words'"]),
    (Case("wrong-code", ["person", "show", "nobody"], 2, "unknown person"),
     ["exit 1, expected 2"]),
    (Case("printed-control", ["person", "show", "nobody"], 1, "unknown person"),
     ["control characters printed"]),
    (Case("printed-bidi", ["person", "show", "nobody"], 1, "unknown person"),
     ["control characters printed"]),
]  # fmt: skip
INJECTED = {"printed-control": "\x1b[2J", "printed-bidi": "\u202e"}


@pytest.mark.parametrize(("case", "expected"), SELF_TEST, ids=[c.id for c, _ in SELF_TEST])
def test_the_harness_finds_each_kind_of_failure(  # type: ignore[no-untyped-def]
    cli,
    world: World,
    case_folder: Path,
    case: Case,
    expected: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if world.backend != "sqlite" and "the database changed" not in expected:
        # the database check reads each backend its own way: it is proved on both
        pytest.skip("the harness is the same on both backends")
    _prepare(case, world, case_folder, monkeypatch)
    run = cli
    if case.id in INJECTED:

        def run(*args, **kwargs):  # type: ignore[no-untyped-def]
            result = cli(*args, **kwargs)
            result.err = result.err.replace("nobody", "no" + INJECTED[case.id] + "body")
            return result

    problems, _ = run_case(run, world, case_folder, case)
    for words in expected:
        assert any(p.startswith(words) for p in problems), (words, problems)
    assert len(problems) == len(expected), problems


def test_the_corpus_covers_every_area() -> None:
    """At least 100 cases, and cases for each area the issue names."""
    assert len(CASES) >= 100
    first_words = {c.argv[0] for c in CASES}
    for area in AREAS:
        assert area in first_words, area
    assert {c.code for c in CASES} == {1, 2}
    assert all(c.says for c in CASES)
    assert all(c.xfail.startswith("waiting for ") for c in CASES if c.xfail)
