"""The findings page's content: nine sections, each a question from the study, how it
is measured, its figures after disclosure control, a chart, tables and a generated
reading (docs/findings.md).

Everything here is built from the raw figures of :mod:`caseload.reporting.findings`
through the ``show_*`` functions of :mod:`caseload.domain.findings`, so the page and its
charts carry only published figures: counts suppressed under 5 and rounded to 5,
percentages from unrounded counts and withheld with them, figures about practitioners
withheld when fewer than 3 stand behind them. No name, client or note text is here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from caseload.charts import figure_json
from caseload.domain.codes import DischargeReason, ReferralSource, ReflectiveTheme
from caseload.domain.dates import format_date
from caseload.domain.findings import (
    MIN_WORKERS,
    NO_DATA,
    ShownDistribution,
    ShownMean,
    ShownShare,
    distribution,
    load_bands,
    risk_bands,
    show_count,
    show_distribution,
    show_mean,
    show_share,
)
from caseload.domain.readings import (
    SOURCE_PHRASES,
    Group,
    complexity_reading,
    data_collection_reading,
    endings_reading,
    load_comparison,
    load_reading,
    risk_reading,
    role_confusion_reading,
    strain_reading,
    supervision_reading,
)
from caseload.domain.spc import describe_variation, xmr
from caseload.lead import findings_charts as charts
from caseload.reporting.findings import Sums, Tally
from caseload.services.findings import Findings

#: How a share's interval column reads when it is withheld.
NOT_SHOWN = ""


@dataclass(frozen=True)
class Chart:
    """A plotly figure on the page, with a sentence for screen readers."""

    id: str
    figure: str
    summary: str


@dataclass(frozen=True)
class Table:
    """A table of published figures (every cell already a string)."""

    id: str
    caption: str
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Headline:
    """A section's current value: "Risk at assessment", "12%", "95% interval 9% to 15%"."""

    label: str
    value: str
    detail: str = ""


@dataclass(frozen=True)
class Section:
    """One concern of the study, tested against the service's data."""

    number: int
    key: str
    title: str
    question: str
    #: The study's finding the question comes from.
    source: str
    #: "How this is measured": plain paragraphs.
    measure: list[str]
    reading: str
    headlines: list[Headline] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    #: The SPC reading of the main monthly series ("how it has moved"), or "".
    movement: str = ""


@dataclass(frozen=True)
class FindingsPage:
    """The whole findings view."""

    period: str
    team: str
    months: tuple[date, ...]
    sections: list[Section]


def month_label(month: date, *, today: date) -> str:
    """ "Mar 2025", or "Nov 2026 (to 27 Nov)" for a month still running."""
    label = f"{month:%b %Y}"
    if month.year == today.year and month.month == today.month:
        label += f" (to {today.day} {today:%b})"
    return label


def _share(t: Tally, *, workers: bool = False) -> ShownShare:
    """A tally after disclosure control (``workers``: a figure about practitioners)."""
    return show_share(
        t.numerator, t.denominator, enough_workers=not workers or t.workers >= MIN_WORKERS
    )


def _mean(s: Sums, *, interval: bool = True) -> ShownMean:
    return show_mean(s.n, s.total, s.sum_of_squares, workers=s.workers, interval=interval)


def _interval(share: ShownShare) -> str:
    return share.interval_text or NOT_SHOWN


def _headline_share(label: str, share: ShownShare, of: str) -> Headline:
    detail = (
        f"95% interval {share.interval_text}; of {share.denominator} {of}" if share.shown else ""
    )
    if not share.shown and share.withheld != NO_DATA:
        detail = "Suppressed: fewer than 5"
    return Headline(label, share.text, detail)


def _movement(months: Sequence[str], shares: Sequence[ShownShare], *, improvement: str) -> str:
    """The SPC reading of a monthly series, or why there is none."""
    if not shares or any(not s.shown for s in shares):
        return (
            "How it has moved: some months are suppressed or have no data, so no SPC "
            "reading is given for this period."
        )
    chart = xmr([float(s.percent or 0) for s in shares], improvement=improvement)
    return "How it has moved (SPC): " + describe_variation(chart, labels=list(months))


