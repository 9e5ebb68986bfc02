"""Counts for data leads: people with a need, referrals and outcomes, by need, period,
practice and equality group, counted in the database (GROUP BY) and published only through
disclosure control (``screening.disclosure``).

Only aggregates are ever selected: no query here returns a name, NHS number, date of birth
or postcode. Periods: ``month`` is the calendar month (UTC); ``quarter`` and ``year`` are
**financial** (April to March: ``2025-26 Q1`` is April-June 2025, ``2025-26`` is April 2025
to March 2026). ``age_band`` is the age when the need was recorded (for referrals: when the
referral was made). ``deprivation`` is the IMD decile of the person's postcode from a
lookup loaded with ``load_deprivation`` (1 = most deprived 10%); "not known" otherwise.

People are counted once per cell (``COUNT(DISTINCT person)``); a person with needs in two
months appears in both months but once in the total, so such lines do not add up and the
disclosure checker is told so (``Dimension.partitions``).

Needs are counted from their counting copy (``CountNeed``, table ``count_need``): one row
per need with what the counts group by, taken from the need and its person (a small whole
number per person instead of the person's id, the age when recorded instead of the date of
birth, the IMD decile instead of the postcode). ``screening.needs.add_need`` writes it in
the same transaction as the need, ``screening.people.update_person`` and
``load_deprivation`` keep it in step, and a report first copies any need written some
other way (``ensure_copies``). A count is then one scan of one covering index with no
join. The levels of a table that must be counted (a margin over months: people told apart
again) go in one statement: ``GROUPING SETS`` on PostgreSQL (one pass), ``UNION ALL`` on
SQLite (no grouping sets there); margins over dimensions that place each person once are
summed from finer cells instead. Referrals and outcomes are counted from the records.

The package by job: ``tables`` (the lookup and the counting copy's tables),
``dimensions`` (what counts group by, parsing, filters, labels), ``sql`` (database-specific
expressions), ``copies`` (the counting copy kept in step; the deprivation lookup),
``queries`` (grouped counts at every level), ``publish`` (each count decided once, in its
own table, so that every report agrees), ``reports`` (the three reports, published
through disclosure control), ``funnel`` (the referral funnel in people, rates with Wilson
intervals), ``outputs`` (CSV, JSON, FHIR MeasureReport, SVG). Everything
public is importable from ``screening.counts``.
"""

from __future__ import annotations

from screening.counts.copies import (
    COUNTED_PERSON_FIELDS,
    age_between,
    count_new_need,
    day_number,
    ensure_copies,
    load_deprivation,
    recount_person,
    sync_counts,
)
from screening.counts.dimensions import (
    ALL,
    ALL_LABEL,
    DIMENSIONS,
    MAX_DIMENSIONS,
    NOT_KNOWN,
    SMALL_PRACTICES,
    Dimension,
    Filters,
    key_label,
    key_text,
    parse_date,
    parse_dimensions,
)
from screening.counts.funnel import STEPS, funnel_lines, funnel_report, wilson
from screening.counts.outcomes import outcomes_report
from screening.counts.outputs import (
    NAMESPACE,
    chart_series,
    count_text,
    disclosure_note,
    header,
    split_table,
    table_rows,
    to_csv,
    to_json,
    to_measure_report,
    to_svg,
)
from screening.counts.queries import (
    RawCounts,
    cells_query,
    needs_raw,
    plan_levels,
    tune_for_counting,
)
from screening.counts.reports import (
    DIRECTIONS,
    ONS4,
    RECEIVED_MEASURES,
    REFERRAL_MEASURES,
    Measure,
    Report,
    Row,
    leaks,
    needs_report,
    referrals_report,
)
from screening.counts.sql import check_practice, practice_population
from screening.counts.tables import (
    CELLS_INDEX,
    PEOPLE_INDEX,
    CountNeed,
    CountPerson,
    PostcodeDeprivation,
)

__all__ = [
    "ALL",
    "ALL_LABEL",
    "CELLS_INDEX",
    "COUNTED_PERSON_FIELDS",
    "DIMENSIONS",
    "DIRECTIONS",
    "MAX_DIMENSIONS",
    "NAMESPACE",
    "NOT_KNOWN",
    "ONS4",
    "PEOPLE_INDEX",
    "RECEIVED_MEASURES",
    "REFERRAL_MEASURES",
    "SMALL_PRACTICES",
    "STEPS",
    "CountNeed",
    "CountPerson",
    "Dimension",
    "Filters",
    "Measure",
    "PostcodeDeprivation",
    "RawCounts",
    "Report",
    "Row",
    "age_between",
    "cells_query",
    "chart_series",
    "check_practice",
    "count_new_need",
    "count_text",
    "day_number",
    "disclosure_note",
    "ensure_copies",
    "funnel_lines",
    "funnel_report",
    "header",
    "key_label",
    "key_text",
    "leaks",
    "load_deprivation",
    "needs_raw",
    "needs_report",
    "outcomes_report",
    "parse_date",
    "parse_dimensions",
    "plan_levels",
    "practice_population",
    "recount_person",
    "referrals_report",
    "split_table",
    "sync_counts",
    "table_rows",
    "to_csv",
    "to_json",
    "to_measure_report",
    "to_svg",
    "tune_for_counting",
    "wilson",
]
