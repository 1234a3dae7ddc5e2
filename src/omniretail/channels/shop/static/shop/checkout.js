// The demo card form: the card number is turned into a test-gateway token
// here, in the browser. The number, expiry and code inputs have no `name`,
// so the browser never submits them; only the token field is posted.
(function () {
  "use strict";
  var TEST_TOKENS = {
    "4242424242424242": "tok_visa",
    "4000056655665556": "tok_visa_debit",
    "5555555555554444": "tok_mastercard",
    "378282246310005": "tok_amex",
    "4000000000000002": "tok_chargeDeclined",
    "4000000000009995": "tok_insufficient_funds",
    "4000000000000069": "tok_expired_card",
    "4000002500003155": "tok_threeDSecureRequired"
  };

  function showFulfilment(form) {
    var checked = form.querySelector("input[name=fulfilment]:checked");
    var pickup = checked && checked.value === "pickup";
    document.getElementById("ship-fields").hidden = pickup;
    document.getElementById("pickup-fields").hidden = !pickup;
  }

  function init() {
    var form = document.getElementById("checkout-form");
    if (!form) return;
    var number = document.getElementById("card-number");
    var error = document.getElementById("card-error");
    var token = form.querySelector("input[name=card_token]");
    form.querySelectorAll("input[name=fulfilment]").forEach(function (radio) {
      radio.addEventListener("change", function () { showFulfilment(form); });
    });
    showFulfilment(form);
    form.addEventListener("submit", function (event) {
      var digits = number.value.replace(/[\s-]/g, "");
      var found = TEST_TOKENS[digits];
      if (!found) {
        event.preventDefault();
        error.textContent = "This card number is not accepted by the demo gateway; use 4242 4242 4242 4242.";
        error.hidden = false;
        number.focus();
        return;
      }
      error.hidden = true;
      token.value = found;
      number.value = "";
      document.getElementById("pay").disabled = true;
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
