"""A report written out: CSV, JSON, a FHIR R4 MeasureReport, an SVG bar chart, and the
disclosure note that goes with every one of them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from html import escape
from itertools import combinations
from typing import Any

from screening.counts.dimensions import (
    ALL,
    ALL_LABEL,
    DIMENSIONS,
    MAX_DIMENSIONS,
    catalogue_labels,
    key_label,
    key_text,
)
from screening.counts.reports import Measure, Report, Row
from screening.disclosure import mean_step
from screening.exchange.fhir import BASE

# linkwork's own names (code systems, the measures' canonical URLs): the one canonical
# base, screening.exchange.fhir.BASE; documented in the README's counts section.
NAMESPACE = BASE
# UK Core's code system for the NHS Data Dictionary's ETHNIC CATEGORY (A-S, Z, 99)
UK_ETHNIC_CS = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"


def measure_url(report: Report) -> str:
    """The canonical URL of the report's measure (documented in the README)."""
    return f"{NAMESPACE}/Measure/{report.name}"


def count_text(value: int | float | None, kind: str = "count") -> str:
    """A published value as shown in a table or beside a bar: ``*`` where hidden, rates as
    percentages, mean changes signed (``+1.5``, ``-0.3``). CSV and JSON keep plain numbers."""
    if value is None:
        return "*"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "mean":
        return f"{value:+.1f}"
    if kind == "per":  # a ratio of counts (contacts per episode)
        return f"{value:.1f}"
    return str(value)


def table_rows(report: Report) -> tuple[list[str], list[list[str]], list[bool]]:
    """The report as a table of text: the column headings (dimensions, then measures),
    one line per row (labels, then ``count_text`` of each value), and which lines are
    totals."""
    if report.name == "funnel":
        return _funnel_table(report)
    shown = [m for m in report.measures if _in_table(m)]
    columns = [DIMENSIONS[d].label for d in report.dims] + [m.label for m in shown]
    lines = []
    for row in report.rows:
        cells = [key_label(d, k) for d, k in zip(report.dims, row.keys, strict=True)]
        cells += [count_text(row.values.get(m.key), m.kind) for m in shown]
        lines.append(cells)
    return columns, lines, [row.is_total for row in report.rows]


def split_table(report: Report, measure: str) -> dict[str, Any]:
    """One measure of a one- or two-dimension report laid out as rows by the first
    dimension and columns by the second (the split; its values, then "All"): ``row_labels``,
    ``col_labels`` (the measure's label when there is no split), ``cells`` (``count_text``),
    ``values`` (numbers, None where hidden), ``totals`` (which rows are totals), ``series``
    (column label -> [(row label, value, text)] for a bar chart, totals left out), the
    disclosure note, the period in words, the practice and whether nothing was counted."""
    chosen = next((m for m in report.measures if m.key == measure), None)
    if chosen is None:
        raise ValueError(f"the {report.name} counts have no measure {measure!r}")
    row_keys: list[Any] = []
    col_keys: list[Any] = []
    found: dict[tuple[Any, Any], Any] = {}
    for row in report.rows:
        r = row.keys[0]
        c = row.keys[1] if len(row.keys) > 1 else "value"
        if r not in row_keys:
            row_keys.append(r)
        if c not in col_keys:
            col_keys.append(c)
        found[(r, c)] = row.values.get(measure)
    row_labels = [key_label(report.dims[0], r) for r in row_keys]
    if len(report.dims) > 1:
        col_labels = [key_label(report.dims[1], c) for c in col_keys]
    else:
        col_labels = [chosen.label]
    values = [[found.get((r, c)) for c in col_keys] for r in row_keys]
    cells = [[count_text(v, chosen.kind) for v in line] for line in values]
    series = {
        col_labels[j]: [
            (row_labels[i], values[i][j], cells[i][j])
            for i, r in enumerate(row_keys)
            if r is not ALL
        ]
        for j in range(len(col_keys))
    }
    period = ""
    if report.period is not None:
        start, end = report.period
        period = f"{start.strftime('%d %b %Y')} to {end.strftime('%d %b %Y')}"
    return {
        "title": report.title,
        "measure": chosen.label,
        "kind": chosen.kind,
        "dims": list(report.dims),
        "row_labels": row_labels,
        "col_labels": col_labels,
        "totals": [r is ALL for r in row_keys],
        "cells": cells,
        "values": values,
        "series": series,
        "note": disclosure_note(report),
        "period": period,
        "practice": report.filters.practice,
        "empty": bool(report.is_empty),
    }


