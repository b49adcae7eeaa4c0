"""The CP-SAT model of a term's tutor assignment: one constraint family per function, soft rules weighted from
rules.SOFT_RULES.

x[p,u,s,t] = 1 when tutor t teaches pupil p subject u in session s. Variables exist only for tutors qualified
and available for the need (index.candidates), so the subject and availability rules never appear as
constraints. Every auxiliary variable records how its value follows from a candidate assignment (`Hint`), so
an assignment is priced exactly as the model prices it, and CP-SAT gets a complete hint.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from . import rules as R
from .index import ELSEWHERE, Index, Pair


class Hint:
    """What auxiliary variables follow from one candidate assignment: who teaches whom, where, in order."""

    def __init__(self, ix: Index, chosen: Iterable[Pair]):
        self.tutor_of: dict[int, int] = dict(chosen)  # need -> tutor
        self.seen: set[tuple[int, int, int]] = set()  # (pupil, session, tutor)
        self.teaching: set[tuple[int, int]] = set()  # (tutor, session)
        for ni, ti in self.tutor_of.items():
            n = ix.needs[ni]
            self.seen.add((n.pupil, n.session, ti))
            self.teaching.add((ti, n.session))
        self.tutors_seen = Counter((pi, si) for pi, si, _ in self.seen)  # (pupil, session) -> tutors
        self.load = list(ix.load_outside or [0] * len(ix.tutors))
        for ti, _ in self.teaching:
            self.load[ti] += 1
        self.last: dict[int, int | None] = {}  # need -> the tutor its pupil's subject had last, after it
        self.changed: dict[int, int] = {}  # need -> 1 when its tutor is not the one before
        self.changed_after: dict[tuple[int, str], int] = {}  # chain -> 1 when its next tutor after is another
        for key, chain in ix.chains.items():
            last = ix.before.get(key)
            for ni in chain:
                t = self.tutor_of.get(ni)
                if t is not None:
                    self.changed[ni] = int(last is not None and last != t)
                    last = t
                self.last[ni] = last
            if key in ix.after:
                self.changed_after[key] = int(last is not None and last != ix.after[key])


@dataclass
class Built:
    ix: Index
    w: dict[str, int]
    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)
    x: dict[Pair, cp_model.IntVar] = field(default_factory=dict)
    uncovered: dict[int, cp_model.IntVar] = field(default_factory=dict)  # need -> 1 when no tutor teaches it
    sees: dict[tuple[int, int, int], cp_model.IntVar] = field(default_factory=dict)  # (pupil, session, tutor)
    teaches: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)  # (tutor, session)
    terms: list[tuple[str, cp_model.IntVar, int]] = field(default_factory=list)  # (rule, var, coefficient)
    hints: list[tuple[cp_model.IntVar, Callable[[Hint], int]]] = field(default_factory=list)

    def cost(self, rule: str, var, coeff: int) -> None:
        if coeff:
            self.terms.append((rule, var, coeff))

    def aux(self, var, value: Callable[[Hint], int]):
        self.hints.append((var, value))
        return var

    def name(self, ni: int) -> str:
        """p3,math,s5 for a need."""
        n = self.ix.needs[ni]
        return f"{self.ix.pupils[n.pupil].id},{n.subject},{self.ix.sessions[n.session].id}"


def build(ix: Index) -> Built:
    """The whole model: hard rules as constraints, soft rules as weighted costs in the objective."""
    b = Built(ix, R.weights(ix.problem))
    for ni, tutors in enumerate(ix.candidates):
        for ti in tutors:
            b.x[ni, ti] = b.model.NewBoolVar(f"x[{b.name(ni)},{ix.tutors[ti].id}]")
    add_coverage(b)
    add_pins(b)
    add_capacity(b)
    add_term_cap(b)
    add_continuity(b)
    add_split_pupil(b)
    add_fair_spread(b)
    b.model.Minimize(cp_model.LinearExpr.WeightedSum([v for _, v, _ in b.terms], [c for _, _, c in b.terms]))
    return b


def add_coverage(b: Built) -> None:
    """One tutor per need at most; a need with none costs `uncovered_need`."""
    for ni, tutors in enumerate(b.ix.candidates):
        unc = b.aux(b.model.NewBoolVar(f"uncovered[{b.name(ni)}]"), lambda h, ni=ni: int(ni not in h.tutor_of))
        b.model.Add(sum(b.x[ni, ti] for ti in tutors) + unc == 1)
        b.uncovered[ni] = unc
        b.cost("uncovered_need", unc, b.w["uncovered_need"])


def add_pins(b: Built) -> None:
    """The pins index.Index kept (it checked that they fit the hard rules together)."""
    for ni, ti in b.ix.pinned.items():
        b.model.Add(b.x[ni, ti] == 1)


def add_capacity(b: Built) -> None:
    """At most the tutor's seats of pupils per session; a pupil taught two subjects by one tutor counts once."""
    ix, m = b.ix, b.model
    per: dict[tuple[int, int, int], list] = defaultdict(list)  # (pupil, session, tutor) -> x of its needs
    for (ni, ti), var in b.x.items():
        n = ix.needs[ni]
        per[n.pupil, n.session, ti].append(var)
    pupils: dict[tuple[int, int], list] = defaultdict(list)  # (tutor, session) -> sees
    for (pi, si, ti), xs in per.items():
        if len(xs) == 1:
            sees = xs[0]
        else:
            name = f"sees[{ix.pupils[pi].id},{ix.sessions[si].id},{ix.tutors[ti].id}]"
            sees = b.aux(m.NewBoolVar(name), lambda h, k=(pi, si, ti): int(k in h.seen))
            m.AddMaxEquality(sees, xs)
        b.sees[pi, si, ti] = sees
        pupils[ti, si].append(sees)
    for (ti, si), seen in pupils.items():
        if len(seen) == 1:
            b.teaches[ti, si] = seen[0]
            continue
        name = f"teaches[{ix.tutors[ti].id},{ix.sessions[si].id}]"
        teaches = b.teaches[ti, si] = b.aux(m.NewBoolVar(name), lambda h, k=(ti, si): int(k in h.teaching))
        m.AddMaxEquality(teaches, seen)
        # the seats only when teaching: in the LP relaxation a fraction of a session then seats a fraction of
        # the pupils, which keeps the term caps from being spread thin over every session
        if len(seen) > ix.seats[ti]:
            m.Add(sum(seen) <= ix.seats[ti] * teaches)