def _share_rows(
    labels: Sequence[str], tallies: Sequence[Tally], *, workers: bool = False
) -> list[list[str]]:
    rows = []
    for label, tally in zip(labels, tallies, strict=True):
        share = _share(tally, workers=workers)
        rows.append([label, share.denominator, share.numerator, share.text, _interval(share)])
    return rows


def build_page(found: Findings, *, today: date) -> FindingsPage:
    """The findings view for a result of ``services.findings.lead_findings``."""
    scope = found.figures.scope
    labels = [month_label(m, today=today) for m in scope.months]
    sections = [
        _risk(found, labels),
        _complexity(found),
        _load(found),
        _outcomes_by_load(found),
        _strain(found),
        _data_collection(found, labels),
        _role_confusion(found, labels),
        _endings(found, labels),
        _supervision(found, labels),
    ]
    return FindingsPage(
        period=f"{format_date(scope.start)} to {format_date(scope.end)}",
        team=found.team.name if found.team is not None else "Whole service",
        months=scope.months,
        sections=sections,
    )


def _source_groups(by_source: dict[ReferralSource, Tally]) -> list[Group]:
    return [Group(SOURCE_PHRASES[s], _share(t)) for s, t in by_source.items()]


def _risk(found: Findings, labels: list[str]) -> Section:
    risk = found.figures.risk
    months = found.figures.scope.months
    overall = _share(risk.total)
    by_source = [_share(t) for t in risk.by_source.values()]
    by_month = [_share(t) for t in risk.by_month]
    reading = risk_reading(_source_groups(risk.by_source), overall)
    return Section(
        number=1,
        key="risk",
        title="Risky referrals at step 2",
        question="Are referrals meant to be mild to moderate arriving with risk, and from whom?",
        source="Workers in the study found that “mild to moderate” referrals often carried "
        "high risk, such as suicidal callers, that they were not trained or supported for.",
        measure=[
            "New episodes referred in the period that have had at least one attended "
            "contact (so were assessed), by referral source and by month of referral.",
            "Risk at assessment: at the episode's first attended contact (usually the "
            "assessment), PHQ-9 item 9 was answered 1 or more, or the worker rated risk "
            "moderate or high.",
            "Consenting clients only. Counts under 5 are shown as * and others rounded to "
            "5; percentages come from the unrounded counts, with 95% Wilson intervals.",
        ],
        reading=reading,
        headlines=[_headline_share("Risk at assessment", overall, "assessed referrals")],
        charts=[
            Chart(
                "risk-by-source",
                figure_json(
                    charts.share_bars(
                        [s.label for s in risk.by_source], by_source, y_title="With risk"
                    )
                ),
                f"Bar chart of risk at assessment by referral source. {reading}",
            ),
            Chart(
                "risk-by-month",
                figure_json(
                    charts.monthly_lines(months, [("With risk", by_month)], y_title="With risk")
                ),
                "Line chart of risk at assessment by month of referral; the table below "
                "gives each month's figures.",
            ),
        ],
        tables=[
            Table(
                "risk-source-table",
                "Risk at assessment by referral source",
                ["Referral source", "Assessed", "With risk", "Share", "95% interval"],
                _share_rows([s.label for s in risk.by_source], list(risk.by_source.values())),
            ),
            Table(
                "risk-month-table",
                "Risk at assessment by month of referral",
                ["Month", "Assessed", "With risk", "Share", "95% interval"],
                _share_rows(labels, risk.by_month),
            ),
        ],
        movement=_movement(labels, by_month, improvement="neutral"),
    )


