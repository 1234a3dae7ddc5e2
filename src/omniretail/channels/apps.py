from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "omniretail.channels"
    label = "channels"
    verbose_name = "Channels: POS, web shop, marketplaces"