def _sessions_of(b: Built) -> dict[int, list]:
    out: dict[int, list] = defaultdict(list)
    for (ti, _), var in b.teaches.items():
        out[ti].append(var)
    return out


def add_term_cap(b: Built) -> None:
    """At most the tutor's own number of sessions in the term."""
    for ti, taught in _sessions_of(b).items():
        cap = b.ix.tutors[ti].max_sessions
        if cap is not None and len(taught) > cap:
            b.model.Add(sum(taught) <= cap)


def add_continuity(b: Built) -> None:
    """Along each pupil's subject, need by need in time order: `carry[t]` says tutor t taught it last (before
    the term: Problem.previous), and a covered need whose tutor is not the one carried costs `tutor_change`."""
    ix, m, w = b.ix, b.model, b.w["tutor_change"]
    if not w:
        return
    for key, chain in ix.chains.items():
        before = ix.before.get(key)
        carry: dict[int, object] = {} if before is None else {before: 1}  # tutor (or ELSEWHERE) -> literal
        for i, ni in enumerate(chain):
            tutors = ix.candidates[ni]
            name = b.name(ni)
            if carry and tutors:
                change = b.aux(m.NewBoolVar(f"change[{name}]"), lambda h, ni=ni: h.changed.get(ni, 0))
                for ti in tutors:
                    others = [lit for t, lit in carry.items() if t != ti]
                    if others:
                        m.Add(b.x[ni, ti] + sum(others) - 1 <= change)
                b.cost("tutor_change", change, w)
            if i + 1 < len(chain) or key in ix.after:
                carry = _carry(b, ni, carry, name)
        if key in ix.after:  # a window: the first covered need after it changes tutor unless carry says its own
            others = [lit for t, lit in carry.items() if t != ix.after[key]]
            if others:
                change = b.aux(
                    m.NewBoolVar(f"change_after[{b.name(chain[-1])}]"), lambda h, k=key: h.changed_after.get(k, 0)
                )
                m.Add(sum(others) <= change)
                b.cost("tutor_change", change, w)


