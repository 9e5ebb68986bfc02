"""The screening questionnaire, as data (``questionnaire.yaml`` plus an optional practice
file of extra questions), and the workflow: checking answers, saving a screening in
progress, completing it into stored answers and suggested needs.

Its FHIR R4 rendering (Questionnaire / QuestionnaireResponse) lives with the rest of the
FHIR mapping, in ``screening.exchange.fhir_questionnaire``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, select

from directory.untrusted import shown
from screening.audit import record_event
from screening.lookup import by_id
from screening.models import Answer, Need, Person, Screening, as_utc, utcnow
from screening.naming import short_id
from screening.needs import NeedCode, domain_labels, resolve_code

BUILTIN_ID = "linkwork-social-needs"
QUESTION_TYPES = ("choice", "integer")
ONS4_ITEMS = ("satisfied", "worthwhile", "happy", "anxious")
CANONICAL_BASE = "urn:linkwork:questionnaire:"


@dataclass(frozen=True)
class Option:
    code: str
    text: str
    suggests: tuple[NeedCode, ...] = ()


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    type: str
    domain: str
    options: tuple[Option, ...] = ()
    min: int | None = None
    max: int | None = None
    ons4: str | None = None
    suggest_at_most: int | None = None
    suggest_at_least: int | None = None
    suggests: tuple[NeedCode, ...] = ()  # integer questions: when the threshold is met

    def option(self, code: str) -> Option:
        for option in self.options:
            if option.code == code:
                return option
        raise KeyError(code)


@dataclass(frozen=True)
class Section:
    domain: str
    title: str
    intro: str = ""
    questions: tuple[Question, ...] = ()


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: str
    title: str
    intro: str
    sections: tuple[Section, ...]
    _index: dict[str, Question] = field(default_factory=dict, compare=False, repr=False)

    @property
    def url(self) -> str:
        return CANONICAL_BASE + self.id

    def questions(self) -> list[Question]:
        return [q for s in self.sections for q in s.questions]

    def question(self, question_id: str) -> Question:
        found = self._index.get(question_id)
        if found is None:
            raise ValueError(f"unknown question {question_id!r} in questionnaire {self.id}")
        return found


def _str(value: Any, where: str, what: str) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool) or str(value) == "":
        raise ValueError(f"{where}: {what} must be text")
    return str(value).strip()


def _suggestions(raw: Any, where: str) -> tuple[NeedCode, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError(f"{where}: suggests must be a list of codes")
    out = []
    for item in raw:
        try:
            out.append(resolve_code(str(item)))
        except (LookupError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None
    return tuple(out)


def _question(raw: Any, domain: str, where: str) -> Question:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: a question must be a mapping")
    qid = _str(raw.get("id"), where, "id")
    where = f"{where} question {qid}"
    text = _str(raw.get("text"), where, "text")
    kind = str(raw.get("type", "choice"))
    if kind not in QUESTION_TYPES:
        raise ValueError(f"{where}: type must be one of {', '.join(QUESTION_TYPES)}")
    if kind == "choice":
        options_raw = raw.get("options")
        if not isinstance(options_raw, list) or len(options_raw) < 2:
            raise ValueError(f"{where}: a choice question needs at least two options")
        options = []
        for opt in options_raw:
            if not isinstance(opt, dict):
                raise ValueError(f"{where}: each option must be a mapping")
            code = _str(opt.get("code"), where, "option code")
            options.append(
                Option(
                    code=code,
                    text=_str(opt.get("text"), where, "option text"),
                    suggests=_suggestions(opt.get("suggests"), f"{where} option {code}"),
                )
            )
        codes = [o.code for o in options]
        if len(set(codes)) != len(codes):
            raise ValueError(f"{where}: option codes repeat")
        return Question(qid, text, kind, domain, options=tuple(options))
    low, high = raw.get("min", 0), raw.get("max", 10)
    if not isinstance(low, int) or not isinstance(high, int) or low >= high:
        raise ValueError(f"{where}: min and max must be whole numbers, min below max")
    ons4 = raw.get("ons4")
    if ons4 is not None and ons4 not in ONS4_ITEMS:
        raise ValueError(f"{where}: ons4 must be one of {', '.join(ONS4_ITEMS)}")
    rule = raw.get("suggest_if") or {}
    if not isinstance(rule, dict):
        raise ValueError(f"{where}: suggest_if must be a mapping")
    return Question(
        qid,
        text,
        kind,
        domain,
        min=low,
        max=high,
        ons4=ons4,
        suggest_at_most=rule.get("at_most"),
        suggest_at_least=rule.get("at_least"),
        suggests=_suggestions(rule.get("suggests"), f"{where} suggest_if"),
    )


def _sections(raw: Any, where: str) -> list[Section]:
    if not isinstance(raw, dict) or not isinstance(raw.get("sections"), list):
        raise ValueError(f"{where}: expected a mapping with a list of sections")
    domains = domain_labels()
    sections = []
    for sec in raw["sections"]:
        if not isinstance(sec, dict):
            raise ValueError(f"{where}: each section must be a mapping")
        domain = _str(sec.get("domain"), where, "section domain")
        if domain not in domains:
            raise ValueError(f"{where}: unknown need domain {domain!r}")
        questions = sec.get("questions")
        if not isinstance(questions, list) or not questions:
            raise ValueError(f"{where}: section {domain} has no questions")
        sections.append(
            Section(
                domain=domain,
                title=str(sec.get("title") or domains[domain]),
                intro=str(sec.get("intro") or ""),
                questions=tuple(
                    _question(q, domain, f"{where} section {domain}") for q in questions
                ),
            )
        )
    return sections


def _read_yaml(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text)
    except RecursionError:
        raise ValueError(f"{where} is not valid YAML: it is nested too deeply") from None
    except ValueError:  # Python's own limit on the digits of a whole number
        raise ValueError(f"{where} holds a number too long to read") from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ValueError(f"{where} is not valid YAML: {problem}{at}") from None


@cache
def _builtin() -> Questionnaire:
    text = resources.files("screening").joinpath("questionnaire.yaml").read_text("utf-8")
    return _build(_read_yaml(text, "questionnaire.yaml"), None, "questionnaire.yaml")


def _build(base: Any, extra: Any, where: str, extra_where: str = "") -> Questionnaire:
    sections = _sections(base, where)
    version = str(base.get("version", "1"))
    if extra is not None:
        extra_sections = _sections(extra, extra_where)
        by_domain = {s.domain: i for i, s in enumerate(sections)}
        for sec in extra_sections:
            if sec.domain in by_domain:
                i = by_domain[sec.domain]
                old = sections[i]
                sections[i] = Section(
                    old.domain, old.title, old.intro, old.questions + sec.questions
                )
            else:
                sections.append(sec)
        version = f"{version}+{extra.get('id') or 'local'}"
    index: dict[str, Question] = {}
    for sec in sections:
        for q in sec.questions:
            if q.id in index:
                raise ValueError(f"{extra_where or where}: question id {q.id!r} is used twice")
            index[q.id] = q
    covered = {s.domain for s in sections}
    missing = [d for d in domain_labels() if d not in covered]
    if missing:
        raise ValueError(f"{where}: no question for need domain(s) {', '.join(missing)}")
    return Questionnaire(
        id=str(base.get("id", BUILTIN_ID)),
        version=version,
        title=str(base.get("title", "")),
        intro=str(base.get("intro", "")),
        sections=tuple(sections),
        _index=index,
    )


def load_questionnaire(extra: str | Path | None = None) -> Questionnaire:
    """The built-in questionnaire, plus a practice's extra questions from ``extra`` (a YAML
    or JSON file of ``sections``, each with a ``domain`` and ``questions``). Validated on
    load: suggested codes must exist in the codes catalogue; ValueError otherwise."""
    base = _builtin()
    if extra is None or str(extra) == "":
        return base
    path = Path(extra)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read extra questions {path}: {exc.strerror}") from None
    raw_base = _read_yaml(
        resources.files("screening").joinpath("questionnaire.yaml").read_text("utf-8"),
        "questionnaire.yaml",
    )
    return _build(raw_base, _read_yaml(text, str(path)), "questionnaire.yaml", str(path))


# --- answers ------------------------------------------------------------------------------


def load_answers_file(path: str | Path) -> dict[str, Any]:
    """Answers from a YAML or JSON file: a mapping question id -> option code or number
    (optionally under an ``answers`` key). ValueError (one line) if malformed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read answers file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"answers file {path} is not UTF-8 text") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except RecursionError:
            raise ValueError(f"answers file {path} is not valid JSON: nested too deeply") from None
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"answers file {path} is not valid JSON: {exc.msg} "
                f"(line {exc.lineno}, column {exc.colno})"
            ) from None
        except ValueError:  # Python's own limit on the digits of a whole number
            raise ValueError(f"answers file {path} holds a number too long to read") from None
    else:
        data = _read_yaml(text, f"answers file {path}")
    if isinstance(data, dict) and isinstance(data.get("answers"), dict):
        data = data["answers"]
    if not isinstance(data, dict) or not data:
        raise ValueError(f"answers file {path} must map question ids to answers")
    return {str(k): v for k, v in data.items()}


