"""The screening questionnaire and a completed screening as FHIR R4 resources:
Questionnaire and QuestionnaireResponse (checked against the fhir.resources R4B models).

Choice answers are codings in a system of the questionnaire's own (``answer_system``);
integer questions carry their range as the standard minValue / maxValue extensions. A
referral carries the QuestionnaireResponse, cut down to the referred needs' domains
(``screening.exchange.outbound.screening_answers``).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from screening.models import Screening, as_utc
from screening.questionnaire import Questionnaire, load_questionnaire, screening_answers

_MIN = "http://hl7.org/fhir/StructureDefinition/minValue"
_MAX = "http://hl7.org/fhir/StructureDefinition/maxValue"


def answer_system(questionnaire: Questionnaire) -> str:
    return f"{questionnaire.url}:answers"


def questionnaire_resource_dict(questionnaire: Questionnaire) -> dict[str, Any]:
    system = answer_system(questionnaire)
    groups = []
    for section in questionnaire.sections:
        items = []
        for q in section.questions:
            item: dict[str, Any] = {"linkId": q.id, "text": q.text, "type": q.type}
            if q.type == "choice":
                item["answerOption"] = [
                    {"valueCoding": {"system": system, "code": o.code, "display": o.text}}
                    for o in q.options
                ]
            else:
                item["extension"] = [
                    {"url": _MIN, "valueInteger": q.min},
                    {"url": _MAX, "valueInteger": q.max},
                ]
            items.append(item)
        group: dict[str, Any] = {
            "linkId": section.domain,
            "text": section.title,
            "type": "group",
            "item": items,
        }
        groups.append(group)
    return {
        "resourceType": "Questionnaire",
        "id": questionnaire.id,
        "url": questionnaire.url,
        "version": questionnaire.version,
        "name": "LinkworkSocialNeeds",
        "title": questionnaire.title,
        "status": "active",
        "description": questionnaire.intro,
        "subjectType": ["Patient"],
        "item": groups,
    }


def to_fhir_questionnaire(questionnaire: Questionnaire | None = None) -> Any:
    """A validated ``fhir.resources.R4B.questionnaire.Questionnaire``."""
    from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire

    return FhirQuestionnaire.model_validate(
        questionnaire_resource_dict(questionnaire or load_questionnaire())
    )


def questionnaire_response_dict(
    session: Session, screening: Screening, questionnaire: Questionnaire | None = None
) -> dict[str, Any]:
    q = questionnaire or load_questionnaire()
    answers = screening_answers(session, screening)
    system = answer_system(q)
    groups = []
    for section in q.sections:
        items = []
        for question in section.questions:
            if question.id not in answers:
                continue
            value = answers[question.id]
            if question.type == "integer":
                answer: dict[str, Any] = {"valueInteger": int(value)}
            else:
                try:
                    display = question.option(value).text
                except KeyError:
                    display = value
                answer = {"valueCoding": {"system": system, "code": value, "display": display}}
            items.append({"linkId": question.id, "text": question.text, "answer": [answer]})
        if items:
            groups.append({"linkId": section.domain, "text": section.title, "item": items})
    when = as_utc(screening.completed_at or screening.started_at)
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": screening.id,
        "questionnaire": f"{q.url}|{screening.questionnaire_version or q.version}",
        "status": "completed" if screening.status == "completed" else "in-progress",
        "subject": {"reference": f"Patient/{screening.person_id}"},
        "authored": when.isoformat(),
        "item": groups,
    }
    if screening.recorded_by:
        resource["author"] = {"display": screening.recorded_by}
    return resource


def to_fhir_questionnaire_response(
    session: Session, screening: Screening, questionnaire: Questionnaire | None = None
) -> Any:
    """A validated ``fhir.resources.R4B.questionnaireresponse.QuestionnaireResponse``."""
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    return QuestionnaireResponse.model_validate(
        questionnaire_response_dict(session, screening, questionnaire)
    )
