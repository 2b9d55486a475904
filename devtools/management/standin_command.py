"""What the stand-ins' management commands (`stripe_standin`,
`payfip_standin`) share: the --allow-without-debug switch and the refusal
without DEBUG, the listening address read from a setting, and the errors
at start turned into CommandError."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser


def add_allow_without_debug(parser: CommandParser) -> None:
    parser.add_argument(
        "--allow-without-debug",
        action="store_true",
        help="Run even though DEBUG is off (tests, demos). Never in production.",
    )


def refuse_without_debug(label: str, options: dict[str, Any]) -> None:
    """CommandError unless DEBUG is on or --allow-without-debug was given."""
    if not settings.DEBUG and not options["allow_without_debug"]:
        raise CommandError(
            f"The {label} stand-in is a development tool and must never run in "
            "production: it starts only when DEBUG is on, or with "
            "--allow-without-debug."
        )


def listen_address(setting: str, url: str, example: str) -> tuple[str, int]:
    """The host and port of `url`, the value of the setting named `setting`;
    CommandError (naming the setting, showing `example`) unless it is a plain
    http:// address with a valid port."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError as error:
        raise CommandError(f"{setting} has an invalid port: {url}") from error
    if parts.scheme != "http" or not parts.hostname:
        raise CommandError(
            f"{setting} must be a plain http:// address for the stand-in, "
            f"like {example}; got {url!r}."
        )
    return parts.hostname, 80 if port is None else port


@contextmanager
def starting(label: str, host: str, port: int) -> Iterator[None]:
    """Turn the errors of creating and starting a stand-in (a busy port, a
    bad setting) into CommandError."""
    try:
        yield
    except (OSError, ValueError) as error:
        raise CommandError(
            f"Cannot start the {label} stand-in on {host}:{port}: {error}"
        ) from error
