"""The online payment providers the portal knows, and the one a commune
chose (`PORTAIL_PAYMENT_PROVIDER`). A checkout keeps the provider it was
opened with, so that changing the setting never strands a payment."""

from __future__ import annotations

from django.conf import settings

from paiements import payfip_gateway, stripe_gateway
from paiements.remote import Provider

PROVIDERS: dict[str, Provider] = {
    stripe_gateway.PROVIDER.name: stripe_gateway.PROVIDER,
    payfip_gateway.PROVIDER.name: payfip_gateway.PROVIDER,
}


def provider(name: str | None = None) -> Provider:
    """The provider of that name; by default the commune's."""
    return PROVIDERS[name or settings.PORTAIL_PAYMENT_PROVIDER]
