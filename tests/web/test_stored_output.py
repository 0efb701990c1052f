"""Stored output: script and template payloads saved in every text field are shown escaped.

About fifty payloads (script tags, attribute breakouts, ``javascript:`` URLs, SVG and
image handlers, Jinja expressions and statements, unicode and HTML-entity escapes,
closing tags of the contexts a value can land in) are written through the services
into every free-text field a client record, referral, consent answer, contact,
correction, reflective note, supervision review, letter and discharge can hold. Each
stored value is the payload followed by a field tag (``~F03``), so a page that shows
a field can be told from one that does not.

Every page that shows these records is then fetched with the test client, as the
worker, their supervisor, the service lead and the administrator: the case and client
pages, caseload, search, diary, discharged clients, notes, the supervision queue,
session, session cases, review and reassign pages, shared notes, the print summary,
the letters and their drafts, the FHIR export and the CSV exports. For every page:

- no stored value appears raw where escaping would change it (HTML pages);
- no ``<script`` other than the app's own, no ``javascript:`` link and no inline event
  handler built from a payload appear;
- a value that appears at all appears exactly as HTML escaping makes it, so a
  template expression was shown, not evaluated (``{{7*7}}`` stays ``{{7*7}}``);
- a JSON or CSV response is not served as HTML and carries ``nosniff``.

The count of (payload x field x page) checks where the value was shown escaped is
asserted to be large, and every field is shown escaped on at least one page for every
payload it holds, so no field goes unchecked. RELIABILITY.md records the count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser

from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from caseload.domain.codes import (
    AttendanceCode,
    ConsentState,
    ContactMode,
    ContactType,
    DischargeReason,
    ReflectiveTheme,
    RiskLevel,
    Role,
    SupervisionDecision,
)
from caseload.extensions import db
from caseload.models import Episode, User
from caseload.services import ServiceError
from caseload.services import clients as client_service
from caseload.services import contacts as contact_service
from caseload.services import letters as letter_service
from caseload.services import notes as note_service
from caseload.services import supervision as supervision_service
from caseload.services.clients import ClientDetails, Demographics, Referral
from caseload.services.episodes import discharge
from caseload.web import today_in_london
from tests.conftest import make_user, sign_in
from tests.services import factories

#: The payloads: each is stored in every field it fits.
PAYLOADS: tuple[str, ...] = (
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<script>alert(String.fromCharCode(88,83,83))</script>",
    "</script><script>alert(2)</script>",
    "</textarea><script>alert(3)</script>",
    "</title><script>alert(4)</script>",
    "</style><script>alert(5)</script>",
    '"><script>alert(6)</script>',
    "'><script>alert(7)</script>",
    '" onmouseover="alert(8)',
    "' onfocus='alert(9)' autofocus='",
    '" autofocus onfocus=alert(10) x="',
    "<img src=x onerror=alert(11)>",
    '<img src="x" onerror="alert(12)">',
    "<svg onload=alert(13)>",
    "<svg/onload=alert(14)>",
    "<svg><script>alert(15)</script></svg>",
    "<body onload=alert(16)>",
    "<iframe src=javascript:alert(17)>",
    '<a href="javascript:alert(18)">click</a>',
    "javascript:alert(19)",
    "JaVaScRiPt:alert(20)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgyMSk8L3NjcmlwdD4=",
    "<a href=javascript&colon;alert(22)>x</a>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(23)>",
    "<details open ontoggle=alert(24)>",
    "<input onfocus=alert(25) autofocus>",
    "<object data=javascript:alert(26)>",
    "<embed src=javascript:alert(27)>",
    "<link rel=import href=//evil.example>",
    "<meta http-equiv=refresh content=0;url=javascript:alert(28)>",
    "<base href=//evil.example/>",
    "<form action=//evil.example><button>go</button></form>",
    "{{7*7}}",
    "{{ config }}",
    "{{ self.__init__.__globals__ }}",
    "{{''.__class__.__mro__[1].__subclasses__()}}",
    "{% for x in range(3) %}loop{% endfor %}",
    "{% raw %}{{ 7*7 }}{% endraw %}",
    "{# comment #}hidden",
    "${7*7}",
    "#{7*7}",
    "<%= 7*7 %>",
    "\\u003cscript\\u003ealert(44)\\u003c/script\\u003e",
    "\\x3cscript\\x3ealert(45)\\x3c/script\\x3e",
    "&lt;script&gt;alert(46)&lt;/script&gt;",
    "&#60;script&#62;alert(47)&#60;/script&#62;",
    "\uff1cscript\uff1ealert(48)\uff1c/script\uff1e",
    "\u202e<script>alert(49)</script>",
    "--><script>alert(50)</script><!--",
    "]]><script>alert(51)</script>",
    "`${alert(52)}`",
)

#: How many clients carry the payloads (each carries a slice of them in every field).
CLIENTS = 6

#: Field codes: the tag appended to a stored value names its field.
FIELDS = {
    "F01": "client name",
    "F02": "phone",
    "F03": "GP practice",
    "F04": "emergency contact name",
    "F05": "emergency contact relationship",
    "F06": "emergency contact phone",
    "F07": "preferred language",
    "F08": "referrer expectation",
    "F09": "presenting problem",
    "F10": "complexity note",
    "F11": "consent note",
    "F12": "contact note",
    "F13": "risk factors",
    "F14": "risk action",
    "F15": "correction reason",
    "F16": "entered-in-error reason",
    "F17": "reflective note",
    "F18": "review reason",
    "F19": "review note",
    "F20": "letter body",
    "F21": "discharge note",
    "F22": "discharge risk plan",
}

#: Column widths of the short fields; a value longer than its field is not stored there.
SHORT = {"F01": 120, "F02": 30, "F04": 120, "F05": 60, "F06": 30, "F07": 60, "F08": 40}
SHORT |= {"F03": 120, "F09": 60}


def value(payload: str, code: str) -> str:
    """The stored text: the payload, then its field tag."""
    return f"{payload}~{code}"


def joined(payloads: tuple[str, ...], code: str) -> str:
    """A long text field holds every payload of its client, one a line."""
    return "\n".join(value(p, code) for p in payloads)


def fits(payloads: tuple[str, ...], code: str) -> str:
    """A short field holds the client's first payload that fits its width (else a plain
    word, so the record stays valid)."""
    for payload in payloads:
        if len(value(payload, code)) <= SHORT[code]:
            return value(payload, code)
    return f"plain~{code}"


@dataclass
class Stored:
    """What was stored: value -> field code, and the record ids the pages need."""

    values: dict[str, str] = field(default_factory=dict)
    open_episodes: list[int] = field(default_factory=list)
    closed_episodes: list[int] = field(default_factory=list)
    clients: list[int] = field(default_factory=list)
    contacts: list[int] = field(default_factory=list)
    letters: list[int] = field(default_factory=list)
    session: int = 0

    def keep(self, text: str, code: str) -> str:
        for line in text.split("\n"):
            if line.endswith(f"~{code}"):
                self.values[line] = code
        return text


def store_client(
    worker: User, payloads: tuple[str, ...], stored: Stored, *, close: bool
) -> Episode:
    """One client with the payloads in every field, through the services."""
    k = stored.keep
    details = ClientDetails(
        name=k(fits(payloads, "F01"), "F01"),
        date_of_birth=date(1990, 4, 1),
        phone=k(fits(payloads, "F02"), "F02"),
        gp_practice=k(fits(payloads, "F03"), "F03"),
        emergency_contact_name=k(fits(payloads, "F04"), "F04"),
        emergency_contact_relationship=k(fits(payloads, "F05"), "F05"),
        emergency_contact_phone=k(fits(payloads, "F06"), "F06"),
    )
    episode = client_service.register_client(
        worker,
        details=details,
        demographics=Demographics(preferred_language=k(fits(payloads, "F07"), "F07")),
        referral=Referral(
            referral_date=factories.REFERRAL_DATE,
            referral_source=factories.referral().referral_source,
            referrer_expectation=k(fits(payloads, "F08"), "F08"),
            presenting_problem=k(fits(payloads, "F09"), "F09"),
            complexity_note=k(joined(payloads, "F10"), "F10"),
        ),
        today=factories.TODAY,
    )
    client_service.set_consent(
        worker,
        episode.client,
        consent=ConsentState.YES,
        note=k(joined(payloads, "F11"), "F11"),
        today=factories.TODAY,
    )
    contact = contact_service.log_contact(
        worker,
        episode,
        factories.contact_input(
            # A case to be discharged has risk open, so its discharge keeps a risk plan.
            phq9=factories.phq9(10, item9=2) if close else factories.phq9(8),
            gad7_total=7,
            note=k(joined(payloads, "F12"), "F12"),
            risk_level=RiskLevel.MODERATE if close else RiskLevel.LOW,
            risk_factors=k(joined(payloads, "F13"), "F13"),
            risk_action=k(joined(payloads, "F14"), "F14"),
        ),
        now=factories.NOW,
    )
    contact_service.correct_contact(
        worker,
        contact,
        contact_service.as_input(contact),
        reason=k(joined(payloads, "F15"), "F15"),
        now=factories.NOW,
    )
    spoiled = contact_service.log_contact(
        worker,
        episode,
        factories.contact_input(
            factories.NOW - timedelta(days=2),
            attendance=AttendanceCode.ATTENDED_ON_TIME,
            contact_type=ContactType.TREATMENT,
            mode=ContactMode.TELEPHONE,
        ),
        now=factories.NOW,
    )
    contact_service.mark_entered_in_error(worker, spoiled, reason=k(joined(payloads, "F16"), "F16"))
    note_service.write_note(
        worker,
        text=k(joined(payloads, "F17"), "F17"),
        themes=[next(iter(ReflectiveTheme))],
        episode_id=episode.id,
        shared_with_supervisor=True,
    )
    for template in letter_service.letter_templates():
        try:
            with db.session.begin_nested():
                letter = letter_service.save_letter(
                    worker, episode, key=template.key, body=k(joined(payloads, "F20"), "F20")
                )
        except ServiceError:  # a template not offered for this episode
            continue
        stored.letters.append(letter.id)
    stored.clients.append(episode.client_id)
    stored.contacts.append(contact.id)
    if close:
        discharge(
            worker,
            episode,
            reason=DischargeReason.COMPLETED,
            discharged_on=factories.TODAY,
            note=k(joined(payloads, "F21"), "F21"),
            risk_plan=k(joined(payloads, "F22"), "F22"),
            risk_confirmed=True,
            today=factories.TODAY,
        )
        stored.closed_episodes.append(episode.id)
    else:
        stored.open_episodes.append(episode.id)
    db.session.commit()
    return episode


def review_all(supervisor: User, stored: Stored, slices: list[tuple[str, ...]]) -> None:
    """The supervisor's session (started first, while the cases are flagged) and a review
    of each open case with the payloads in its reason and note."""
    today = today_in_london()
    worker_id = db.session.get(Episode, stored.open_episodes[0]).worker_id  # type: ignore[union-attr]
    stored.session = supervision_service.start_session(
        supervisor, worker_id=worker_id, today=today
    ).id
    for episode_id, payloads in zip(stored.open_episodes, slices, strict=False):
        supervision_service.record_review(
            supervisor,
            episode_id,
            reason=stored.keep(joined(payloads, "F18"), "F18"),
            decision=SupervisionDecision.CONTINUE,
            note=stored.keep(joined(payloads, "F19"), "F19"),
            next_review_on=today + timedelta(days=14),
            flags_seen=(),
            today=today,
        )
    db.session.commit()


@dataclass
class Tally:
    """The checks made: (value, page) pairs shown escaped, and pages fetched."""

    shown: set[tuple[str, str]] = field(default_factory=set)
    pages: list[str] = field(default_factory=list)


def check_page(client: FlaskClient, url: str, stored: Stored, tally: Tally) -> None:
    """Fetch one page and check every stored value on it."""
    response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    tally.pages.append(url)
    body = response.get_data(as_text=True)
    kind = response.mimetype or ""
    if kind != "text/html":
        assert "html" not in kind, url
        assert response.headers.get("X-Content-Type-Options") == "nosniff", url
        if kind.endswith("json"):
            text = json.dumps(json.loads(body), ensure_ascii=False)
            for stored_value in stored.values:
                if json.dumps(stored_value, ensure_ascii=False)[1:-1] in text:
                    tally.shown.add((stored_value, url))
        return
    for stored_value in stored.values:
        escaped = str(escape(stored_value))
        if escaped != stored_value:
            assert stored_value not in body, f"{url} shows {stored_value!r} unescaped"
        if escaped in body:
            tally.shown.add((stored_value, url))
    parser = MarkupScan()
    parser.feed(body)
    assert not parser.problems, f"{url}: {parser.problems[:3]}"


class MarkupScan(HTMLParser):
    """The markup of a page: any element or attribute a payload could have injected."""

    #: Elements the app's pages never contain (its SVG icons and details elements are
    #: allowed; an injected handler on them is caught by the attribute check).
    FOREIGN = {"iframe", "object", "embed", "base", "math", "mglyph"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag in self.FOREIGN:
            self.problems.append(f"<{tag}>")
        if tag == "script" and "nonce" not in names and not dict(attrs).get("src"):
            self.problems.append("<script> without a nonce")
        if tag == "script" and str(dict(attrs).get("src") or "").startswith("//"):
            self.problems.append("<script src> off site")
        if tag == "meta" and "http-equiv" in names:
            self.problems.append("<meta http-equiv>")
        for name, raw in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=>")
            if name in {"href", "src", "action", "data", "formaction"}:
                target = (raw or "").strip().lower()
                if target.startswith(("javascript:", "data:", "//evil")):
                    self.problems.append(f"<{tag} {name}={raw}>")


def test_stored_payloads_are_escaped_on_every_page(app: Flask, client: FlaskClient) -> None:
    """Every page, export and letter shows the stored payloads escaped, never as markup."""
    worker = make_user(Role.WORKER, username="xss-worker", team="North team")
    supervisor = make_user(Role.SUPERVISOR, username="xss-sup", team="North team")
    lead = make_user(Role.LEAD, username="xss-lead")
    admin = make_user(Role.ADMIN, username="xss-admin")
    stored = Stored()
    slices = [PAYLOADS[i::CLIENTS] for i in range(CLIENTS)]
    open_slices = []
    for number, payloads in enumerate(slices):
        close = number % 3 == 2
        store_client(worker, payloads, stored, close=close)
        if not close:
            open_slices.append(payloads)
    review_all(supervisor, stored, open_slices)
    assert len(PAYLOADS) >= 50

    tally = Tally()
    sign_in(client, worker)
    episodes = stored.open_episodes + stored.closed_episodes
    for url in ("/caseload", "/caseload?page=2", "/diary", "/clients/discharged", "/notes/"):
        check_page(client, url, stored, tally)
    for payloads in slices:
        check_page(client, f"/clients/search?q={payloads[0][:3]}", stored, tally)
    check_page(client, "/clients/search?q=plain", stored, tally)
    for episode_id in episodes:
        for url in (
            f"/episodes/{episode_id}",
            f"/episodes/{episode_id}/summary",
            f"/episodes/{episode_id}/letters",
            f"/episodes/{episode_id}/fhir",
        ):
            check_page(client, url, stored, tally)
    for episode_id in episodes:
        check_page(client, f"/episodes/{episode_id}/consent", stored, tally)
    for episode_id in stored.open_episodes:
        for url in (
            f"/episodes/{episode_id}/contacts/new",
            f"/episodes/{episode_id}/discharge",
            f"/episodes/{episode_id}/book",
        ):
            check_page(client, url, stored, tally)
        for template in letter_service.letter_templates():
            response = client.get(f"/episodes/{episode_id}/letters/{template.key}/new")
            if response.status_code == 200:
                check_page(
                    client, f"/episodes/{episode_id}/letters/{template.key}/new", stored, tally
                )
    for contact_id in stored.contacts:
        check_page(client, f"/contacts/{contact_id}/correct", stored, tally)
    for client_id in stored.clients:
        check_page(client, f"/clients/{client_id}", stored, tally)
    for letter_id in stored.letters:
        check_page(client, f"/letters/{letter_id}", stored, tally)
    client.post("/logout", data={"csrf_token": _token(client)})

    sign_in(client, supervisor)
    worker_q = f"?worker={worker.id}"
    for url in (f"/supervision/{worker_q}", "/supervision/team", f"/supervision/notes{worker_q}"):
        check_page(client, url, stored, tally)
    check_page(client, f"/supervision/sessions/{stored.session}", stored, tally)
    for position in range(1, len(stored.open_episodes) + 1):
        response = client.get(f"/supervision/sessions/{stored.session}/cases/{position}")
        if response.status_code == 200:
            check_page(
                client, f"/supervision/sessions/{stored.session}/cases/{position}", stored, tally
            )
    for episode_id in stored.open_episodes:
        check_page(client, f"/episodes/{episode_id}", stored, tally)
        check_page(client, f"/supervision/episodes/{episode_id}/review", stored, tally)
        check_page(client, f"/supervision/episodes/{episode_id}/reassign", stored, tally)
    for client_id in stored.clients:
        check_page(client, f"/clients/{client_id}", stored, tally)
    client.post("/logout", data={"csrf_token": _token(client)})

    sign_in(client, lead)
    for url in ("/lead/", "/lead/findings", "/lead/dashboard.csv", "/lead/exports"):
        check_page(client, url, stored, tally)
    client.post("/logout", data={"csrf_token": _token(client)})

    sign_in(client, admin)
    for url in (
        "/admin/audit",
        "/admin/audit.csv",
        "/admin/accounts",
        f"/admin/accounts/{worker.id}",
    ):
        check_page(client, url, stored, tally)

    # Every field was shown, escaped, somewhere, for every payload it holds.
    shown_values = {v for v, _ in tally.shown}
    unseen = sorted({stored.values[v] for v in stored.values if v not in shown_values})
    assert not unseen, "fields never shown: " + ", ".join(f"{c} {FIELDS[c]}" for c in unseen)
    shown = len(tally.shown)
    checked = len(stored.values) * len(tally.pages)
    print(
        f"\nstored output: {len(PAYLOADS)} payloads x {len(FIELDS)} fields = "
        f"{len(stored.values)} stored values; {len(tally.pages)} pages; {checked} "
        f"value x page checks, {shown} of them where the page shows the value (escaped)"
    )
    assert shown >= 1000


def _token(client: FlaskClient) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client, "/caseload")
