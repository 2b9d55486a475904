"""The stand-in's API: Checkout Sessions (create, retrieve, list, expire),
Refunds of their payment intents (create, retrieve, list) and Events (list,
retrieve), answering Stripe-shaped JSON."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from devtools.stripe_standin.common import (
    CURRENCY,
    DEFAULT_EXPIRY_SECONDS,
    EXPIRY_SLACK_SECONDS,
    ID_PATTERN,
    IDEMPOTENCY_CACHE_SIZE,
    MAX_EXPIRY_SECONDS,
    MAX_METADATA_KEYS,
    MIN_EXPIRY_SECONDS,
    REFUND_COUNTED,
    REFUND_REASONS,
    StandinState,
    StripeError,
    created_filter,
    english_amount,
    integer_param,
    missing_param,
    parse_form,
    random_id,
    url_param,
)


class ApiMixin(StandinState):
    """The API calls of `StripeStandin` (callers hold its lock)."""

    def _handle_api(
        self, method: str, path: str, query: str, body: str, idempotency_key: str
    ) -> tuple[int, bytes, dict[str, str]]:
        """Status, JSON body and extra headers for one authenticated call."""
        with self._lock:
            try:
                params = parse_form(body if method == "POST" else query)
                if method == "POST" and idempotency_key:
                    return self._idempotent(method, path, params, idempotency_key)
                return 200, self._json(self._route(method, path, params)), {}
            except StripeError as error:
                return error.status, self._json(error.body()), {}

    def _idempotent(
        self, method: str, path: str, params: dict[str, Any], key: str
    ) -> tuple[int, bytes, dict[str, str]]:
        fingerprint = hashlib.sha256(
            json.dumps([method, path, params], sort_keys=True).encode()
        ).hexdigest()
        cached = self._idempotency.get(key)
        if cached is not None:
            if cached[0] != fingerprint:
                raise StripeError(
                    "Keys for idempotent requests can only be used with the same "
                    "parameters they were first used with. Try using a key other "
                    f"than '{key}' if you meant to execute a different request.",
                    type="idempotency_error",
                )
            return cached[1], cached[2], {"Idempotent-Replayed": "true"}
        body = self._json(self._route(method, path, params))
        # Like Stripe, only a request that ran is remembered (not a refusal).
        self._idempotency[key] = (fingerprint, 200, body)
        while len(self._idempotency) > IDEMPOTENCY_CACHE_SIZE:
            self._idempotency.popitem(last=False)
        return 200, body, {}

    @staticmethod
    def _json(obj: dict[str, Any]) -> bytes:
        return json.dumps(obj, indent=2).encode()

    def _route(self, method: str, path: str, params: dict[str, Any]) -> dict:
        parts = path.strip("/").split("/")
        if parts[:3] == ["v1", "checkout", "sessions"]:
            rest = parts[3:]
            if not rest and method == "POST":
                return self._create_session(params)
            if not rest and method == "GET":
                return self._list_sessions(params)
            if len(rest) == 1 and method == "GET":
                return copy.deepcopy(self._session(rest[0]))
            if len(rest) == 2 and rest[1] == "expire" and method == "POST":
                return self._expire_session(rest[0])
        elif parts[:2] == ["v1", "refunds"]:
            rest = parts[2:]
            if not rest and method == "POST":
                return self._create_refund(params)
            if not rest and method == "GET":
                return self._list_refunds(params)
            if len(rest) == 1 and method == "GET":
                return copy.deepcopy(self._refund(rest[0]))
        elif parts[:2] == ["v1", "events"]:
            if len(parts) == 2 and method == "GET":
                return self._list_events(params)
            if len(parts) == 3 and method == "GET":
                return self._event(parts[2])
        raise StripeError(
            f"Unrecognized request URL ({method}: {path}). The Stripe stand-in "
            "only knows Checkout Sessions, Refunds and Events.",
            status=404,
        )

    def _session(self, session_id: str) -> dict[str, Any]:
        session = (
            self._sessions.get(session_id) if ID_PATTERN.match(session_id) else None
        )
        if session is None:
            raise StripeError(
                f"No such checkout.session: '{session_id}'",
                status=404,
                code="resource_missing",
                param="session",
            )
        self._refresh(session)
        return session

    def _refund(self, refund_id: str) -> dict[str, Any]:
        refund = self._refunds.get(refund_id) if ID_PATTERN.match(refund_id) else None
        if refund is None:
            raise StripeError(
                f"No such refund: '{refund_id}'",
                status=404,
                code="resource_missing",
                param="refund",
            )
        return refund

    def _event(self, event_id: str) -> dict[str, Any]:
        for event in self._events:
            if event["id"] == event_id:
                return event
        raise StripeError(
            f"No such event: '{event_id}'",
            status=404,
            code="resource_missing",
            param="id",
        )

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        now = int(self.now())
        mode = params.get("mode") or "payment"
        if mode != "payment":
            raise StripeError(
                "The Stripe stand-in only supports mode=payment.", param="mode"
            )
        currency = params.get("currency") or None
        if currency is not None:
            currency = str(currency).lower()
        lines = params.get("line_items")
        if not lines:
            raise missing_param("line_items")
        if not isinstance(lines, list):
            raise StripeError("Invalid array", param="line_items")
        items: list[dict[str, Any]] = []
        for index, line in enumerate(lines):
            prefix = f"line_items[{index}]"
            if not isinstance(line, dict):
                raise StripeError("Invalid object", param=prefix)
            if "price" in line:
                raise StripeError(
                    "The Stripe stand-in has no Price objects: use price_data.",
                    param=f"{prefix}[price]",
                )
            price = line.get("price_data")
            if not isinstance(price, dict):
                raise missing_param(f"{prefix}[price_data]")
            line_currency = str(price.get("currency") or currency or "").lower()
            if not line_currency:
                raise missing_param(f"{prefix}[price_data][currency]")
            if not CURRENCY.match(line_currency):
                raise StripeError(
                    f"Invalid currency: {line_currency}.",
                    param=f"{prefix}[price_data][currency]",
                )
            if currency is None:
                currency = line_currency
            elif line_currency != currency:
                raise StripeError(
                    "All line items must use the same currency.",
                    param=f"{prefix}[price_data][currency]",
                )
            if "unit_amount" not in price:
                raise missing_param(f"{prefix}[price_data][unit_amount]")
            unit = integer_param(
                price["unit_amount"], f"{prefix}[price_data][unit_amount]", minimum=0
            )
            product = price.get("product_data")
            name = product.get("name") if isinstance(product, dict) else None
            if not isinstance(name, str) or not name.strip():
                raise missing_param(f"{prefix}[price_data][product_data][name]")
            if "quantity" not in line:
                raise missing_param(f"{prefix}[quantity]")
            quantity = integer_param(line["quantity"], f"{prefix}[quantity]", minimum=1)
            items.append(
                {
                    "name": name,
                    "unit_amount": unit,
                    "quantity": quantity,
                    "amount_total": unit * quantity,
                }
            )
        success_url = url_param(params, "success_url", required=True)
        cancel_url = url_param(params, "cancel_url", required=False)
        if params.get("expires_at") in (None, ""):
            expires_at = now + DEFAULT_EXPIRY_SECONDS
        else:
            expires_at = integer_param(params["expires_at"], "expires_at")
            if expires_at < now + MIN_EXPIRY_SECONDS - EXPIRY_SLACK_SECONDS:
                raise StripeError(
                    "The `expires_at` timestamp must be at least 30 minutes from "
                    "Checkout Session creation.",
                    param="expires_at",
                )
            if expires_at > now + MAX_EXPIRY_SECONDS:
                raise StripeError(
                    "The `expires_at` timestamp must be less than 24 hours from "
                    "Checkout Session creation.",
                    param="expires_at",
                )
        metadata = self._metadata(params.get("metadata"))
        methods = params.get("payment_method_types") or ["card"]
        if not isinstance(methods, list):
            raise StripeError("Invalid array", param="payment_method_types")
        total = sum(item["amount_total"] for item in items)
        session_id = random_id("cs_test_", 58)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": cancel_url,
            "client_reference_id": params.get("client_reference_id") or None,
            "created": now,
            "currency": currency,
            "customer_details": None,
            "customer_email": params.get("customer_email") or None,
            "expires_at": expires_at,
            "livemode": False,
            "metadata": metadata,
            "mode": "payment",
            "payment_intent": None,
            "payment_method_types": [str(method) for method in methods],
            "payment_status": "unpaid",
            "status": "open",
            "success_url": success_url,
            "url": f"{self.base_url}/checkout/{session_id}",
        }
        self._sessions[session_id] = session
        self._line_items[session_id] = items
        return copy.deepcopy(session)

    @staticmethod
    def _metadata(value: Any) -> dict[str, str]:
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise StripeError("Invalid hash", param="metadata")
        if len(value) > MAX_METADATA_KEYS:
            raise StripeError("Metadata can have up to 50 keys.", param="metadata")
        metadata = {}
        for key, item in value.items():
            if not isinstance(item, str):
                raise StripeError("Invalid string", param=f"metadata[{key}]")
            if len(key) > 40 or len(item) > 500:
                raise StripeError(
                    "Metadata keys are limited to 40 characters and values to 500.",
                    param=f"metadata[{key}]",
                )
            if item != "":  # an empty value unsets the key, as on Stripe
                metadata[key] = item
        return metadata

    def _expire_session(self, session_id: str) -> dict[str, Any]:
        session = self._session(session_id)
        if session["status"] != "open":
            raise StripeError(
                'Only Checkout Sessions with a status in ["open"] can be expired.'
                f" This session has status {session['status']}.",
                param="session",
            )
        self._close(session, "expired")
        return copy.deepcopy(session)

    def _paid_session(self, payment_intent: str) -> dict[str, Any] | None:
        """The paid session whose payment intent this is (the stand-in makes
        one only when a session is paid, as Checkout does)."""
        for session in self._sessions.values():
            if (
                session["payment_intent"] == payment_intent
                and session["payment_status"] == "paid"
            ):
                return session
        return None

    def _refunded(self, payment_intent: str) -> int:
        """Cents held by the refunds of a payment intent (a failed or
        canceled refund gives its amount back)."""
        return sum(
            refund["amount"]
            for refund in self._refunds.values()
            if refund["payment_intent"] == payment_intent
            and refund["status"] in REFUND_COUNTED
        )

    def _create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("charge"):
            raise StripeError(
                "The Stripe stand-in has no Charge objects: refund a payment_intent.",
                param="charge",
            )
        payment_intent = params.get("payment_intent")
        if not payment_intent:
            raise missing_param("payment_intent")
        session = None
        if isinstance(payment_intent, str) and ID_PATTERN.match(payment_intent):
            session = self._paid_session(payment_intent)
        if session is None:
            raise StripeError(
                f"No such payment_intent: '{payment_intent}'",
                code="resource_missing",
                param="payment_intent",
            )
        currency = session["currency"]
        left = session["amount_total"] - self._refunded(payment_intent)
        if left <= 0:
            raise StripeError(
                f"Charge for PaymentIntent {payment_intent} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = left
        if params.get("amount") not in (None, ""):
            amount = integer_param(params["amount"], "amount", minimum=1)
        if amount > left:
            raise StripeError(
                f"Refund amount ({english_amount(amount, currency)}) is greater "
                "than unrefunded amount on charge "
                f"({english_amount(left, currency)})",
                param="amount",
            )
        reason = params.get("reason") or None
        if reason is not None and reason not in REFUND_REASONS:
            raise StripeError(
                f"Invalid reason: must be one of {', '.join(REFUND_REASONS)}",
                param="reason",
            )
        refund_id = random_id("re_")
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": None,
            "charge": None,
            "created": int(self.now()),
            "currency": currency,
            "destination_details": None,
            "failure_reason": None,
            "metadata": self._metadata(params.get("metadata")),
            "payment_intent": payment_intent,
            "reason": reason,
            "receipt_number": None,
            "status": "pending" if self.refunds_pending else "succeeded",
        }
        self._refunds[refund_id] = refund
        self._emit("refund.created", refund)
        return copy.deepcopy(refund)

    def _list(
        self,
        items: list[dict[str, Any]],
        params: dict[str, Any],
        url: str,
        noun: str,
    ) -> dict[str, Any]:
        limit = 10
        if params.get("limit") not in (None, ""):
            limit = integer_param(params["limit"], "limit", minimum=1)
            if limit > 100:
                raise StripeError(
                    "This value must be less than or equal to 100.",
                    code="parameter_invalid_integer",
                    param="limit",
                )
        accept = created_filter(params.get("created"), "created")
        items = [item for item in items if accept(item["created"])]
        after = params.get("starting_after")
        if after:
            ids = [item["id"] for item in items]
            if after not in ids:
                raise StripeError(
                    f"No such {noun}: '{after}'",
                    status=404,
                    code="resource_missing",
                    param="starting_after",
                )
            items = items[ids.index(after) + 1 :]
        return {
            "object": "list",
            "data": copy.deepcopy(items[:limit]),
            "has_more": len(items) > limit,
            "url": url,
        }

    def _list_sessions(self, params: dict[str, Any]) -> dict[str, Any]:
        for session in self._sessions.values():
            self._refresh(session)
        sessions = list(reversed(self._sessions.values()))
        status = params.get("status")
        if status:
            if status not in ("open", "complete", "expired"):
                raise StripeError(f"Invalid status: {status}", param="status")
            sessions = [s for s in sessions if s["status"] == status]
        return self._list(sessions, params, "/v1/checkout/sessions", "checkout.session")

    def _list_refunds(self, params: dict[str, Any]) -> dict[str, Any]:
        refunds = list(reversed(self._refunds.values()))
        if params.get("payment_intent"):
            refunds = [
                refund
                for refund in refunds
                if refund["payment_intent"] == params["payment_intent"]
            ]
        return self._list(refunds, params, "/v1/refunds", "refund")

    def _list_events(self, params: dict[str, Any]) -> dict[str, Any]:
        for session in self._sessions.values():
            self._refresh(session)
        events = list(reversed(self._events))
        types = params.get("types") or []
        if params.get("type"):
            types = [params["type"]]
        if types:
            if not isinstance(types, list):
                raise StripeError("Invalid array", param="types")

            def matches(event_type: str) -> bool:
                # Stripe allows one trailing wildcard: checkout.session.*
                return any(
                    event_type == wanted
                    or (wanted.endswith("*") and event_type.startswith(wanted[:-1]))
                    for wanted in types
                )

            events = [event for event in events if matches(event["type"])]
        return self._list(events, params, "/v1/events", "event")
