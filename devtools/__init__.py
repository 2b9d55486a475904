"""Tools for developers and tests, never part of the product: the local
stand-in of Stripe. Installed as a Django app only with DEBUG or in tests."""
