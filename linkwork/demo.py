"""Synthetic demo data: people, screenings, needs, consents, referrals in every status and
outcomes, spread over the last 18 months across several made-up practices.

Everything is invented: NHS numbers in the 999 test range (valid check digits), names
combined at random from a built-in list, ODS codes ``Y0....``, postcodes in the unused
``ZZ1``-``ZZ5`` area (the sample directory's towns). Ethnic categories follow the
``demo_weight`` shares in ``equality.yaml``. Rows are bulk-inserted; the audit trail gets
one summary event for the whole batch.

Part of the application shell, beside ``linkwork.sample`` (the sample directory it loads
when the directory is empty): synthetic data is not a rule of the record, so the domain
core never imports it. ``linkwork.actions.audit.make_demo`` is the user action.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from directory.models import Service
from linkwork.sample import load_sample_directory
from screening.audit import record_event
from screening.counts import sync_counts
from screening.equality import load_equality
from screening.models import (
    RECORD_TABLES,
    AuditEvent,
    Person,
)
from screening.nhs import synthetic_nhs_number
from screening.organisations import fill_missing_orgs
from screening.questionnaire import Questionnaire, load_questionnaire, suggest_needs

DEMO_HUB = "Valeshire Community Wellbeing Hub"
DAYS = 548  # about 18 months

# (ODS code, postcode district, relative list size)
PRACTICES = (
    ("Y02101", "ZZ1", 1.4),
    ("Y02102", "ZZ1", 0.8),
    ("Y02203", "ZZ2", 1.1),
    ("Y02304", "ZZ3", 1.0),
    ("Y02405", "ZZ4", 0.7),
    ("Y02506", "ZZ5", 0.9),
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


WORKERS = ("demo.link.worker.a", "demo.link.worker.b", "demo.link.worker.c", "demo.hub.worker")

FEMALE = _words(
    "Amelia Olivia Isla Ava Mia Grace Sophie Emily Jessica Chloe Lucy Hannah Sarah Emma "
    "Rebecca Laura Karen Susan Margaret Patricia Linda Julie Tracey Joanne Nicola Claire "
    "Aisha Fatima Zainab Maryam Ayesha Priya Anjali Sunita Nusrat Shabana Agnieszka "
    "Katarzyna Anna Ioana Elena Amina Fartun Hodan Grace Blessing Chiamaka Adaeze Shanice "
    "Keisha Mei Ling Siobhan Aoife Niamh Rhiannon Carys Bethan Dorothy Jean Pauline "
    "Maureen"
)
MALE = _words(
    "Oliver George Harry Jack Noah Charlie Thomas James William Daniel David Michael Paul "
    "Mark Steven Andrew Gary Kevin Ian Stuart Darren Lee Craig Wayne Mohammed Ahmed Ali "
    "Imran Bilal Usman Tariq Rajesh Sanjay Arjun Harpreet Gurpreet Piotr Tomasz Marek "
    "Andrei Mihai Abdi Mohamed Yusuf Kwame Chinedu Emeka Tunde Delroy Winston Marcus "
    "Jamal Wei Jun Sean Ciaran Padraig Rhys Gareth Dylan Kenneth Ronald Brian Derek "
    "Terence"
)
FAMILY = _words(
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Robinson Wright "
    "Thompson Evans Walker White Roberts Green Hall Thomas Clarke Jackson Wood Harris "
    "Edwards Turner Martin Cooper Hill Ward Hughes Moore Clark Harrison Scott Young "
    "Morris Lewis King Baker Khan Ahmed Hussain Ali Begum Akhtar Shah Iqbal Rahman Islam "
    "Uddin Miah Singh Kaur Sharma Gill Sandhu Mistry Nowak Kowalski Wisniewski Popescu "
    "Ionescu Mohamed Abdi Hassan Warsame Okafor Adeyemi Mensah Owusu Campbell Francis "
    "Grant Murray Reid Chen Wang Li Zhang Murphy O'Brien Kelly Byrne Walsh Price Morgan "
    "Lloyd Griffiths Bailey Fletcher Kaya Yilmaz"
)
STREET_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# Share of screened people with a need in each domain (wellbeing comes from ONS4 answers).
PREVALENCE = {
    "housing": 0.24,
    "food": 0.17,
    "fuel": 0.20,
    "money": 0.30,
    "benefits": 0.22,
    "employment": 0.13,
    "education": 0.06,
    "digital": 0.11,
    "transport": 0.08,
    "isolation": 0.30,
    "family": 0.16,
    "caring": 0.09,
    "safety": 0.05,
    "discrimination": 0.04,
    "legal": 0.04,
    "immigration": 0.03,
    "environment": 0.04,
    "health_behaviours": 0.06,
    "wellbeing": 0.15,
}
# Final status shares of referrals older than ~2 months, and of recent ones.
OLD_STATUS = {
    "completed": 46,
    "failed": 8,
    "rejected": 10,
    "cancelled": 7,
    "in-progress": 11,
    "on-hold": 5,
    "accepted": 5,
    "requested": 5,
    "draft": 3,
}
NEW_STATUS = {
    "completed": 8,
    "failed": 2,
    "rejected": 8,
    "cancelled": 3,
    "in-progress": 20,
    "on-hold": 4,
    "accepted": 20,
    "requested": 28,
    "draft": 7,
}
PATH = {
    "draft": ["draft"],
    "requested": ["draft", "requested"],
    "accepted": ["draft", "requested", "accepted"],
    "rejected": ["draft", "requested", "rejected"],
    "in-progress": ["draft", "requested", "accepted", "in-progress"],
    "on-hold": ["draft", "requested", "accepted", "in-progress", "on-hold"],
    "completed": ["draft", "requested", "accepted", "in-progress", "completed"],
    "failed": ["draft", "requested", "accepted", "in-progress", "failed"],
    "cancelled": ["draft", "requested", "cancelled"],
}
REASONS = {
    "rejected": ("not eligible", "no capacity", "outside our area", "referred elsewhere"),
    "failed": ("could not contact", "did not attend", "service closed"),
    "cancelled": ("person no longer wants help", "moved away", "need met another way"),
    "on-hold": ("person in hospital", "waiting for documents", "person asked to pause"),
}
WORDS = {
    "housing": (
        "sofa surfing at my sister's",
        "damp and mould in the flat",
        "landlord wants me out",
    ),
    "food": ("running out of food before payday", "skipping meals so the kids can eat"),
    "fuel": ("can't afford the gas", "meter keeps running out", "cold house"),
    "money": ("debts piling up", "bailiffs letters", "nothing left at the end of the month"),
    "benefits": ("UC sanctioned me", "PIP turned down", "waiting weeks for Universal Credit"),
    "employment": ("lost my job", "zero hours, never know what I'll earn", "stress at work"),
    "education": ("struggle to read letters", "want to do a course"),
    "digital": ("no internet at home", "don't know how to use the app"),
    "transport": ("can't afford the bus", "no buses out here"),
    "isolation": ("nobody to talk to", "lonely since my wife died", "don't go out any more"),
    "family": ("going through a divorce", "lost my mum last year"),
    "caring": ("looking after my dad full time", "no break from caring"),
    "safety": ("partner controls the money", "frightened at home"),
    "discrimination": ("racist abuse from neighbours", "treated differently at work"),
    "legal": ("court case coming up", "just out of prison"),
    "immigration": ("no recourse to public funds", "waiting on my asylum claim"),
    "environment": ("noise from the road all night", "fumes from the factory"),
    "health_behaviours": ("drinking too much", "gambling debts"),
    "wellbeing": ("feeling low", "want to get out more"),
}


@dataclass
class DemoSummary:
    people: int = 0
    screenings: int = 0
    answers: int = 0
    needs: int = 0
    consents: int = 0
    referrals: int = 0
    outcomes: int = 0
    seconds: float = 0.0
    practices: list[str] = field(default_factory=list)
    referral_statuses: dict[str, int] = field(default_factory=dict)
    domains: dict[str, int] = field(default_factory=dict)
    ethnic_categories: dict[str, int] = field(default_factory=dict)
    directory_loaded: bool = False
    hub_only: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _weighted(rng: random.Random, table: Mapping[str, float]) -> str:
    keys = list(table)
    return rng.choices(keys, weights=[table[k] for k in keys], k=1)[0]


def _birth_date(rng: random.Random, today: date) -> date:
    # Social prescribing reaches adults of all ages, more of them middle-aged and older.
    band = rng.choices(
        [(16, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 74), (75, 84), (85, 95)],
        weights=[8, 13, 15, 17, 17, 14, 11, 5],
    )[0]
    age = rng.randint(*band)
    return today - timedelta(days=age * 365 + rng.randrange(365))


def _postcode(rng: random.Random, district: str) -> str:
    return (
        f"{district} {rng.randrange(1, 10)}{rng.choice(STREET_LETTERS)}{rng.choice(STREET_LETTERS)}"
    )


def _language(rng: random.Random, ethnic: str) -> tuple[str, str]:
    options: dict[str, tuple[tuple[str, ...], float]] = {
        "C": (("pl", "ro", "lt", "pt", "uk"), 0.45),
        "H": (("gu", "pa"), 0.15),
        "J": (("ur", "pa"), 0.2),
        "K": (("bn",), 0.25),
        "L": (("ta",), 0.15),
        "N": (("so", "ti", "ar"), 0.2),
        "R": (("zh",), 0.3),
        "S": (("ar", "fa", "ku", "tr"), 0.35),
    }
    if rng.random() < 0.12:
        return "not-asked", "not-asked"
    choice = options.get(ethnic)
    if choice and rng.random() < choice[1]:
        language = rng.choice(choice[0])
        return language, "yes" if rng.random() < 0.45 else "no"
    return "en", "no"


def _existing_nhs_numbers(session: Session) -> set[str]:
    rows = session.exec(select(Person.nhs_number).where(Person.nhs_number.is_not(None))).all()  # type: ignore[union-attr]
    return {r for r in rows if r}


def _load_directory(session: Session) -> tuple[bool, dict[str, list[int]], list[int]]:
    """Services by domain for referral targets; loads the bundled sample directory if the
    directory is empty. Returns (loaded, by_domain, all_ids)."""
    loaded = False
    count = session.execute(sa.select(sa.func.count()).select_from(Service)).scalar_one()
    if not count:
        load_sample_directory(session)
        session.flush()
        loaded = True
    by_domain: dict[str, list[int]] = {}
    ids: list[int] = []
    table = Service.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        sa.select(table.c.id, table.c.domains).where(table.c.withdrawn.is_(False))
    ).all()
    for service_id, domains in rows:
        ids.append(service_id)
        for domain in domains or []:
            by_domain.setdefault(domain, []).append(service_id)
    return loaded, by_domain, ids


def _answers_for(
    rng: random.Random, q: Questionnaire, wanted: set[str], ons4_low: bool
) -> dict[str, str]:
    """Answers that express needs in exactly the ``wanted`` domains (plus ONS4)."""
    answers: dict[str, str] = {}
    for section in q.sections:
        has_need = section.domain in wanted
        positive_done = False
        for question in section.questions:
            if question.type == "integer":
                if question.ons4 == "anxious":
                    value = rng.randint(6, 10) if ons4_low else rng.randint(0, 5)
                else:
                    value = rng.randint(1, 4) if ons4_low else rng.randint(5, 9)
                answers[question.id] = str(value)
                continue
            if rng.random() < 0.03:
                continue  # skipped
            negatives = [o for o in question.options if not o.suggests and o.code != "declined"]
            positives = [
                o for o in question.options if any(s.domain == section.domain for s in o.suggests)
            ]
            if has_need and positives and (not positive_done or rng.random() < 0.4):
                answers[question.id] = rng.choice(positives).code
                positive_done = True
            elif rng.random() < 0.02 and any(o.code == "declined" for o in question.options):
                answers[question.id] = "declined"
            elif negatives:
                answers[question.id] = rng.choice(negatives[:2]).code
    return answers


def make_demo(
    session: Session,
    people: int = 200,
    seed: int | None = None,
    *,
    actor: str = "demo",
    followup_days: int = 14,
    today: date | None = None,
    hub_only: bool = False,
    referred_less: str | None = None,
) -> DemoSummary:
    """Add ``people`` synthetic people with their records. Flushes but does not commit.

    ``referred_less`` (default: none) builds in an inequality for testing the counts: the
    needs of people in that high-level ethnic group (``asian``, ``black``, ...) are
    referred half as often as everyone else's (the same random draws, a halved chance)."""
    if people < 1:
        raise ValueError("number of people must be at least 1")
    if people > 1_000_000:
        raise ValueError("number of people must be at most 1,000,000")
    started = time.perf_counter()
    rng = random.Random(seed)
    # ``today`` anchors the whole history (the 18 months end that day), so a demo made for
    # a fixed date is the same whenever it is made.
    now = datetime(today.year, today.month, today.day, 17, tzinfo=UTC) if today else None
    now = now or datetime.now(UTC)
    day0 = today or now.date()
    q = load_questionnaire()
    equality = load_equality()
    ethnic_weights = dict(equality["ethnic_category"].demo_weights)
    summary = DemoSummary(practices=[p[0] for p in PRACTICES], hub_only=hub_only)
    by_domain: dict[str, list[int]] = {}
    all_services: list[int] = []
    if not hub_only:
        summary.directory_loaded, by_domain, all_services = _load_directory(session)
    summary.hub_only = not all_services
    taken = _existing_nhs_numbers(session)
    practice_weights = [p[2] for p in PRACTICES]
    less = {code for code, group in equality["ethnic_category"].groups if group == referred_less}
    if referred_less is not None and not less:
        raise ValueError(f"no ethnic group {referred_less!r} to refer less often")
    ethnic_codes = list(ethnic_weights)
    ethnic_drawn = rng.choices(ethnic_codes, weights=list(ethnic_weights.values()), k=people)
    # Make sure every category appears at least once (small runs), keeping the weights.
    for i, code in enumerate(ethnic_codes):
        if code not in ethnic_drawn and i < people:
            ethnic_drawn[rng.randrange(people)] = code
    rows: dict[str, list[dict[str, Any]]] = {
        name: []
        for name in (
            "person",
            "screening",
            "answer",
            "need",
            "consent",
            "referral",
            "referral_need",
            "referral_event",
            "outcome",
            "outcome_need",
        )
    }
    statuses: Counter[str] = Counter()
    domains_count: Counter[str] = Counter()
    for index in range(people):
        pid = str(uuid.uuid4())
        ods, district, _ = rng.choices(PRACTICES, weights=practice_weights)[0]
        ethnic = ethnic_drawn[index]
        sex = _weighted(
            rng,
            {
                "female": 57,
                "male": 40.5,
                "intersex": 0.3,
                "prefer-not-to-say": 0.7,
                "not-asked": 1.5,
            },
        )
        given = rng.choice(FEMALE if sex == "female" else MALE if sex == "male" else FEMALE + MALE)
        language, interpreter = _language(rng, ethnic)
        while True:
            nhs = synthetic_nhs_number(rng)
            if nhs not in taken:
                taken.add(nhs)
                break
        created = now - timedelta(days=rng.uniform(0.05, DAYS))
        wanted = {d for d, p in PREVALENCE.items() if d != "wellbeing" and rng.random() < p}
        if ethnic not in ("A", "B") and rng.random() < 0.08:
            wanted.add("immigration")
        if ethnic not in ("A", "Z", "99") and rng.random() < 0.05:
            wanted.add("discrimination")
        ons4_low = rng.random() < PREVALENCE["wellbeing"]
        if not wanted and not ons4_low:
            wanted.add(rng.choice(["isolation", "money", "housing", "benefits", "fuel"]))
        immigration = "not-asked"
        if "immigration" in wanted:
            immigration = rng.choice(["asylum-seeker", "nrpf", "pre-settled", "refugee", "visa"])
        rows["person"].append(
            {
                "id": pid,
                "given_name": given,
                "family_name": rng.choice(FAMILY),
                "birth_date": _birth_date(rng, day0),
                "nhs_number": nhs if rng.random() < 0.97 else None,
                "postcode": _postcode(rng, district),
                "phone": f"07700 900{rng.randrange(1000):03d}",
                "email": "",
                "contact_preference": rng.choice(["phone", "phone", "text", "letter", "email"]),
                "practice_ods": ods,
                "org": ods,  # held by the person's practice
                "ethnic_category": ethnic,
                "sex": sex,
                "gender_same_as_birth": _weighted(
                    rng, {"yes": 88, "no": 0.6, "prefer-not-to-say": 1.4, "not-asked": 10}
                ),
                "sexual_orientation": _weighted(
                    rng,
                    {
                        "heterosexual": 80,
                        "gay-lesbian": 1.8,
                        "bisexual": 1.5,
                        "other": 0.4,
                        "prefer-not-to-say": 5,
                        "not-asked": 11.3,
                    },
                ),
                "disability": _weighted(
                    rng, {"yes": 30, "no": 58, "prefer-not-to-say": 2, "not-asked": 10}
                ),
                "religion": _weighted(
                    rng,
                    {
                        "none": 33,
                        "christian": 38,
                        "muslim": 7,
                        "hindu": 1.5,
                        "sikh": 1,
                        "jewish": 0.4,
                        "buddhist": 0.5,
                        "other": 0.6,
                        "prefer-not-to-say": 5,
                        "not-asked": 13,
                    },
                )
                if ethnic not in ("J", "K")
                else _weighted(
                    rng, {"muslim": 85, "none": 3, "prefer-not-to-say": 4, "not-asked": 8}
                ),
                "main_language": language,
                "interpreter_needed": interpreter,
                "immigration_status": immigration,
                "created_at": created,
                "created_by": rng.choice(WORKERS[:3]),
                "updated_at": created,
            }
        )
        # Screening
        sid = str(uuid.uuid4())
        screened = min(created + timedelta(hours=rng.uniform(0, 72)), now - timedelta(minutes=10))
        worker = rng.choice(WORKERS[:3])
        answers = _answers_for(rng, q, wanted, ons4_low)
        suggestions = suggest_needs(q, answers)
        need_ids: list[tuple[str, str, str]] = []  # (need id, domain, code)
        for s in suggestions:
            s["existing_need_id"] = None
            if rng.random() < 0.9:
                nid = str(uuid.uuid4())
                s["state"], s["need_id"] = "confirmed", nid
                rows["need"].append(
                    {
                        "id": nid,
                        "person_id": pid,
                        "code": s["code"],
                        "system": s["system"],
                        "display": s["display"],
                        "domain": s["domain"],
                        "status": "active",
                        "words": rng.choice(WORDS[s["domain"]]) if rng.random() < 0.7 else "",
                        "priority": _weighted(rng, {"high": 25, "medium": 55, "low": 20}),
                        "recorded_at": screened,
                        "recorded_by": worker,
                        "screening_id": sid,
                        "resolved_at": None,
                        "resolved_by": None,
                        "org": ods,
                    }
                )
                need_ids.append((nid, s["domain"], s["code"]))
                domains_count[s["domain"]] += 1
            else:
                s["state"] = "rejected"
        ons4 = {
            f"ons4_{k}": int(answers[f"ons4.{k}"])
            for k in ("satisfied", "worthwhile", "happy", "anxious")
            if f"ons4.{k}" in answers
        }
        rows["screening"].append(
            {
                "id": sid,
                "person_id": pid,
                "questionnaire_id": q.id,
                "questionnaire_version": q.version,
                "status": "completed",
                "started_at": screened,
                "completed_at": screened,
                "recorded_by": worker,
                "suggestions": suggestions,
                "ons4_satisfied": ons4.get("ons4_satisfied"),
                "ons4_worthwhile": ons4.get("ons4_worthwhile"),
                "ons4_happy": ons4.get("ons4_happy"),
                "ons4_anxious": ons4.get("ons4_anxious"),
                "org": ods,
            }
        )
        for qid, value in answers.items():
            question = q.question(qid)
            text = question.option(value).text if question.type == "choice" else value
            rows["answer"].append(
                {
                    "screening_id": sid,
                    "question_id": qid,
                    "value": value,
                    "text": text,
                    "org": ods,
                }
            )
        # Referrals: most needs are referred, one referral per need or two needs together.
        chance = 0.375 if ethnic in less else 0.75
        to_refer = [n for n in need_ids if rng.random() < chance]
        rng.shuffle(to_refer)
        groups: list[list[tuple[str, str, str]]] = []
        while to_refer:
            size = 2 if len(to_refer) > 1 and rng.random() < 0.25 else 1
            groups.append(to_refer[:size])
            to_refer = to_refer[size:]
        consents: dict[Any, str] = {}
        for group in groups:
            domain = group[0][1]
            candidates = by_domain.get(domain) or []
            service_id: int | None = None
            hub = ""
            if candidates and rng.random() < 0.85:
                service_id = rng.choice(candidates)
            elif all_services and rng.random() < 0.3:
                service_id = rng.choice(all_services)
            else:
                hub = DEMO_HUB
            referred = screened + timedelta(hours=rng.uniform(0.2, 24 * 7))
            if referred > now:
                referred = now - timedelta(minutes=5)
            age_days = (now - referred).days
            final = _weighted(rng, OLD_STATUS if age_days > 60 else NEW_STATUS)
            target = service_id if service_id is not None else hub
            cid: str | None = None
            if final != "draft" or rng.random() < 0.5:
                cid = consents.get(target)
                if cid is None:
                    cid = str(uuid.uuid4())
                    consents[target] = cid
                    withdrawn = final in ("completed", "cancelled") and rng.random() < 0.03
                    rows["consent"].append(
                        {
                            "id": cid,
                            "person_id": pid,
                            "service_id": service_id,
                            "hub": hub,
                            "shares": ["needs", "contact", "equality"]
                            if rng.random() < 0.35
                            else ["needs", "contact"],
                            "method": "verbal" if rng.random() < 0.8 else "written",
                            "given_at": referred - timedelta(minutes=rng.uniform(1, 30)),
                            "recorded_by": worker,
                            "withdrawn_at": now - timedelta(days=rng.uniform(0, min(age_days, 30)))
                            if withdrawn
                            else None,
                            "withdrawn_by": worker if withdrawn else None,
                            "withdrawn_reason": "person asked to stop sharing" if withdrawn else "",
                            "org": ods,
                        }
                    )
            rid = str(uuid.uuid4())
            path = PATH[final]
            # Spread the steps between the referral and now (earlier steps sooner).
            span = max((now - referred).total_seconds(), 60.0)
            times = [referred]
            for _ in path[1:]:
                step = rng.uniform(0.02, 0.25) * span
                times.append(min(times[-1] + timedelta(seconds=step), now))
            previous: str | None = None
            reason_text = ""
            business = ""
            for step_status, at in zip(path, times, strict=True):
                reason_text = rng.choice(REASONS[step_status]) if step_status in REASONS else ""
                business = ""
                if step_status == "requested" and final == "requested" and rng.random() < 0.5:
                    business = "received, awaiting triage"
                rows["referral_event"].append(
                    {
                        "referral_id": rid,
                        "from_status": previous,
                        "to_status": step_status,
                        "reason": reason_text,
                        "business_status": business,
                        "by": WORKERS[3]
                        if step_status not in ("draft", "requested", "cancelled")
                        else worker,
                        "at": at,
                        "source": "local",
                        "recorded_at": at,
                        "org": ods,
                    }
                )
                previous = step_status
            statuses[final] += 1
            rows["referral"].append(
                {
                    "id": rid,
                    "person_id": pid,
                    "service_id": service_id,
                    "hub": hub,
                    "consent_id": cid,
                    "screening_id": sid,
                    "reason": "; ".join(rng.choice(WORDS[d]) for _, d, _ in group),
                    "status": final,
                    "status_reason": reason_text,
                    "business_status": business,
                    "status_at": times[-1],
                    "direction": "outgoing",
                    "origin": "",
                    "created_at": referred,
                    "created_by": worker,
                    "updated_at": times[-1],
                    "followup_due": (referred + timedelta(days=followup_days)).date(),
                    "org": ods,
                }
            )
            for nid, _, _ in group:
                rows["referral_need"].append({"referral_id": rid, "need_id": nid, "org": ods})
            if final == "completed":
                oid = str(uuid.uuid4())
                base = ons4
                lift = rng.choice([0, 1, 1, 2, 2, 3])
                rows["outcome"].append(
                    {
                        "id": oid,
                        "referral_id": rid,
                        "person_id": pid,
                        "recorded_at": times[-1],
                        "recorded_by": WORKERS[3],
                        "note": rng.choice(
                            ("engaged well", "attended four sessions", "signposted on", "")
                        ),
                        "ons4_satisfied": min(10, base.get("ons4_satisfied", 5) + lift),
                        "ons4_worthwhile": min(10, base.get("ons4_worthwhile", 5) + lift),
                        "ons4_happy": min(10, base.get("ons4_happy", 5) + lift),
                        "ons4_anxious": max(0, base.get("ons4_anxious", 5) - lift),
                        "org": ods,
                    }
                )
                for nid, _, _ in group:
                    resolved = rng.random() < 0.62
                    rows["outcome_need"].append(
                        {"outcome_id": oid, "need_id": nid, "resolved": resolved, "org": ods}
                    )
                    if resolved:
                        for need_row in rows["need"][-len(need_ids) :]:
                            if need_row["id"] == nid:
                                need_row["status"] = "resolved"
                                need_row["resolved_at"] = times[-1]
                                need_row["resolved_by"] = WORKERS[3]
    # every record table in foreign-key order; the audit event is appended by record_event
    models = tuple(m for m in RECORD_TABLES if m is not AuditEvent)
    for model in models:
        table: Any = model.__table__  # type: ignore[union-attr]
        data = rows[table.name]
        for start in range(0, len(data), 5000):
            session.execute(sa.insert(table), data[start : start + 5000])
    fill_missing_orgs(session)  # each row held by its person's organisation
    sync_counts(session)  # the counting copies of the needs inserted above
    summary.people = len(rows["person"])
    summary.screenings = len(rows["screening"])
    summary.answers = len(rows["answer"])
    summary.needs = len(rows["need"])
    summary.consents = len(rows["consent"])
    summary.referrals = len(rows["referral"])
    summary.outcomes = len(rows["outcome"])
    summary.referral_statuses = dict(sorted(statuses.items()))
    summary.domains = dict(sorted(domains_count.items()))
    summary.ethnic_categories = dict(sorted(Counter(ethnic_drawn).items()))
    record_event(
        session,
        actor,
        "demo",
        "database",
        "",
        {
            "people": summary.people,
            "needs": summary.needs,
            "referrals": summary.referrals,
            "seed": seed,
        },
    )
    session.flush()
    summary.seconds = round(time.perf_counter() - started, 2)
    return summary
