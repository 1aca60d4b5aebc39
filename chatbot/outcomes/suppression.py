"""Small-number suppression: hide counts of 1 to 4, and whatever would give them away.

A report is a set of published figures tied together by sums a reader knows (a row adds
up to its total, a service's referrals appear in two tables). We write those figures as
one system: named variables with their true values, and linear equations (sum = 0) and
inequalities (sum <= 0) between them. Then:

1. Primary suppression: every figure from 1 to 4 is hidden and shown as "<5".
2. Secondary suppression: a hidden figure alone in an equation could be worked out by
   subtraction, so another figure of that equation is hidden too (the smallest non-zero
   one, a table cell before a total), shown as "[c]".
3. An audit, as a reader would attack the report: for each hidden figure, find the
   smallest and largest whole-number values it could take, given every published figure,
   every equation and inequality, "<5" meaning 1 to 4 and "[c]" meaning 5 or more (zeros
   are never hidden, so a reader knows a "[c]" is not 0). Where the two meet, the figure
   is recoverable: hide one more figure beside it and audit again.
4. If nothing is left to hide and a small count can still be worked out (say four "<5"
   services whose total is "<5": each must be 1), every figure of the system is withheld
   and shown as "[w]".

The audit is an exact integer programme (scipy's HiGHS), solved one connected group of
hidden figures at a time, so it stays fast on a real report.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

SMALL_MIN, SMALL_MAX = 1, 4  # the counts that are never shown
PRIMARY = "<5"
SECONDARY = "[c]"
WITHHELD = "[w]"  # a handful of people in all: the whole set of tables is withheld

Var = Hashable
Terms = tuple[tuple[Var, int], ...]


@dataclass(frozen=True)
class Shown:
    """A published figure: its value (None where hidden or not a number) and the text to print."""

    value: float | None
    text: str

    @property
    def hidden(self) -> bool:
        return self.text in (PRIMARY, SECONDARY, WITHHELD)


@dataclass
class System:
    """Figures a report publishes, and the sums between them a reader knows."""

    values: dict[Var, int] = field(default_factory=dict)
    equations: list[Terms] = field(default_factory=list)  # sum(coef * var) == 0
    inequalities: list[Terms] = field(default_factory=list)  # sum(coef * var) <= 0
    margins: set[Var] = field(default_factory=set)  # totals: hidden only when no cell will do

    def add(self, var: Var, value: int, margin: bool = False) -> Var:
        if value < 0:
            raise ValueError(f"a count cannot be negative: {var!r} = {value}")
        if var in self.values and self.values[var] != value:
            raise ValueError(f"{var!r} is published twice with different values")
        self.values[var] = int(value)
        if margin:
            self.margins.add(var)
        return var

    def equation(self, terms: Iterable[tuple[Var, int]]) -> None:
        self._check(terms := tuple(terms), "=")
        self.equations.append(terms)

    def at_most(self, terms: Iterable[tuple[Var, int]]) -> None:
        """A sum a reader knows is <= 0 (e.g. current 'support started' <= ever reached it)."""
        self._check(terms := tuple(terms), "<=")
        self.inequalities.append(terms)

    def _check(self, terms: Terms, op: str) -> None:
        total = sum(coef * self.values[var] for var, coef in terms)
        if (op == "=" and total != 0) or (op == "<=" and total > 0):
            raise ValueError(f"the figures do not satisfy {terms!r} {op} 0")


def sum_is(system: System, parts: Iterable[Var], total: Var) -> None:
    """parts add up to total."""
    system.equation([*((p, 1) for p in parts), (total, -1)])


@dataclass(frozen=True)
class Grid:
    """A table inside a system: cell_vars[r][c], with optional row, column and grand totals."""

    cell_vars: list[list[Var]]
    row_total_vars: list[Var] | None = None
    col_total_vars: list[Var] | None = None
    grand_var: Var | None = None


def add_grid(
    system: System,
    counts: list[list[int]],
    cell_var,  # noqa: ANN001 - (r, c) -> Var
    row_total_var=None,  # noqa: ANN001 - r -> Var, or None for no row totals
    col_total_var=None,  # noqa: ANN001 - c -> Var, or None
    grand_var: Var | None = None,
    cols: int | None = None,
) -> Grid:
    """Add a table of counts and the sums its totals state (`cols` for a table with no rows)."""
    rows = len(counts)
    cols = len(counts[0]) if counts else (cols or 0)
    cells = [[system.add(cell_var(r, c), counts[r][c]) for c in range(cols)] for r in range(rows)]
    row_vars = col_vars = None
    if row_total_var is not None:
        row_vars = [system.add(row_total_var(r), sum(counts[r]), margin=True) for r in range(rows)]
        for r in range(rows):
            sum_is(system, cells[r], row_vars[r])
    if col_total_var is not None:
        col_vars = [
            system.add(col_total_var(c), sum(counts[r][c] for r in range(rows)), margin=True)
            for c in range(cols)
        ]
        for c in range(cols):
            sum_is(system, [cells[r][c] for r in range(rows)], col_vars[c])
    if grand_var is not None:
        grand = system.add(grand_var, sum(map(sum, counts)), margin=True)
        for totals in (row_vars, col_vars):
            if totals is not None:
                sum_is(system, totals, grand)
        if row_vars is None and col_vars is None:
            sum_is(system, [v for row in cells for v in row], grand)
    return Grid(cells, row_vars, col_vars, grand_var)


def suppress(system: System) -> dict[Var, Shown]:
    """What to print for every figure: the number, "<5" or "[c]"."""
    primary = {v for v, n in system.values.items() if SMALL_MIN <= n <= SMALL_MAX}
    secondary: set[Var] = set()
    audited: dict = {}  # group -> its recoverable figures: a group that has not changed is not solved again
    while True:
        hidden = primary | secondary
        # Cheap first: an equation with exactly one hidden figure gives it away at once.
        lone = [eq for eq in system.equations if sum(var in hidden for var, _ in eq) == 1]
        if any(_hide_another(system, eq, hidden, secondary) for eq in lone):
            continue
        recoverable = _recoverable(system, primary, secondary, audited)
        if not recoverable:
            break
        before = len(secondary)
        for var in recoverable:  # one more figure beside each (fewer rounds than one at a time)
            _hide_beside(system, var, primary | secondary, secondary)
        if len(secondary) == before:
            return {var: Shown(None, WITHHELD) for var in system.values}
    return {
        var: Shown(None, PRIMARY if var in primary else SECONDARY)
        if var in primary or var in secondary
        else Shown(n, str(n))
        for var, n in system.values.items()
    }


def _candidates(system: System, terms: Terms, hidden: set[Var]) -> list[Var]:
    """Visible, non-zero figures of one equation, best to hide first."""
    found = [v for v, _ in terms if v not in hidden and system.values[v] > 0]
    return sorted(found, key=lambda v: (v in system.margins, system.values[v], repr(v)))


def _hide_another(system: System, terms: Terms, hidden: set[Var], secondary: set[Var]) -> bool:
    candidates = _candidates(system, terms, hidden)
    if candidates:
        secondary.add(candidates[0])
        return True
    return False


def _hide_beside(system: System, var: Var, hidden: set[Var], secondary: set[Var]) -> bool:
    """Hide the best figure in any equation (then inequality) that holds `var`."""
    for group in (system.equations, system.inequalities):
        options = [
            c
            for terms in group
            if any(v == var for v, _ in terms)
            for c in _candidates(system, terms, hidden)
        ]
        if options:
            secondary.add(min(options, key=lambda v: (v in system.margins, system.values[v], repr(v))))
            return True
    return False


# --- the audit -------------------------------------------------------------------------


def hidden_ranges(system: System, primary: set[Var], secondary: set[Var]) -> dict[Var, tuple[float, float]]:
    """The smallest and largest whole value each hidden figure could have, to a reader."""
    ranges: dict[Var, tuple[float, float]] = {}
    for group in _groups(system, primary | secondary):
        problem = _Problem(system, group, primary)
        for var in group:
            ranges[var] = (problem.extreme(var, +1), problem.extreme(var, -1))
    return ranges


def _recoverable(system: System, primary: set[Var], secondary: set[Var], audited: dict) -> list[Var]:
    """Hidden figures a reader could work out exactly, smallest first."""
    found = []
    for group in _groups(system, primary | secondary):
        key = (frozenset(group), frozenset(v for v in group if v in primary))
        if key not in audited:
            audited[key] = _Problem(system, group, primary).pinned()
        found.extend(audited[key])
    return sorted(found, key=lambda v: (system.values[v], repr(v)))


def _groups(system: System, hidden: set[Var]) -> list[list[Var]]:
    """Hidden figures joined by any equation or inequality: each group is solved alone."""
    parent = {v: v for v in hidden}

    def root(v: Var) -> Var:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for terms in [*system.equations, *system.inequalities]:
        inside = [v for v, _ in terms if v in hidden]
        for other in inside[1:]:
            parent[root(other)] = root(inside[0])
    groups: dict[Var, list[Var]] = {}
    for v in sorted(hidden, key=repr):
        groups.setdefault(root(v), []).append(v)
    return list(groups.values())


class _Problem:
    """The integer programme a reader could solve for one group of hidden figures."""

    def __init__(self, system: System, group: list[Var], primary: set[Var]) -> None:
        self.system = system
        self.index = {v: i for i, v in enumerate(group)}
        n = len(group)
        self.lower = np.array([SMALL_MIN if v in primary else SMALL_MAX + 1 for v in group], dtype=float)
        self.upper = np.array([SMALL_MAX if v in primary else np.inf for v in group], dtype=float)
        rows, lo, hi = [], [], []
        for terms, is_equation in [
            *((t, True) for t in system.equations),
            *((t, False) for t in system.inequalities),
        ]:
            if not any(v in self.index for v, _ in terms):
                continue
            row = np.zeros(n)
            known = 0
            for v, coef in terms:
                if v in self.index:
                    row[self.index[v]] += coef
                else:
                    known += coef * system.values[v]
            rows.append(row)
            lo.append(-known if is_equation else -np.inf)
            hi.append(-known)
        self.constraints = [LinearConstraint(np.array(rows), lo, hi)] if rows else []
        self.integrality = np.ones(n)

    def _solve(self, objective: np.ndarray, lower: np.ndarray, upper: np.ndarray):  # noqa: ANN202
        return milp(
            objective,
            constraints=self.constraints,
            integrality=self.integrality,
            bounds=Bounds(lower, upper),
        )

    def pinned(self) -> list[Var]:
        """The figures of the group that can take only their true value.

        A figure is safe when some whole-number solution gives it another value. Every
        solution found is a witness for each figure it moves, so most need no solve of their own.
        """
        truth = np.array([self.system.values[v] for v in self.index], dtype=float)
        safe = np.zeros(len(truth), dtype=bool)
        found = []
        for var, i in self.index.items():
            if safe[i]:
                continue
            for bound in ("upper", "lower"):  # try below the truth, then above it
                x = self.solution(var, **{bound: truth[i] + (-1 if bound == "upper" else 1)})
                if x is not None:
                    safe |= np.abs(x - truth) > 0.5
                    break
            else:
                found.append(var)
        return found

    def solution(self, var: Var, lower: float | None = None, upper: float | None = None):  # noqa: ANN201
        """A whole-number solution with var within the bounds given, or None."""
        lo, hi = self.lower.copy(), self.upper.copy()
        i = self.index[var]
        if lower is not None:
            lo[i] = max(lo[i], lower)
        if upper is not None:
            hi[i] = min(hi[i], upper)
        if lo[i] > hi[i]:
            return None
        result = self._solve(np.zeros(len(lo)), lo, hi)
        return result.x if result.status == 0 else None

    def extreme(self, var: Var, sign: int) -> float:
        """Minimum (sign +1) or maximum (sign -1) of var; inf when unbounded above."""
        objective = np.zeros(len(self.lower))
        objective[self.index[var]] = sign
        result = self._solve(objective, self.lower, self.upper)
        if result.status != 0:  # HiGHS may say "unbounded or infeasible"; the truth is feasible
            return np.inf
        return float(round(result.x[self.index[var]]))
