"""Infrastructure tables every app leans on: gapless series, audit log,
outbox, idempotency keys."""

import uuid

from django.conf import settings
from django.db import models

from omniretail.core.fiscal import GENESIS_HASH


class NumberSeries(models.Model):
    """A gapless counter. The row is locked until the document that takes the
    number commits, so a rolled-back document gives its number back."""

    code = models.SlugField(max_length=64, unique=True)
    prefix = models.CharField(max_length=32, help_text="Printed before the number, e.g. R-S1T1-")
    next_number = models.PositiveBigIntegerField(default=1)
    head_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    padding = models.PositiveSmallIntegerField(default=6)

    class Meta:
        verbose_name_plural = "number series"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(next_number__gte=1), name="series_next_number_positive"
            )
        ]

    def __str__(self) -> str:
        return self.code

    def format(self, number: int) -> str:
        return f"{self.prefix}{number:0{self.padding}d}"


class AuditLog(models.Model):
    """Who did what, when and why. Append-only."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    actor_label = models.CharField(max_length=200, help_text="user, API key or system")
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    store = models.ForeignKey(
        "core.Store", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        when = f"{self.at:%Y-%m-%d %H:%M}"
        return f"{when} {self.actor_label} {self.action} {self.object_type}#{self.object_id}"


class OutboxEvent(models.Model):
    """A domain event written in the same transaction as its cause, delivered
    at least once after commit. Receivers dedupe by `id`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["delivered_at", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.name} {self.id}"


class IdempotencyKey(models.Model):
    """A mutating API call's key, claimed in the same transaction as its effect."""

    scope = models.CharField(max_length=128, help_text="Who sent it: api key prefix or user id")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"
