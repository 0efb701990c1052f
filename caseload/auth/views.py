"""Sign in with a passphrase and a TOTP code; sign out for real."""

from __future__ import annotations

import time
from contextlib import nullcontext

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from caseload.auth.forms import (
    ConfirmIdentityForm,
    LoginForm,
    LogoutForm,
    MfaForm,
    NewPassphraseForm,
)
from caseload.extensions import db
from caseload.models import User
from caseload.policy import PUBLIC, SIGNED_IN, policy
from caseload.services import account, auth, devices
from caseload.services.audit import record_event
from caseload.services.signin_gate import BUSY_MESSAGE, RETRY_AFTER_SECONDS, passphrase_check
from caseload.web import safe_next, submit

bp = Blueprint("auth", __name__)

#: How long the gap between the passphrase and the code may be.
PENDING_SECONDS = 300


@bp.route("/login", methods=["GET", "POST"])
@policy(PUBLIC)
def login() -> ResponseReturnValue:
    """First step: username and passphrase."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    next_url = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        username = form.username.data or ""
        recognised = devices.is_recognised(username)
        with passphrase_check(recognised=recognised) as admitted:
            if not admitted:
                return _refused(form, BUSY_MESSAGE, RETRY_AFTER_SECONDS)
            attempt = auth.begin_attempt(username, recognised=recognised)
            if isinstance(attempt, auth.Throttled):
                return _refused(form, attempt.message, attempt.retry_after)
            user = auth.check_password(username, form.password.data or "")
        if user is None:
            auth.attempt_failed(attempt, reason="password")
            form.password.errors.append("The username or passphrase is not right.")
            return render_template("auth/login.html", form=form), 200
        auth.attempt_succeeded(attempt)
        session.clear()
        session["pending_user_id"] = user.id
        session["pending_since"] = time.time()
        if next_url:
            session["next"] = next_url
        if user.must_change_password:
            return redirect(url_for("auth.new_passphrase"))
        auth.ensure_totp_secret(user)
        return redirect(url_for("auth.mfa"))
    return render_template("auth/login.html", form=form)


@bp.route("/login/busy")
@policy(PUBLIC)
def busy() -> ResponseReturnValue:
    """What a sign-in is answered while a flood has spent the passphrase-check budget:
    served in front of the app by ``web.signin_shed``, which keeps this rendering."""
    return render_template("auth/busy.html", message=BUSY_MESSAGE)


@bp.route("/login/new-passphrase", methods=["GET", "POST"])
@policy(PUBLIC)
def new_passphrase() -> ResponseReturnValue:
    """First sign-in with a temporary passphrase: choose one's own, then the code step."""
    user = _pending_user()
    if user is None:
        flash("Sign in again to continue.", "info")
        return redirect(url_for("auth.login"))
    if not user.must_change_password:
        return redirect(url_for("auth.mfa"))
    form = NewPassphraseForm()
    outcome = submit(
        form,
        lambda: auth.set_new_passphrase(
            user, password=form.password.data or "", confirmation=form.confirmation.data or ""
        ),
    )
    if outcome.saved:
        session["pending_since"] = time.time()  # the code step gets its full time
        auth.ensure_totp_secret(user)
        flash("Your passphrase is changed. Now set up your authenticator.", "success")
        return redirect(url_for("auth.mfa"))
    return render_template(
        "auth/new_passphrase.html", form=form, user=user, problems=outcome.problems
    ), outcome.status


@bp.route("/login/mfa", methods=["GET", "POST"])
@policy(PUBLIC)
def mfa() -> ResponseReturnValue:
    """Second step: the TOTP code, enrolling the authenticator on first sign-in."""
    user = _pending_user()
    if user is None:
        flash("Sign in again to continue.", "info")
        return redirect(url_for("auth.login"))
    if user.must_change_password:
        return redirect(url_for("auth.new_passphrase"))
    form = MfaForm()
    if form.validate_on_submit():
        recognised = devices.is_recognised(user.username)
        attempt = auth.begin_attempt(user.username, recognised=recognised)
        if isinstance(attempt, auth.Throttled):
            return _refused(LoginForm(formdata=None), attempt.message, attempt.retry_after)
        if auth.verify_totp(user, form.code.data or ""):
            auth.attempt_succeeded(attempt)
            return _complete_sign_in(user)
        auth.attempt_failed(attempt, reason="code")
        form.code.errors.append("That code is not right or has been used. Try the next code.")
    enrolling = not user.mfa_enrolled
    demo = auth.demo_code_visible(user)
    uri = auth.provisioning_uri(user) if enrolling else None
    return render_template(
        "auth/mfa.html",
        form=form,
        user=user,
        enrolling=enrolling,
        secret=user.totp_secret if enrolling else None,
        qr_code=auth.qr_code_data_uri(uri) if uri else None,
        demo=demo,
        demo_code=auth.usable_code(user) if demo else None,
    )


@bp.post("/logout")
@policy(SIGNED_IN)
def logout() -> ResponseReturnValue:
    """End the session on the server and in the browser."""
    form = LogoutForm()
    if not form.validate_on_submit():
        return redirect(url_for("main.home"))
    if current_user.auth_session_id:
        auth.end_session(current_user.auth_session_id, reason="signed out")
    record_event("logout", actor=current_user, object_type="user", object_id=current_user.id)
    logout_user()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/login/confirm", methods=["GET", "POST"])
@policy(SIGNED_IN)
def confirm() -> ResponseReturnValue:
    """Give the passphrase and a code again before a sensitive change, then go back."""
    form = ConfirmIdentityForm()
    next_url = safe_next(request.args.get("next")) or url_for("main.home")
    if form.is_submitted() and auth.is_throttled(current_user.username):
        minutes = current_app.config["LOGIN_WINDOW_MINUTES"]
        message = f"Too many failed attempts. Wait {minutes} minutes, then try again."
        return render_template("auth/confirm.html", form=form, locked_message=message), 429
    # Signed in already: checked from the recognised lane, which a flood cannot spend.
    checking = passphrase_check(recognised=True) if form.is_submitted() else nullcontext(True)
    with checking as admitted:
        if not admitted:
            page = render_template("auth/confirm.html", form=form, locked_message=BUSY_MESSAGE)
            return page, 429, {"Retry-After": str(RETRY_AFTER_SECONDS)}
        outcome = submit(
            form,
            lambda: auth.confirm_identity(
                current_user, password=form.password.data or "", code=form.code.data or ""
            ),
        )
    if outcome.saved:
        return redirect(next_url)
    return render_template(
        "auth/confirm.html", form=form, problems=outcome.problems
    ), outcome.status


def _pending_user() -> User | None:
    user_id = session.get("pending_user_id")
    since = session.get("pending_since", 0)
    if not isinstance(user_id, int) or time.time() - float(since) > PENDING_SECONDS:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return None
    return user


def _complete_sign_in(user: User) -> ResponseReturnValue:
    next_url = safe_next(session.get("next"))
    warning = account.failed_attempts_message(account.failures_since_last_sign_in(user))
    server_session = auth.start_session(user)
    session.clear()
    session.permanent = True
    user.auth_session_id = server_session.id
    login_user(user, remember=False)
    if warning:
        flash(warning, "info")
    return devices.remember_device(redirect(next_url or url_for("main.home")), user.username)


def _refused(form: LoginForm, message: str, retry_after: int) -> ResponseReturnValue:
    """An attempt answered without being checked: throttled, or sign-in busy."""
    page = render_template("auth/login.html", form=form, locked_message=message)
    return page, 429, {"Retry-After": str(retry_after)}