def header(report: Report) -> list[str]:
    cols: list[str] = []
    for d in report.dims:
        cols += [d, f"{d}_label"]
    return cols + [m.key for m in report.measures]


def _in_table(measure: Measure) -> bool:
    """Whether a measure has a column in the table (a terminal's width): intervals, spreads
    and baseline means are in the CSV, JSON and MeasureReport only."""
    return measure.kind not in ("low", "high", "sd", "mean_low", "mean_high") and not (
        measure.key.endswith("_before")
    )


def _funnel_table(report: Report) -> tuple[list[str], list[list[str]], list[bool]]:
    """The funnel as a table: one line per cell and step."""
    from screening.counts.funnel import funnel_lines

    columns = [DIMENSIONS[d].label for d in report.dims]
    columns += ["Step", "People", "Of", "Rate", "95% interval"]
    lines, totals = [], []
    for item in funnel_lines(report):
        cells = [key_label(d, k) for d, k in zip(report.dims, item["keys"], strict=True)]
        interval = (
            f"{item['low'] * 100:.1f}-{item['high'] * 100:.1f}%"
            if item["low"] is not None and item["high"] is not None
            else ("*" if item["over"] else "")
        )
        cells += [
            item["step_label"],
            count_text(item["numerator"]),
            count_text(item["denominator"]) if item["over"] else "",
            count_text(item["rate"], "rate") if item["over"] else "",
            interval,
        ]
        lines.append(cells)
        totals.append(bool(item["total"]))
    return columns, lines, totals


def csv_comment(report: Report) -> str:
    """The header comment line of a CSV: what it is, the period, the disclosure note."""
    parts = [report.title]
    if report.period is not None:
        parts.append(f"{report.period[0].isoformat()} to {report.period[1].isoformat()}")
    if report.filters.practice:
        parts.append(f"practice {report.filters.practice}")
    parts.append(disclosure_note(report))
    return "# " + "; ".join(" ".join(p.split()) for p in parts)


def _plain(value: int | float | None) -> str:
    return "" if value is None else str(value)


def to_csv(report: Report) -> str:
    """Tidy CSV: a comment line first (``#``: the title, period and disclosure note), then
    one line per cell and measure (per cell and step for the funnel): the dimensions' codes
    and labels, ``total`` (1 on a margin's line, where a dimension is ``all``), the measure
    and its value, empty where hidden, and ``suppressed`` (1 where a value is hidden: never
    a ``*`` in a number column)."""
    buffer = io.StringIO()
    buffer.write(csv_comment(report) + "\n")
    writer = csv.writer(buffer, lineterminator="\n")
    keys: list[str] = []
    for d in report.dims:
        keys += [d, f"{d}_label"]

    def dim_cells(row_keys: tuple[Any, ...]) -> list[str]:
        line: list[str] = []
        for d, k in zip(report.dims, row_keys, strict=True):
            line += [key_text(d, k), key_label(d, k)]
        return line

    if report.name == "funnel":
        from screening.counts.funnel import funnel_lines

        population = any(m.key == "registered" for m in report.measures)
        extra = ["registered", "per_1000"] if population else []
        writer.writerow(
            [
                *keys,
                "total",
                "step",
                "numerator",
                "denominator",
                "rate",
                "ci_low",
                "ci_high",
                "suppressed",
                *extra,
            ]
        )
        for item in funnel_lines(report):
            hidden = item["numerator_suppressed"] or item["denominator_suppressed"]
            writer.writerow(
                [
                    *dim_cells(item["keys"]),
                    "1" if item["total"] else "0",
                    item["step"],
                    _plain(item["numerator"]),
                    _plain(item["denominator"]),
                    _plain(item["rate"]),
                    _plain(item["low"]),
                    _plain(item["high"]),
                    "1" if hidden else "0",
                    *[_plain(item.get(column)) for column in extra],
                ]
            )
        return buffer.getvalue()
    writer.writerow([*keys, "total", "measure", "value", "suppressed"])
    for row in report.rows:
        for m in report.measures:
            value = row.values.get(m.key)
            writer.writerow(
                [
                    *dim_cells(row.keys),
                    "1" if row.is_total else "0",
                    m.key,
                    _plain(value),
                    "1" if value is None else "0",
                ]
            )
    return buffer.getvalue()


def disclosure_note(report: Report) -> str:
    """How the counts were protected, and a partial month flagged (``Report.partial``)."""
    note = _protection_note(report)
    return f"{note} {report.partial}." if report.partial else note


