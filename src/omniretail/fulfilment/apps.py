from django.apps import AppConfig


class FulfilmentConfig(AppConfig):
    name = "omniretail.fulfilment"
    label = "fulfilment"
    verbose_name = "Fulfilment: routing, shipments, pick-up in store"
