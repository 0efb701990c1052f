"""Rules about the person at registration: age, postcode, GP practice code, NHS number display.

Pure functions; the registration service (``caseload.services.clients``) applies them
and the templates show their results.

Sources:

- Postcodes: the format of the Royal Mail Postcode Address File as the Office for
  National Statistics describes it (an outward code of 2 to 4 characters, a space,
  an inward code of a digit and two letters), checked by shape only: whether a
  postcode exists is for the address lookup a service may add later. The NHS
  pseudo-postcode for "no fixed abode", ``ZZ99 3VZ``, has the same shape and passes.
- GP practice codes: the Organisation Data Service (ODS) code of a GP practice is a
  letter followed by five digits (for example ``A81001``; ``V81999`` means "practice
  not known"), NHS Data Dictionary GENERAL MEDICAL PRACTICE CODE (PATIENT REGISTRATION).
- NHS numbers are shown spaced 3-3-4 ("943 476 5919"), as the NHS.UK design system's
  guidance for displaying them asks, so they can be read back over the phone.
"""

from __future__ import annotations

import re
from datetime import date

#: Below this age on the referral date, the episode page asks the worker to follow the
#: service's procedure for young people (NHS Talking Therapies is an adult service; a
#: service may take 16 and 17 year olds through its minimum-age setting).
ADULT_AGE = 18

_POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})")
_ODS_PRACTICE = re.compile(r"[A-Z][0-9]{5}")


def age_on(born: date, day: date) -> int:
    """Age in whole years on ``day`` (a birthday on 29 February falls on 1 March in
    other years, as UK law counts it)."""
    before_birthday = (day.month, day.day) < (born.month, born.day)
    return day.year - born.year - before_birthday


def _squeezed(value: str) -> str:
    return "".join(value.split()).upper()


def normalise_postcode(value: str) -> str | None:
    """A UK postcode in capitals with one space (``sw1a1aa`` -> ``SW1A 1AA``), or None
    when it does not have a postcode's shape."""
    squeezed = _squeezed(value)
    if not squeezed.isascii():
        return None
    match = _POSTCODE.fullmatch(squeezed)
    return f"{match.group(1)} {match.group(2)}" if match else None


def normalise_gp_practice_code(value: str) -> str | None:
    """A GP practice's ODS code in capitals (``a81001`` -> ``A81001``), or None when it is
    not a letter followed by five digits."""
    squeezed = _squeezed(value)
    return squeezed if squeezed.isascii() and _ODS_PRACTICE.fullmatch(squeezed) else None


def format_nhs_number(value: str) -> str:
    """An NHS number spaced 3-3-4 for reading (``9434765919`` -> ``943 476 5919``); any
    other value is returned as it is."""
    digits = "".join(value.split())
    if len(digits) != 10 or not (digits.isascii() and digits.isdigit()):
        return value
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
