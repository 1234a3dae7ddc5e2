"""Invoices, credit notes and closings are made from web orders placed and
shipped through the real services: the fulfilment tests' fixtures."""

from tests.fulfilment.conftest import place, walter, web  # noqa: F401 (fixtures)
