"""Flags: why a case (or a worker's load) needs a supervisor's attention.

Each flag is a pure function of an episode's facts returning a Flag (kind,
severity, one sentence a supervisor can read aloud) or None. The rules are
docs/design.md section 3, "Flags"; every threshold is in FlagSettings.

Closed (discharged) episodes get no flags at all: there is nothing left
for supervision to act on, and outcomes cover what happened.

A Flag's ``key`` names the kind and the evidence behind it (for example the
date of the contact that scored item 9). A supervision review stores the
keys it saw; the caller clears those and raises any flag whose key is new,
so new evidence raises a flag again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from caseload.domain.codes import ComplexityFactor, RiskLevel, Severity
from caseload.domain.curves import ExpectedCurves, is_off_track, uses_fallback
from caseload.domain.dates import format_date, local_date
from caseload.domain.episodes import EpisodeSummaryFacts
from caseload.domain.measures import GAD7, PHQ9, Measure, all_measures, get_measure
from caseload.domain.outcomes import reliable_direction
from caseload.domain.wording import plural


class FlagKind(StrEnum):
    """What a flag is about."""

    RISK = "risk"
    SEVERE_AT_ENTRY = "severe_at_entry"
    DETERIORATION = "deterioration"
    NOT_ON_TRACK = "not_on_track"
    COMPLEXITY = "complexity"
    DISENGAGING = "disengaging"
    LONG_TREATMENT = "long_treatment"
    INCOMPLETE_QUESTIONNAIRES = "incomplete_questionnaires"
    MISSING_MEASURES = "missing_measures"
    REVIEW_OVERDUE = "review_overdue"
    OVER_CAPACITY = "over_capacity"
    RISK_SHARE = "risk_share"

    @property
    def label(self) -> str:
        """Human label."""
        return _KIND_LABELS[self]


_KIND_LABELS: dict[FlagKind, str] = {
    FlagKind.RISK: "Risk",
    FlagKind.SEVERE_AT_ENTRY: "Severe at entry",
    FlagKind.DETERIORATION: "Reliable deterioration",
    FlagKind.NOT_ON_TRACK: "Not on track",
    FlagKind.COMPLEXITY: "Complexity",
    FlagKind.DISENGAGING: "Disengaging",
    FlagKind.LONG_TREATMENT: "Long treatment",
    FlagKind.INCOMPLETE_QUESTIONNAIRES: "Incomplete questionnaires",
    FlagKind.MISSING_MEASURES: "Missing measures",
    FlagKind.REVIEW_OVERDUE: "Review overdue",
    FlagKind.OVER_CAPACITY: "Caseload over capacity",
    FlagKind.RISK_SHARE: "High share of risk cases",
}


@dataclass(frozen=True, slots=True)
class Flag:
    """A reason for attention: kind, severity, one plain sentence, and the evidence behind it."""

    kind: FlagKind
    severity: Severity
    sentence: str
    evidence: str = ""

    @property
    def key(self) -> str:
        """Stable identity of this flag and its evidence, for clearing by a review."""
        return f"{self.kind.value}:{self.evidence}" if self.evidence else self.kind.value


@dataclass(frozen=True, slots=True)
class FlagSettings:
    """Every flag threshold, with docs/design.md section 3 defaults (admins may change them).

    - ``caseload_cap`` 45 active cases: the planned maximum reported by Rizq
      et al. (2009).
    - ``risk_share`` 0.2: a worker is flagged when more than 20% of their
      active cases carry a risk flag. No national figure exists; 20% is a
      local starting point for a step-2 (mild to moderate) caseload.
    - ``disengage_days`` 28, ``dna_run`` 2: no attended contact for 28 days,
      or two non-attendances in a row.
    - ``long_treatment_contacts`` 8: flagged above 8 treatment contacts at
      step 2 (typical low-intensity courses are 6-8 sessions).
    - ``review_days`` 28, ``red_review_days`` 7: supervision review intervals
      for open cases and for cases with a red flag.
    - ``not_on_track_from_contact`` 4: expected-curve check from the 4th
      contact. ``not_on_track_needs_caseness``: only a measure that started
      at caseness is checked (a measure that started low cannot show a
      reliable fall, so the fallback would flag it for no reason).
    - ``severe_phq9`` 20, ``severe_gad7`` 15: the lower bounds of the
      "severe" bands (Kroenke 2001; Spitzer 2006), checked at ``step`` 2.
    """

    caseload_cap: int = 45
    risk_share: float = 0.2
    disengage_days: int = 28
    dna_run: int = 2
    long_treatment_contacts: int = 8
    review_days: int = 28
    red_review_days: int = 7
    not_on_track_from_contact: int = 4
    not_on_track_needs_caseness: bool = True
    severe_phq9: int = 20
    severe_gad7: int = 15
    low_intensity_step: int = 2


DEFAULT_SETTINGS = FlagSettings()


@dataclass(frozen=True, slots=True)
class EpisodeFacts:
    """Everything the episode flags look at."""

    summary: EpisodeSummaryFacts
    step: int
    complexity_factors: frozenset[ComplexityFactor]
    is_open: bool
    today: date
    last_review_on: date | None
    referral_date: date


def risk_flag(facts: EpisodeFacts, settings: FlagSettings = DEFAULT_SETTINGS) -> Flag | None:
    """Red when the latest risk-item answer (PHQ-9 item 9) is a risk signal, or the latest
    risk rating is moderate or high.

    Every risk signal is red: step 2 has no lesser response to thoughts of
    self-harm than prompt discussion, and the worker's own grading (moderate
    or high) is stated in the sentence.
    """
    summary = facts.summary
    sentences: list[str] = []
    evidence: list[str] = []
    measure = _risk_item_signal(summary)
    if measure is not None:
        answer = summary.latest_risk_answer
        sentences.append(
            f"{measure.short_name} item {measure.risk_item} scored {answer} "
            f"{_at_contact(summary.latest_risk_answer_at, summary)}: "
            "thoughts of self-harm or being better off dead."
        )
        evidence.append(
            f"{measure.id}.item{measure.risk_item}={answer}@{_stamp(summary.latest_risk_answer_at)}"
        )
    level = _rated_risk(summary)
    if level is not None:
        sentences.append(
            f"The risk assessment {_at_contact(summary.latest_risk_at, summary)} "
            f"rated risk as {level.label.lower()}."
        )
        evidence.append(f"risk={level.value}@{_stamp(summary.latest_risk_at)}")
    if not sentences:
        return None
    return Flag(FlagKind.RISK, Severity.RED, " ".join(sentences), ";".join(evidence))


def _risk_item_signal(summary: EpisodeSummaryFacts) -> Measure | None:
    """The measure whose risk item (PHQ-9 item 9) signals risk at its latest answer."""
    measure_id = summary.latest_risk_answer_measure
    if measure_id is None:
        return None
    measure = get_measure(measure_id)
    return measure if measure.is_risk_answer(summary.latest_risk_answer) else None


def _rated_risk(summary: EpisodeSummaryFacts) -> RiskLevel | None:
    """The latest risk rating when it is moderate or high."""
    level = summary.latest_risk_level
    return level if level in (RiskLevel.MODERATE, RiskLevel.HIGH) else None


def has_open_risk(summary: EpisodeSummaryFacts) -> bool:
    """The risk rule in one place: the latest risk-item answer is a signal, or the latest
    risk assessment is moderate or high."""
    return _risk_item_signal(summary) is not None or _rated_risk(summary) is not None


def open_risk_signalled_at(summary: EpisodeSummaryFacts) -> datetime | None:
    """When the open risk was last signalled: the later of the risk-item answer (when it is
    a signal) and the moderate or high rating; None when no risk is open."""
    moments = []
    if _risk_item_signal(summary) is not None and summary.latest_risk_answer_at is not None:
        moments.append(summary.latest_risk_answer_at)
    if _rated_risk(summary) is not None and summary.latest_risk_at is not None:
        moments.append(summary.latest_risk_at)
    return max(moments, default=None)


def _at_contact(moment: datetime | None, summary: EpisodeSummaryFacts) -> str:
    if moment is None:
        return "at the latest contact"
    latest = " last" if moment == summary.last_attended_at else ""
    return f"at the{latest} contact on {format_date(local_date(moment))}"


def _stamp(moment: datetime | None) -> str:
    return "" if moment is None else local_date(moment).isoformat()


def severe_at_entry_flag(
    facts: EpisodeFacts, settings: FlagSettings = DEFAULT_SETTINGS
) -> Flag | None:
    """Amber when, at step 2, the first PHQ-9 is 20+ or the first GAD-7 is 15+."""
    if facts.step != settings.low_intensity_step:
        return None
    summary = facts.summary
    parts: list[str] = []
    for measure_id, severe in ((PHQ9, settings.severe_phq9), (GAD7, settings.severe_gad7)):
        first = summary.first(measure_id)
        if first is not None and first >= severe:
            parts.append(f"{get_measure(measure_id).short_name} {first}")
    if not parts:
        return None
    return Flag(
        FlagKind.SEVERE_AT_ENTRY,
        Severity.AMBER,
        f"First scores were in the severe range ({' and '.join(parts)}) for a step "
        f"{facts.step} case: check that step {facts.step} is the right level of care.",
        ",".join(parts),
    )


def deterioration_flag(
    facts: EpisodeFacts, settings: FlagSettings = DEFAULT_SETTINGS
) -> Flag | None:
    """Red on a reliable increase on one measure with no reliable decrease on the other.

    Unlike the national outcome this does not need both measures paired: a
    missing GAD-7 must not hide a reliably worse PHQ-9.
    """
    summary = facts.summary
    changes: dict[str, tuple[int | None, int | None, int]] = {}
    for measure_id in (PHQ9, GAD7):
        measure = get_measure(measure_id)
        first, last = summary.first(measure_id), summary.last(measure_id)
        threshold = measure.reliable_change
        direction = (
            0
            if threshold is None
            else reliable_direction(first=first, last=last, threshold=threshold)
        )
        changes[measure.short_name] = (first, last, direction)
    directions = [d for _, _, d in changes.values()]
    if 1 not in directions or -1 in directions:
        return None
    worse = [f"{name} {first} to {last}" for name, (first, last, d) in changes.items() if d == 1]
    return Flag(
        FlagKind.DETERIORATION,
        Severity.RED,
        f"Scores have reliably worsened since the first contact ({'; '.join(worse)}).",
        ",".join(worse),
    )


def not_on_track_flag(
    facts: EpisodeFacts,
    settings: FlagSettings = DEFAULT_SETTINGS,
    *,
    phq9_curves: ExpectedCurves | None = None,
    gad7_curves: ExpectedCurves | None = None,
) -> Flag | None:
    """Amber when, after 4+ treatment contacts, a measure is off its expected curve."""
    if facts.summary.treatment_contacts < settings.not_on_track_from_contact:
        return None
    off: list[str] = []
    fallback = False
    for measure_id, curves in ((PHQ9, phq9_curves), (GAD7, gad7_curves)):
        series = facts.summary.series(measure_id).totals
        if not series:
            continue
        measure = get_measure(measure_id)
        if settings.not_on_track_needs_caseness and not measure.is_case(series[0]):
            continue
        result = is_off_track(
            series,
            curves=curves,
            measure=measure,
            from_contact=settings.not_on_track_from_contact,
        )
        if result:
            off.append(f"{measure.short_name} {series[0]} to {series[-1]}")
            fallback = fallback or uses_fallback(series, curves=curves, measure=measure)
    if not off:
        return None
    how = (
        "has not reliably improved"
        if fallback
        else "is worse than this service usually sees at this point"
    )
    return Flag(
        FlagKind.NOT_ON_TRACK,
        Severity.AMBER,
        f"After {facts.summary.treatment_contacts} treatment contacts the client {how} "
        f"({'; '.join(off)}).",
        ",".join(off),
    )


def complexity_flag(facts: EpisodeFacts, settings: FlagSettings = DEFAULT_SETTINGS) -> Flag | None:
    """Amber when any complexity factor outside the step-2 remit is recorded."""
    if not facts.complexity_factors:
        return None
    ordered = [f for f in ComplexityFactor if f in facts.complexity_factors]
    labels = ", ".join(f.label.lower() for f in ordered)
    return Flag(
        FlagKind.COMPLEXITY,
        Severity.AMBER,
        f"Complexity recorded outside the usual step-2 remit: {labels}.",
        ",".join(f.value for f in ordered),
    )


def disengaging_flag(facts: EpisodeFacts, settings: FlagSettings = DEFAULT_SETTINGS) -> Flag | None:
    """Amber after two non-attendances in a row or 28 days without an attended contact."""
    summary = facts.summary
    if summary.consecutive_dnas >= settings.dna_run:
        # A run of missed appointments starts after the last attended contact, so that date
        # and the run's length name the evidence: a new run after the client came back is
        # new evidence even when it is as long as one a review already saw.
        after = _stamp(summary.last_attended_at) or "none"
        return Flag(
            FlagKind.DISENGAGING,
            Severity.AMBER,
            f"The client has missed the last {summary.consecutive_dnas} appointments in a row.",
            f"dnas={summary.consecutive_dnas},after={after}",
        )
    if summary.last_attended_at is None:
        return None  # still waiting: the wait is the service's, not disengagement
    last = local_date(summary.last_attended_at)
    days = (facts.today - last).days
    if days >= settings.disengage_days:
        return Flag(
            FlagKind.DISENGAGING,
            Severity.AMBER,
            f"No attended contact for {days} days (last seen {format_date(last)}).",
            f"last_seen={last.isoformat()}",
        )
    return None


def long_treatment_flag(
    facts: EpisodeFacts, settings: FlagSettings = DEFAULT_SETTINGS
) -> Flag | None:
    """Amber when a step-2 case has had more than 8 treatment contacts."""
    contacts = facts.summary.treatment_contacts
    if facts.step != settings.low_intensity_step or contacts <= settings.long_treatment_contacts:
        return None
    return Flag(
        FlagKind.LONG_TREATMENT,
        Severity.AMBER,
        f"{plural(contacts, 'treatment contact')} so far at step {facts.step}, more than the "
        f"usual {settings.long_treatment_contacts}: review whether to continue, step up or end.",
        f"contacts>{settings.long_treatment_contacts}",
    )


def missing_measures_flag(
    facts: EpisodeFacts, settings: FlagSettings = DEFAULT_SETTINGS
) -> Flag | None:
    """Info when an attended treatment contact lacks a PHQ-9 or GAD-7 total."""
    missing = facts.summary.attended_missing_measures
    if missing == 0:
        return None
    reasons = facts.summary.missing_measures_with_reason
    why = f", {reasons} with a recorded reason" if reasons else ""
    return Flag(
        FlagKind.MISSING_MEASURES,
        Severity.INFO,
        f"{plural(missing, 'attended treatment contact')} without both PHQ-9 and GAD-7{why}.",
        f"missing={missing}",
    )


def incomplete_questionnaires_flag(
    facts: EpisodeFacts, settings: FlagSettings = DEFAULT_SETTINGS
) -> Flag | None:
    """Amber when a questionnaire was started and left unfinished at an attended contact.

    An unfinished questionnaire has no total, so it cannot show change, and an unfinished
    PHQ-9 may hide an unasked item 9; the sentence says how many left the risk item
    unanswered. Any measure with a risk item counts, from its definition.
    """
    summary = facts.summary
    count = summary.incomplete_questionnaires
    if count == 0:
        return None
    verb = "was" if count == 1 else "were"
    sentence = (
        f"{plural(count, 'questionnaire')} {verb} started and left unfinished, "
        f"so {'it has' if count == 1 else 'they have'} no total."
    )
    unanswered = summary.unanswered_risk_items
    if unanswered:
        items = " or ".join(
            f"{m.short_name} item {m.risk_item}" for m in all_measures() if m.risk_item
        )
        which = "Its" if count == 1 else f"In {unanswered} of them the"
        sentence += f" {which} risk question ({items}) was not answered."
    return Flag(
        FlagKind.INCOMPLETE_QUESTIONNAIRES,
        Severity.AMBER,
        sentence,
        f"incomplete={count},risk_unanswered={unanswered}",
    )


def review_overdue_flag(
    facts: EpisodeFacts,
    settings: FlagSettings = DEFAULT_SETTINGS,
    *,
    has_red_flag: bool = False,
) -> Flag | None:
    """Amber after 28 days with no supervision review of an open case; red after 7 if red-flagged.

    A case never reviewed counts from its referral date.
    """
    if not facts.is_open:
        return None
    since = facts.last_review_on or facts.referral_date
    days = (facts.today - since).days
    limit = settings.red_review_days if has_red_flag else settings.review_days
    if days < limit:
        return None
    what = (
        f"last reviewed in supervision on {format_date(facts.last_review_on)}"
        if facts.last_review_on
        else f"not reviewed in supervision since referral on {format_date(facts.referral_date)}"
    )
    red = " with a red flag" if has_red_flag else ""
    return Flag(
        FlagKind.REVIEW_OVERDUE,
        Severity.RED if has_red_flag else Severity.AMBER,
        f"Open case{red} {what}, {days} days ago (review due every {limit} days).",
        f"since={since.isoformat()},limit={limit}",
    )


def _sorted(flags: list[Flag]) -> tuple[Flag, ...]:
    order = {kind: index for index, kind in enumerate(FlagKind)}
    return tuple(sorted(flags, key=lambda f: (f.severity.rank, order[f.kind])))


def episode_flags(
    facts: EpisodeFacts,
    *,
    settings: FlagSettings = DEFAULT_SETTINGS,
    curves: ExpectedCurves | Iterable[ExpectedCurves] | None = None,
) -> tuple[Flag, ...]:
    """All flags of an open episode, most severe first; none for a closed one.

    ``curves`` are the service's expected curves: one ExpectedCurves or
    several (PHQ-9 and GAD-7), each used for the measure it was built for.
    """
    if not facts.is_open:
        return ()
    by_measure: dict[str, ExpectedCurves] = {}
    if curves is not None:
        for item in (curves,) if isinstance(curves, ExpectedCurves) else curves:
            by_measure[item.measure_id] = item
    candidates = [
        risk_flag(facts, settings),
        severe_at_entry_flag(facts, settings),
        deterioration_flag(facts, settings),
        not_on_track_flag(
            facts,
            settings,
            phq9_curves=by_measure.get(PHQ9),
            gad7_curves=by_measure.get(GAD7),
        ),
        complexity_flag(facts, settings),
        disengaging_flag(facts, settings),
        long_treatment_flag(facts, settings),
        incomplete_questionnaires_flag(facts, settings),
        missing_measures_flag(facts, settings),
    ]
    flags = [flag for flag in candidates if flag is not None]
    has_red = any(flag.severity is Severity.RED for flag in flags)
    overdue = review_overdue_flag(facts, settings, has_red_flag=has_red)
    if overdue is not None:
        flags.append(overdue)
    return _sorted(flags)


def discharge_risk_flags(facts: EpisodeFacts, flags: Sequence[Flag]) -> tuple[Flag, ...]:
    """What a discharge must acknowledge, most severe first; empty when nothing does.

    Every red flag still open among ``flags`` (the episode's flags today), and the risk
    flag whenever the open risk signal (``has_open_risk``) is newer than the last
    supervision review, or the case was never reviewed. The review is a date, so a signal
    on the day of the review counts as newer: the date cannot say which came first.
    """
    shown = [flag for flag in flags if flag.severity is Severity.RED]
    signalled = open_risk_signalled_at(facts.summary)
    newer = signalled is not None and (
        facts.last_review_on is None or local_date(signalled) >= facts.last_review_on
    )
    if newer and all(flag.kind is not FlagKind.RISK for flag in shown):
        risk = risk_flag(facts)
        if risk is not None:
            shown.append(risk)
    return _sorted(shown)


def worker_flags(
    *, active_caseload: int, risk_cases: int, settings: FlagSettings = DEFAULT_SETTINGS
) -> tuple[Flag, ...]:
    """Worker-level flags: caseload above the cap, share of risk cases above the setting."""
    if active_caseload < 0 or risk_cases < 0 or risk_cases > active_caseload:
        raise ValueError("risk cases must be between 0 and the active caseload")
    flags: list[Flag] = []
    if active_caseload > settings.caseload_cap:
        flags.append(
            Flag(
                FlagKind.OVER_CAPACITY,
                Severity.AMBER,
                f"{active_caseload} active cases, above the cap of {settings.caseload_cap}.",
                f"caseload={active_caseload}",
            )
        )
    if active_caseload and risk_cases / active_caseload > settings.risk_share:
        flags.append(
            Flag(
                FlagKind.RISK_SHARE,
                Severity.AMBER,
                f"{risk_cases} of {active_caseload} active cases carry a risk flag, more than "
                f"{settings.risk_share:.0%} of the caseload.",
                f"risk={risk_cases}/{active_caseload}",
            )
        )
    return _sorted(flags)