def _complexity(found: Findings) -> Section:
    referrals = found.figures.referrals
    outcomes = found.figures.complex_outcomes
    overall = _share(referrals.complex_total)
    factors = sorted(referrals.by_factor.items(), key=lambda item: -item[1].numerator)
    factor_shares = [(f, _share(t)) for f, t in factors]
    top = next(
        (Group(f.label.lower(), s) for f, s in factor_shares if s.shown),
        None,
    )
    complex_, other = _share(outcomes.complex), _share(outcomes.other)
    reading = complexity_reading(overall, top, complex_, other)
    return Section(
        number=2,
        key="complexity",
        title="Complexity beyond remit",
        question="How many referrals bring complexity outside the step-2 remit, and do "
        "those clients do as well?",
        source="The study's workers met bereavement, housing, debt, drugs and alcohol and "
        "relationship breakdown that training had not prepared them for.",
        measure=[
            "New episodes referred in the period with at least one complexity factor "
            "recorded (bereavement, relationship breakdown, housing, debt, drug or alcohol "
            "use, trauma, safeguarding, long-term condition, previous secondary care, "
            "other), by factor and by referral source. An episode can have several factors.",
            "Outcomes: reliable recovery of the episodes that finished a course of "
            "treatment (discharged in the period with 2 or more attended treatment "
            "contacts), of those at caseness at start (the national denominator), for "
            "episodes with any complexity factor against the others.",
            "Consenting clients only, with disclosure control.",
        ],
        reading=reading,
        headlines=[
            _headline_share("With a complexity factor", overall, "new referrals"),
            _headline_share("Reliable recovery, complex", complex_, "at caseness"),
            _headline_share("Reliable recovery, other", other, "at caseness"),
        ],
        charts=[
            Chart(
                "complexity-by-factor",
                figure_json(
                    charts.share_bars(
                        [f.label for f, _ in factor_shares],
                        [s for _, s in factor_shares],
                        y_title="Of new referrals",
                    )
                ),
                f"Bar chart of each complexity factor's share of new referrals. {reading}",
            )
        ],
        tables=[
            Table(
                "complexity-factor-table",
                "Complexity factors among new referrals",
                ["Factor", "New referrals", "With the factor", "Share", "95% interval"],
                _share_rows([f.label for f, _ in factors], [t for _, t in factors]),
            ),
            Table(
                "complexity-source-table",
                "New referrals with any complexity factor, by referral source",
                ["Referral source", "New referrals", "With complexity", "Share", "95% interval"],
                _share_rows(
                    [s.label for s in referrals.complex_by_source],
                    list(referrals.complex_by_source.values()),
                ),
            ),
            Table(
                "complexity-outcome-table",
                "Reliable recovery of finished episodes, complex or not",
                ["Episodes", "At caseness at start", "Reliably recovered", "Rate", "95% interval"],
                _share_rows(["With complexity", "Without"], [outcomes.complex, outcomes.other]),
            ),
        ],
    )