def check_answers(questionnaire: Questionnaire, answers: dict[str, Any]) -> dict[str, str]:
    """Validated answers as question id -> stored value (option code or integer text).
    Unanswered questions are simply left out."""
    clean: dict[str, str] = {}
    for qid, value in answers.items():
        question = questionnaire.question(qid)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if question.type == "integer":
            if isinstance(value, bool):
                raise ValueError(f"answer to {qid} must be a whole number")
            text = str(value).strip()
            digits = text.removeprefix("-")
            # ASCII digits only (int() takes other scripts' digits, "1_0" and "+5" too)
            if not (digits.isascii() and digits.isdigit()) or len(digits) > 6:
                raise ValueError(f"answer to {qid} must be a whole number, not {shown(value)}")
            number = int(text)
            assert question.min is not None and question.max is not None
            if not question.min <= number <= question.max:
                raise ValueError(
                    f"answer to {qid} must be from {question.min} to {question.max}, not {number}"
                )
            clean[qid] = str(number)
        else:
            code = str(value).strip()
            if isinstance(value, bool):
                code = "yes" if value else "no"
            try:
                question.option(code)
            except KeyError:
                allowed = ", ".join(o.code for o in question.options)
                raise ValueError(f"answer to {qid} must be one of: {allowed}") from None
            clean[qid] = code
    return clean


