"""OmniRetail: one system of record for a retailer's stores and online sales."""

__version__ = "0.1.0"
