from omniretail.accounting.models import Receipt


def receipt_for_order(*, order_id: int) -> Receipt | None:
    return Receipt.objects.filter(order_id=order_id).first()
