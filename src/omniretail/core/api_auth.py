"""Who is calling the API: a channel/terminal key or a staff session."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from omniretail.core.access import Actor, actor_for_user
from omniretail.core.apikeys import api_key_actor_of, api_key_check
from omniretail.core.errors import Unauthenticated
from omniretail.core.models import Channel


class KeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        key = api_key_check(token)
        if key is None:
            return None
        request.key_channel = key.channel  # type: ignore[attr-defined]
        return api_key_actor_of(key)


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


def key_channel(request: HttpRequest) -> Channel | None:
    """The channel of the API key that authenticated the request (read with
    the key, company included), or None for a staff session or a terminal."""
    return getattr(request, "key_channel", None)


def idempotency_key(request: HttpRequest) -> str | None:
    return request.headers.get("Idempotency-Key")
