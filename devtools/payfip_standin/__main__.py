"""`python -m devtools.payfip_standin`: the stand-in without Django, for a
developer's own scripts (`manage.py payfip_standin` reads the portal's
settings instead)."""

import argparse

from devtools.payfip_standin.server import PayfipStandin, run_in_foreground
from devtools.standin_http import sleep_a_tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12112)
    parser.add_argument(
        "--numcli",
        default=None,
        help="The one client number known (others are refused with T2); "
        "by default any 6 digits.",
    )
    args = parser.parse_args()
    standin = PayfipStandin(host=args.host, port=args.port, numcli=args.numcli)
    standin.start()
    print(
        f"PayFiP stand-in listening on {standin.base_url}: SOAP at "
        f"{standin.soap_url}, payment page at {standin.payment_url} "
        "(Ctrl+C to stop).",
        flush=True,
    )
    run_in_foreground(standin, tick=sleep_a_tick)


if __name__ == "__main__":
    main()
