# ruff: noqa: E501
"""Writes the messy council-feed fixtures in this folder (run once; the output is committed).

Modelled on the real council ORUK v1 list pages described in research-facts.md section 2
(list level only: no nested collections; HTML in descriptions; empty strings for absent
values; vendor ``pc_*`` fields; a duplicate id; an empty name; services without an
organisation). Names, places and ids are invented; postcodes use the unused ZZ area.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

HERE = Path(__file__).parent
rng = random.Random(42)
NS = uuid.UUID("0b0e9a7e-5d0c-4f57-a8a3-3e1f4a6c2d10")

KINDS = [
    (
        "Food Bank",
        "<p>We provide <strong>emergency food parcels</strong> to people in crisis.</p><p>Referral by voucher from a care professional.</p>",
    ),
    (
        "Debt Advice Service",
        "<p>Free, confidential <em>debt advice</em> &amp; help with budgeting.</p>",
    ),
    (
        "Befriending Scheme",
        "Weekly visits and phone calls for older people who feel lonely.<br/>Volunteers are DBS checked.",
    ),
    (
        "Carers Centre",
        "<div>Information, advice &amp; short breaks for unpaid carers.</div><ul><li>Carers assessments</li><li>Respite</li></ul>",
    ),
    ("Walking Group", "<p>Gentle walks of 30&nbsp;minutes every Tuesday &ndash; all welcome.</p>"),
    (
        "Domestic Abuse Service",
        "<p>Support for anyone affected by domestic abuse, including a refuge.</p>",
    ),
    ("Job Club", "Help with CVs, job searching and interview practice."),
    ("Men's Shed", "<p>A community workshop where men can share skills &amp; make friends.</p>"),
    ("ESOL Classes", "<p>English classes for speakers of other languages: Entry 1 to Level 1.</p>"),
    ("Housing Advice", "<p>Advice for people who are homeless or at risk of homelessness.</p>"),
    ("Youth Club", ""),
    (
        "Dementia Cafe",
        "<p>A friendly monthly cafe for people living with dementia and their carers.</p>",
    ),
]
PLACES = [
    "Ashby Fold",
    "Brindle Cross",
    "Coldmere",
    "Dunhope",
    "Eastwick Vale",
    "Fennick",
    "Greyholt",
]


def org(i: int, name: str) -> dict | None:
    if i % 23 == 0:
        return None  # no organisation at all
    if i % 29 == 0:
        return {"id": "", "name": "", "description": "", "url": "", "email": ""}
    return {
        "id": str(uuid.uuid5(NS, "org" + name)),
        "name": name,
        "description": "",
        "url": "" if i % 3 else f"https://{name.lower().replace(' ', '-')}.example.org",
        "email": "",
        "logo": "",
        "uri": "",
    }


def service(i: int) -> dict:
    kind, html = KINDS[i % len(KINDS)]
    place = PLACES[i % len(PLACES)]
    name = f"{place} {kind}"
    sid = str(uuid.uuid5(NS, f"svc{i}"))
    return {
        "id": sid,
        "name": name,
        "description": html,
        "url": "" if i % 4 == 0 else f"https://{sid[:8]}.example.org",
        "email": "" if i % 5 == 0 else f"info@{sid[:8]}.example.org",
        "status": "active" if i % 31 else "inactive",
        "fees": rng.choice(["", "Free", "Free of charge", "£3 per session", ""]),
        "accreditations": "",
        "assured_date": rng.choice(["", "2026-05-01", "2025-03-14T00:00:00", "2026-10-20"]),
        "attending_type": rng.choice(["", "venue", "phone"]),
        "attending_access": "",
        "deliverable_type": rng.choice(["", "Advice", "Information"]),
        "organization": org(i, f"{place} Community Trust" if i % 2 else f"{kind} Network"),
        "pc_targetAudience": rng.choice(["Adults", "Older people", "", "Families"]),
        "pc_lastUpdatedBy": "import-bot",
        "pc_isLocalOffer": bool(i % 2),
        "pc_metadata": {"sourceSystem": "Vendor CMS", "recordVersion": i},
    }


def council_list() -> list[dict]:
    items = [service(i) for i in range(1, 241)]
    # the quirks, each once or twice, in known places
    items[9]["name"] = ""  # an empty name
    items[57]["name"] = "   "  # only spaces
    dup = dict(items[20])
    dup["description"] = "<p>A second copy of record 21 with a different description.</p>"
    items.insert(100, dup)  # duplicate id
    items[150]["id"] = ""  # no id
    items[200] = {
        "id": str(uuid.uuid5(NS, "badpc")),
        "name": "Greyholt Advice Drop-in",
        "description": "<p>Advice drop-in.</p>",
        "organization": None,
        "service_at_locations": [
            {
                "id": "sal-1",
                "location": {
                    "id": "loc-1",
                    "name": "Library",
                    "latitude": "52.9",
                    "longitude": "-1.2",
                    "physical_addresses": [
                        {
                            "id": "a1",
                            "address_1": "1 Road",
                            "city": "Greyholt",
                            "postal_code": "NOT A POSTCODE",
                        }
                    ],
                },
            }
        ],
    }
    items.append("not an object")
    return items


def main() -> None:
    items = council_list()
    (HERE / "council-v1-array.json").write_text(json.dumps(items, indent=1, ensure_ascii=False))
    pages = HERE / "council-v1-pages"
    pages.mkdir(exist_ok=True)
    size = 100
    total_pages = (len(items) + size - 1) // size
    for p in range(total_pages):
        chunk = items[p * size : (p + 1) * size]
        doc = {
            "totalElements": len(items),
            "totalPages": total_pages,
            "number": p + 1,
            "size": size,
            "first": p == 0,
            "last": p == total_pages - 1,
            "content": chunk,
        }
        (pages / f"page-{p + 1}.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
