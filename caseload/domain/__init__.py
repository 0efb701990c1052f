"""The clinical core: measures, scoring, outcomes, flags, expected curves, disclosure control.

Pure Python (standard library only). Nothing here imports Flask, SQLAlchemy
or any other part of caseload; tests/domain/test_purity.py enforces it.
"""
