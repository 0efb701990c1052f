"""A large synthetic service for measuring the app at scale (``flask seed-scale``).

Built from the demo's planner (``caseload.demo``): the same clients, courses,
questionnaire answers and words, drawn from one seed, but many more of them (about
40-60 open cases per practitioner and years of closed ones) and written by bulk inserts
rather than through the services one contact at a time. The rows are what the services
would write: questionnaires scored by the real scoring, summary rows from the pure
episode summary, and an audit history linked into the hash chain. Staff accounts are
created by the real account service and are demo accounts, so a production
configuration refuses to start on such a database.
"""

from __future__ import annotations

from caseload.scale.build import (
    ScaleAccount,
    ScaleSummary,
    build_scale_service,
    write_scale_credentials,
)

__all__ = ["ScaleAccount", "ScaleSummary", "build_scale_service", "write_scale_credentials"]
