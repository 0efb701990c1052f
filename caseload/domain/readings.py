"""One-sentence readings of the findings view's figures, generated, never hand-written.

Each function takes figures that have already been through disclosure control
(``caseload.domain.findings``: ``ShownShare``, ``ShownMean``, ``ShownDistribution``) and
says what they show in plain words. The rules every reading keeps:

- it quotes only what the page shows: a suppressed figure is never described, and a
  reading says so when groups are withheld for small numbers;
- a difference is called a difference only when the two 95% intervals do not overlap;
  otherwise the reading gives both figures and says the difference may be chance;
- it says "association, not cause" wherever load is compared with an outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from caseload.domain.codes import ReferralSource
from caseload.domain.findings import ShownDistribution, ShownMean, ShownShare

#: How each referral source reads in a sentence ("higher for self-referrals").
SOURCE_PHRASES: dict[ReferralSource, str] = {
    ReferralSource.GP: "GP referrals",
    ReferralSource.SELF: "self-referrals",
    ReferralSource.OTHER_HEALTH_PROFESSIONAL: "referrals from other health professionals",
    ReferralSource.OTHER: "referrals from other sources",
}

WITHHELD_NOTE = "Groups with fewer than 5 are not shown."
WORKERS_NOTE = "Groups with fewer than 5, or from fewer than 3 practitioners, are not shown."
NOT_CAUSE = "This is an association, not a cause."


@dataclass(frozen=True)
class Group:
    """A named share for a comparison: ("self-referrals", the shown share)."""

    phrase: str
    share: ShownShare


def _overlap(a: ShownShare, b: ShownShare) -> bool:
    """Whether two shown shares' 95% intervals overlap (or either has none)."""
    if None in (a.low, a.high, b.low, b.high):
        return True
    return not (a.low > b.high or b.low > a.high)  # type: ignore[operator]


def compare(subject: str, groups: Sequence[Group], *, withheld_note: str = WITHHELD_NOTE) -> str:
    """ "Risk at assessment is higher for self-referrals (22%) than GP referrals (11%)."

    The highest and the lowest shown groups are compared; with fewer than two shown the
    reading says there is too little to compare.
    """
    shown = [g for g in groups if g.share.shown]
    withheld = any(not g.share.shown and g.share.withheld != "no data" for g in groups)
    note = f" {withheld_note}" if withheld else ""
    if len(shown) < 2:
        if shown:
            only = shown[0]
            return (
                f"{subject} is {only.share.text} for {only.phrase}; the other groups are too "
                f"small to compare.{note}"
            )
        return f"Too few records in this period to compare {subject.lower()} between groups.{note}"
    high = max(shown, key=lambda g: g.share.percent or 0)
    low = min(shown, key=lambda g: g.share.percent or 0)
    if high.share.percent == low.share.percent:
        return (
            f"{subject} is the same for {high.phrase} and {low.phrase} ({high.share.text}).{note}"
        )
    if _overlap(high.share, low.share):
        return (
            f"{subject} is {high.share.text} for {high.phrase} and {low.share.text} for "
            f"{low.phrase}, but their 95% intervals overlap, so the difference may be "
            f"chance.{note}"
        )
    return (
        f"{subject} is higher for {high.phrase} ({high.share.text}) than {low.phrase} "
        f"({low.share.text}).{note}"
    )


def _overall(subject: str, share: ShownShare, of: str) -> str:
    """ "22% of assessed referrals (95% interval 18% to 27%)" or why it is not shown."""
    if share.shown:
        return f"{share.text} of {of} (95% interval {share.interval_text})"
    if share.withheld == "no data":
        return f"no {of} in this period"
    return f"too few {of} in this period to show {subject}"


def risk_reading(by_source: Sequence[Group], overall: ShownShare) -> str:
    """Section 1: risk at assessment by referral source."""
    if not overall.shown:
        return f"Risk at assessment: {_overall('a share', overall, 'assessed referrals')}."
    return compare("Risk at assessment", by_source)


def complexity_reading(
    overall: ShownShare, top_factor: Group | None, complex_: ShownShare, other: ShownShare
) -> str:
    """Section 2: how many new referrals carry complexity, the commonest factor, and
    reliable recovery with and without it."""
    if not overall.shown:
        return f"Complexity: {_overall('a share', overall, 'new referrals')}."
    sentence = f"{overall.text} of new referrals carried at least one complexity factor"
    if top_factor is not None and top_factor.share.shown:
        sentence += f", most often {top_factor.phrase} ({top_factor.share.text})"
    recovery = compare(
        "Reliable recovery",
        [Group("complex episodes", complex_), Group("other episodes", other)],
    )
    return f"{sentence}. {recovery}"


