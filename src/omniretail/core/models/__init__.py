from omniretail.core.models.access import ApiKey, StaffMembership
from omniretail.core.models.infra import AuditLog, IdempotencyKey, NumberSeries, OutboxEvent
from omniretail.core.models.org import Channel, Company, Store, Terminal

__all__ = [
    "ApiKey",
    "AuditLog",
    "Channel",
    "Company",
    "IdempotencyKey",
    "NumberSeries",
    "OutboxEvent",
    "StaffMembership",
    "Store",
    "Terminal",
]
