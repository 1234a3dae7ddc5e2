"""Returns, exchanges and pick-ups at the till, in Chromium: a web order
found by its number and refunded (store credit, then its card with a
manager's PIN), a till sale found by its receipt, an exchange paid in cash,
a pick-up handed over against its collection code."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from omniretail.fulfilment.models import Shipment
from omniretail.loyalty.models import StoreCreditAccount
from omniretail.orders.models import Order, Return
from omniretail.payments.models import Payment, Refund
from tests.browser.test_pos_till import open_till, pay_cash_exact, scan
from tests.conftest import stock_up
from tests.pos.conftest import make_staff
from tests.pos.web_orders import pickup_waiting, web_channel, web_order_shipped

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW = 30_000  # a server call on a loaded machine


# Code 128 symbol widths (ISO/IEC 15417), to read the printed receipt back.
_WIDTHS = (
    "212222222122222221121223121322131222122213122312132212221213"
    "221312231212112232122132122231113222123122123221223211221132"
    "221231213212223112312131311222321122321221312212322112322211"
    "212123212321232121111323131123131321112313132113132311211313"
    "231113231311112133112331132131113123113321133121313121211331"
    "231131213113213311213131311123311321331121312113312311332111"
    "314111221411431111111224111422121124121421141122141221112214"
    "112412122114122411142112142211241211221114413111241112134111"
    "111242121142121241114212124112124211411212421112421211212141"
    "214121412121111143111341131141114113114311411113411311113141"
    "114131311141411131211412211214211232"
)
CODE128 = [_WIDTHS[i : i + 6] for i in range(0, len(_WIDTHS), 6)]


def code128_read(bars: list[list[float]], *, module: int) -> str:
    """Decode a code set B barcode from its bars' (x, width): what a scanner reads."""
    widths: list[int] = []
    for i, (x, w) in enumerate(bars):
        if i:
            prev_x, prev_w = bars[i - 1]
            widths.append(round((x - prev_x - prev_w) / module))  # the space before
        widths.append(round(w / module))
    assert widths[-7:] == [2, 3, 3, 1, 1, 1, 2]  # stop and termination bar
    values = [
        CODE128.index("".join(map(str, widths[i : i + 6]))) for i in range(0, len(widths) - 7, 6)
    ]
    start, *chars, check = values
    assert start == 104  # code set B
    assert check == (start + sum(v * (i + 1) for i, v in enumerate(chars))) % 103
    return "".join(chr(v + 32) for v in chars)


def find_sale(page: Page, text: str) -> None:
    if page.locator("#act-returns").is_visible():
        page.click("#act-returns")
    page.fill("#find", text)
    page.press("#find", "Enter")  # a scanner types the receipt's barcode and Enter
    expect(page.locator("fieldset.order")).to_have_count(1, timeout=SLOW)


def test_a_web_order_returned_at_the_counter(page: Page, shop, live_server):
    staff = make_staff(shop)
    order, card = web_order_shipped(
        shop, web_channel(shop), external_id="W-7001", lines=[("LS-M", 1), ("MUG-GR", 2)]
    )
    shirt, mugs = order.lines.order_by("line_no")
    open_till(page, shop, staff)

    # One mug as store credit.
    find_sale(page, "W-7001")
    expect(page.locator("fieldset.order legend")).to_contain_text("paid by card")
    page.fill(f"input.ret-qty[data-line='{mugs.pk}']", "1")
    page.select_option("fieldset.order .ret-method", "store_credit")
    page.click("fieldset.order .ret-go")
    expect(page.locator("#return-number")).to_have_text("RET-000001", timeout=SLOW)
    expect(page.locator("#return-done")).to_contain_text("12.50 EUR refunded as store credit")
    ret = Return.objects.get(number="RET-000001")
    assert (ret.order_id, ret.refund_method, ret.refund_amount) == (
        order.pk,
        "store_credit",
        Decimal("12.50"),
    )
    assert StoreCreditAccount.objects.get(customer_id=order.customer_id).balance == Decimal("12.50")

    # The shirt and the other mug back on the card: 62.40, above the cashier's 50.00.
    find_sale(page, "W-7001")
    page.fill(f"input.ret-qty[data-line='{shirt.pk}']", "1")
    page.fill(f"input.ret-qty[data-line='{mugs.pk}']", "1")
    page.click("fieldset.order .ret-go")
    expect(page.locator("#approve-form")).to_be_visible(timeout=SLOW)
    expect(page.locator("#approve-form h2")).to_contain_text("62.40 EUR")
    page.select_option("#approve-manager", str(staff.manager.pk))
    page.fill("#approve-pin", "1111")
    page.click("#approve-go")
    expect(page.locator("#error")).to_contain_text("wrong manager PIN", timeout=SLOW)
    assert Return.objects.count() == 1
    page.fill("#approve-pin", "9876")
    page.click("#approve-go")
    expect(page.locator("#return-number")).to_have_text("RET-000002", timeout=SLOW)
    expect(page.locator("#return-done")).to_contain_text("62.40 EUR refunded to the original")
    ret = Return.objects.get(number="RET-000002")
    assert (ret.refund_method, ret.refund_amount) == ("original", Decimal("62.40"))
    [refund] = Refund.objects.all()
    assert (refund.payment_id, refund.tender, refund.amount, refund.status) == (
        card.pk,
        "card",
        Decimal("62.40"),
        "succeeded",
    )
    assert refund.approved_by_id == staff.manager.pk