def _load(found: Findings) -> Section:
    load = found.figures.load
    cap = found.cap
    workers = load.workers
    weeks_dist = show_distribution(distribution(load.worker_weeks), workers=workers)
    over = sum(1 for n in load.worker_weeks if n > cap)
    over_cap = show_share(over, len(load.worker_weeks), enough_workers=workers >= MIN_WORKERS)
    year_dist = show_distribution(
        distribution(load.finished_a_year),
        workers=len(load.finished_a_year),
        min_values=MIN_WORKERS,
    )
    enough_years = len(load.finished_a_year) >= MIN_WORKERS
    below = sum(1 for r in load.finished_a_year if r < found.planning_low)
    above = sum(1 for r in load.finished_a_year if r > found.planning_high)
    within = len(load.finished_a_year) - below - above
    n_years = len(load.finished_a_year)
    plan = [
        (label, show_share(n, n_years, enough_workers=enough_years))
        for label, n in (
            (f"Below {found.planning_low}", below),
            (f"{found.planning_low}-{found.planning_high}", within),
            (f"Above {found.planning_high}", above),
        )
    ]
    weekly: list[ShownDistribution] = [
        show_distribution(distribution(values), workers=len(values), min_values=MIN_WORKERS)
        for values in load.by_week
    ]
    reading = load_reading(
        weeks_dist,
        over_cap,
        cap=cap,
        finished=year_dist,
        planning_low=found.planning_low,
        planning_high=found.planning_high,
    )
    return Section(
        number=3,
        key="load",
        title="Caseload load",
        question=f"How loaded are practitioners against the cap of {cap} active cases and "
        f"the plan of {found.planning_low}-{found.planning_high} finished treatments a year?",
        source="The study reported a planned load of up to 45 active cases at once and "
        "175-250 patients completing treatment a year per worker.",
        measure=[
            "Active caseload: the episodes a practitioner held that had started treatment "
            "and were not discharged, at the end of each week (Sunday, or today), rebuilt "
            "from the contact, discharge and reassignment history. A worker-week counts "
            "when the practitioner held at least one active case that week.",
            "Shown as a distribution, never by name: the median and upper quartile of "
            "worker-weeks, and the share of worker-weeks over the cap. Per week, the "
            "median and upper quartile across the practitioners holding cases.",
            "Treatments finished a year: episodes discharged in the period with a finished "
            "course of treatment, held at discharge, scaled to a year of the weeks the "
            "practitioner held active cases (52 x finished / active weeks), for "
            "practitioners with at least 13 such weeks.",
            "Worker load counts every case, consented or not (docs/design.md section 10): "
            "it describes the practitioner's workload, not the clients. With fewer than 3 "
            "practitioners behind a figure it is withheld, so no figure describes one person.",
        ],
        reading=reading,
        headlines=[
            Headline("Median active cases per worker-week", weeks_dist.median_text),
            Headline("Upper quartile", weeks_dist.upper_quartile_text),
            Headline(f"Worker-weeks over the cap of {cap}", over_cap.text, _interval(over_cap)),
            Headline("Median treatments finished a year", year_dist.median_text),
        ],
        charts=[
            Chart(
                "load-by-week",
                figure_json(
                    charts.weekly_distribution(
                        load.weeks,
                        [d.median for d in weekly],
                        [d.upper_quartile for d in weekly],
                        cap=cap,
                    )
                ),
                f"Line chart of the median and upper quartile of practitioners' active "
                f"caseloads each week against the cap of {cap}. {reading}",
            )
        ],
        tables=[
            Table(
                "load-table",
                "Active caseload per worker-week",
                ["Figure", "Value"],
                [
                    ["Median", weeks_dist.median_text],
                    ["Upper quartile", weeks_dist.upper_quartile_text],
                    [f"Share of worker-weeks over the cap of {cap}", over_cap.text],
                    ["95% interval", _interval(over_cap)],
                ],
            ),
            Table(
                "finished-table",
                "Treatments finished a year per practitioner, against the planning range",
                ["Treatments finished a year", "Share of practitioners"],
                [
                    ["Median", year_dist.median_text],
                    ["Upper quartile", year_dist.upper_quartile_text],
                ]
                + [[label, share.text] for label, share in plan],
            ),
            Table(
                "load-week-table",
                "Active caseload by week: median and upper quartile across practitioners",
                ["Week beginning", "Median", "Upper quartile"],
                [
                    [format_date(week), d.median_text, d.upper_quartile_text]
                    for week, d in zip(load.weeks, weekly, strict=True)
                ],
            ),
        ],
    )


