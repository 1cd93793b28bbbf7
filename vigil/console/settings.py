"""Console settings (`VIGIL_CONSOLE__*`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ConsoleSettings(BaseModel):
    """How the people-facing console keeps its sign-in and what it shows per page."""

    cookie_name: str = Field(
        default="vigil_console", pattern=r"^[A-Za-z0-9_]{1,64}$", description="Name of the session cookie."
    )
    secure_cookie: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Mark cookies `Secure`: `auto` when the request arrived over https (or X-Forwarded-Proto https).",
    )
    page_size: int = Field(default=50, ge=5, le=500, description="Alerts per queue page.")
    history_limit: int = Field(default=50, ge=1, le=1000, description="Rows of run and download history shown.")
    overview_days: int = Field(default=7, ge=1, le=90, description="Days the overview charts cover.")