def _carry(b: Built, ni: int, carry: dict[int, object], name: str) -> dict[int, object]:
    """Who taught the subject last after need ni (its tutor if it has one, else whoever did before), as literals
    per tutor; new variables only where neither the need's x nor its uncovered flag says it already."""
    ix, m = b.ix, b.model
    unc = b.uncovered[ni]
    out: dict[int, object] = {}
    for ti in sorted(set(carry) | set(ix.candidates[ni])):
        prev, x = carry.get(ti, 0), b.x.get((ni, ti))
        if x is not None and isinstance(prev, int) and not prev:  # never carried: taught last iff it has it
            out[ti] = x
            continue
        if x is None and isinstance(prev, int) and prev:  # carried from before the term, on while uncovered
            out[ti] = unc
            continue
        tid = "elsewhere" if ti == ELSEWHERE else ix.tutors[ti].id
        c = b.aux(m.NewBoolVar(f"carry[{name},{tid}]"), lambda h, ni=ni, ti=ti: int(h.last.get(ni) == ti))
        # at least who taught last: x, or carried on while the need is uncovered. No upper bound is needed, as
        # a carry above the truth only adds changes, which the objective keeps down.
        if x is not None:
            m.Add(c >= x)
        m.Add(c >= prev + unc - 1)
        out[ti] = c
    return out


def add_split_pupil(b: Built) -> None:
    """Each tutor beyond the first that one pupil has in one session costs `split_pupil`."""
    ix, m, w = b.ix, b.model, b.w["split_pupil"]
    if not w:
        return
    per: dict[tuple[int, int], list] = defaultdict(list)  # (pupil, session) -> sees
    needs = Counter((n.pupil, n.session) for n in ix.needs)
    for (pi, si, _), sees in b.sees.items():
        per[pi, si].append(sees)
    for (pi, si), seen in per.items():
        if needs[pi, si] < 2 or len(seen) < 2:
            continue
        name = f"split[{ix.pupils[pi].id},{ix.sessions[si].id}]"

        def extra(h: Hint, pi=pi, si=si) -> int:
            return max(0, h.tutors_seen[pi, si] - 1)

        split = b.aux(m.NewIntVar(0, needs[pi, si] - 1, name), extra)
        m.Add(sum(seen) - 1 <= split)
        b.cost("split_pupil", split, w)


def add_fair_spread(b: Built) -> None:
    """(most sessions taught) - (fewest), among the tutors who could teach some need, costs `fair_spread`."""
    ix, m, w = b.ix, b.model, b.w["fair_spread"]
    tutors = ix.could_teach if ix.fair_tutors is None else ix.fair_tutors
    if not w or not tutors:
        return
    taught = _sessions_of(b)
    outside = ix.load_outside or [0] * len(ix.tutors)
    most = max(outside[ti] + len(taught[ti]) for ti in tutors)
    top = b.aux(m.NewIntVar(0, most, "most_sessions"), lambda h: max(h.load[ti] for ti in tutors))
    bottom = b.aux(m.NewIntVar(0, most, "fewest_sessions"), lambda h: min(h.load[ti] for ti in tutors))
    for ti in tutors:
        load = outside[ti] + sum(taught[ti])
        m.Add(top >= load)
        m.Add(bottom <= load)
    b.cost("fair_spread", top, w)
    b.cost("fair_spread", bottom, -w)


def values(b: Built, chosen: Iterable[Pair]) -> dict[int, int]:
    """Every variable's value (by index) at a candidate assignment, auxiliaries at their tightest."""
    chosen = set(chosen)
    h = Hint(b.ix, chosen)
    value = {var.Index(): int(p in chosen) for p, var in b.x.items()}
    for var, fn in b.hints:
        value[var.Index()] = fn(h)
    return value


def price(b: Built, chosen: Iterable[Pair]) -> dict[str, int]:
    """The weighted cost of each soft rule at a candidate assignment, as the model prices it."""
    value = values(b, chosen)
    out = dict.fromkeys(b.w, 0)
    for rule, var, coeff in b.terms:
        out[rule] += coeff * value[var.Index()]
    return out


def objective(b: Built, chosen: Iterable[Pair]) -> int:
    """The model's objective at a candidate assignment: the sum of `price`."""
    return sum(price(b, chosen).values())


def set_hint(b: Built, chosen: Iterable[Pair]) -> None:
    """Hint every variable from a candidate assignment, so CP-SAT starts from a complete solution."""
    value = values(b, chosen)
    b.model.ClearHints()
    for var in [*b.x.values(), *(v for v, _ in b.hints)]:
        b.model.AddHint(var, value[var.Index()])