def _outcomes_by_load(found: Findings) -> Section:
    bands = load_bands(found.cap)
    figures = found.figures.outcomes_by_load
    recovery = [_share(b.reliable_recovery, workers=True) for b in figures]
    improvement = [_share(b.reliable_improvement, workers=True) for b in figures]
    dna = [_share(b.dna_rate, workers=True) for b in figures]
    phrases = [f"caseloads {band.label}" for band in bands]
    reading = load_comparison(
        "Reliable recovery", [Group(p, s) for p, s in zip(phrases, recovery, strict=True)]
    )
    return Section(
        number=4,
        key="outcomes-load",
        title="Outcomes against load",
        question="Do clients of practitioners with heavier caseloads do less well, or miss "
        "more appointments?",
        source="The study asked what a load of up to 45 active cases does to the work; "
        "the national outcome measures let a service look.",
        measure=[
            "Episodes that finished a course of treatment, discharged in the period, grouped "
            "by the average active caseload of the practitioner who held them at discharge, "
            "over the weeks from the first treatment contact to discharge. Bands: "
            + ", ".join(b.label for b in bands)
            + ".",
            "Reliable recovery (of those at caseness at start) and reliable improvement (of "
            "all finished), with 95% Wilson intervals; the DNA rate is did not attend (or "
            "arrived late and not seen) of the contacts whose outcome was recorded.",
            "Consenting clients' episodes only; the load counts every case. A band with "
            "fewer than 5, or from fewer than 3 practitioners, is withheld. An association "
            "is not a cause: heavier caseloads may also hold different clients.",
        ],
        reading=reading,
        headlines=[
            Headline(f"Reliable recovery, {band.label}", share.text, _interval(share))
            for band, share in zip(bands, recovery, strict=True)
        ],
        charts=[
            Chart(
                "outcomes-by-load",
                figure_json(
                    charts.share_bars(
                        [b.label for b in bands], recovery, y_title="Reliable recovery"
                    )
                ),
                f"Bar chart of reliable recovery by the practitioner's caseload band. {reading}",
            )
        ],
        tables=[
            Table(
                "outcomes-load-table",
                "Outcomes and non-attendance by the practitioner's average active caseload",
                [
                    "Active caseload",
                    "Finished",
                    "Reliable recovery",
                    "95% interval",
                    "Reliable improvement",
                    "95% interval",
                    "DNA rate",
                    "95% interval",
                ],
                [
                    [
                        band.label,
                        show_count(b.finished, enough_workers=b.workers >= MIN_WORKERS),
                        r.text,
                        _interval(r),
                        i.text,
                        _interval(i),
                        d.text,
                        _interval(d),
                    ]
                    for band, b, r, i, d in zip(
                        bands, figures, recovery, improvement, dna, strict=True
                    )
                ],
            )
        ],
    )


def _strain(found: Findings) -> Section:
    bands = load_bands(found.cap)
    strain = found.figures.strain
    by_load = [_mean(s) for s in strain.rating_by_load]
    by_risk = [_mean(s) for s in strain.rating_by_risk]
    reading = strain_reading([(b.label, m) for b, m in zip(bands, by_load, strict=True)])
    enough = [notes.n >= 5 and notes.workers >= MIN_WORKERS for notes in strain.notes_by_load]
    theme_rows = [
        [theme.label]
        + [
            show_count(strain.themes_by_load.get((band.index, theme), 0), enough_workers=ok)
            for band, ok in zip(bands, enough, strict=True)
        ]
        for theme in ReflectiveTheme
    ]
    return Section(
        number=5,
        key="strain",
        title="Worker strain against load",
        question="Do practitioners feel their caseload less manageable as it grows, and "
        "what do they reflect on?",
        source="Workers in the study found the load hard to manage, and a reflective "
        "space helped them cope.",
        measure=[
            "Reflective notes written in the period with a manageability rating (1, not "
            "at all manageable, to 5, very), by the author's active caseload when the note "
            "was written (stored with the note) and by the open risk cases they held then "
            "(rebuilt from the history of contacts and reassignments).",
            "Means with 95% t intervals, and the notes' themes counted by caseload band. "
            "The text of a note is never read or shown, nor its author.",
            "A note linked to a client who has not consented is left out; unlinked notes "
            "count. Caseload and risk cases at writing count every case (worker load). A "
            "band with fewer than 5 notes or fewer than 3 authors is withheld.",
        ],
        reading=reading,
        headlines=[
            Headline(f"Mean manageability, caseload {band.label}", m.text, m.interval_text)
            for band, m in zip(bands, by_load, strict=True)
        ],
        charts=[
            Chart(
                "strain-by-load",
                figure_json(
                    charts.mean_bars(
                        [b.label for b in bands],
                        by_load,
                        y_title="Mean manageability (1-5)",
                        y_range=(0, 5),
                    )
                ),
                f"Bar chart of mean manageability by the author's caseload band. {reading}",
            )
        ],
        tables=[
            Table(
                "strain-load-table",
                "Manageability by the author's active caseload when writing",
                ["Active caseload", "Rated notes", "Mean (1-5)", "95% interval"],
                [
                    [band.label, m.count, m.text, m.interval_text]
                    for band, m in zip(bands, by_load, strict=True)
                ],
            ),
            Table(
                "strain-risk-table",
                "Manageability by the open risk cases the author held when writing",
                ["Open risk cases", "Rated notes", "Mean (1-5)", "95% interval"],
                [
                    [band.label, m.count, m.text, m.interval_text]
                    for band, m in zip(risk_bands(), by_risk, strict=True)
                ],
            ),
            Table(
                "strain-theme-table",
                "Notes by theme and the author's active caseload when writing",
                ["Theme", *[b.label for b in bands]],
                theme_rows,
            ),
        ],
    )


