"""Idempotency keys: a mutating call's key is claimed by a unique row in the
same transaction as its effect; a retry gets the first response back.

Never search-then-insert: the INSERT itself is the claim. On PostgreSQL a
concurrent claim of the same key waits on the unique index until the first
transaction ends, then fails and replays the stored response.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from omniretail.core.errors import Conflict, ValidationFailed
from omniretail.core.models import IdempotencyKey

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any
    replayed: bool


def request_fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def idempotent_call(
    *,
    scope: str,
    key: str | None,
    fingerprint: str,
    effect: Callable[[], tuple[int, Any]],
) -> StoredResponse:
    """Run `effect` once per (scope, key). `effect` returns (status, JSON body)
    and runs inside this transaction; a DomainError it raises rolls the claim
    back too, so the request changes nothing and may be retried."""
    if key is None:
        with transaction.atomic():
            status, body = effect()
        return StoredResponse(status, body, replayed=False)
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters; send a UUID.",
            field="Idempotency-Key",
        )
    for _attempt in range(3):
        with transaction.atomic():
            try:
                with transaction.atomic():
                    claim = IdempotencyKey.objects.create(
                        scope=scope, key=key, request_hash=fingerprint
                    )
            except IntegrityError:
                claim = None
            if claim is not None:
                # Only the claim's own IntegrityError means "key taken"; one
                # raised by the effect propagates as the real error.
                status, body = effect()
                claim.response_status = status
                claim.response_body = body
                claim.save(update_fields=["response_status", "response_body"])
                return StoredResponse(status, body, replayed=False)
        stored = IdempotencyKey.objects.filter(scope=scope, key=key).first()
        if stored is None:
            continue  # the other claim rolled back: claim it ourselves
        if stored.request_hash != fingerprint:
            raise ValidationFailed(
                "This Idempotency-Key was already used with a different request body. "
                "Use a new key for a new request.",
                field="Idempotency-Key",
                code="idempotency_key_reused",
            )
        if stored.response_status is None:
            raise Conflict(
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                field="Idempotency-Key",
                code="idempotency_in_progress",
            )
        return StoredResponse(stored.response_status, stored.response_body, replayed=True)
    raise Conflict(
        "Could not claim the Idempotency-Key; retry the request.", field="Idempotency-Key"
    )
