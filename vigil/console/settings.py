"""Console settings (`VIGIL_CONSOLE__*`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator


class ConsoleSettings(BaseModel):
    """How the people-facing console signs people in, keeps their sessions, and what it shows per page."""

    cookie_name: str = Field(
        default="vigil_console", pattern=r"^[A-Za-z0-9_]{1,64}$", description="Name of the session cookie."
    )
    secure_cookie: Literal["always", "auto", "never"] = Field(
        default="always",
        description=(
            "Mark cookies `Secure`. `always` in production; development only: `auto` (when the request arrived "
            "over https or X-Forwarded-Proto https) or `never` (plain http on loopback)."
        ),
    )
    issuer: str = Field(
        default="",
        description="The OpenID provider the console signs people in with; empty: Vigil's own issuer (edgeauth).",
    )
    public_url: str = Field(
        default="",
        pattern=r"^(https?://[^/?#\s]+)?$",
        description="Origin the browser reaches the console at (redirect URIs); empty: the issuer's origin.",
    )
    client_id: str = Field(
        default="vigil-console", pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$", description="The console's client."
    )
    client_secret: SecretStr | None = Field(
        default=None,
        description="Only for a provider that registered the console elsewhere; else `vigil console register` "
        "keeps the secret sealed in Redis.",
    )
    scope: str = Field(
        default="openid profile alerts:read alerts:triage hunt:run rules:admin evidence:read compliance:read",
        description="What the console asks for; the provider grants the part the person's roles allow.",
    )
    idle_timeout_seconds: int = Field(
        default=1800, ge=60, le=86_400, description="A session unused this long ends (30 minutes)."
    )
    absolute_timeout_seconds: int = Field(
        default=43_200, ge=300, le=7 * 86_400, description="A session ends this long after sign-in (12 hours)."
    )
    dev_token_paste: bool = Field(
        default=False,
        description="Development only: also accept a pasted access token on the sign-in page (says so on screen).",
    )
    page_size: int = Field(default=50, ge=5, le=500, description="Alerts per queue page.")
    history_limit: int = Field(default=50, ge=1, le=1000, description="Rows of run and download history shown.")
    overview_days: int = Field(default=7, ge=1, le=90, description="Days the overview charts cover.")

    @model_validator(mode="after")
    def _idle_within_absolute(self) -> ConsoleSettings:
        if self.idle_timeout_seconds > self.absolute_timeout_seconds:
            raise ValueError("idle_timeout_seconds must not exceed absolute_timeout_seconds")
        return self