def _data_collection(found: Findings, labels: list[str]) -> Section:
    data = found.figures.data_collection
    months = found.figures.scope.months
    both = [_share(t) for t in data.both_by_month]
    paired = [_share(t) for t in data.paired_by_month]
    both_total = _share(sum(data.both_by_month, Tally()))
    paired_total = _share(sum(data.paired_by_month, Tally()))
    reasons = sorted(data.reasons.items(), key=lambda item: -item[1].numerator)
    commonest = next(
        (r.label for r, t in reasons if show_count(t.numerator) != "*"),
        None,
    )
    reading = data_collection_reading(both_total, paired_total, commonest)
    return Section(
        number=6,
        key="data-collection",
        title="Data-collection burden",
        question="Are measures collected at every session, and when they are not, why not?",
        source="Workers were ambivalent about PHQ-9 and GAD-7 at every contact and uneasy "
        "about how much personal data was stored.",
        measure=[
            "Attended contacts in the period with a complete PHQ-9 and GAD-7 (both "
            "measures asked at every contact), by month.",
            "Paired completeness: episodes that finished a course of treatment in the "
            "month with a first and a last score of both measures from different contacts "
            "(national target 90%).",
            "Reasons for not collecting: the attended contacts at which the worker "
            "recorded a reason for a measure not collected or left unfinished.",
            "Consenting clients only, with disclosure control.",
        ],
        reading=reading,
        headlines=[
            _headline_share("Contacts with both measures", both_total, "attended contacts"),
            _headline_share("Finished with paired scores", paired_total, "finished"),
        ],
        charts=[
            Chart(
                "data-by-month",
                figure_json(
                    charts.monthly_lines(
                        months,
                        [("Contacts with both measures", both), ("Paired scores", paired)],
                        y_title="Share",
                    )
                ),
                f"Line chart of contacts with both measures and paired completeness by "
                f"month. {reading}",
            )
        ],
        tables=[
            Table(
                "data-month-table",
                "Measures at attended contacts and paired scores of finished courses, by month",
                [
                    "Month",
                    "Attended contacts",
                    "With both measures",
                    "Share",
                    "Finished",
                    "Paired",
                    "Share",
                ],
                [
                    [label, b.denominator, b.numerator, b.text, p.denominator, p.numerator, p.text]
                    for label, b, p in zip(labels, both, paired, strict=True)
                ],
            ),
            Table(
                "data-reason-table",
                "Reasons recorded for measures not collected",
                ["Reason", "Attended contacts", "With the reason", "Share", "95% interval"],
                _share_rows([r.label for r, _ in reasons], [t for _, t in reasons]),
            ),
        ],
        movement=_movement(labels, both, improvement="increase"),
    )