def _protection_note(report: Report) -> str:
    rule = report.rule
    if rule is None:
        return "NOT SUPPRESSED: raw numbers for the practice's internal use only; do not publish"
    canonical = rule.canonical
    if (rule.threshold, rule.base) == (canonical.threshold, canonical.base):
        counts = (
            f"Counts of 1 to {rule.threshold} are hidden (*) and all others rounded to the "
            f"nearest {rule.base}"
        )
    else:
        counts = (
            f"Counts are published by the standard rule (1 to {canonical.threshold} hidden, "
            f"others rounded to the nearest {canonical.base}), then any that could be "
            f"{rule.threshold} or fewer is hidden (*) and the rest rounded again to the "
            f"nearest {rule.base}"
        )
    step = str(float(mean_step(canonical))).removesuffix(".0")
    return (
        f"{counts}; some other counts are hidden (*) so that a hidden one cannot be worked "
        "out from the totals, and a count is hidden or shown alike in every report. A row "
        f"or column counting fewer than {rule.min_population} is not shown on its own (*, "
        f"zeros included), and practices with fewer than {rule.min_population} people are "
        "counted together. Totals come from unrounded numbers, rates from the rounded "
        f"counts; means are to the nearest {step}."
    )


def _funnel_json_rows(report: Report) -> list[dict[str, Any]]:
    from screening.counts.funnel import funnel_lines

    rows = []
    for line in funnel_lines(report):
        item: dict[str, Any] = {}
        for d, k in zip(report.dims, line["keys"], strict=True):
            item[d] = None if k is ALL else key_text(d, k)
            item[f"{d}_label"] = key_label(d, k)
        item.update(
            {
                "total": line["total"],
                "step": line["step"],
                "over": line["over"],
                "numerator": line["numerator"],
                "denominator": line["denominator"],
                "rate": line["rate"],
                "low": line["low"],
                "high": line["high"],
            }
        )
        if "registered" in line:
            item["registered"], item["per_1000"] = line["registered"], line["per_1000"]
        rows.append(item)
    return rows


def to_json(report: Report) -> dict[str, Any]:
    rows = []
    for row in report.rows:
        item: dict[str, Any] = {}
        for d, k in zip(report.dims, row.keys, strict=True):
            item[d] = None if k is ALL else key_text(d, k)
            item[f"{d}_label"] = key_label(d, k)
        for m in report.measures:
            item[m.key] = row.values.get(m.key)
        rows.append(item)
    return {
        "report": report.name,
        "title": report.title,
        "unit": report.unit,
        "by": list(report.dims),
        "filters": report.filters.as_dict(),
        "period": None
        if report.period is None
        else {"start": report.period[0].isoformat(), "end": report.period[1].isoformat()},
        "disclosure": {
            "applied": report.suppressed,
            "threshold": report.rule.threshold if report.rule else None,
            "rounded_to": report.rule.base if report.rule else None,
            "note": disclosure_note(report),
            "suppressed_value": None,
        },
        "periods": "quarter and year are financial (April to March)",
        "measures": [{"key": m.key, "label": m.label, "kind": m.kind} for m in report.measures],
        "rows": _funnel_json_rows(report) if report.name == "funnel" else rows,
    }


# -- FHIR R4 MeasureReport


POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population"
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"


def _masked() -> dict[str, Any]:
    return {"extension": [{"url": DATA_ABSENT, "valueCode": "masked"}]}


def _population(code: str, value: int | float | None, display: str) -> dict[str, Any]:
    pop: dict[str, Any] = {
        "code": {"coding": [{"system": POPULATION_SYSTEM, "code": code, "display": display}]}
    }
    if value is None:
        pop["_count"] = _masked()
    else:
        pop["count"] = int(value)
    return pop


def _concept(dim: str, key: Any) -> dict[str, Any]:
    if key is ALL:
        return {"text": ALL_LABEL}
    _, domains, systems = catalogue_labels()
    if dim == "ethnicity":
        system = UK_ETHNIC_CS
    elif dim == "need" and str(key) in systems:
        system = systems[str(key)]
    elif dim == "need" and str(key) in domains:
        system = f"{NAMESPACE}/CodeSystem/domain"
    else:
        system = f"{NAMESPACE}/CodeSystem/{dim.replace('_', '-')}"
    return {
        "coding": [{"system": system, "code": key_text(dim, key), "display": key_label(dim, key)}],
        "text": key_label(dim, key),
    }


