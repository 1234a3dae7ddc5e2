"""Sales a till rang up while offline: the document the device numbered and
chained (static/pos/sale.js `offlineDocument`) and its check on the server.

The device cannot know the order id the server will give, so it chains its
own receipt document: the fields below, hashed with core.fiscal.chain_hash
(the JS port gives the same bytes). On sync the server recomputes each sale's
hash (pos_sale_record) and checks its link to the previous one; what does not
match is flagged on the order for the store manager, never refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from omniretail.core.fiscal import chain_hash


def offline_document(sale: Mapping[str, Any], *, terminal: str, full_number: str) -> dict[str, Any]:
    """The fields the device hashed, rebuilt from a synced sale body."""
    offline = sale["offline"]
    return {
        "terminal": terminal,
        "number": int(offline["receipt_number"]),
        "full_number": full_number,
        "client_uuid": str(sale["client_uuid"]),
        "sold_at": _instant(offline["sold_at"]),
        "cashier_id": sale.get("cashier_id"),
        "customer_id": sale.get("customer_id"),
        "lines": [
            {
                "sku": line.get("sku") or line.get("barcode"),
                "quantity": int(line["quantity"]),
                "discount_amount": Decimal(str(line.get("discount_amount") or "0")),
            }
            for line in sale["lines"]
        ],
        "order_discount": Decimal(str(sale.get("order_discount") or "0")),
        "total_gross": Decimal(str(offline["total_gross"])),
        "tenders": [
            {"type": t["type"], "amount": Decimal(str(t["amount"]))} for t in sale["tenders"]
        ],
    }


def _instant(value: str | dt.datetime) -> dt.datetime:
    """The moment of the sale, whatever its text: the hash covers the instant
    (canonical UTC with microseconds), so "…Z" and "…+00:00" agree."""
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def offline_hash_check(sale: Mapping[str, Any], *, terminal: str, full_number: str) -> str | None:
    """None when the device's hash covers this sale; otherwise why not."""
    offline = sale["offline"]
    expected = chain_hash(
        offline["previous_hash"],
        offline_document(sale, terminal=terminal, full_number=full_number),
    )
    if expected != offline["hash"]:
        return "offline.hash does not match the sale: it was altered after the till numbered it"
    return None
