"""A sample upstream API for the nginx example: it echoes the identity nginx forwarded from the verifier.

Run: uvicorn --app-dir deploy/nginx sample_api:app --port 8082
"""

from __future__ import annotations

from fastapi import FastAPI, Request

app = FastAPI(title="sample upstream", docs_url=None, redoc_url=None, openapi_url=None)


@app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def echo(path: str, request: Request) -> dict[str, object]:
    headers = request.headers
    return {
        "path": "/" + path,
        "method": request.method,
        "subject": headers.get("x-auth-subject"),
        "client": headers.get("x-auth-client"),
        "scopes": headers.get("x-auth-scopes"),
        # Every X-Auth-* header that arrived, as a list per name: what the proxy in front let through.
        "x_auth": {name: headers.getlist(name) for name in headers if name.startswith("x-auth-")},
    }
