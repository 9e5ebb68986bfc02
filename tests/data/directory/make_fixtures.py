# ruff: noqa: E501
"""Writes the messy council-feed fixtures in this folder (run once; the output is committed).

Modelled on the real council ORUK v1 list pages described in research-facts.md section 2
(list level only: no nested collections; HTML in descriptions; empty strings for absent
values; vendor ``pc_*`` fields; a duplicate id; an empty name; services without an
organisation). Names, places and ids are invented; postcodes use the unused ZZ area.
"""

from __future__ import annotations

import gzip
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


# --- hostile feeds: the same council pages, each broken one way (tests/test_directory_hostile.py)


def _page(items: list, **wrapper: object) -> dict:
    doc: dict = {"totalElements": len(items), "totalPages": 1, "number": 1, "size": len(items)}
    doc.update(wrapper)
    doc["first"], doc["last"], doc["content"] = True, True, items
    return doc


def _clean_services(n: int, start: int = 300) -> list[dict]:
    return [service(i) for i in range(start, start + n)]


def _location(**overrides: object) -> dict:
    location = {
        "id": "loc-h1",
        "name": "Library",
        "latitude": "52.9",
        "longitude": "-1.2",
        "physical_addresses": [
            {"id": "a1", "address_1": "1 Road", "city": "Greyholt", "postal_code": "ZZ9 1AB"}
        ],
    }
    location.update(overrides)
    return location


def _wrong_types() -> list[dict]:
    """Twelve services; records 2 to 12 each carry one value of the wrong type or size."""
    items = _clean_services(12)
    items[1]["name"] = 12345
    items[2]["languages"] = "English"
    items[3]["languages"] = [1, None, "x", 2.5, True]
    items[4]["organization"] = "Greyholt Community Trust"
    items[5]["service_at_locations"] = [{"id": "sal", "location": _location(latitude=float("nan"))}]
    items[6]["eligibilitys"] = [{"id": "e", "eligibility": "Adults", "minimum_age": float("inf")}]
    items[7]["phones"] = [None]
    items[8]["eligibilitys"] = {"id": "e", "eligibility": "Carers"}
    items[9]["id"] = True
    items[10]["description"] = "<p>" + "Long description. " * 3000 + "</p>"
    items[11]["service_at_locations"] = [{"id": "sal", "location": _location(longitude="east")}]
    return items


def _control_chars() -> list[dict]:
    """Three services with terminal control sequences in their text (and two clean ones)."""
    items = _clean_services(5, start=320)
    items[1]["name"] = "Eve\x1b]0;owned\x07\x1b[2J Food Bank\x00"
    items[2]["description"] = "<p>Help &#27;[31mwith debt&#27;[0m\u202e</p>"
    items[3]["organization"] = {
        "id": "org-h3",
        "name": "Trust\x9b2J\u2066 North",
        "description": "",
        "url": "",
        "email": "",
    }
    return items


def _unreadable() -> list[dict]:
    """Values of the right type that cannot be read: a date, a time, a weekday."""
    items = _clean_services(3, start=340)
    items[1]["assured_date"] = "last Tuesday"
    items[2]["regular_schedules"] = [
        {"id": "r", "weekday": "Funday", "opens_at": "9ish", "closes_at": "17:00"}
    ]
    return items


def _write_gz(path: Path, data: bytes) -> None:
    with gzip.GzipFile(path, "wb", compresslevel=9, mtime=0) as f:
        f.write(data)


def hostile() -> None:
    out = HERE / "hostile"
    out.mkdir(exist_ok=True)
    dump = lambda doc: json.dumps(doc, indent=1, ensure_ascii=False)  # noqa: E731

    (out / "wrong-types.json").write_text(dump(_page(_wrong_types())))
    (out / "control-chars.json").write_text(dump(_page(_control_chars())))
    (out / "unreadable-values.json").write_text(dump(_page(_unreadable())))
    long_name = _clean_services(3, start=360)
    long_name[1]["name"] = "Greyholt Advice " + "A" * 2_000_000
    _write_gz(out / "long-name.json.gz", dump(_page(long_name)).encode())

    deep = _clean_services(3, start=380)
    deep[2]["pc_metadata"] = "NESTED"  # a vendor field nested 5,000 arrays deep
    nested = "[" * 5000 + "]" * 5000
    (out / "deep-nesting.json").write_text(dump(_page(deep)).replace('"NESTED"', nested, 1))
    big = dump(_page(_clean_services(3, start=400)))
    # a 5,000-digit number where a vendor field's version belongs
    big = big.replace('"recordVersion": 401', '"recordVersion": ' + "9" * 5000, 1)
    (out / "long-number.json").write_text(big)
    # 20 MiB of spaces between two services: 20 KiB on disk
    bomb = dump(_page(_clean_services(2, start=420))).replace("},", "}," + " " * (20 << 20), 1)
    _write_gz(out / "gzip-bomb.json.gz", bomb.encode())
    # 1.1 million empty objects where services belong: 3 MiB that would take 80 MiB parsed
    dense = json.dumps(_page([{}] * 1_100_000), separators=(",", ":"))
    _write_gz(out / "dense-values.json.gz", dense.encode())
    (out / "total-pages-words.json").write_text(
        dump(_page(_clean_services(2, start=440), totalPages="lots"))
    )

    header = "id,name,organisation,description,postcode,town,last_verified\n"
    rows = [
        "h-1,Fennick Food Bank,Fennick Trust,Food parcels,ZZ9 1AA,Fennick,2026-05-01\n",
        "h-2,Greyholt Job Club,Greyholt Trust,Help with CVs,ZZ9 1AB,Greyholt,2026-05-01\n",
    ]
    (out / "not-utf8.csv").write_bytes(
        (header + rows[0] + "h-3,Caf\xe9 Club,,Coffee,,,\n").encode("latin-1")
    )
    (out / "nul.csv").write_text(header + rows[0] + "h-3,Nul\x00 Club,,,,,\n" + rows[1])
    _write_gz(
        out / "long-field.csv.gz",
        (header + rows[0] + 'h-3,Long,,"' + "x" * 200_000 + '",,,\n' + rows[1]).encode(),
    )
    (out / "control-chars.csv").write_text(
        header + rows[0] + "h-3,Eve\x1b[2J Club,Trust\x07,Desc\x1b]0;t\x07,,,\n" + rows[1]
    )


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
    hostile()


if __name__ == "__main__":
    main()
