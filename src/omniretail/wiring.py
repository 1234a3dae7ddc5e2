"""Event -> handler table: how a lower layer reaches a higher one.

IN_TRANSACTION handlers run inside the transaction that publishes the event
(journal entries, fiscal numbering): if they fail, the cause rolls back too.
AFTER_COMMIT handlers run from the outbox after commit, at least once, with
retries (webhooks, feeds, live updates); they must be idempotent.
"""

from omniretail.accounting.services import on_sale_completed

IN_TRANSACTION = {
    "sale.completed": [on_sale_completed],
}

AFTER_COMMIT: dict[str, list] = {}