def _role_confusion(found: Findings, labels: list[str]) -> Section:
    referrals = found.figures.referrals
    months = found.figures.scope.months
    overall = _share(referrals.counselling_total)
    by_month = [_share(t) for t in referrals.counselling_by_month]
    reading = role_confusion_reading(_source_groups(referrals.counselling_by_source), overall)
    return Section(
        number=7,
        key="role-confusion",
        title="Role confusion",
        question="Do referrers lead clients to expect counselling rather than guided self-help?",
        source="GPs and patients in the study mistook the role for counselling.",
        measure=[
            "New episodes referred in the period whose referrer led the client to expect "
            "counselling (the referral's recorded expectation), by referral source and by "
            "month of referral.",
            "Consenting clients only, with disclosure control.",
        ],
        reading=reading,
        headlines=[_headline_share("Expected counselling", overall, "new referrals")],
        charts=[
            Chart(
                "role-by-source",
                figure_json(
                    charts.share_bars(
                        [s.label for s in referrals.counselling_by_source],
                        [_share(t) for t in referrals.counselling_by_source.values()],
                        y_title="Expected counselling",
                    )
                ),
                f"Bar chart of referrals expecting counselling by source. {reading}",
            ),
            Chart(
                "role-by-month",
                figure_json(
                    charts.monthly_lines(
                        months, [("Expected counselling", by_month)], y_title="Share"
                    )
                ),
                "Line chart of referrals expecting counselling by month; the table below "
                "gives each month's figures.",
            ),
        ],
        tables=[
            Table(
                "role-source-table",
                "Referrals expecting counselling, by referral source",
                [
                    "Referral source",
                    "New referrals",
                    "Expected counselling",
                    "Share",
                    "95% interval",
                ],
                _share_rows(
                    [s.label for s in referrals.counselling_by_source],
                    list(referrals.counselling_by_source.values()),
                ),
            ),
            Table(
                "role-month-table",
                "Referrals expecting counselling, by month of referral",
                ["Month", "New referrals", "Expected counselling", "Share", "95% interval"],
                _share_rows(labels, referrals.counselling_by_month),
            ),
        ],
        movement=_movement(labels, by_month, improvement="decrease"),
    )


def _endings(found: Findings, labels: list[str]) -> Section:
    endings = found.figures.endings
    months = found.figures.scope.months
    bands = load_bands(found.cap)
    unplanned_total = _share(sum(endings.unplanned_by_month, Tally()))
    by_month = [_share(t) for t in endings.unplanned_by_month]
    by_load = [_share(t, workers=True) for t in endings.unplanned_by_load]
    reading = endings_reading(
        unplanned_total,
        [Group(f"caseloads {b.label}", s) for b, s in zip(bands, by_load, strict=True)],
    )
    reasons: list[tuple[DischargeReason, Tally]] = list(endings.by_reason.items())
    return Section(
        number=8,
        key="endings",
        title="Endings",
        question="How do episodes end, how many endings are unplanned, and does that move "
        "with load?",
        source="Workers in the study described endings with no protocol.",
        measure=[
            "Episodes discharged in the period by the reason recorded. Unplanned endings: "
            "dropped out, or declined treatment (not engaged).",
            "By month of discharge, and by the active caseload of the practitioner who "
            "held the episode in the week of its discharge (bands: "
            + ", ".join(b.label for b in bands)
            + ").",
            "Consenting clients only; the load counts every case. A band with fewer than "
            "5, or from fewer than 3 practitioners, is withheld.",
        ],
        reading=reading,
        headlines=[_headline_share("Unplanned endings", unplanned_total, "endings")],
        charts=[
            Chart(
                "endings-by-month",
                figure_json(
                    charts.monthly_lines(months, [("Unplanned", by_month)], y_title="Unplanned")
                ),
                "Line chart of the share of unplanned endings by month; the table below "
                "gives each month's figures.",
            ),
            Chart(
                "endings-by-load",
                figure_json(
                    charts.share_bars([b.label for b in bands], by_load, y_title="Unplanned")
                ),
                f"Bar chart of unplanned endings by the practitioner's caseload band. {reading}",
            ),
        ],
        tables=[
            Table(
                "endings-reason-table",
                "Endings by reason",
                ["Reason", "Endings", "With the reason", "Share", "95% interval"],
                _share_rows([r.label for r, _ in reasons], [t for _, t in reasons]),
            ),
            Table(
                "endings-month-table",
                "Unplanned endings by month of discharge",
                ["Month", "Endings", "Unplanned", "Share", "95% interval"],
                _share_rows(labels, endings.unplanned_by_month),
            ),
            Table(
                "endings-load-table",
                "Unplanned endings by the practitioner's active caseload that week",
                ["Active caseload", "Endings", "Unplanned", "Share", "95% interval"],
                _share_rows([b.label for b in bands], endings.unplanned_by_load, workers=True),
            ),
        ],
        movement=_movement(labels, by_month, improvement="decrease"),
    )


