"""The rules of the weekend school's tutor assignment: the hard rules by name and the soft-rule weight table.

A need is one pupil's subject in one session they come to. Covering every need is a soft rule with a weight
far above the others, so a term that cannot be covered still gets its best partial cover, each uncovered
need with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping

from activities.roster.rules import SoftRule  # the patrol roster's record of a soft rule: name, weight, unit

from .model import Problem, Tutor

# Hard rules: the model never breaks them, the validator names them.
HARD_RULES: Mapping[str, str] = {
    "subject": "a tutor teaches only the subjects they have",
    "availability": "a tutor teaches only in the sessions they are available for",
    "capacity": "at most the tutor's pupils per session (one pupil counts once, whatever the subjects)",
    "term_cap": "at most the tutor's own number of sessions in the term",
    "duplicate": "one tutor per need",
    "not_needed": "only needs: the pupil comes to the session and needs the subject",
    "pinned": "the organiser's pins hold",
}


# The one table of soft rules. Costs are integers: weight x units.
SOFT_RULES: tuple[SoftRule, ...] = (
    SoftRule("uncovered_need", 1000, "a pupil's subject in a session with no tutor"),
    SoftRule(
        "tutor_change",
        20,
        "a pupil's subject taught by another tutor than the last one who taught it (in an earlier session, "
        "or in Problem.previous)",
    ),
    SoftRule("split_pupil", 5, "a tutor beyond the first that one pupil has in one session"),
    SoftRule(
        "fair_spread",
        10,
        "session between the most and the fewest sessions taught by one tutor, among the tutors who could "
        "teach some need (qualified and available for it)",
    ),
)
DEFAULT_WEIGHTS: Mapping[str, int] = {rule.name: rule.weight for rule in SOFT_RULES}


def weights(problem: Problem) -> dict[str, int]:
    unknown = set(problem.weights) - set(DEFAULT_WEIGHTS)
    if unknown:
        raise ValueError(f"unknown soft rules: {sorted(unknown)}")
    return {**DEFAULT_WEIGHTS, **problem.weights}


def seats(tutor: Tutor, problem: Problem) -> int:
    """Pupils the tutor may teach at once in one session."""
    return problem.pupils_per_tutor if tutor.max_pupils is None else tutor.max_pupils
