"""Domain errors: one code per failure a person can act on.

Services raise these; API and views map `http_status` to the response. The
message says what is wrong *and* how to fix it; `field` names the input.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"
    http_status = 422

    def __init__(
        self, message: str, *, field: str | None = None, code: str | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.extra:
            body.update(self.extra)
        return body


class ValidationFailed(DomainError):
    """The request itself is wrong (unknown barcode, negative quantity...)."""

    code = "invalid"
    http_status = 422


class Conflict(DomainError):
    """The request is well formed but the state forbids it (not enough stock,
    already closed, same idempotency key with another body...)."""

    code = "conflict"
    http_status = 409


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class PermissionDenied(DomainError):
    code = "forbidden"
    http_status = 403


class Unauthenticated(DomainError):
    code = "unauthenticated"
    http_status = 401
