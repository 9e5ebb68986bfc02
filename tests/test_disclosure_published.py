"""The disclosure rules added for issue 16 (point 4), as pure functions: rates from the
published counts, means to a step that cannot narrow their count, stricter rules applied to
published values, the smallest group, totals given by a coarser table, withheld values, and
the checker for exact counts behind rounded ones."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.disclosure import (
    DEFAULT_RULE,
    Given,
    Rule,
    Table,
    coarsen,
    mean_contributors,
    mean_step,
    protect_one_way,
    protect_two_way,
    publish_count,
    publish_mean,
    publish_rate,
    rate_leaks,
    recoverable_cells,
)

small = st.one_of(st.just(0), st.integers(1, 7), st.integers(8, 14))
counts = st.one_of(st.just(0), st.integers(1, 7), st.integers(8, 40), st.integers(0, 200))


# ----------------------------------------------------------------------- rates


def test_a_rate_from_unrounded_counts_gives_them_back() -> None:
    # the finding: 9 of 23 resolved, published as 10 and 25, with the share 0.391
    assert rate_leaks(0.391, 10, 25) == [
        "the numerator is exactly 9",
        "the denominator is exactly 23",
    ]
    # the rate of the published counts gives nothing
    assert publish_rate(10, 25) == 0.4
    assert rate_leaks(0.4, 10, 25) == []
    assert rate_leaks(0.4, None, 25) == ["a rate is shown beside a hidden count"]
    assert rate_leaks(None, None, 25) == []


@settings(max_examples=200, deadline=None)
@given(st.integers(8, 300), st.data())
def test_rates_of_published_counts_never_leak(denominator: int, data: st.DataObject) -> None:
    numerator = data.draw(st.integers(0, denominator))
    num, den = publish_count(numerator), publish_count(denominator)
    assert rate_leaks(publish_rate(num, den), num, den) == []


# ----------------------------------------------------------------------- means


def test_means_are_shown_to_a_step_no_count_can_tell_apart() -> None:
    assert mean_step() == pytest.approx(0.2)  # 8 contributors at the fewest: 1/8 <= 0.2
    assert mean_step(Rule(threshold=9)) == pytest.approx(0.1)
    assert publish_mean(12, 9, 10) == pytest.approx(1.4)
    assert publish_mean(-7, 8, 10) == pytest.approx(-0.8)
    assert publish_mean(5, 6, None) is None
    # one decimal place to 3 decimals would tell 9 contributors from 8, 10, 11 and 12
    assert mean_contributors(1.4, 10) == [8, 9, 10, 11, 12]


@settings(max_examples=300, deadline=None)
@given(st.integers(8, 60), st.data())
def test_no_published_mean_narrows_its_count(n: int, data: st.DataObject) -> None:
    changes = data.draw(st.lists(st.integers(-10, 10), min_size=n, max_size=n))
    shown = publish_count(n)
    assert shown is not None
    mean = publish_mean(sum(changes), n, shown)
    assert mean is not None
    lo, hi = DEFAULT_RULE.interval(shown)
    assert mean_contributors(mean, shown) == list(range(lo, hi + 1))


# ----------------------------------------------------------------- stricter rules


def test_no_count_is_rounded_to_zero() -> None:
    rule = Rule(base=20)
    assert publish_count(8, rule) == 20 and publish_count(29, rule) == 20
    assert publish_count(30, rule) == 40
    assert rule.interval(20) == (8, 29)


@given(st.integers(0, 400), st.integers(7, 30), st.sampled_from([5, 10, 15, 20]))
def test_a_stricter_rule_is_a_function_of_the_default_value(
    count: int, threshold: int, base: int
) -> None:
    rule = Rule(threshold=threshold, base=base)
    shown = coarsen(publish_count(count), rule)
    # every count the default value stands for gives the same stricter value
    default = publish_count(count)
    if default:
        lo, hi = DEFAULT_RULE.interval(default)
        assert {coarsen(publish_count(c), rule) for c in range(lo, hi + 1)} == {shown}
    if shown is not None and shown:
        assert shown % base == 0 and count > threshold
    if count == 0:
        assert shown == 0


def test_the_smallest_group_can_only_be_raised() -> None:
    assert Rule(min_population=25).min_population == 25
    with pytest.raises(ValueError, match="smallest group of 5 people is below the minimum 10"):
        Rule(min_population=5)


# ----------------------------------------------------------- given totals, withheld


def test_given_totals_are_never_changed_and_only_own_values_are_hidden() -> None:
    # a row total already hidden elsewhere stays hidden; the one published stays as it was
    table = protect_two_way(
        [[3, 20], [12, 40]],
        given=Given(fixed={("row", 0): None, ("row", 1): 50, ("total",): 75}),
    )
    assert table.row_totals == (None, 50) and table.total == 75
    assert table.cells[0][0] is None
    assert recoverable_cells(table, published=True) == []


def test_a_small_line_is_withheld_zeros_included() -> None:
    # a row of four people: * against 0 would tell their needs
    table = protect_two_way(
        [[4, 0, 0], [20, 30, 25]], rows_partition=True, cols_partition=True,
        given=Given(min_line=10),
    )  # fmt: skip
    assert table.cells[0] == (None, None, None)
    assert {("cell", 0, 1), ("cell", 0, 2)} <= table.withheld
    # a zero whose column is shown as 0 stays 0
    table = protect_two_way([[4, 0], [20, 0]], given=Given(min_line=10))
    assert table.cells[0] == (None, 0)


def _brute_force(table: Table, cap: int) -> set[tuple]:
    """Positions whose value is the same in every table a reader could believe in: hidden
    ones (at least 1, or 0 where withheld) and rounded ones."""
    rule = table.rule
    rows, cols = len(table.cells), len(table.cells[0])

    def domain(pos: tuple) -> range:
        value = table.get(pos)
        if pos in table.withheld:
            return range(0, cap + 1)
        if value is None:
            return range(1, cap + 1)
        if value == 0:
            return range(0, 1)
        lo, hi = rule.interval(value)
        return range(lo, hi + 1)

    positions: list[tuple] = [("cell", i, j) for i in range(rows) for j in range(cols)]
    seen: dict[tuple, set[int]] = {}
    for combo in itertools.product(*(domain(p) for p in positions)):
        values: dict[tuple, int] = dict(zip(positions, combo, strict=True))
        values[("total",)] = sum(combo)
        if table.row_totals is not None:
            for i in range(rows):
                values[("row", i)] = sum(combo[i * cols : (i + 1) * cols])
            for j in range(cols):
                values[("col", j)] = sum(combo[i * cols + j] for i in range(rows))
        if all(
            v in domain(p) or (p == ("total",) and table.total is None) for p, v in values.items()
        ):
            for p, v in values.items():
                seen.setdefault(p, set()).add(v)
    return {p for p, vs in seen.items() if len(vs) == 1 and table.get(p) != 0}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(small, min_size=1, max_size=4), st.data())
def test_the_checker_agrees_with_brute_force_on_rounded_and_withheld(
    values: list[int], data: st.DataObject
) -> None:
    cells = tuple(publish_count(v) for v in values)
    withheld = frozenset(
        ("cell", 0, j) for j in range(len(values)) if cells[j] is None and data.draw(st.booleans())
    )
    table = Table(cells=(cells,), total=publish_count(sum(values)), withheld=withheld)
    found = {p for p, _ in recoverable_cells(table, published=True)}
    assert found == _brute_force(table, cap=sum(values) + 3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 4).flatmap(
        lambda cols: st.lists(
            st.lists(counts, min_size=cols, max_size=cols), min_size=1, max_size=4
        )
    )
)
def test_protected_tables_give_back_no_exact_count(cells: list[list[int]]) -> None:
    table = protect_two_way(cells, given=Given(min_line=10))
    assert recoverable_cells(table, published=True) == []
    for i, row in enumerate(cells):
        for j, raw in enumerate(row):
            pub = table.cells[i][j]
            assert pub is None or (pub == 0) == (raw == 0)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(counts, min_size=1, max_size=10))
def test_a_given_total_is_kept_and_the_table_is_still_safe(values: list[int]) -> None:
    total = sum(values)
    table = protect_one_way(values, given=Given(fixed={("total",): publish_count(total)}))
    assert table.total == publish_count(total)
    assert recoverable_cells(table, published=True) == []
