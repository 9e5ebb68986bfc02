"""The equality report (issue 21, point 5): one printable page per practice (or for every
practice together: a PCN's or an ICB's), built only from published reports: where need is
highest, which groups are referred less, which benefit less, each rate with its 95%
interval, the disclosure note whole, and a partial month flagged.

Pure functions over :class:`~screening.counts.reports.Report` objects: the page as SVG
(A4 portrait, hand-written, no chart library), several pages as one HTML file that prints
a page per sheet, and the figures as tidy CSV. A group is flagged when its whole interval
lies below the rate of everyone on the page (``below``): chance alone would rarely do that.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from html import escape
from typing import Any

from screening.counts.dimensions import ALL, DIMENSIONS, NOT_KNOWN, key_label
from screening.counts.outputs import disclosure_note
from screening.counts.reports import Report

# what a page shows: (section, report name, --by, measure, low, high, what it is)
GROUP_DIMS = ("ethnic_group", "age_band", "sex", "deprivation")
WIDTH, HEIGHT = 794, 1123  # A4 at 96 dots per inch
BLUE, GREY, RED = "#005eb8", "#768692", "#d5281b"
ROW = 14  # the height of a group's line in a chart


@dataclass
class Figure:
    """One rate or mean of one group on a page."""

    section: str  # need | referred | resolved | wellbeing
    dimension: str
    group: Any
    label: str
    value: float | int | None
    low: float | None = None
    high: float | None = None
    over: int | float | None = None  # its denominator (people, needs, pairs)
    below: bool = False  # the whole interval below everyone's value


@dataclass
class Page:
    """One page: whose (a practice's ODS code, or None for every practice), the period, the
    figures, and the notes (disclosure, partial month)."""

    practice: str | None
    title: str
    period: str
    figures: list[Figure] = field(default_factory=list)
    note: str = ""
    partial: str = ""  # "" or the words flagging a partial month

    def section(self, name: str) -> list[Figure]:
        return [f for f in self.figures if f.section == name]


def _period_words(reports: list[Report]) -> tuple[str, date | None]:
    starts = [r.period[0] for r in reports if r.period]
    ends = [r.period[1] for r in reports if r.period]
    if not starts:
        return "", None
    start, end = min(starts), max(ends)
    return f"{start.strftime('%d %b %Y')} to {end.strftime('%d %b %Y')}", end


def _flag_below(figures: list[Figure]) -> None:
    """Flag the groups whose whole interval lies below everyone's value (per dimension)."""
    everyone = {f.dimension: f.value for f in figures if f.group is ALL}
    for f in figures:
        overall = everyone.get(f.dimension)
        if f.group is not ALL and f.high is not None and overall is not None:
            f.below = f.high < float(overall)


def build_page(
    practice: str | None,
    needs: Report,
    funnels: list[Report],
    outcomes: Report,
    today: date,
) -> Page:
    """A page from its published reports: ``needs`` by domain, the funnel by each group
    dimension, outcomes by ethnic group."""
    who = f"practice {practice}" if practice else "every practice together"
    period, end = _period_words([needs, *funnels, outcomes])
    page = Page(practice, f"Equality of referral and outcome: {who}", period)
    page.note = disclosure_note(needs)
    if end is not None and end >= today:
        page.partial = (
            f"{today.strftime('%B %Y')} is not over: its figures run to "
            f"{today.strftime('%d %B %Y')} only"
        )
    for row in needs.rows:
        if row.keys[0] is not ALL:
            page.figures.append(
                Figure(
                    "need",
                    "domain",
                    row.keys[0],
                    key_label("domain", row.keys[0]),
                    row.values["people"],
                )
            )
    page.figures.sort(key=lambda f: (f.value is None, -(f.value or 0)))
    for report in funnels:
        dim = report.dims[0]
        found = []
        for row in report.rows:
            v = row.values
            found.append(
                Figure(
                    "referred",
                    dim,
                    row.keys[0],
                    key_label(dim, row.keys[0]),
                    v.get("referred_rate"),
                    v.get("referred_low"),
                    v.get("referred_high"),
                    v.get("need"),
                )
            )
        _flag_below(found)
        page.figures += found
        if any(m.key == "need_per_1000" for m in report.measures):  # list sizes loaded
            page.figures += [
                Figure(
                    "per1000",
                    dim,
                    row.keys[0],
                    key_label(dim, row.keys[0]),
                    row.values.get("need_per_1000"),
                    over=row.values.get("registered"),
                )
                for row in report.rows
            ]
    resolved, wellbeing = [], []
    for row in outcomes.rows:
        v = row.values
        label = key_label(outcomes.dims[0], row.keys[0])
        resolved.append(
            Figure(
                "resolved",
                outcomes.dims[0],
                row.keys[0],
                label,
                v.get("share_resolved"),
                v.get("share_resolved_low"),
                v.get("share_resolved_high"),
                v.get("needs"),
            )
        )
        wellbeing.append(
            Figure(
                "wellbeing",
                outcomes.dims[0],
                row.keys[0],
                label,
                v.get("ons4_satisfied_change"),
                v.get("ons4_satisfied_change_low"),
                v.get("ons4_satisfied_change_high"),
                v.get("ons4_people"),
            )
        )
    _flag_below(resolved)
    _flag_below(wellbeing)
    page.figures += resolved + wellbeing
    return page


# ------------------------------------------------------------------ SVG


def _wrap(text: str, width: int) -> list[str]:
    """Words into lines of at most ``width`` characters (never cut mid-word)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return lines


def _text(x: float, y: float, text: str, size: int = 11, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}"{extra}>{escape(text)}</text>'


def _rate_chart(
    figures: list[Figure],
    top: float,
    title: str,
    percent: bool = True,
    span: tuple[float, float] = (0.0, 1.0),
) -> tuple[list[str], float]:
    """A dot for each group's value, a whisker for its interval, a dashed line at everyone's
    value; flagged groups in red. Returns the SVG parts and the next free y."""
    parts = [_text(40, top, title, 13, font_weight="bold")]
    left, right = 250, WIDTH - 90
    lo, hi = span
    everyone = next((f for f in figures if f.group is ALL), None)
    groups = [f for f in figures if f.group is not ALL]
    y = top + 12

    def at(v: float) -> float:
        return left + (right - left) * (min(max(v, lo), hi) - lo) / (hi - lo)

    height = ROW * max(1, len(groups)) + 8
    if everyone is not None and everyone.value is not None:
        x = at(float(everyone.value))
        parts.append(
            f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x:.1f}" y2="{y + height:.1f}" '
            f'stroke="{GREY}" stroke-dasharray="4 3"/>'
        )
    for n, f in enumerate(groups):
        row_y = y + 12 + ROW * n
        label = f.label if len(f.label) <= 34 else f.label[:33] + "…"
        parts.append(_text(left - 8, row_y + 4, label, 10, text_anchor="end"))
        if f.value is None:
            parts.append(_text(left + 4, row_y + 4, "* hidden (small numbers)", 10, fill=GREY))
            continue
        colour = RED if f.below else BLUE
        if f.low is not None and f.high is not None:
            parts.append(
                f'<line x1="{at(f.low):.1f}" y1="{row_y:.1f}" x2="{at(f.high):.1f}" '
                f'y2="{row_y:.1f}" stroke="{colour}" stroke-width="2"/>'
            )
        parts.append(
            f'<circle cx="{at(float(f.value)):.1f}" cy="{row_y:.1f}" r="4" fill="{colour}"/>'
        )
        shown = f"{float(f.value) * 100:.0f}%" if percent else f"{float(f.value):+.1f}"
        parts.append(
            _text(right + 8, row_y + 4, shown + (" lower" if f.below else ""), 10, fill=colour)
        )
    axis_y = y + height + 4
    parts.append(
        f'<line x1="{left}" y1="{axis_y:.1f}" x2="{right}" y2="{axis_y:.1f}" stroke="{GREY}"/>'
    )
    for tick in (lo, (lo + hi) / 2, hi):
        label = f"{tick * 100:.0f}%" if percent else ("0" if tick == 0 else f"{tick:+.0f}")
        parts.append(_text(at(tick), axis_y + 12, label, 9, text_anchor="middle", fill=GREY))
    return parts, axis_y + 26


def page_svg(page: Page) -> str:
    """The page as an A4 SVG: title and period, the partial month, need by domain (bars),
    referral rate by group (dots and intervals), resolved share and wellbeing change by
    ethnic group, and the disclosure note in full."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="Arial, sans-serif">',
        f"<title>{escape(page.title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        _text(40, 50, page.title, 18, font_weight="bold"),
        _text(40, 72, page.period, 12, fill=GREY),
    ]
    y = 92.0
    if page.partial:
        parts.append(_text(40, y, "Partial month: " + page.partial, 11, fill=RED))
        y += 18
    top, head = y, len(parts)  # the charts: shrunk together below if they would not fit
    # where need is highest
    needs = [f for f in page.section("need") if f.value is not None][:8]
    parts.append(
        _text(
            40,
            y + 10,
            "Where need is highest: people with a need, by need area",
            13,
            font_weight="bold",
        )
    )
    y += 22
    peak = max([float(f.value or 0) for f in needs] + [1.0])
    for n, f in enumerate(needs):
        row_y = y + ROW * n
        w = (WIDTH - 380) * float(f.value or 0) / peak
        parts.append(_text(240, row_y + 11, f.label[:34], 10, text_anchor="end"))
        parts.append(f'<rect x="250" y="{row_y:.1f}" width="{w:.1f}" height="12" fill="{BLUE}"/>')
        parts.append(_text(256 + w, row_y + 11, str(f.value), 10))
    y += ROW * max(1, len(needs)) + 18
    # beside the population: people with a need per 1,000 registered, by age band (the
    # public list sizes) and by ethnic group (where the user loaded its list by ethnicity)
    for dim, words in (("age_band", "age band"), ("ethnic_group", "ethnic group")):
        per = [f for f in page.section("per1000") if f.dimension == dim and f.group is not ALL]
        if dim == "ethnic_group":  # the groups a list gives, not the unanswered ones
            per = [f for f in per if f.over != 0]
        if not any(f.value is not None for f in per):
            continue
        parts.append(
            _text(
                40,
                y,
                f"People with a need per 1,000 registered patients, by {words}",
                13,
                font_weight="bold",
            )
        )
        y += 10
        top = max([float(f.value or 0) for f in per] + [1.0])
        for n, f in enumerate(per):
            row_y = y + ROW * n
            parts.append(_text(240, row_y + 11, f.label, 10, text_anchor="end"))
            if f.value is None:
                parts.append(_text(256, row_y + 11, "* hidden, or no list size", 10, fill=GREY))
                continue
            w = (WIDTH - 380) * float(f.value) / top
            parts.append(
                f'<rect x="250" y="{row_y:.1f}" width="{w:.1f}" height="12" fill="{GREY}"/>'
            )
            parts.append(_text(256 + w, row_y + 11, f"{float(f.value):.1f}", 10))
        y += ROW * len(per) + 18
    for dim in GROUP_DIMS:
        figures = [f for f in page.section("referred") if f.dimension == dim]
        known = [f for f in figures if f.group not in (ALL, 0, NOT_KNOWN, "not_stated")]
        if len(known) < 2:  # nothing to compare (deprivation with no lookup loaded)
            continue
        label = DIMENSIONS[dim].label
        label = label if label[:3].isupper() else label.lower()
        more, y = _rate_chart(figures, y, f"Referred once a need is recorded, by {label}")
        parts += more
    resolved = page.section("resolved")
    if resolved:
        more, y = _rate_chart(resolved, y, "Needs resolved, by ethnic group")
        parts += more
    wellbeing = page.section("wellbeing")
    if wellbeing:
        more, y = _rate_chart(
            wellbeing,
            y,
            "Change in life satisfaction (ONS4, 0-10), by ethnic group",
            False,
            (-3.0, 3.0),
        )
        parts += more
    key = (
        "Dots: the rate; lines: its 95% interval; dashed: everyone on this page. Red: a group "
        "whose whole interval lies below everyone's rate."
    )
    note_y = HEIGHT - 24 - 13 * (len(_wrap(page.note, 120)) + len(_wrap(key, 120)))
    room = note_y - 16 - top
    if y - top > room:  # more charts than an A4 page holds (list sizes loaded): all smaller
        k = room / (y - top)
        move = f"translate({40 * (1 - k):.1f},{top * (1 - k):.1f}) scale({k:.3f})"
        parts[head:] = [f'<g transform="{move}">', *parts[head:], "</g>"]
    for line in _wrap(key, 120):
        parts.append(_text(40, note_y, line, 10, fill=GREY))
        note_y += 13
    for line in _wrap(page.note, 120):
        parts.append(_text(40, note_y, line, 10, fill=GREY))
        note_y += 13
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def pages_html(pages: list[Page]) -> str:
    """Every page in one HTML file that prints one page per sheet (A4)."""
    body = "\n".join(f'<div class="page">{page_svg(p)}</div>' for p in pages)
    return (
        '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">'
        "<title>Equality report</title><style>@page { size: A4; margin: 0 } "
        "body { margin: 0 } .page { page-break-after: always; break-after: page }"
        "</style></head><body>\n" + body + "\n</body></html>\n"
    )


def pages_csv(pages: list[Page]) -> str:
    """The figures of every page as tidy CSV: a ``#`` comment line (the disclosure note and
    any partial month), then one line per figure; hidden values empty with
    ``suppressed`` 1."""
    buffer = io.StringIO()
    notes = [pages[0].note] if pages else []
    notes += sorted({p.partial for p in pages if p.partial})
    buffer.write("# Equality report; " + "; ".join(notes) + "\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "practice",
            "section",
            "dimension",
            "group",
            "group_label",
            "total",
            "value",
            "ci_low",
            "ci_high",
            "denominator",
            "below_everyone",
            "suppressed",
        ]
    )
    for page in pages:
        for f in page.figures:
            writer.writerow(
                [
                    page.practice or "all",
                    f.section,
                    f.dimension,
                    "all" if f.group is ALL else str(f.group),
                    f.label,
                    "1" if f.group is ALL else "0",
                    "" if f.value is None else f.value,
                    "" if f.low is None else f.low,
                    "" if f.high is None else f.high,
                    "" if f.over is None else f.over,
                    "1" if f.below else "0",
                    "1" if f.value is None else "0",
                ]
            )
    return buffer.getvalue()
