"""Issue 14, defect 1: no input can produce a 500.

Each case below was found by a black-box probe; each is fixed at the mechanism (the form
layer in caseload/web/forms.py, the request hooks and ``safe_next`` in
caseload/web/requests.py), so these tests drive the real forms through HTTP.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from caseload.domain.codes import Role
from caseload.web.forms import Conflict, expected_version
from caseload.web.requests import ascii_number, safe_next
from tests.conftest import PASSWORD, csrf_token, next_code
from tests.web.helpers import contact_data, make_case, row_counts, token

BLANKS = ("", " ", "\t", "\u00a0", "\u2003 ")


@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize("field", ["phq9-3", "intervention", "risk_level", "gad7_difficulty"])
def test_blank_optional_choices_on_the_contact_form_are_never_a_500(
    client: FlaskClient, signed_in: Any, field: str, blank: str
) -> None:
    user = signed_in(Role.WORKER)
    episode = make_case(user, consented=True)
    before = row_counts()
    data = contact_data(token(client), **{field: blank})
    response = client.post(f"/episodes/{episode.id}/contacts/new", data=data)
    assert response.status_code < 500
    if response.status_code != 302:
        assert row_counts() == before


@pytest.mark.parametrize("blank", BLANKS)
def test_blank_manageability_and_linked_case_on_a_note_are_never_a_500(
    client: FlaskClient, signed_in: Any, blank: str
) -> None:
    signed_in(Role.WORKER)
    response = client.post(
        "/notes/new",
        data={
            "csrf_token": token(client),
            "body": "A long week.",
            "themes": "workload",
            "manageability": blank,
            "episode_id": blank,
        },
    )
    assert response.status_code < 500


@pytest.mark.parametrize("blank", BLANKS)
def test_blank_complexity_factors_on_a_referral_are_never_a_500(
    client: FlaskClient, signed_in: Any, blank: str
) -> None:
    user = signed_in(Role.WORKER)
    episode = make_case(user)
    response = client.post(
        f"/clients/{episode.client_id}/referrals/new",
        data={"csrf_token": token(client), "complexity_factors": [blank, blank]},
    )
    assert response.status_code < 500


def test_the_username_sent_as_a_file_part_is_a_400_for_anyone(client: FlaskClient) -> None:
    response = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(client),
            "username": (io.BytesIO(b"worker"), "username.txt"),
            "password": PASSWORD,
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400


def test_a_text_field_sent_as_a_file_part_on_a_signed_in_form_is_a_400(
    client: FlaskClient, signed_in: Any
) -> None:
    user = signed_in(Role.WORKER)
    episode = make_case(user, consented=True)
    before = row_counts()
    data: dict[str, Any] = contact_data(token(client))
    data["note"] = (io.BytesIO(b"<script>"), "note.html")
    response = client.post(
        f"/episodes/{episode.id}/contacts/new", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert row_counts() == before


@pytest.mark.parametrize(
    "digits",
    [
        "\u0660\u0661\u0662\u0663\u0664\u0665",  # Arabic-Indic
        "\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6",  # Extended Arabic-Indic (Persian)
        "\uff11\uff12\uff13\uff14\uff15\uff16",  # full-width
        "\u0967\u0968\u0969 \u096a\u096b\u096c",  # Devanagari, spaced
    ],
)
def test_non_ascii_digits_as_the_security_code_are_never_a_500(
    client: FlaskClient, user_factory: Any, digits: str
) -> None:
    user = user_factory(Role.WORKER)
    client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    response = client.post(
        "/login/mfa", data={"code": digits, "csrf_token": csrf_token(client, "/login/mfa")}
    )
    assert response.status_code == 200
    assert "not right" in response.get_data(as_text=True)


def test_the_right_code_typed_in_arabic_indic_digits_signs_in(
    client: FlaskClient, user_factory: Any
) -> None:
    user = user_factory(Role.WORKER)
    client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    code = "".join(chr(0x0660 + int(d)) for d in next_code(user))
    response = client.post(
        "/login/mfa", data={"code": code, "csrf_token": csrf_token(client, "/login/mfa")}
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    "query",
    [
        "//%EF%BC%8F",
        "/%EF%BC%8Fevil.example",
        "%EF%BC%8F%EF%BC%8Fevil.example",
        "/%5Cevil.example",
        "https://evil.example/",
        "/%0D%0ALocation:%20x",
        "/[",
        "//[::1",
    ],
)
def test_hostile_next_parameters_never_give_a_500_nor_leave_the_site(
    client: FlaskClient, user_factory: Any, query: str
) -> None:
    assert client.get(f"/login?next={query}").status_code == 200
    user = user_factory(Role.WORKER)
    client.post(
        f"/login?next={query}",
        data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    response = client.post(
        "/login/mfa", data={"code": next_code(user), "csrf_token": csrf_token(client, "/login/mfa")}
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/")
    assert not location.startswith("//")
    assert "\\" not in location
    assert "evil" not in location


@pytest.mark.parametrize(
    "target",
    ["//\uff0f", "/\uff0f/evil", "/\u2100", "//evil", "/\\evil", "/ok\x00", "\u3000//evil"],
)
def test_safe_next_refuses_what_normalisation_would_turn_into_another_site(target: str) -> None:
    assert safe_next(target) is None


def test_ascii_number_reads_digits_of_any_script_and_leaves_other_text() -> None:
    assert ascii_number("\u0661\u0662\u0663 \u0664\u0665\u0666") == "123 456"
    assert ascii_number("\u0661a") == "\u0661a"
    assert ascii_number("Jamie") == "Jamie"


def test_a_version_of_thousands_of_digits_is_a_conflict_not_a_500() -> None:
    """Hypothesis found it: Python refuses to read an integer of over 4,300 digits."""
    assert expected_version("7") == 7
    for raw in ("9" * 19, "9" * 5000, "", None, "٣"):
        with pytest.raises(Conflict):
            expected_version(raw)