def _supervision(found: Findings, labels: list[str]) -> Section:
    sup = found.figures.supervision
    months = found.figures.scope.months
    minutes = [_mean(m.minutes_per_case) for m in sup.by_month]
    per_session = [
        show_mean(m.sessions, float(m.cases), 0.0, workers=m.workers, interval=False)
        for m in sup.by_month
    ]
    reviewed = [_share(t, workers=True) for t in sup.reviewed_by_month]
    total_minutes = _mean(sup.total.minutes_per_case)
    total_per_session = show_mean(
        sup.total.sessions, float(sup.total.cases), 0.0, workers=sup.total.workers, interval=False
    )
    reviewed_all = sum(sup.reviewed_by_month, Tally())
    reviewed_workers = max((t.workers for t in sup.reviewed_by_month), default=0)
    reviewed_total = show_share(
        reviewed_all.numerator,
        reviewed_all.denominator,
        enough_workers=reviewed_workers >= MIN_WORKERS,
    )
    reading = supervision_reading(total_minutes, total_per_session, reviewed_total)
    return Section(
        number=9,
        key="supervision",
        title="Supervision as a conveyor belt",
        question="Is case-management supervision a quick run through case lists, and are "
        "risky cases reviewed in time?",
        source="Supervision could feel like a conveyor belt of case lists.",
        measure=[
            "Ended supervision sessions, by the month they started: the cases on each "
            "session's list, and the minutes each case discussed was on screen (the time "
            "from opening a case to moving on).",
            "Risk signals reviewed within 7 days: attended contacts with PHQ-9 item 9 at 1 "
            "or more or risk rated moderate or high (a red flag), and how many a "
            "supervision review of that case followed within 7 days (the red-flag review "
            "interval).",
            "Only cases of consenting clients count; a month with fewer than 5 cases, or "
            "from fewer than 3 practitioners' sessions, is withheld.",
        ],
        reading=reading,
        headlines=[
            Headline("Minutes per case discussed", total_minutes.text, total_minutes.interval_text),
            Headline("Cases per session", total_per_session.text),
            _headline_share("Risk signals reviewed within 7 days", reviewed_total, "risk signals"),
        ],
        charts=[
            Chart(
                "supervision-minutes",
                figure_json(
                    charts.monthly_means(
                        months, minutes, name="Minutes per case", y_title="Minutes per case"
                    )
                ),
                f"Line chart of minutes per case discussed in supervision by month. {reading}",
            ),
            Chart(
                "supervision-reviewed",
                figure_json(
                    charts.monthly_lines(
                        months, [("Reviewed within 7 days", reviewed)], y_title="Reviewed"
                    )
                ),
                "Line chart of risk signals reviewed within 7 days by month; the table "
                "below gives each month's figures.",
            ),
        ],
        tables=[
            Table(
                "supervision-month-table",
                "Supervision by month",
                [
                    "Month",
                    "Sessions",
                    "Cases per session",
                    "Minutes per case discussed",
                    "Risk signals",
                    "Reviewed within 7 days",
                ],
                [
                    [
                        label,
                        show_count(m.sessions, enough_workers=m.workers >= MIN_WORKERS),
                        s.text,
                        mins.text,
                        r.denominator,
                        r.text,
                    ]
                    for label, m, s, mins, r in zip(
                        labels, sup.by_month, per_session, minutes, reviewed, strict=True
                    )
                ],
            )
        ],
    )


#: The sections' keys in order, for tests and the page's contents list.
SECTION_KEYS = (
    "risk",
    "complexity",
    "load",
    "outcomes-load",
    "strain",
    "data-collection",
    "role-confusion",
    "endings",
    "supervision",
)
