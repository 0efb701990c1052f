"""The demo service: staff accounts, then a synthetic caseload over about 26 months.

Demo accounts are public by nature; their credentials go to
``instance/demo-credentials.json`` (``staff``), and a production
configuration refuses to start while any exists.

The clinical data is made up: names are random pairs from two lists, NHS
numbers are in the 999 test range, phone numbers in Ofcom's drama range.
It is built in two steps: a pure plan drawn from one ``random.Random(seed)``
(``plan``, and the supervision history from a generator of its own,
``supervision``), so a seed always gives the same service; then written through
the same services a worker and a supervisor use, step by step in time order
(``timeline``, ``history``, ``build``), so every rule, summary and audit event
applies, and a supervision review sees the flags its case had on that day. The
numbers that shape it are in ``tables``; its words are data in
``seed_data/demo``, read on first use (``text``).

The story: the service opened about 26 months ago with two practitioners and
grew to eight (``TEAM_GROWTH``); referrals arrive faster in recent months. The
first practitioners carried its early history at a real step-2 load of 30-50
active cases, sometimes over the cap, and each newcomer built a caseload from
none, so past weeks range from light to over the cap across enough workers for
the lead's findings to compare load bands. Today worker1 holds more active
cases than the cap of 45 and most workers hold 20-35. Each worker writes a
reflective note about once a fortnight from the day they joined, rating their
caseload as less manageable the more cases they held that day. About half of
the finished courses at caseness recover.
Each supervisor has held a weekly session with each of their workers for about
three months, reviewed urgent cases between sessions and moved a few cases from
the heaviest caseload in their team to the lightest; that history stops a week
before today, so the exception queue waits with red and amber cases to review.
"""

from __future__ import annotations

from caseload.demo.build import build_demo_service, summarise_demo
from caseload.demo.draws import demo_nhs_number, spread_items
from caseload.demo.plan import plan_demo_service
from caseload.demo.records import (
    DemoSummary,
    PlannedContact,
    PlannedEpisode,
    PlannedNote,
    SupervisionPlan,
)
from caseload.demo.staff import (
    SUPERVISORS,
    TEAMS,
    WORKERS,
    DemoCredential,
    build_demo_staff,
    demo_supervisors,
    demo_workers,
    write_credentials,
)
from caseload.demo.supervision import plan_supervision, supervision_rng
from caseload.demo.tables import (
    DEFAULT_CLIENTS,
    DEFAULT_SEED,
    PRESENTING_PROBLEMS,
    REFERRER_EXPECTATIONS,
)

__all__ = [
    "DEFAULT_CLIENTS",
    "DEFAULT_SEED",
    "PRESENTING_PROBLEMS",
    "REFERRER_EXPECTATIONS",
    "SUPERVISORS",
    "TEAMS",
    "WORKERS",
    "DemoCredential",
    "DemoSummary",
    "PlannedContact",
    "PlannedEpisode",
    "PlannedNote",
    "SupervisionPlan",
    "build_demo_service",
    "build_demo_staff",
    "demo_nhs_number",
    "demo_supervisors",
    "demo_workers",
    "plan_demo_service",
    "plan_supervision",
    "spread_items",
    "summarise_demo",
    "supervision_rng",
    "write_credentials",
]
