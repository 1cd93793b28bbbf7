"""The steps of a person's sign-in at the issuer, framework-free: password, then (when their MFA policy requires
it) a TOTP or recovery code, or, for a person who must have a second factor and has none yet, TOTP enrolment
with their recovery codes shown once. Only then does the authorization request continue to consent or a code.

Every check is `edgeauth.people`'s (`PeopleDirectory.authenticate`, `verify_second_factor`, enrolment), which
also emits the refusals; this module adds the per-(user name, address) backoff, the one generic message, the
success and enrolment events, and the issuer session that single sign-on rests on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgeauth.issuer.authorize import Authorizer, Outcome
from edgeauth.issuer.oidc import ACR_MFA, ACR_PASSWORD
from edgeauth.issuer.ratelimit import SignInThrottle
from edgeauth.issuer.sessions import BrowserState, PendingAuthorization
from edgeauth.people import (
    GENERIC_SECOND_FACTOR_FAILURE,
    GENERIC_SIGN_IN_FAILURE,
    AuthenticationFailed,
    EnrolmentError,
    PeopleDirectory,
    SecondFactorFailed,
)

# people's one message for an unknown user, a wrong password and a disabled user: the page never says which.
GENERIC_FAILURE = GENERIC_SIGN_IN_FAILURE.capitalize() + "."
CODE_FAILURE = GENERIC_SECOND_FACTOR_FAILURE.capitalize() + "."
MAX_FIELD_CHARS = 1024
MAX_HINT_CHARS = 256


@dataclass(frozen=True)
class Step:
    """The answer to one login form: the next page to show, or the authorization outcome once signed in."""

    page: str = "login"
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    username: str = ""
    # Shown once: the QR code and secret of a TOTP enrolment, the recovery codes after it.
    qr_svg: str | None = None
    manual_secret: str | None = None
    recovery_codes: tuple[str, ...] = field(default_factory=tuple)
    outcome: Outcome | None = None
    session_cookie: str | None = None


class SignIn:
    """Runs the login stages of a pending authorization request against the people directory."""

    def __init__(
        self,
        directory: PeopleDirectory,
        browser: BrowserState,
        throttle: SignInThrottle,
        authorizer: Authorizer,
    ) -> None:
        self._directory = directory
        self._browser = browser
        self._throttle = throttle
        self._authorizer = authorizer

    def page(self, pending: PendingAuthorization) -> Step:
        """What to show for `pending` as it stands (a reload shows the same step again)."""
        if pending.stage == "second_factor":
            return Step(page="second_factor", username=pending.candidate or "")
        if pending.stage == "enrol" and pending.candidate is not None:
            return self._enrolment(pending, error=None)
        # OpenID Connect Core 3.1.2.1 `login_hint`: the user name the client already knows, filled in.
        return Step(page="login", username=pending.params.get("login_hint", "")[:MAX_HINT_CHARS])

    def submit(
        self,
        pending_id: str,
        pending: PendingAuthorization,
        form: dict[str, str],
        *,
        source_ip: str | None,
    ) -> Step:
        """One posted login form; the stage is the pending request's, never the form's."""
        client_id = pending.params.get("client_id")
        if pending.stage == "second_factor" and pending.candidate:
            return self._second_factor(pending_id, pending, form.get("code", ""), source_ip, client_id)
        if pending.stage == "enrol" and pending.candidate:
            return self._confirm_enrolment(pending_id, pending, form.get("code", ""), source_ip)
        if pending.stage == "recovery" and pending.candidate:
            return self.complete(pending_id, pending, pending.candidate, ("pwd", "otp", "mfa"), source_ip, client_id)
        return self._password(pending_id, pending, form.get("username", ""), form.get("password", ""), source_ip)

    def _password(
        self, pending_id: str, pending: PendingAuthorization, username: str, password: str, source_ip: str | None
    ) -> Step:
        client_id = pending.params.get("client_id")
        name = username.strip().lower()[:MAX_FIELD_CHARS]
        wait = self._throttle.wait(name, source_ip)
        if wait:
            self._directory.events.sign_in_failed(name, "throttled", source_ip=source_ip, client_id=client_id)
            return self._throttled(wait, name)
        try:
            user = self._directory.authenticate(
                name, password[:MAX_FIELD_CHARS], source_ip=source_ip, client_id=client_id
            )
        except AuthenticationFailed:
            self._throttle.failed(name, source_ip)
            return Step(page="login", status=401, error=GENERIC_FAILURE, username=name)
        self._throttle.succeeded(name, source_ip)
        if not self._directory.requires_mfa(user):
            return self.complete(pending_id, pending, user.username, ("pwd",), source_ip, client_id)
        if user.mfa == "totp":
            self._browser.update(
                pending_id, pending.model_copy(update={"stage": "second_factor", "candidate": user.username})
            )
            return Step(page="second_factor", username=user.username)
        enrolling = pending.model_copy(update={"stage": "enrol", "candidate": user.username})
        self._browser.update(pending_id, enrolling)
        return self._enrolment(enrolling, error=None)

    def _second_factor(
        self, pending_id: str, pending: PendingAuthorization, code: str, source_ip: str | None, client_id: str | None
    ) -> Step:
        username = pending.candidate or ""
        wait = self._throttle.wait(username, source_ip)
        if wait:
            self._directory.events.mfa_failed(username, "throttled", source_ip=source_ip, client_id=client_id)
            return self._throttled(wait, username, page="second_factor")
        try:
            self._directory.verify_second_factor(
                username, code[:MAX_FIELD_CHARS], source_ip=source_ip, client_id=client_id
            )
        except SecondFactorFailed:
            self._throttle.failed(username, source_ip)
            return Step(page="second_factor", status=401, error=CODE_FAILURE, username=username)
        self._throttle.succeeded(username, source_ip)
        return self.complete(pending_id, pending, username, ("pwd", "otp", "mfa"), source_ip, client_id)

    def _enrolment(self, pending: PendingAuthorization, *, error: str | None, status: int = 200) -> Step:
        username = pending.candidate or ""
        try:
            enrolment = self._directory.begin_totp_enrolment(username, actor=username)
        except EnrolmentError as exc:
            return Step(page="error", status=409, error=str(exc))
        return Step(
            page="enrol",
            status=status,
            error=error,
            username=username,
            qr_svg=enrolment.qr_svg,
            manual_secret=enrolment.secret.get_secret_value(),
        )

    def _confirm_enrolment(
        self, pending_id: str, pending: PendingAuthorization, code: str, source_ip: str | None
    ) -> Step:
        username = pending.candidate or ""
        wait = self._throttle.wait(username, source_ip)
        if wait:
            return self._throttled(wait, username, page="error")
        try:
            issued = self._directory.confirm_totp(username, code[:MAX_FIELD_CHARS], actor=username, source_ip=source_ip)
        except (SecondFactorFailed, EnrolmentError):
            self._throttle.failed(username, source_ip)
            # A fresh secret each time: the one just refused may have been photographed off the screen.
            return self._enrolment(pending, error=CODE_FAILURE, status=401)
        self._browser.update(pending_id, pending.model_copy(update={"stage": "recovery"}))
        return Step(
            page="recovery", username=username, recovery_codes=tuple(c.get_secret_value() for c in issued.codes)
        )

    def complete(
        self,
        pending_id: str,
        pending: PendingAuthorization,
        username: str,
        amr: tuple[str, ...],
        source_ip: str | None,
        client_id: str | None,
    ) -> Step:
        """Signed in: a fresh issuer session (never the cookie the browser came with), then the request goes on.

        Also the end of a federated sign-in: the federation calls this once the upstream identity provider has
        vouched for `username` (provisioned in the directory), with the `amr` it reported, then answers the
        browser with `Pages.step`.
        """
        cookie, _session = self._browser.start(username, amr=amr, acr=ACR_MFA if "otp" in amr else ACR_PASSWORD)
        methods = tuple({"pwd": "password", "otp": "totp"}.get(m, m) for m in amr if m != "mfa")
        self._directory.events.sign_in_succeeded(username, methods=methods, source_ip=source_ip, client_id=client_id)
        resumed = pending.model_copy(update={"stage": "consent", "candidate": username, "amr": amr})
        self._browser.update(pending_id, resumed)
        outcome = self._authorizer.authorize(resumed.params, cookie, pending_id=pending_id, pending=resumed)
        return Step(page="done", outcome=outcome, session_cookie=cookie)

    @staticmethod
    def _throttled(wait: int, username: str, *, page: str = "login") -> Step:
        return Step(
            page=page,
            status=429,
            error=f"Too many attempts. Wait {wait} seconds, then try again.",
            retry_after=wait,
            username=username,
        )