def test_a_till_sale_returned_by_scanning_its_receipt(page: Page, shop, live_server):
    staff = make_staff(shop)
    stock_up(shop, {shop.mug: 3})
    open_till(page, shop, staff)
    scan(page, shop.mug.barcode)
    pay_cash_exact(page)
    expect(page.locator("#receipt-number")).to_have_text("R-PT1-000001")
    bars = page.eval_on_selector_all(
        "#receipt-barcode svg g rect",
        "els => els.map(e => [Number(e.getAttribute('x')), Number(e.getAttribute('width'))])",
    )
    printed = code128_read(bars, module=2)
    assert printed == "R-PT1-000001"
    page.click("#new-sale")
    find_sale(page, printed)  # what the scanner reads off the receipt, then Enter
    page.fill("input.ret-qty", "1")
    page.click("fieldset.order .ret-go")
    expect(page.locator("#return-done")).to_contain_text(
        "12.50 EUR refunded to the original", timeout=SLOW
    )
    [refund] = Refund.objects.all()
    assert (refund.tender, refund.amount, refund.terminal_id) == (
        "cash",
        Decimal("12.50"),
        shop.terminal.pk,
    )


def test_an_exchange_at_the_till(page: Page, shop, live_server):
    staff = make_staff(shop)
    stock_up(shop, {shop.shirt_m: 2, shop.shirt_l: 2, shop.candle: 2})
    open_till(page, shop, staff)
    scan(page, shop.shirt_m.barcode)
    pay_cash_exact(page)
    page.click("#new-sale")
    find_sale(page, "R-PT1-000001")
    page.fill("input.ret-qty", "1")
    page.click("fieldset.order .exch-start")
    expect(page.locator("#exch-back li")).to_have_text("1 × Linen Shirt White / M (LS-M)")
    page.fill("#exch-scan", shop.shirt_l.barcode)
    page.press("#exch-scan", "Enter")
    expect(page.locator("#exch-pays")).to_have_text("0.00", timeout=SLOW)
    page.fill("#exch-scan", shop.candle.barcode)
    page.press("#exch-scan", "Enter")
    expect(page.locator("#exch-pays")).to_have_text("18.00", timeout=SLOW)
    expect(page.locator("#exch-replacement")).to_have_text("67.90")
    page.fill("#exch-cash", "20")
    page.click("#exch-go")
    expect(page.locator("#exchange-return")).to_have_text("RET-000001", timeout=SLOW)
    expect(page.locator("#exchange-change")).to_have_text("2.00")
    ret = Return.objects.get()
    assert (ret.refund_method, ret.refund_amount) == ("exchange", Decimal("49.90"))
    new = Order.objects.get(pk=ret.replacement_order_id)
    assert sorted(new.lines.values_list("sku__sku", "quantity")) == [("CAN-FIG", 1), ("LS-L", 1)]
    # The returned shirt pays as exchange credit; the difference is taken in cash.
    paid = Payment.objects.filter(order=new).order_by("pk")
    assert list(paid.values_list("tender", "amount", "change")) == [
        ("exchange_credit", Decimal("49.90"), Decimal("0.00")),
        ("cash", Decimal("18.00"), Decimal("2.00")),
    ]


def test_a_pickup_handed_over_with_its_collection_code(page: Page, shop, live_server):
    staff = make_staff(shop)
    order, number, code = pickup_waiting(shop, web_channel(shop), external_id="W-3107")
    open_till(page, shop, staff)
    page.click("#act-pickups")
    bag = page.locator(f"li[data-pickup='{number}']")
    expect(bag).to_contain_text("order W-3107 · Marc Petit", timeout=SLOW)
    expect(bag).to_contain_text("2 × Fig Candle Fig, 1 × Stoneware Mug Grey")

    wrong = "22222222" if code != "22222222" else "33333333"
    bag.locator(".handover-code").fill(wrong)
    bag.locator(".handover-go").click()
    expect(page.locator("#error")).to_have_text(
        "code: this is not the collection code of the pick-up; ask the customer for the code "
        "in their 'ready for pick-up' message.",
        timeout=SLOW,
    )
    assert Shipment.objects.get(number=number).status == "ready"

    bag.locator(".handover-code").fill(f"{code[:4].lower()}-{code[4:]}")  # as read aloud
    bag.locator(".handover-go").click()
    expect(page.locator("#message")).to_have_text(f"{number} handed over.", timeout=SLOW)
    expect(page.locator("#pickups")).to_have_text("None waiting.")
    assert Shipment.objects.get(number=number).status == "collected"
    order.refresh_from_db()
    assert order.status == "completed"