def _dimension_concept(dim: str) -> dict[str, Any]:
    return {
        "coding": [{"system": f"{NAMESPACE}/CodeSystem/dimension", "code": dim}],
        "text": DIMENSIONS[dim].label,
    }


def _measure_concept(measure: Measure) -> dict[str, Any]:
    return {
        "coding": [
            {
                "system": f"{NAMESPACE}/CodeSystem/measure",
                "code": measure.key,
                "display": measure.label,
            }
        ],
        "text": measure.label,
    }


def _score(value: int | float | None) -> dict[str, Any]:
    return _masked() if value is None else {"value": value}


def to_measure_report(
    report: Report, generated: datetime | None = None, reporter: str | None = None
) -> dict[str, Any]:
    """A FHIR R4 MeasureReport (type summary) carrying every measure of the report.

    One measure (needs): one group per need (or domain) when that is a dimension (per value
    of the first dimension for three), else one group. Several measures (referrals,
    outcomes): one group per measure, every dimension a stratifier. Within a group, one
    stratifier per other dimension and one per cross of them (as components). A count is
    the ``initial-population``; a rate has ``numerator`` and ``denominator`` populations
    and its value as ``measureScore``; a mean has the ``measure-population`` it is taken
    over and its value as ``measureScore``. Hidden values carry no value but the
    data-absent-reason extension with ``masked``. A rate's Wilson 95% interval (the funnel)
    is the ``{NAMESPACE}/StructureDefinition/wilson-interval`` extension (``low``, ``high``)
    beside its score. ``measure`` is the canonical URL ``{NAMESPACE}/Measure/{report}``;
    ``reporter`` the practice reported on, else the organisation reporting (``reporter``,
    an ODS code). Ethnic categories use UK Core's EthnicCategoryEngland. Validated with
    fhir.resources R4B (raises if it does not)."""
    from fhir.resources.R4B.measurereport import MeasureReport

    dims = report.dims
    measures = {m.key: m for m in report.measures}
    intervals = {
        (m.numerator, m.denominator, m.kind): m
        for m in report.measures
        if m.kind in ("low", "high")
    }
    shown = [m for m in report.measures if m.kind in ("count", "rate", "mean")]
    by_key = {row.keys: row for row in report.rows}

    def value(key: tuple[Any, ...], measure: str) -> int | float | None:
        row = by_key.get(key)
        return None if row is None else row.values.get(measure)

    def scored(key: tuple[Any, ...], measure: Measure) -> dict[str, Any]:
        """population (and measureScore) of one measure for one row."""
        if measure.kind == "rate":
            num, den = measures[str(measure.numerator)], measures[str(measure.denominator)]
            out: dict[str, Any] = {
                "population": [
                    _population("numerator", value(key, num.key), num.label),
                    _population("denominator", value(key, den.key), den.label),
                ],
                "measureScore": _score(value(key, measure.key)),
            }
            low = intervals.get((num.key, den.key, "low"))
            high = intervals.get((num.key, den.key, "high"))
            if low is not None and high is not None:
                bounds = value(key, low.key), value(key, high.key)
                if bounds[0] is not None and bounds[1] is not None:
                    out["extension"] = [
                        {
                            "url": f"{NAMESPACE}/StructureDefinition/wilson-interval",
                            "extension": [
                                {"url": "low", "valueDecimal": bounds[0]},
                                {"url": "high", "valueDecimal": bounds[1]},
                            ],
                        }
                    ]
            return out
        if measure.kind == "mean":
            over = measures[str(measure.denominator)]
            scored_mean: dict[str, Any] = {
                "population": [_population("measure-population", value(key, over.key), over.label)],
                "measureScore": _score(value(key, measure.key)),
            }
            parts = [
                {"url": url, "valueDecimal": value(key, f"{measure.key}_{suffix}")}
                for url, suffix in (("low", "low"), ("high", "high"), ("sd", "sd"))
                if f"{measure.key}_{suffix}" in measures
                and value(key, f"{measure.key}_{suffix}") is not None
            ]
            if parts:
                scored_mean["extension"] = [
                    {"url": f"{NAMESPACE}/StructureDefinition/mean-interval", "extension": parts}
                ]
            return scored_mean
        return {
            "population": [
                _population("initial-population", value(key, measure.key), measure.label)
            ]
        }

    group_dim: int | None = None
    if len(shown) == 1:
        if len(dims) == MAX_DIMENSIONS:
            group_dim = 0
        else:
            group_dim = next((i for i, d in enumerate(dims) if d in ("need", "domain")), None)
    strat_dims = [i for i in range(len(dims)) if i != group_dim]
    subsets = [c for n in range(1, len(strat_dims) + 1) for c in combinations(strat_dims, n)]

    def group(measure: Measure, in_group: list[Row], code: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"code": code}
        top = next(
            (r for r in in_group if all(k is ALL for i, k in enumerate(r.keys) if i != group_dim)),
            None,
        )
        if top is not None:
            out.update(scored(top.keys, measure))
        stratifiers = []
        for subset in subsets:
            strata = []
            for row in in_group:
                if not all((row.keys[i] is not ALL) == (i in subset) for i in strat_dims):
                    continue
                stratum: dict[str, Any] = {}
                if len(subset) == 1:
                    stratum["value"] = _concept(dims[subset[0]], row.keys[subset[0]])
                else:
                    stratum["component"] = [
                        {
                            "code": _dimension_concept(dims[i]),
                            "value": _concept(dims[i], row.keys[i]),
                        }
                        for i in subset
                    ]
                stratum.update(scored(row.keys, measure))
                strata.append(stratum)
            if strata:
                code_ = {
                    "text": " x ".join(DIMENSIONS[dims[i]].label for i in subset),
                    "coding": [
                        {
                            "system": f"{NAMESPACE}/CodeSystem/dimension",
                            "code": "+".join(dims[i] for i in subset),
                        }
                    ],
                }
                stratifiers.append({"code": [code_], "stratum": strata})
        if stratifiers:
            out["stratifier"] = stratifiers
        return out

    groups = []
    if group_dim is None:
        for measure in shown:
            code = {"text": report.title} if len(shown) == 1 else _measure_concept(measure)
            groups.append(group(measure, report.rows, code))
    else:
        main = shown[0]
        values = [k for k in dict.fromkeys(r.keys[group_dim] for r in report.rows) if k is not ALL]
        for gv in values:
            in_group = [r for r in report.rows if r.keys[group_dim] == gv]
            groups.append(group(main, in_group, _concept(dims[group_dim], gv)))
    start, end = report.period or (date.today(), date.today())
    now = (generated or datetime.now(UTC)).replace(microsecond=0)
    resource: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "summary",
        "measure": measure_url(report),
        "date": now.isoformat(),
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "extension": [
            {
                "url": f"{NAMESPACE}/StructureDefinition/disclosure-control",
                "valueString": disclosure_note(report),
            }
        ],
        "group": groups,
    }
    ods = report.filters.practice or reporter
    if ods:
        resource["reporter"] = {
            "type": "Organization",
            "identifier": {"system": ODS_SYSTEM, "value": ods},
        }
    else:
        resource["reporter"] = {"type": "Organization", "display": "linkwork"}
    MeasureReport.model_validate(resource)  # raises if it does not validate
    return resource


