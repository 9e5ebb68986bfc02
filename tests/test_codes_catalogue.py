"""The coded-needs catalogue: the full WHO ICD-10 2019 Z55-Z65 list, domains, SNOMED CT,
and a loader that refuses malformed files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from codes.catalogue import (
    DATA_DIR,
    ICD10_SYSTEM,
    SNOMED_SYSTEM,
    CatalogueError,
    is_valid_sctid,
    load_catalogue,
    load_catalogue_from,
    verhoeff_valid,
)

# Written out from the WHO ICD-10 2019 tabular list (block Z55-Z65), not from our data file:
# the subcodes (fourth character) of each 3-character category.
WHO_SUBCODES = {
    "Z55": "0123489",
    "Z56": "01234567",
    "Z57": "0123456789",
    "Z58": "0123456789",
    "Z59": "0123456789",
    "Z60": "01234589",
    "Z61": "0123456789",
    "Z62": "012345689",
    "Z63": "0123456789",
    "Z64": "01234",
    "Z65": "01234589",
}
EXPECTED = set(WHO_SUBCODES) | {f"{cat}.{d}" for cat, ds in WHO_SUBCODES.items() for d in ds}

DOMAINS = [
    "housing", "food", "fuel", "money", "benefits", "employment", "education", "digital",
    "transport", "isolation", "family", "caring", "safety", "discrimination", "legal",
    "immigration", "environment", "health_behaviours", "wellbeing",
]  # fmt: skip


@pytest.fixture(scope="module")
def cat():
    return load_catalogue()


def test_every_who_code_in_z55_z65_is_present_and_nothing_else(cat):
    codes = {c.code for c in cat.all()}
    assert len(EXPECTED) == 106
    assert codes == EXPECTED


def test_no_icd10cm_only_codes(cat):
    # ICD-10-CM (US) extensions that WHO ICD-10 does not have
    us_only_codes = "Z59.41 Z59.48 Z59.81 Z59.811 Z59.86 Z59.87 Z55.5 Z55.6 Z56.81 Z56.89 Z56.9"
    us_only_codes += " Z62.21 Z62.810 Z63.31 Z63.72"
    for us_only in us_only_codes.split():
        assert us_only not in cat
    assert all(len(c.code) in (3, 5) for c in cat.all())


@pytest.mark.parametrize(
    ("code", "title"),
    [
        ("Z59.0", "Homelessness"),
        ("Z59.4", "Lack of adequate food"),
        ("Z59.2", "Discord with neighbours, lodgers and landlord"),
        ("Z60.2", "Living alone"),
        ("Z60.5", "Target of perceived adverse discrimination and persecution"),
        ("Z61.0", "Loss of love relationship in childhood"),
        ("Z62.0", "Inadequate parental supervision and control"),
        ("Z62.2", "Institutional upbringing"),
        ("Z63.6", "Dependent relative needing care at home"),
        ("Z65.2", "Problems related to release from prison"),
        ("Z58.7", "Exposure to tobacco smoke"),
    ],
)
def test_official_who_titles(cat, code, title):
    need = cat.get(code)
    assert need.display == title
    assert need.system == ICD10_SYSTEM


def test_every_code_has_one_known_domain(cat):
    keys = [d.key for d in cat.domains()]
    assert keys == DOMAINS
    for need in cat.all():
        assert need.domain in keys, need.code
    assert cat.get("Z59.0").domain == "housing"
    assert cat.get("Z59.4").domain == "food"
    assert cat.get("Z60.5").domain == "discrimination"
    assert cat.get("Z63.6").domain == "caring"


def test_domains_without_z_codes_are_recorded_by_domain_alone(cat):
    for key in ["digital", "transport", "fuel", "health_behaviours", "wellbeing"]:
        assert cat.in_domain(key) == []
        assert cat.domain(key).phrases, key  # searchable by phrase all the same
    with pytest.raises(LookupError, match="unknown need domain 'astrology'"):
        cat.domain("astrology")


def test_get_accepts_loose_forms_and_snomed(cat):
    assert cat.get("z590").code == "Z59.0"
    assert cat.get(" Z59.0 ").code == "Z59.0"
    assert cat.get("z59").code == "Z59"
    sofa = cat.get("381751000000106")
    assert sofa.system == SNOMED_SYSTEM
    assert sofa.maps_to == "Z59.0"
    assert sofa.domain == "housing"
    for bad in ["Z99.9", "Z59.41", "", "12345678", "homeless"]:
        with pytest.raises(LookupError, match="not an ICD-10 Z55-Z65 code or known SNOMED"):
            cat.get(bad)


def test_snomed_mappings_are_the_checked_ones(cat):
    assert dict(cat.get("Z59.0").snomed) == {
        "32911000": "Homeless",
        "224226001": "No fixed abode",
        "224228000": "Living rough",
        "381751000000106": "Sofa surfer - person of no fixed abode",
    }
    assert [c for c, _ in cat.get("Z59.4").snomed] == ["733423003"]
    assert [c for c, _ in cat.get("Z56.0").snomed] == ["73438004"]
    assert [c for c, _ in cat.get("Z60.2").snomed] == ["105529008"]
    assert cat.get("Z61.0").snomed == ()
    # Nothing beyond the concepts checked in ../shared/research-facts.md section 4: a new one
    # must be checked there first (never invent an identifier).
    every = {concept for need in cat.all() for concept, _ in need.snomed}
    assert every == {
        "32911000", "224226001", "224228000", "381751000000106", "733423003", "73438004",
        "105529008",
    }  # fmt: skip


def test_common_codes_have_many_lay_phrasings(cat):
    for code in ["Z59.0", "Z59.1", "Z59.4", "Z59.6", "Z59.7", "Z59.8", "Z60.2", "Z60.5", "Z63.4",
                 "Z63.6", "Z65.4", "Z56.0"]:  # fmt: skip
        assert len(cat.get(code).synonyms) >= 15, code


def test_lay_phrases_are_specific(cat):
    # a phrase that boils down to one common word ("he left me" -> "left") would match
    # unrelated needs ("left school", "left care"); each phrase must say more than that
    index = cat.index
    common = {s for s in index.idf if sum(s in v for v in index.target_vocab) >= 9}
    vague = [
        (index.targets[p.target].code, p.text)
        for p in index.phrases
        if not p.is_title
        and index.targets[p.target].code
        and set(p.stems) <= common
        and len(p.stems) == 1
    ]
    assert vague == []


def test_verhoeff():
    assert verhoeff_valid("2363")  # the textbook example: 236 -> check digit 3
    assert not verhoeff_valid("2364")
    for sctid in ["32911000", "733423003", "73438004", "224226001", "224228000",
                  "381751000000106", "105529008"]:  # fmt: skip
        assert is_valid_sctid(sctid)
        last = int(sctid[-1])
        for d in range(10):
            if d != last:
                assert not is_valid_sctid(sctid[:-1] + str(d))
    assert not is_valid_sctid("123")  # too short
    assert not is_valid_sctid("0329110001")  # leading zero


# --- broken files ------------------------------------------------------------------------


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "codes-data"
    target.mkdir()
    for name in ["domains.csv", "icd10.csv", "snomed.csv", "synonyms.toml", "lexicon.toml"]:
        shutil.copy(DATA_DIR / name, target / name)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_copy_of_the_packaged_files_loads(data_copy):
    cat = load_catalogue_from(data_copy)
    assert len(cat.all()) == 106


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("icd10.csv", "Z59.0,Homelessness,housing", "Z59.0x,Homelessness,housing", "bad code"),
        ("icd10.csv", "Z59.0,Homelessness,housing", "Z59.41,Food insecurity,food", "bad code"),
        ("icd10.csv", "Z59.0,Homelessness,housing", "Z66.0,Homelessness,housing", "bad code"),
        ("icd10.csv", "Z59.0,Homelessness,housing", "Z59.0,Homelessness,shelter", "unknown domain"),
        ("icd10.csv", "Z59.1,Inadequate housing,housing", "Z59.0,Inadequate housing,housing",
         "duplicate code"),
        ("icd10.csv", "Z59.0,Homelessness,housing", "Z59.0,,housing", "empty title"),
        ("icd10.csv", "Z59.0,Homelessness,housing", "Z59.0,Homelessness", "expected 3 fields"),
        ("icd10.csv", "code,title,domain", "code,name,domain", "header"),
        ("snomed.csv", "32911000,Homeless", "32911001,Homeless", "Verhoeff"),
        ("snomed.csv", "32911000,Homeless,Z59.0", "32911000,Homeless,Z59.41", "unknown ICD-10"),
        ("snomed.csv", "224226001,No fixed abode", "32911000,No fixed abode", "duplicate SNOMED"),
        ("snomed.csv", "32911000,Homeless", "32911000,", "empty term"),
        ("synonyms.toml", '"Z59.0" = [', '"Z59.41" = [', "unknown code"),
        ("synonyms.toml", '"Z59.0" = [', '"Z59.0" = [ 7, ', "list of strings"),
        ("synonyms.toml", "[codes]", "[codes", "not valid TOML"),
        ("domains.csv", "food,Food", "housing,Food", "duplicate domain"),
    ],
)  # fmt: skip
def test_loader_rejects_malformed_rows(data_copy, file, old, new, message):
    _edit(data_copy / file, old, new)
    with pytest.raises(CatalogueError, match=message) as info:
        load_catalogue_from(data_copy)
    assert file in str(info.value)
    assert isinstance(info.value, ValueError)


def test_loader_rejects_missing_file(data_copy):
    (data_copy / "icd10.csv").unlink()
    with pytest.raises(CatalogueError, match=r"icd10\.csv: file is missing"):
        load_catalogue_from(data_copy)


def test_loader_names_the_line(data_copy):
    _edit(data_copy / "icd10.csv", "Z60.2,Living alone,isolation", "Z60.2,Living alone,lonely")
    with pytest.raises(CatalogueError, match=r"icd10.csv line \d+: unknown domain 'lonely'"):
        load_catalogue_from(data_copy)
