"""RFC 9457 problem details, the only error body the ingress sends."""

from __future__ import annotations

from starlette.responses import JSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"

_TITLES = {
    400: ("bad-request", "Bad Request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not Found"),
    405: ("method-not-allowed", "Method Not Allowed"),
    408: ("request-timeout", "Request Timeout"),
    413: ("payload-too-large", "Payload Too Large"),
    415: ("unsupported-media-type", "Unsupported Media Type"),
    431: ("request-header-fields-too-large", "Request Header Fields Too Large"),
    500: ("internal-error", "Internal Server Error"),
    503: ("unavailable", "Service Unavailable"),
}


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> ProblemResponse:
    slug, title = _TITLES.get(status, ("error", "Error"))
    body = {
        "type": f"urn:hookline:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    return ProblemResponse(body, status_code=status, headers=headers)


# Every verification failure answers exactly this, whatever the cause.
def unauthorized() -> ProblemResponse:
    return problem(401, "The webhook could not be verified.")
