"""The app's door to the domain core: opens the database lazily and shapes what the
domain functions return into rows the screens show.

Nothing here holds domain logic. Domain modules are imported inside the methods, so the
first screen paints before SQLAlchemy and the record are loaded. All methods here are
blocking: screens call them from Textual thread workers, never from the event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from linkwork.errors import KeyLocked, plain_error

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from linkwork.workspace import Workspace

__all__ = ["Backend", "KeyLocked", "plain_error"]


class Backend:
    """Settings, a lazily opened engine, and cached expensive things (catalogue, index)."""

    def __init__(self, workspace: Workspace, *, search_in_process: bool = True) -> None:
        self.workspace = workspace
        self.settings = workspace.settings
        self._index: Any = None
        self._index_lock = threading.Lock()
        self.index_size = 0
        self.search_in_process = search_in_process

    # -- database -------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        return self.workspace.engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.workspace.session() as session:
            yield session

    @property
    def user(self) -> str:
        return self.workspace.user

    # -- directory ------------------------------------------------------------------------
    def service_count(self) -> int:
        import sqlalchemy as sa

        from directory.models import Service

        with self.session() as session:
            return int(session.exec(sa.select(sa.func.count(Service.id))).one()[0])  # type: ignore[call-overload]

    def load_sample(self) -> Any:
        from linkwork.sample import load_sample_directory

        with self.session() as session:
            result = load_sample_directory(session)
        self.invalidate_index()
        return result

    def invalidate_index(self) -> None:
        with self._index_lock:
            old, self._index = self._index, None
        if hasattr(old, "close"):
            old.close()

    def close(self) -> None:
        """Stop the search process (the app calls this on exit)."""
        self.invalidate_index()

    def database_url(self) -> str:
        return self.workspace.database_url()

    def service_index(self) -> Any:
        """The directory's search index, built once (slow: call from a worker).

        Built and searched in a child process (``tui.search_process``) so that the build,
        seconds of pure-Python work for a large directory, never starves the interface."""
        with self._index_lock:
            if self._index is None:
                if self.search_in_process:
                    from tui.search_process import SearchProcess

                    process = SearchProcess(self.database_url(), self.settings.stale_months)
                    try:
                        self.index_size = process.build()
                    except BaseException:
                        process.close()
                        raise
                    self._index = process
                else:
                    from directory.search import ServiceIndex

                    with self.session() as session:
                        index = ServiceIndex.build(session, stale_months=self.settings.stale_months)
                    self.index_size = index.size
                    self._index = index
            return self._index

    def search_services(self, text: str, **filters: Any) -> Any:
        """A ``directory.near.NearResult``: the matches, their distances in miles when the
        ``near`` text names a known place, and a plain hint about the near text (a
        half-typed postcode searches at any distance instead of failing)."""
        index = self.service_index()
        if hasattr(index, "close"):  # the search process
            return index.search(text, filters)
        from directory.near import search_near

        return search_near(index, text, **filters)

    def get_service(self, ref: Any) -> Any:
        from directory.service import get_service

        with self.session() as session:
            return get_service(session, ref)

    # -- codes ----------------------------------------------------------------------------
    def catalogue(self) -> Any:
        from codes.catalogue import load_catalogue

        return load_catalogue()

    def search_codes(self, text: str, limit: int = 15) -> list[Any]:
        from codes.search import search_codes

        return list(search_codes(self.catalogue(), text, limit=limit))

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
        from tui.state import PersonRef

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

    # -- record: needs, screening, referrals ---------------------------------------------
    def _person(self, session: Session, person_id: str) -> Any:
        from screening.people import get_person

        return get_person(session, person_id)

    def _service_name(self, session: Session, referral: Any) -> str:
        if referral.service_id is None:
            return referral.hub or "-"
        from directory.models import Service

        service = session.get(Service, referral.service_id)
        return service.name if service is not None else f"service {referral.service_id}"

    def _referral_row(self, session: Session, referral: Any, today: Any) -> dict[str, Any]:
        from screening.models import Person
        from tui.state import PersonRef

        person = session.get(Person, referral.person_id)
        name = f"{person.given_name} {person.family_name}" if person else referral.person_id
        from screening.referrals import TRANSITIONS

        due = referral.followup_due
        due_state = ""
        if due is not None and referral.status in _open_statuses():
            days = (today - due).days
            due_state = "OVERDUE" if days > 0 else ("due today" if days == 0 else "")
        followup = "-"
        if due is not None:
            followup = due.strftime("%d %b") + (f" {due_state}" if due_state else "")
        created = _as_date(referral.created_at)
        return {
            "id": referral.id,
            "ref": self.person_ref(person) if person else PersonRef(referral.person_id, name),
            "person": name,
            "service": self._service_name(session, referral),
            "status": referral.status,
            "business_status": referral.business_status,
            "allowed": list(TRANSITIONS.get(referral.status, ())),
            "sent": created.strftime("%d %b %Y"),
            "sent_sort": created,
            "followup": followup,
            "due_state": due_state,
            "note": referral.status_reason or referral.reason,
        }

    def home_summary(self, today: Any) -> dict[str, Any]:
        from screening.people import list_people

        with self.session() as session:
            recent = [self._person_row(p) for p in list_people(session, limit=8)]
            summary: dict[str, Any] = {"recent": recent, "followups": [], "waiting": []}
            from screening.referrals import followups, list_referrals

            for item in followups(session, today=today, soon_days=0, limit=50):
                row = self._referral_row(session, item.referral, today)
                row.update(due=item.referral.followup_due, overdue=item.state == "overdue")
                row["status"] = row["status"].upper()
                summary["followups"].append(row)
            for referral in list_referrals(session, status="requested", limit=50):
                if referral.direction != "outgoing":
                    continue
                row = self._referral_row(session, referral, today)
                row["sent"] = _as_date(referral.created_at)
                row["status"] = referral.status.upper() + (
                    f" ({referral.business_status})" if referral.business_status else ""
                )
                summary["waiting"].append(row)
        return summary

    def person_record(self, person_id: str) -> dict[str, Any]:
        from sqlmodel import col, select

        from screening.models import Screening
        from screening.needs import list_needs
        from screening.people import show_person
        from screening.referrals import list_referrals, referral_events

        with self.session() as session:
            person = show_person(session, person_id, actor=self.user)  # audited as a view
            ref = self.person_ref(person)
            parts = [f"{ref.name} {ref.detail}"]
            if person.postcode:
                parts.append(f"postcode {person.postcode}")
            if person.phone:
                parts.append(f"phone {person.phone}")
            needs = [
                {
                    "id": n.id,
                    "code": n.code,
                    "display": n.display,
                    "status": n.status.upper(),
                    "recorded": _as_date(n.recorded_at).strftime("%d %b %Y"),
                }
                for n in list_needs(session, person)
            ]
            timeline: list[dict[str, Any]] = []
            referrals = []
            for referral in list_referrals(session, person=person, limit=200):
                row = self._referral_row(session, referral, _as_date(referral.created_at))
                referrals.append(row)
                for event in referral_events(session, referral):
                    what = f"Referral to {row['service']}"
                    detail = (
                        event.reason
                        or event.business_status
                        or (referral.reason if event.from_status is None else "")
                    )
                    timeline.append(
                        {
                            "at": _as_datetime(event.at),
                            "what": what,
                            "status": event.to_status.upper(),
                            "detail": detail,
                            "referral_id": referral.id,
                        }
                    )
                timeline += self._outcome_items(session, referral, row["service"])
            screenings = session.exec(
                select(Screening)
                .where(Screening.person_id == person.id)
                .order_by(col(Screening.started_at).desc())
            ).all()
            for scr in screenings:
                decided = [s for s in scr.suggestions or [] if s.get("state") != "pending"]
                detail = f"{len(scr.suggestions or [])} needs suggested, {len(decided)} decided"
                if scr.status == "in-progress":
                    from screening.questionnaire import screening_answers

                    answered = len(screening_answers(session, scr))
                    detail = f"{answered} questions answered so far; S to resume"
                timeline.append(
                    {
                        "at": _as_datetime(scr.started_at),
                        "what": "Screening",
                        "status": scr.status.upper(),
                        "detail": detail,
                        "referral_id": None,
                    }
                )
        timeline.sort(key=lambda item: item["at"], reverse=True)
        for item in timeline:
            item["when"] = item["at"].strftime("%d %b %Y %H:%M")
        return {
            "summary": ", ".join(parts),
            "needs": needs,
            "timeline": timeline,
            "referrals": referrals,
        }

    def active_needs(self, person_id: str) -> list[dict[str, Any]]:
        from screening.needs import list_needs

        with self.session() as session:
            person = self._person(session, person_id)
            return [
                {"id": n.id, "code": n.code, "display": n.display}
                for n in list_needs(session, person, status="active")
            ]

    def add_need(self, person_id: str, code: str, words: str) -> None:
        from screening.needs import add_need

        with self.session() as session:
            add_need(session, self._person(session, person_id), code, actor=self.user, words=words)

    def questionnaire_sections(self) -> list[dict[str, Any]]:
        from screening.questionnaire import load_questionnaire

        questionnaire = load_questionnaire()
        sections = []
        for section in questionnaire.sections:
            questions = []
            for q in section.questions:
                if q.type == "integer":
                    questions.append(
                        {"id": q.id, "text": q.text, "kind": "scale", "low": q.min, "high": q.max}
                    )
                else:
                    questions.append(
                        {
                            "id": q.id,
                            "text": q.text,
                            "kind": "choice",
                            "options": [(o.code, o.text) for o in q.options],
                        }
                    )
            sections.append(
                {"title": section.title, "intro": section.intro, "questions": questions}
            )
        return sections

    def complete_screening(
        self, person_id: str, answers: dict[str, str], screening_id: str | None = None
    ) -> tuple[str, list[dict[str, Any]]]:
        """Complete a screening (the in-progress one ``screening_id``, when resumed)."""
        from screening.questionnaire import complete_screening, get_screening, load_questionnaire

        questionnaire = load_questionnaire()
        with self.session() as session:
            person = self._person(session, person_id)
            resumed = get_screening(session, screening_id) if screening_id else None
            screening, suggestions = complete_screening(
                session, person, answers, actor=self.user, screening=resumed
            )
            out = []
            for s in suggestions:
                because = [questionnaire.question(qid).text for qid in s.get("questions", [])]
                state = "pending"
                if s.get("existing_need_id"):
                    because.insert(0, "(already an active need)")
                out.append(
                    {
                        "code": s["code"],
                        "display": s["display"],
                        "domain": s["domain"],
                        "because": "; ".join(because),
                        "state": state,
                    }
                )
            return screening.id, out

    def decide_suggestion(
        self, screening_id: str, code: str, confirm: bool, use_code: str | None = None
    ) -> None:
        """Confirm (as ``use_code`` when the link worker chose a different code) or reject
        one of a screening's suggestions."""
        from screening.needs import confirm_need, reject_suggestion
        from screening.questionnaire import get_screening

        with self.session() as session:
            screening = get_screening(session, screening_id)
            if confirm:
                confirm_need(session, screening, code, actor=self.user, use_code=use_code)
            else:
                reject_suggestion(session, screening, code, actor=self.user)

    def screening_in_progress(self, person_id: str) -> dict[str, Any] | None:
        """The person's saved, unfinished screening: its id, answers and when it started."""
        from screening.questionnaire import in_progress_screening, screening_answers

        with self.session() as session:
            screening = in_progress_screening(session, self._person(session, person_id))
            if screening is None:
                return None
            return {
                "id": screening.id,
                "answers": screening_answers(session, screening),
                "started": _as_datetime(screening.started_at).strftime("%d %b %Y %H:%M"),
            }

    def save_screening_progress(
        self, person_id: str, answers: dict[str, str], screening_id: str | None = None
    ) -> str:
        """Save the answers so far (status in-progress); the screening's id."""
        from screening.questionnaire import get_screening, save_screening_progress

        with self.session() as session:
            person = self._person(session, person_id)
            saved = get_screening(session, screening_id) if screening_id else None
            screening = save_screening_progress(
                session, person, answers, actor=self.user, screening=saved
            )
            return screening.id

    def refer(
        self,
        person_id: str,
        service_id: Any,
        need_ids: list[str],
        reason: str,
        *,
        shares: list[str],
        method: str,
        partner: str | None = None,
    ) -> str:
        """Record consent and the referral (requested), and export the encrypted file to
        the outbox, all in one transaction. Without keys or a partner the referral is
        still recorded and the message says how to send the file later."""
        from screening.consent import record_consent
        from screening.needs import get_need
        from screening.referrals import create_referral

        if not need_ids:
            raise ValueError("Choose at least one need for this referral.")
        signer, why_not = None, ""
        if partner:
            try:
                signer = self.our_key()
            except (ValueError, LookupError, OSError) as exc:
                why_not = plain_error(exc)
        else:
            why_not = "no partner chosen to send it to"
        with self.session() as session:
            person = self._person(session, person_id)
            needs = [get_need(session, nid) for nid in need_ids]
            record_consent(
                session,
                person,
                actor=self.user,
                service_id=int(service_id),
                shares=shares,
                method=method,
            )
            referral = create_referral(
                session,
                person,
                needs,
                actor=self.user,
                service_id=int(service_id),
                reason=reason,
                send=True,
                followup_days=self.settings.followup_days,
            )
            if signer is None or partner is None:
                return (
                    f"Referral recorded as REQUESTED, but no file was written: {why_not}. "
                    f"Send it later with: linkwork referral export {referral.id[:8]} --to PARTNER"
                )
            where = self._export(session, referral, signer, partner)
        return f"Referral sent: REQUESTED. Encrypted file for {partner} written to {where}."

    def partners(self) -> list[str]:
        """Names of trusted partners (their public keys), for the Send step."""
        from screening.exchange.keys import list_trusted

        with self.session() as session:
            return sorted({row.name for row in list_trusted(session)})

    def _our_key_path(self) -> Any:
        folder = self.settings.dir_or_default("keys_dir")
        found = sorted(folder.glob("*.private.jwk")) if folder.is_dir() else []
        if len(found) != 1:
            where = "no" if not found else "more than one"
            raise ValueError(
                f"{where} private key in {folder} (make one with: linkwork keys new NAME)"
            )
        return found[0]

    def _unlocked_keys(self) -> dict[str, Any]:
        """Private keys unlocked with their passphrase in this app session: in memory only
        (the passphrase itself is not kept, and nothing is ever written)."""
        return self.workspace.unlocked_keys

    @staticmethod
    def _key_is_protected(path: Any) -> bool:
        """A passphrase-protected key file is a compact JWE (``linkwork keys new
        --passphrase-env``), not a JSON JWK."""
        text = path.read_text(encoding="utf-8").strip()
        return not text.startswith("{") and text.count(".") == 4

    def key_locked(self) -> bool:
        """True when our private key needs its passphrase before it can sign or open
        files (and has not been unlocked in this session)."""
        try:
            path = self._our_key_path()
        except ValueError:
            return False  # no key (or several): our_key() says so in words
        return str(path) not in self._unlocked_keys() and self._key_is_protected(path)

    def unlock_key(self, passphrase: str) -> None:
        """Unlock our private key for the rest of this session; ValueError (in words) if
        the passphrase is wrong."""
        from screening.exchange.keys import load_private_key

        path = self._our_key_path()
        self._unlocked_keys()[str(path)] = load_private_key(path, passphrase)

    def our_key(self) -> Any:
        """Our private key; ``KeyLocked`` if it needs its passphrase first (the screens
        then ask for it once, and call ``unlock_key``)."""
        from screening.exchange.keys import load_private_key

        path = self._our_key_path()
        unlocked = self._unlocked_keys().get(str(path))
        if unlocked is not None:
            return unlocked
        if self._key_is_protected(path):
            raise KeyLocked(f"the private key {path.name} is protected by a passphrase")
        return load_private_key(path)

    def _export(self, session: Session, referral: Any, signer: Any, partner: str) -> str:
        from screening.exchange.files import atomic_write
        from screening.exchange.keys import resolve_recipient
        from screening.exchange.outbound import export_referral

        recipient, name = resolve_recipient(session, partner)
        sealed = export_referral(
            session,
            referral,
            signer=signer,
            recipient=recipient,
            partner=name,
            actor=self.user,
            practice_ods=self.settings.practice_ods,
        )
        folder = self.settings.dir_or_default("outbox")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"referral-{sealed.referral_id[:8]}-{sealed.message_id[:8]}.jwe"
        atomic_write(target, sealed.token + "\n", mode=0o600)  # inside the transaction
        return str(target)

    def referral_board(self, today: Any) -> list[dict[str, Any]]:
        from screening.referrals import list_referrals

        with self.session() as session:
            return [
                self._referral_row(session, r, today) for r in list_referrals(session, limit=1000)
            ]

    def set_status(self, referral_id: str, status: str, reason: str) -> None:
        from screening.referrals import get_referral, set_status

        with self.session() as session:
            set_status(
                session, get_referral(session, referral_id), status, actor=self.user, reason=reason
            )

    # -- outcome of a completed or failed referral (the board's outcome form) -------------
    ONS4_LABELS = {
        "satisfied": "Life satisfaction",
        "worthwhile": "Worthwhile",
        "happy": "Happiness",
        "anxious": "Anxiety",
    }

    def _ons4_before(self, session: Session, person_id: str, at: Any) -> dict[str, Any]:
        """The person's latest screening ONS4 answers on or before ``at`` (the "before"
        beside an outcome's "after"); empty values when never asked."""
        from sqlmodel import col, select

        from screening.models import Screening
        from screening.referrals import ONS4_FIELDS

        rows = session.exec(
            select(Screening)
            .where(Screening.person_id == person_id)
            .order_by(col(Screening.started_at).desc())
        ).all()
        for scr in rows:
            if _as_datetime(scr.started_at) > _as_datetime(at):
                continue
            values = {f: getattr(scr, f"ons4_{f}") for f in ONS4_FIELDS}
            if any(v is not None for v in values.values()):
                when = _as_date(scr.started_at).strftime("%d %b %Y")
                return {"values": values, "when": when}
        return {"values": dict.fromkeys(ONS4_FIELDS), "when": ""}

    def outcome_form(self, referral_id: str) -> dict[str, Any]:
        """What the outcome form shows: the referral's needs, the four ONS4 questions
        (worded as published) and the person's latest ONS4 answers before now."""
        from screening.models import utcnow
        from screening.questionnaire import load_questionnaire
        from screening.referrals import ONS4_FIELDS, get_referral, referral_needs

        questionnaire = load_questionnaire()
        with self.session() as session:
            referral = get_referral(session, referral_id)
            before = self._ons4_before(session, referral.person_id, utcnow())
            needs = [
                {"id": n.id, "code": n.code, "display": n.display, "status": n.status}
                for n in referral_needs(session, referral)
            ]
        questions = []
        for name in ONS4_FIELDS:
            try:
                text = questionnaire.question(f"ons4.{name}").text
            except (LookupError, ValueError):
                text = ""
            questions.append(
                {
                    "key": name,
                    "label": self.ONS4_LABELS[name],
                    "text": text,
                    "before": before["values"][name],
                }
            )
        return {"needs": needs, "questions": questions, "before_when": before["when"]}

    def close_referral(
        self,
        referral_id: str,
        status: str,
        reason: str,
        *,
        resolved: list[str],
        ons4: dict[str, int | None],
        note: str,
    ) -> None:
        """Mark a referral completed or failed and record its outcome (needs resolved,
        ONS4 after, note) in one transaction: both or neither."""
        from screening.referrals import get_referral, record_outcome, set_status

        if status not in ("completed", "failed"):
            raise ValueError(f"an outcome goes with completed or failed, not {status}")
        with self.session() as session:
            referral = get_referral(session, referral_id)
            set_status(session, referral, status, actor=self.user, reason=reason)
            record_outcome(
                session, referral, actor=self.user, resolved=resolved, ons4=ons4, note=note
            )

    def outcome_text(self, referral_id: str) -> str:
        """A referral's recorded outcome in one line of words ('' when none yet)."""
        from screening.referrals import get_referral

        with self.session() as session:
            referral = get_referral(session, referral_id)
            items = self._outcome_items(session, referral, self._service_name(session, referral))
            return str(items[0]["detail"]) if items else ""

    def _outcome_items(self, session: Session, referral: Any, service: str) -> list[dict[str, Any]]:
        """The person's timeline entry for a referral's outcome: ONS4 before -> after,
        needs resolved, and the note, in words."""
        from sqlmodel import select

        from screening.models import OutcomeNeed
        from screening.referrals import ONS4_FIELDS, get_outcome, referral_needs

        outcome = get_outcome(session, referral)
        if outcome is None:
            return []
        before = self._ons4_before(session, referral.person_id, outcome.recorded_at)["values"]
        scores = []
        for name in ONS4_FIELDS:
            after, was = getattr(outcome, f"ons4_{name}"), before[name]
            if after is None and was is None:
                continue
            shown = "-" if after is None else str(after)
            label = self.ONS4_LABELS[name].lower()
            scores.append(f"{label} {shown}" if was is None else f"{label} {was}->{shown}")
        flags = {
            f.need_id: f.resolved
            for f in session.exec(select(OutcomeNeed).where(OutcomeNeed.outcome_id == outcome.id))
        }
        needs = referral_needs(session, referral)
        done = [n.code for n in needs if flags.get(n.id)]
        parts = ["ONS4 " + ", ".join(scores) if scores else "ONS4 not asked"]
        parts.append(f"resolved {', '.join(done)}" if done else "no need resolved")
        if outcome.note:
            parts.append(f"note: {outcome.note}")
        return [
            {
                "at": _as_datetime(outcome.recorded_at),
                "what": f"Outcome of referral to {service}",
                "status": f"OUTCOME ({referral.status.upper()})",
                "detail": "; ".join(parts),
                "referral_id": referral.id,
            }
        ]

    def import_inbox(self) -> str:
        """Receive every ``*.jwe`` in the inbox folder, each in its own transaction;
        imported files move to ``inbox/imported/``, refused ones stay with the reason.
        ``KeyLocked`` (before any file is touched) if our key needs its passphrase."""
        from screening.exchange.inbound import receive

        folder = self.settings.dir_or_default("inbox")
        files = sorted(folder.glob("*.jwe")) if folder.is_dir() else []
        if not files:
            return f"No update files in {folder}."
        our = self.our_key()
        done = folder / "imported"
        outcomes: dict[str, int] = {}
        refused: list[str] = []
        for path in files:
            try:
                with self.session() as session:
                    result = receive(session, path.read_bytes(), our, actor=self.user)
                outcomes[result.status] = outcomes.get(result.status, 0) + 1
                done.mkdir(exist_ok=True)
                path.replace(done / path.name)
            except (ValueError, LookupError, OSError) as exc:
                refused.append(f"{path.name}: {plain_error(exc)}")
        parts = [f"{n} {status}" for status, n in sorted(outcomes.items())]
        message = f"Inbox: {len(files)} files; " + (", ".join(parts) or "none imported")
        if refused:
            message += f"; {len(refused)} refused ({refused[0]})"
        return message

    # -- counts for data leads: measure x one or two dimensions (the Counts screen) ---------
    def _count_report(
        self,
        session: Session,
        report: str,
        dims: list[str],
        date_from: str | None,
        date_to: str | None,
        practice: str | None,
    ) -> Any:
        """A disclosure-controlled report, exactly as ``linkwork report REPORT --by DIMS``
        makes it (the default rule: 1-7 hidden, the rest rounded to 5);
        ``referrals_received`` is ``linkwork report referrals --direction received``."""
        from screening.counts import (
            Filters,
            needs_report,
            outcomes_report,
            parse_date,
            referrals_report,
        )

        filters = Filters(
            start=parse_date(date_from, "from date") if date_from else None,
            end=parse_date(date_to, "to date") if date_to else None,
            practice=practice.strip().upper() if practice and practice.strip() else None,
        )
        if report == "needs":
            return needs_report(session, dims, filters)
        if report == "referrals":
            return referrals_report(session, dims, filters)
        if report == "referrals_received":  # a hub's view: --direction received
            return referrals_report(session, dims, filters, direction="received")
        if report == "outcomes":
            return outcomes_report(session, dims, filters)
        raise ValueError(
            f"unknown report {report!r}: use needs, referrals, referrals_received or outcomes"
        )

    def count_table(
        self,
        report: str,
        measure: str,
        rows: str,
        split: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        practice: str | None = None,
    ) -> dict[str, Any]:
        """One measure by a row dimension and an optional split dimension, ready to show:
        ``row_labels``, ``col_labels`` (the split's values then "All", or the measure),
        ``cells`` (text: ``*`` where hidden), ``values`` (numbers, None where hidden),
        ``series`` (split label -> [(row label, value)] for the chart), the disclosure
        note and a line saying what was counted. Recorded in the audit trail as a view."""
        from screening.audit import record_event
        from screening.counts import disclosure_note, key_label

        dims = [rows] + ([split] if split and split != rows else [])
        with self.session() as session:
            made = self._count_report(session, report, dims, date_from, date_to, practice)
            keys = [m.key for m in made.measures]
            if measure not in keys:
                raise ValueError(f"the {report} counts have no measure {measure!r}")
            record_event(
                session,
                self.user,
                "view",
                "report",
                report,
                {"by": dims, "filters": made.filters.as_dict(), "format": "tui"},
            )
        chosen = next(m for m in made.measures if m.key == measure)
        row_keys: list[Any] = []
        col_keys: list[Any] = []
        found: dict[tuple[Any, Any], Any] = {}
        for row in made.rows:
            r = row.keys[0]
            c = row.keys[1] if len(row.keys) > 1 else "value"
            if r not in row_keys:
                row_keys.append(r)
            if c not in col_keys:
                col_keys.append(c)
            found[(r, c)] = row.values.get(measure)
        row_labels = [key_label(made.dims[0], r) for r in row_keys]
        if len(made.dims) > 1:
            col_labels = [key_label(made.dims[1], c) for c in col_keys]
        else:
            col_labels = [chosen.label]
        values = [[found.get((r, c)) for c in col_keys] for r in row_keys]
        cells = [[count_text(v, chosen.kind) for v in line] for line in values]
        series = {
            col_labels[j]: [
                (row_labels[i], values[i][j]) for i, r in enumerate(row_keys) if r is not None
            ]
            for j in range(len(col_keys))
        }
        period = ""
        if made.period is not None:
            start, end = made.period
            period = f"{start.strftime('%d %b %Y')} to {end.strftime('%d %b %Y')}"
        return {
            "title": made.title,
            "measure": chosen.label,
            "kind": chosen.kind,
            "dims": list(made.dims),
            "row_labels": row_labels,
            "col_labels": col_labels,
            "totals": [r is None for r in row_keys],
            "cells": cells,
            "values": values,
            "series": series,
            "note": disclosure_note(made),
            "period": period,
            "practice": made.filters.practice,
            "empty": bool(made.is_empty),
        }

    def export_counts(
        self,
        path: str,
        report: str,
        rows: str,
        split: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        practice: str | None = None,
    ) -> str:
        """Write the report as CSV to ``path`` (atomically: whole or not at all) with the
        same domain functions as ``linkwork report REPORT --by ... --format csv --out``
        (``referrals_received``: ``report referrals --direction received``);
        recorded in the audit trail as an export. Returns the path written."""
        from pathlib import Path

        from screening.audit import record_event
        from screening.counts import to_csv
        from screening.exchange.files import atomic_write

        target = Path(path).expanduser()
        if not target.name or target.is_dir():
            raise ValueError(f"{path} is a folder: give a file name ending in .csv")
        if not target.parent.is_dir():
            raise ValueError(f"folder {target.parent} does not exist")
        dims = [rows] + ([split] if split and split != rows else [])
        with self.session() as session:
            made = self._count_report(session, report, dims, date_from, date_to, practice)
            if made.is_empty:  # as the CLI: nothing to count, nothing written
                raise LookupError(
                    f"nothing to count: no {made.unit} recorded for this selection; no file written"
                )
            record_event(
                session,
                self.user,
                "export",
                "report",
                report,
                {
                    "by": dims,
                    "filters": made.filters.as_dict(),
                    "format": "csv",
                    "suppression": "on",
                    "out": str(target),
                },
            )
            text = to_csv(made)
            atomic_write(target, text)  # inside the transaction: no file, no audit entry
        return str(target)


def _open_statuses() -> tuple[str, ...]:
    from screening.referrals import OPEN

    return tuple(OPEN)


def _as_datetime(value: Any) -> Any:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def count_text(value: float | None, kind: str = "count") -> str:
    """A published value as shown: ``*`` where hidden, rates as percentages, mean
    changes signed."""
    if value is None:
        return "*"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "mean":
        return f"{value:+.1f}"
    return str(value)


def _as_date(value: Any) -> Any:
    return _as_datetime(value).date() if hasattr(value, "hour") else value
