"""API keys for channels and POS terminals: `omni_<prefix>_<secret>`.

The secret has 256 bits of entropy, so a plain SHA-256 digest is enough at
rest (no slow hash needed, unlike a password) and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from omniretail.core.access import SYSTEM, TERMINAL_DEFAULT_SCOPES, Actor, require
from omniretail.core.audit import audit_record
from omniretail.core.models import ApiKey, Channel, Terminal

KEY_PREFIX = "omni"


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    token: str  # shown once, never stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_key_issue(
    *,
    name: str,
    channel: Channel,
    terminal: Terminal | None = None,
    scopes: list[str] | None = None,
    actor: Actor = SYSTEM,
) -> IssuedKey:
    require(actor, "org.write")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name,
        kind=ApiKey.Kind.TERMINAL if terminal else ApiKey.Kind.CHANNEL,
        prefix=prefix,
        digest=_digest(secret),
        channel=channel,
        terminal=terminal,
        scopes=scopes if scopes is not None else list(TERMINAL_DEFAULT_SCOPES),
    )
    audit_record(actor=actor, action="api_key.issue", object_type="api_key", object_id=key.pk)
    return IssuedKey(key, f"{KEY_PREFIX}_{prefix}_{secret}")


def api_key_authenticate(token: str) -> Actor | None:
    """The actor a key stands for, or None when the key is unknown or revoked."""
    key = api_key_check(token)
    return _key_actor(key) if key is not None else None


def api_key_check(token: str) -> ApiKey | None:
    """The active key this token proves, with its terminal and its channel
    (and the channel's company, which every channel request needs), or None."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    _, prefix, secret = parts
    key = (
        ApiKey.objects.select_related("terminal", "channel__company")
        .filter(prefix=prefix, active=True)
        .first()
    )
    if key is None or not hmac.compare_digest(key.digest, _digest(secret)):
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def api_key_actor_of(key: ApiKey) -> Actor:
    """The actor of a key `api_key_check` accepted."""
    return _key_actor(key)


def api_key_actor(prefix: str) -> Actor | None:
    """The actor of an active key by its public prefix: for work carried out
    on behalf of a key that already authenticated (an event handler acting
    for the till that asked). None when the key is gone or revoked."""
    key = (
        ApiKey.objects.select_related("terminal", "channel")
        .filter(prefix=prefix, active=True)
        .first()
    )
    return _key_actor(key) if key is not None else None


def _key_actor(key: ApiKey) -> Actor:
    store_id = key.terminal.store_id if key.terminal else key.channel.store_id
    return Actor(
        label=f"key:{key.name}",
        scopes=frozenset(key.scopes),
        api_key_prefix=key.prefix,
        channel_id=key.channel_id,
        terminal_id=key.terminal_id,
        store_id=store_id,
    )
