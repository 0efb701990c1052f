"""Central reporting: the only code that reads across clients for service-level figures.

Every query here starts from :mod:`caseload.reporting.base`, which keeps out
every record whose client has not consented to central reporting.
"""
