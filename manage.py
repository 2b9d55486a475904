#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    if sys.version_info < (3, 12):  # noqa: UP036 - says why, instead of a SyntaxError
        sys.exit(
            "Portail Familles needs Python 3.12 or newer; this is Python "
            f"{sys.version.split()[0]}."
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portail.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
