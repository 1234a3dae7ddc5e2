"""Admin helpers every app shares: store scoping and read-only documents.

Promise 8 (people see only their stores) holds in the back office too: a
store-bound model admin filters its rows to the stores in which the signed-in
user holds a permission. Rows without a store (warehouses, virtual locations,
online orders) are shown only to roles that cover every store.

Posted documents and ledgers are never changed through the admin, by anyone:
corrections are new documents made by services.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest

from omniretail.core.access import Actor, actor_for_user
from omniretail.core.models import Store

_ACTOR_ATTR = "_omni_admin_actor"


def admin_actor(request: HttpRequest) -> Actor:
    """The actor of the signed-in user, built once per request."""
    actor = getattr(request, _ACTOR_ATTR, None)
    if actor is None:
        actor = actor_for_user(request.user)
        setattr(request, _ACTOR_ATTR, actor)
    return actor


def visible_store_ids(request: HttpRequest, permission: str | None) -> frozenset[int] | None:
    """The stores whose rows the user may see (None = every store).

    With `permission=None` any role counts: organisation records (stores,
    terminals) are visible wherever the user works.
    """
    actor = admin_actor(request)
    if permission is not None:
        return actor.store_ids(permission)
    if actor.is_system:
        return None
    stores: set[int] = set()
    for role_stores in actor.roles.values():
        if role_stores is None:
            return None
        stores |= role_stores
    return frozenset(stores)


def scope_queryset(
    queryset: QuerySet[Any],
    request: HttpRequest,
    *,
    lookups: tuple[str, ...],
    permission: str | None,
) -> QuerySet[Any]:
    """Keep the rows whose store (reached through any of `lookups`) is visible."""
    store_ids = visible_store_ids(request, permission)
    if store_ids is None:
        return queryset
    if not store_ids:
        return queryset.none()
    condition = Q()
    for lookup in lookups:
        condition |= Q(**{f"{lookup}__in": store_ids})
    return queryset.filter(condition)


class StoreScopedAdminMixin:
    """Filters a ModelAdmin's rows (and its store choices) to the user's stores.

    `store_lookups` are the paths from the model to its store, OR-ed (a stock
    move is visible from either end); `store_permission` is the access
    permission (core/access.py) the user must hold in those stores.
    """

    store_lookups: tuple[str, ...] = ("store",)
    store_permission: str | None = None

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)  # type: ignore[misc]
        return scope_queryset(
            queryset, request, lookups=self.store_lookups, permission=self.store_permission
        )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.related_model is Store and "queryset" not in kwargs:
            store_ids = visible_store_ids(request, self.store_permission)
            if store_ids is not None:
                kwargs["queryset"] = Store.objects.filter(pk__in=store_ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class ReadOnlyAdminMixin:
    """A document or ledger: viewable, never added, changed or deleted here —
    not even by a superuser."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The lines of a document, shown read-only under it. Subclasses list
    their columns in `fields`; all of them are read-only. `select_related`
    names the relations the columns show, to load them with the lines."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    select_related: tuple[str, ...] = ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        return queryset.select_related(*self.select_related) if self.select_related else queryset

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        return tuple(self.fields or ())
