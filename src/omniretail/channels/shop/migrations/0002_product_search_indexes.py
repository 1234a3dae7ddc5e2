"""Indexes on catalogue products for the shop's listings, here because the
shop's pages are what need them (raw SQL on the catalogue's table, created
only if missing; nothing in the catalogue's models changes):

- `shop_product_listed_name`: products on sale in name order, the order of
  category and search pages: a page of a common word or a big category
  walks it and stops after one page (PostgreSQL and SQLite).
- `shop_product_name_trgm` (PostgreSQL): a trigram GIN index on
  UPPER(name), the expression Django's `icontains` compares
  (`UPPER(name::text) LIKE UPPER('%…%')`), so a search for a rarer word reads
  the index instead of every product. Without the right to create the
  pg_trgm extension it is left out and the same query reads the table.
"""

from django.db import migrations, transaction

LISTED = "shop_product_listed_name"
TRIGRAM = "shop_product_name_trgm"


def create(apps, schema_editor):
    table = apps.get_model("catalog", "Product")._meta.db_table
    quote = schema_editor.quote_name
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {LISTED} ON {quote(table)} "
        f"({quote('name')}, {quote('id')}) WHERE {quote('active')}"
    )
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:  # noqa: BLE001 - no right to create it: search works, unindexed
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRIGRAM} ON {quote(table)} "
        f"USING gin (UPPER({quote('name')}) gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {LISTED}")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM}")


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0001_initial"),
        ("catalog", "0003_product_kind"),
    ]

    operations = [migrations.RunPython(create, drop)]
