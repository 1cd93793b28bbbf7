"""Calling Vigil's API as the person signed in with `vigil login` (the `--remote` commands).

Each command asks `vigil.signin.native` for a fresh access token (refreshing the stored refresh token, which
rotates it), then talks to the API with it, so what the person may do is exactly what their roles allow the API.
Refusals become one line: not signed in, sign-in ended, role refused, or the API's own problem detail.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
import typer

from vigil.errors import VigilError
from vigil.signin import CredentialStore
from vigil.signin.native import remote_call

REMOTE_TIMEOUT = httpx.Timeout(120.0, connect=10.0)

RemoteFlag = typer.Option(
    "--remote", help="Call the API as the person signed in with `vigil login` instead of reading the stores directly."
)


class RemoteRefused(VigilError):
    """The API refused or failed a remote command; the message names why and what to do."""


class RemoteApi:
    def __init__(self, http: httpx.Client, subject: str) -> None:
        self.http = http
        self.subject = subject

    def call(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: object = None
    ) -> httpx.Response:
        try:
            response = self.http.request(method, path, params=params, json=body)
        except httpx.HTTPError as exc:
            raise RemoteRefused(f"the Vigil API at {self.http.base_url} cannot be reached: {exc}") from None
        if response.status_code >= 400:
            raise RemoteRefused(refusal(response))
        return response

    def json(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: object = None) -> Any:
        response = self.call(method, path, params=params, body=body)
        try:
            return response.json()
        except ValueError:
            raise RemoteRefused(f"{method} {path} answered something other than JSON") from None


@contextmanager
def remote_api() -> Iterator[RemoteApi]:
    """The API as the signed-in person, with an access token fresh from the stored refresh token."""
    call = remote_call(CredentialStore())
    headers = {"Authorization": f"Bearer {call.access_token.get_secret_value()}", "Accept": "application/json"}
    with httpx.Client(base_url=call.api_url, headers=headers, timeout=REMOTE_TIMEOUT) as http:
        yield RemoteApi(http, call.subject)


def refusal(response: httpx.Response) -> str:
    """One line saying why the API refused, and what to do when the sign-in is the reason."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, str) or not detail:
        detail = response.reason_phrase
    detail = " ".join(detail.split())[:300]
    if response.status_code == 401:
        return f"the API refused your sign-in ({detail}); run `vigil login` again"
    if response.status_code == 403:
        return f"your role may not do this: {detail}"
    return f"the API answered {response.status_code}: {detail}"
