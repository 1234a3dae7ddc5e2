"""Who is calling the API: a channel/terminal key or a staff session."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from omniretail.core.access import Actor, actor_for_user
from omniretail.core.apikeys import api_key_authenticate
from omniretail.core.errors import Unauthenticated


class KeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        return api_key_authenticate(token)


class StaffSessionAuth(SessionAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            return actor_for_user(user)
        return None


def request_actor(request: HttpRequest) -> Actor:
    actor = getattr(request, "auth", None)
    if not isinstance(actor, Actor):
        raise Unauthenticated("Sign in or send an API key.")
    return actor


def idempotency_key(request: HttpRequest) -> str | None:
    return request.headers.get("Idempotency-Key")