def suggest_needs(questionnaire: Questionnaire, answers: dict[str, str]) -> list[dict[str, Any]]:
    """The needs the answers suggest, one per code, with the questions behind each."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for question in questionnaire.questions():
        value = answers.get(question.id)
        if value is None:
            continue
        if question.type == "integer":
            number = int(value)
            hit = (question.suggest_at_most is not None and number <= question.suggest_at_most) or (
                question.suggest_at_least is not None and number >= question.suggest_at_least
            )
            codes = question.suggests if hit else ()
        else:
            codes = question.option(value).suggests
        for nc in codes:
            key = (nc.system, nc.code)
            if key not in found:
                found[key] = {
                    "code": nc.code,
                    "system": nc.system,
                    "display": nc.display,
                    "domain": nc.domain,
                    "questions": [],
                    "state": "pending",
                    "need_id": None,
                }
            found[key]["questions"].append(question.id)
    return list(found.values())


def check_skipped(q: Questionnaire, skipped: Sequence[str] | None) -> list[str]:
    """The sections to record as skipped (not asked), as their domains in the
    questionnaire's order; each given by its domain or its title (any case). ValueError
    naming the choices for one that is neither."""
    if not skipped:
        return []
    names: dict[str, str] = {}
    for section in q.sections:
        names[section.domain.casefold()] = section.domain
        names[section.title.casefold()] = section.domain
    wanted = set()
    for name in skipped:
        domain = names.get(str(name).strip().casefold())
        if domain is None:
            choices = ", ".join(s.domain for s in q.sections)
            raise ValueError(f"no section {name!r} to skip; the sections are: {choices}")
        wanted.add(domain)
    return [d for d in dict.fromkeys(s.domain for s in q.sections) if d in wanted]


def _without_skipped(
    q: Questionnaire, answers: dict[str, Any], skipped: list[str]
) -> dict[str, Any]:
    """``answers`` less those to questions in skipped sections (not asked, so not kept:
    a skipped section must never read as answered, let alone as 'no need')."""
    dropped = {question.id for s in q.sections if s.domain in skipped for question in s.questions}
    return {qid: value for qid, value in answers.items() if qid not in dropped}


def skipped_titles(domains: Sequence[str], q: Questionnaire | None = None) -> list[str]:
    """The skipped sections in words (their titles; a domain the questionnaire does not
    know, e.g. from a practice's extra questions no longer loaded, as itself)."""
    q = q or load_questionnaire()
    titles: dict[str, str] = {}
    for section in q.sections:
        titles.setdefault(section.domain, section.title)
    return [titles.get(d, d) for d in domains]


def complete_screening(
    session: Session,
    person: Person,
    answers: dict[str, Any],
    *,
    actor: str,
    questionnaire: Questionnaire | None = None,
    at: datetime | None = None,
    audit: bool = True,
    screening: Screening | None = None,
    skipped: Sequence[str] | None = None,
) -> tuple[Screening, list[dict[str, Any]]]:
    """Store a completed screening and its answers; return it with the suggested needs
    (also kept on ``Screening.suggestions``, state ``pending``). Codes nothing: the link
    worker confirms with ``screening.needs.confirm_need`` or rejects each suggestion.

    With ``screening`` (an in-progress one of this person, see
    ``save_screening_progress``), that screening is finished with ``answers`` (which
    replace the saved ones) instead of a new one being made. ``skipped``: the sections
    not asked (domains or titles, ``check_skipped``): recorded on the screening, their
    answers dropped."""
    q = questionnaire or load_questionnaire()
    if screening is not None:
        _check_in_progress(screening, person)
    not_asked = check_skipped(q, skipped)
    clean = check_answers(q, _without_skipped(q, answers, not_asked))
    if not clean:
        raise ValueError("no answers given")
    suggestions = suggest_needs(q, clean)
    active = {
        (n.system, n.code): n.id
        for n in session.exec(
            select(Need).where(Need.person_id == person.id, Need.status == "active")
        ).all()
    }
    for s in suggestions:
        s["existing_need_id"] = active.get((s["system"], s["code"]))
    when = as_utc(at) if at else utcnow()
    ons4 = {}
    for question in q.questions():
        if question.ons4 and question.id in clean:
            ons4[f"ons4_{question.ons4}"] = int(clean[question.id])
    resumed = screening is not None
    if screening is None:
        screening = Screening(
            person_id=person.id,
            questionnaire_id=q.id,
            questionnaire_version=q.version,
            started_at=when,
            recorded_by=actor,
        )
    screening.status = "completed"
    screening.completed_at = when
    screening.suggestions = suggestions
    screening.skipped = not_asked
    for name, number in ons4.items():
        setattr(screening, name, number)
    session.add(screening)
    session.flush()
    _store_answers(session, q, screening, clean)
    if audit:
        detail: dict[str, Any] = {
            "answers": len(clean),
            "suggested": [s["code"] for s in suggestions],
        }
        if not_asked:
            detail["skipped"] = not_asked
        record_event(
            session,
            actor,
            "complete" if resumed else "create",
            "screening",
            screening.id,
            detail,
            person_id=person.id,
        )
    return screening, suggestions


def _check_in_progress(screening: Screening, person: Person) -> None:
    name = f"{person.given_name} {person.family_name}"
    if screening.person_id != person.id:
        raise ValueError(f"screening {short_id(screening.id)} is not this person's ({name})")
    if screening.status != "in-progress":
        raise ValueError(
            f"the screening of {name} started {screening.started_at:%d %b %Y} "
            f"({short_id(screening.id)}) is already {screening.status}"
        )


def _store_answers(
    session: Session, q: Questionnaire, screening: Screening, clean: dict[str, str]
) -> None:
    """Replace the screening's stored answers with ``clean`` (checked answers)."""
    for old in session.exec(select(Answer).where(Answer.screening_id == screening.id)).all():
        session.delete(old)
    session.flush()
    for qid, value in clean.items():
        question = q.question(qid)
        text = question.option(value).text if question.type == "choice" else value
        session.add(Answer(screening_id=screening.id, question_id=qid, value=value, text=text))
    session.flush()


def in_progress_screening(session: Session, person: Person) -> Screening | None:
    """The person's screening that was started and saved but not completed, if any."""
    return session.exec(
        select(Screening).where(Screening.person_id == person.id, Screening.status == "in-progress")
    ).first()


def save_screening_progress(
    session: Session,
    person: Person,
    answers: dict[str, Any],
    *,
    actor: str,
    screening: Screening | None = None,
    questionnaire: Questionnaire | None = None,
    at: datetime | None = None,
    skipped: Sequence[str] | None = None,
) -> Screening:
    """Save a half-done screening (status ``in-progress``): the answers so far, checked
    as ``complete_screening`` checks them, replacing any saved before. Without
    ``screening`` a new one is started; a person has at most one in progress (ValueError
    if they already have one: resume that). Suggests nothing until completed."""
    q = questionnaire or load_questionnaire()
    if screening is None:
        existing = in_progress_screening(session, person)
        if existing is not None:
            raise ValueError(
                f"{person.given_name} {person.family_name} already has a screening in "
                f"progress, started {existing.started_at:%d %b %Y}: resume that one"
            )
    else:
        _check_in_progress(screening, person)
    not_asked = check_skipped(q, skipped)
    clean = check_answers(q, _without_skipped(q, answers, not_asked))
    if not clean:
        raise ValueError("no answers given")
    started = screening is None
    if screening is None:
        screening = Screening(
            person_id=person.id,
            questionnaire_id=q.id,
            questionnaire_version=q.version,
            status="in-progress",
            started_at=as_utc(at) if at else utcnow(),
            recorded_by=actor,
            suggestions=[],
        )
    screening.skipped = not_asked
    session.add(screening)
    session.flush()
    _store_answers(session, q, screening, clean)
    saved: dict[str, Any] = {"answers": len(clean), "status": "in-progress"}
    if not_asked:
        saved["skipped"] = not_asked
    record_event(
        session,
        actor,
        "start" if started else "save-progress",
        "screening",
        screening.id,
        saved,
        person_id=person.id,
    )
    return screening


def get_screening(session: Session, ref: str) -> Screening:
    return by_id(session, Screening, ref, "screening")


def list_screenings(session: Session, person: Person) -> list[Screening]:
    """A person's screenings, newest first."""
    from sqlmodel import col

    return list(
        session.exec(
            select(Screening)
            .where(Screening.person_id == person.id)
            .order_by(col(Screening.started_at).desc())
        ).all()
    )


def screening_dict(screening: Screening) -> dict[str, Any]:
    suggestions = list(screening.suggestions or [])
    return {
        "id": screening.id,
        "person_id": screening.person_id,
        "questionnaire": f"{screening.questionnaire_id}|{screening.questionnaire_version}",
        "status": screening.status,
        "completed_at": as_utc(screening.completed_at).isoformat()
        if screening.completed_at
        else None,
        "recorded_by": screening.recorded_by,
        "ons4": {name: getattr(screening, f"ons4_{name}") for name in ONS4_ITEMS},
        "suggestions": suggestions,
        "pending": sum(1 for s in suggestions if s.get("state") == "pending"),
        "skipped": list(screening.skipped or []),  # the sections' domains
        "skipped_titles": skipped_titles(screening.skipped or []),  # the same in words
    }


def screening_answers(session: Session, screening: Screening) -> dict[str, str]:
    rows = session.exec(select(Answer).where(Answer.screening_id == screening.id)).all()
    return {a.question_id: a.value for a in rows}
