"""A sample upstream API for the nginx example: it echoes the identity nginx forwarded from the verifier.

Run: uvicorn --app-dir deploy/nginx sample_api:app --port 8082
"""

from __future__ import annotations

from fastapi import FastAPI, Request

app = FastAPI(title="sample upstream")


@app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def echo(path: str, request: Request) -> dict[str, str | None]:
    headers = request.headers
    return {
        "path": "/" + path,
        "method": request.method,
        "subject": headers.get("x-auth-subject"),
        "client": headers.get("x-auth-client"),
        "scopes": headers.get("x-auth-scopes"),
    }
