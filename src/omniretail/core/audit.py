from __future__ import annotations

from typing import Any

from omniretail.core.access import Actor
from omniretail.core.models import AuditLog
from omniretail.core.sql import rows_insert


def audit_record(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    store_id: int | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditLog:
    """Append who did what, when and why. Call inside the action's transaction
    so the record and the action stand or fall together."""
    entry = AuditLog(
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        store_id=store_id,
        reason=reason,
        data=data or {},
    )
    rows_insert([entry])
    return entry
