"""Records that leave the screen, for the worker and the supervisor: the printable client
summary, letters to the GP, and one client's scores as FHIR (docs/exports.md).

The lead's exports of consented records live with the lead's pages
(``caseload.lead.exports``); both read through services, never through each other.
"""