def load_reading(
    worker_weeks: ShownDistribution,
    over_cap: ShownShare,
    *,
    cap: int,
    finished: ShownDistribution,
    planning_low: int,
    planning_high: int,
) -> str:
    """Section 3: active caseload per worker-week against the cap, and treatments finished
    a year against the planning range."""
    if worker_weeks.median is None:
        why = "no practitioner held" if worker_weeks.withheld == "no data" else "too few"
        if why == "too few":
            return (
                "Load figures are withheld: fewer than 3 practitioners (or 5 worker-weeks) "
                "stand behind them, so they would describe individuals."
            )
        return f"In this period {why} an active case."
    sentence = (
        f"In the median worker-week a practitioner held {worker_weeks.median_text} active "
        f"cases (upper quartile {worker_weeks.upper_quartile_text})"
    )
    if over_cap.shown:
        sentence += f"; {over_cap.text} of worker-weeks were over the cap of {cap}"
    else:
        sentence += f"; too few worker-weeks were over the cap of {cap} to show a share"
    sentence += "."
    if finished.median is not None:
        where = (
            "below"
            if finished.median < planning_low
            else "above"
            if finished.median > planning_high
            else "within"
        )
        sentence += (
            f" The median practitioner finished {finished.median:.0f} treatments a year, "
            f"{where} the planning range of {planning_low}-{planning_high}."
        )
    return sentence


def load_comparison(subject: str, bands: Sequence[Group]) -> str:
    """Sections 4 and 8: a figure compared between load bands, as an association."""
    return f"{compare(subject, bands, withheld_note=WORKERS_NOTE)} {NOT_CAUSE}"


def strain_reading(bands: Sequence[tuple[str, ShownMean]]) -> str:
    """Section 5: mean manageability (1-5) by the author's caseload when writing."""
    shown = [(phrase, mean) for phrase, mean in bands if mean.shown]
    withheld = any(not mean.shown and mean.withheld != "no data" for _, mean in bands)
    note = f" {WORKERS_NOTE}" if withheld else ""
    if not shown:
        return (
            "Too few rated notes in this period to show manageability against caseload "
            f"without describing individuals.{note}"
        )
    if len(shown) == 1:
        phrase, mean = shown[0]
        return (
            f"Notes written at caseloads {phrase} rated their caseload's manageability "
            f"{mean.text} out of 5 on average; other bands are too small to compare.{note}"
        )
    (low_phrase, low_load), (high_phrase, high_load) = shown[0], shown[-1]
    overlap = (
        low_load.low is None
        or high_load.high is None
        or not (low_load.low > high_load.high or high_load.low > low_load.high)  # type: ignore[operator]
    )
    sentence = (
        f"Notes written at caseloads {high_phrase} rated manageability {high_load.text} out "
        f"of 5 on average, against {low_load.text} at caseloads {low_phrase}"
    )
    if overlap:
        sentence += "; the 95% intervals overlap, so the difference may be chance"
    return f"{sentence}. {NOT_CAUSE}{note}"


def data_collection_reading(
    both: ShownShare, paired: ShownShare, commonest_reason: str | None
) -> str:
    """Section 6: measures at attended contacts, paired scores, and why not collected."""
    parts = []
    parts.append(
        f"{both.text} of attended contacts had both PHQ-9 and GAD-7"
        if both.shown
        else "Too few attended contacts to show how many had both measures"
    )
    parts.append(
        f"{paired.text} of finished courses had paired scores"
        if paired.shown
        else "too few finished courses to show paired completeness"
    )
    sentence = "; ".join(parts) + "."
    if commonest_reason:
        sentence += f" The reason most often given for not collecting was “{commonest_reason}”."
    return sentence


def role_confusion_reading(by_source: Sequence[Group], overall: ShownShare) -> str:
    """Section 7: referrers who led the client to expect counselling."""
    if not overall.shown:
        return f"Expectation of counselling: {_overall('a share', overall, 'new referrals')}."
    return compare("The share expecting counselling", by_source)


def endings_reading(unplanned: ShownShare, by_load: Sequence[Group]) -> str:
    """Section 8: unplanned endings overall and by the worker's load."""
    if not unplanned.shown:
        return f"Unplanned endings: {_overall('a share', unplanned, 'endings')}."
    sentence = f"{unplanned.text} of endings were unplanned (dropped out or declined)."
    return f"{sentence} {load_comparison('The unplanned share', by_load)}"


def supervision_reading(
    minutes: ShownMean, cases_per_session: ShownMean, reviewed: ShownShare
) -> str:
    """Section 9: minutes per case discussed, cases per session, and risk signals
    reviewed within 7 days."""
    if not minutes.shown and not reviewed.shown:
        return (
            "Too little supervision recorded for consenting clients in this period to show "
            "without describing individuals."
        )
    parts = []
    if minutes.shown:
        part = f"Supervision gave {minutes.text} minutes to each case discussed on average"
        if cases_per_session.shown:
            part += f", with {cases_per_session.text} cases on a session's list"
        parts.append(part)
    if reviewed.shown:
        parts.append(
            f"{reviewed.text} of risk signals were followed by a supervision review within 7 days"
        )
    else:
        parts.append("too few risk signals to show how many were reviewed within 7 days")
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."
