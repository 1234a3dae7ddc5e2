"""What the storefront keeps in Django's cache, and when it is forgotten.

Kept (never anything of a session: no cart, no CSRF token, no customer):

- a product's page data (product, active variants with their tax class, kit
  components, breadcrumbs, the rendered heading and description) for
  PRODUCT_CACHE_S;
- the rendered results of a search page for SEARCH_CACHE_S (their prices and
  "in stock online" are as of then);
- the channel's locations with their safety buffers for LOCATIONS_CACHE_S;
- the category tree, its rendered menu and the stores' names and addresses
  for CATEGORY_CACHE_S.

Not kept: a product page's prices (the pricing engine works them out on
every request, from its own short-lived rules cache) and its availability
(one statement per request), anything of a session.

Every key carries a generation. A save or delete of a product, variant, kit
component, category or store (and of a price list, price or promotion, for
the prices shown in search results) starts a new generation, so every entry
made before is ignored at once in this process — and in every process when
the cache is shared (Redis, Memcached). With the default per-process
LocMemCache other processes see such a change when their entries expire
(the TTLs above); what must never be stale is re-read on every request
anyway: a product page checks that the product and its variants are still
sold and reads their base price, a cached search page checks that its
products are still sold, and the cart and checkout re-read everything.

Writes that bypass signals (`QuerySet.update`, `bulk_create`) are seen when
the entries expire.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction

PRODUCT_CACHE_S = 60
SEARCH_CACHE_S = 30
LOCATIONS_CACHE_S = 5
CATEGORY_CACHE_S = 60

_GENERATION = "shop:generation"


def generation() -> int:
    """The current generation of the catalogue as the shop caches it. A new
    one is a fresh clock reading, never a count: a generation key lost from
    the cache (culled) can then never bring old entries back."""
    value = cache.get(_GENERATION)
    if value is None:
        value = time.time_ns()
        cache.add(_GENERATION, value, None)
        value = cache.get(_GENERATION, value)
    return int(value)


def _next_generation() -> None:
    cache.set(_GENERATION, max(time.time_ns(), generation() + 1), None)


def catalog_changed(*, using: str = DEFAULT_DB_ALIAS, **_: object) -> None:
    """Signal receiver: forget every cached catalogue entry now, and again
    when the change commits (an entry filled in between, by another thread
    that could not see the change yet, is forgotten too)."""
    _next_generation()
    transaction.on_commit(_next_generation, using=using)


def key(kind: str, *parts: object) -> str:
    """A cache key of this generation. Free text (a search) is hashed, so a
    key is always short and valid for every cache backend."""
    raw = ":".join(str(p) for p in parts)
    if len(raw) > 64 or not raw.isascii() or any(c.isspace() for c in raw):
        raw = hashlib.sha256(raw.encode()).hexdigest()
    return f"shop:{kind}:{generation()}:{raw}"
