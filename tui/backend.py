"""The app's door to the domain core: opens the database lazily and imports each domain
function only when a screen first needs it.

Nothing here holds domain logic. If a part of linkwork is not present in this copy (a
module or function missing), the call raises :class:`NotAvailable`, and the screen shows
its "not available yet" state instead of crashing. All methods here are blocking: screens
call them from Textual thread workers, never from the event loop.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from linkwork.settings import Settings


class NotAvailable(Exception):
    """A part of linkwork this screen needs is not built into this copy yet."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is not available in this version of linkwork yet")
        self.what = what


def domain(module: str, name: str, what: str) -> Callable[..., Any]:
    """``module.name`` or :class:`NotAvailable` naming ``what`` in plain words."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        # Only a missing module means "not built yet"; a broken import inside it is a bug.
        missing = getattr(exc, "name", None) or ""
        if missing and (module == missing or module.startswith(missing + ".")):
            raise NotAvailable(what) from None
        raise
    try:
        return getattr(mod, name)  # type: ignore[no-any-return]
    except AttributeError:
        raise NotAvailable(what) from None


def has(module: str, name: str) -> bool:
    try:
        domain(module, name, name)
    except NotAvailable:
        return False
    except Exception:
        return False
    return True


def plain_error(exc: BaseException) -> str:
    """One line a link worker can read: the domain's own message, never a traceback."""
    if isinstance(exc, NotAvailable | ValueError | LookupError):
        text = str(exc).strip()
        if isinstance(exc, KeyError) and text[:1] in "'\"":
            text = text[1:-1]
        return (text.splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        return f"cannot use{where}: {exc.strerror or exc}"
    return f"something went wrong ({type(exc).__name__}); nothing was saved"


class Backend:
    """Settings, a lazily opened engine, and cached expensive things (catalogue, index)."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self._engine = engine
        self._lock = threading.Lock()
        self._index: Any = None
        self._index_lock = threading.Lock()
        self.index_size = 0

    # -- database -------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                from linkwork.db import open_engine

                self._engine = open_engine(self.settings.resolved_database_url())
            return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        from linkwork.db import session_scope

        with session_scope(self.engine) as session:
            yield session

    @property
    def user(self) -> str:
        return self.settings.user

    # -- directory ------------------------------------------------------------------------
    def service_count(self) -> int:
        import sqlalchemy as sa

        from directory.models import Service

        with self.session() as session:
            return int(session.exec(sa.select(sa.func.count(Service.id))).one()[0])  # type: ignore[call-overload]

    def load_sample(self) -> Any:
        load = domain("linkwork.sample", "load_sample_directory", "The bundled sample directory")
        with self.session() as session:
            result = load(session)
        self.invalidate_index()
        return result

    def invalidate_index(self) -> None:
        with self._index_lock:
            self._index = None

    def service_index(self) -> Any:
        """The directory's search index, built once (slow: call from a worker)."""
        with self._index_lock:
            if self._index is None:
                index_cls = domain("directory.search", "ServiceIndex", "Service search")
                with self.session() as session:
                    self._index = index_cls.build(session)
                self.index_size = len(self._index) if hasattr(self._index, "__len__") else 0
            return self._index

    def search_services(self, text: str, **filters: Any) -> list[Any]:
        index = self.service_index()
        return list(index.search(text, **filters))

    def get_service(self, ref: Any) -> Any:
        get = domain("directory.service", "get_service", "Service details")
        with self.session() as session:
            return get(session, ref)

    # -- codes ----------------------------------------------------------------------------
    def catalogue(self) -> Any:
        return domain("codes.catalogue", "load_catalogue", "The coded-needs catalogue")()

    def search_codes(self, text: str, limit: int = 15) -> list[Any]:
        search = domain("codes.search", "search_codes", "Code search")
        return list(search(self.catalogue(), text, limit=limit))

    def domains(self) -> list[Any]:
        return list(self.catalogue().domains())

    def domain_keys(self) -> list[tuple[str, str]]:
        """(key, label) of the fixed need domains, from ``codes/domains.csv``."""
        import csv
        from pathlib import Path

        import codes

        path = Path(codes.__file__).parent / "domains.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            return [(row["key"], row["label"]) for row in csv.DictReader(handle)]

    # -- people ---------------------------------------------------------------------------
    @staticmethod
    def person_ref(person: Any) -> Any:
        from tui.app import PersonRef

        nhs = ""
        if person.nhs_number:
            digits = person.nhs_number
            nhs = f", NHS {digits[:3]} {digits[3:6]} {digits[6:]}"
        detail = f"(born {person.birth_date.strftime('%d %b %Y')}{nhs})"
        return PersonRef(person.id, f"{person.given_name} {person.family_name}", detail)

    def _person_row(self, person: Any) -> dict[str, Any]:
        nhs = person.nhs_number or ""
        return {
            "ref": self.person_ref(person),
            "name": f"{person.family_name.upper()}, {person.given_name}",
            "born": person.birth_date.strftime("%d %b %Y"),
            "nhs": f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}" if nhs else "",
            "postcode": person.postcode,
            "practice": person.practice_ods,
        }

    def find_people(self, text: str, limit: int = 50) -> list[dict[str, Any]]:
        if not text.strip():
            list_people = domain("screening.people", "list_people", "Listing people")
            with self.session() as session:
                return [self._person_row(p) for p in list_people(session, limit=limit)]
        find = domain("screening.people", "find_people", "Finding people")
        with self.session() as session:
            return [self._person_row(p) for p in find(session, text, limit=limit)]

    def equality_fields(self) -> list[Any]:
        load = domain("screening.equality", "load_equality", "Equality questions")
        return list(load().values())

    def add_person(self, data: dict[str, Any]) -> Any:
        from tui.widgets.validation import parse_birth_date

        create = domain("screening.people", "create_person", "Adding people")
        fields = dict(data)
        given, family = fields.pop("given"), fields.pop("family")
        born = parse_birth_date(fields.pop("birth_date"))
        nhs = fields.pop("nhs_number") or None
        with self.session() as session:
            person = create(
                session,
                given_name=given,
                family_name=family,
                birth_date=born,
                nhs_number=nhs,
                actor=self.user,
                practice_ods=self.settings.practice_ods,
                **fields,
            )
            return self.person_ref(person)

    # -- record: needs, screening, referrals (wired as the record part lands) -------------
    def home_summary(self, today: Any) -> dict[str, Any]:
        list_people = domain("screening.people", "list_people", "Recent people")
        with self.session() as session:
            recent = [self._person_row(p) for p in list_people(session, limit=8)]
        summary: dict[str, Any] = {"recent": recent, "followups": [], "waiting": []}
        summary.update(self._referral_summary(today))
        return summary

    def _referral_summary(self, today: Any) -> dict[str, Any]:
        domain("screening.referrals", "list_referrals", "Referrals")
        return {}

    def person_record(self, person_id: str) -> dict[str, Any]:
        domain("screening.needs", "list_needs", "The person's needs")
        domain("screening.referrals", "list_referrals", "The person's referrals")
        raise NotAvailable("The person's record")

    def active_needs(self, person_id: str) -> list[dict[str, Any]]:
        domain("screening.needs", "list_needs", "The person's needs")
        return []

    def add_need(self, person_id: str, code: str, words: str) -> None:
        domain("screening.needs", "add_need", "Recording needs")
        raise NotAvailable("Recording needs")

    def questionnaire_sections(self) -> list[dict[str, Any]]:
        domain("screening.questionnaire", "load_questionnaire", "Screening")
        raise NotAvailable("Screening")

    def complete_screening(self, person_id: str, answers: dict[str, str]) -> tuple[str, list[Any]]:
        raise NotAvailable("Screening")

    def decide_suggestion(self, screening_id: str, code: str, confirm: bool) -> None:
        raise NotAvailable("Confirming needs")

    def refer(
        self, person_id: str, service_id: Any, need_ids: list[str], reason: str, **kw: Any
    ) -> str:
        domain("screening.referrals", "create_referral", "Referrals")
        raise NotAvailable("Referrals")

    def referral_board(self, today: Any) -> list[dict[str, Any]]:
        domain("screening.referrals", "list_referrals", "The referrals board")
        raise NotAvailable("The referrals board")

    def set_status(self, referral_id: str, status: str, reason: str) -> None:
        domain("screening.referrals", "set_status", "Updating a referral")
        raise NotAvailable("Updating a referral")

    def import_inbox(self) -> str:
        domain("screening.exchange.receive", "receive_file", "Importing update files")
        raise NotAvailable("Importing update files")

    def need_counts(self, **params: Any) -> dict[str, Any]:
        domain("screening.counts", "count_needs", "Need counts")
        raise NotAvailable("Need counts")