# -- SVG bar chart


def chart_series(report: Report) -> list[tuple[str, int | float | None]]:
    """The bars: the first measure by the first dimension (its totals in a crossed table)."""
    main = report.measures[0].key
    series = []
    for row in report.rows:
        first, rest = row.keys[0], row.keys[1:]
        if first is ALL or any(k is not ALL for k in rest):
            continue
        series.append((key_label(report.dims[0], first), row.values.get(main)))
    return series


def to_svg(report: Report) -> str:
    """A small hand-written SVG horizontal bar chart; hidden counts are marked ``*``."""
    series = chart_series(report)
    bar_h, gap, label_w, chart_w, top = 18, 6, 260, 420, 50
    height = top + len(series) * (bar_h + gap) + 40
    width = label_w + chart_w + 80
    peak = max([v for _, v in series if isinstance(v, int | float)] + [1])
    title = f"{report.title} by {DIMENSIONS[report.dims[0]].label.lower()}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for n, (label, value) in enumerate(series):
        y = top + n * (bar_h + gap)
        text = label if len(label) <= 40 else label[:39] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_h - 5}" text-anchor="end">{escape(text)}</text>'
        )
        if value is None:
            parts.append(f'<text x="{label_w + 4}" y="{y + bar_h - 5}" fill="#555555">*</text>')
            continue
        w = round(chart_w * float(value) / peak, 1)
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="#005eb8"/>')
        parts.append(f'<text x="{label_w + w + 6}" y="{y + bar_h - 5}">{value}</text>')
    note = disclosure_note(report)
    parts.append(
        f'<text x="10" y="{height - 14}" font-size="10" fill="#555555">{escape(note[:160])}</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
