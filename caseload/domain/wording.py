"""Small wording helpers shared by the sentences the domain and the charts write."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """ "1 contact", "3 contacts": a count with its noun (regular plurals only)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def was_were(count: int) -> str:
    """The past tense of "to be" that agrees with a count: "1 was", "3 were"."""
    return "was" if count == 1 else "were"
