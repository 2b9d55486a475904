"""Test-only: a Python process that a test starts keeps the test's clock.

The suite puts this folder first on the PYTHONPATH of the processes it starts
(the portal's server, its worker, the Stripe stand-in, management commands)
with PORTAIL_TEST_CLOCK set to "<fake epoch>@<real epoch>": the process moves
its clock to where the test's clock is now, and lets it tick from there.
"""

import os

_clock = os.environ.get("PORTAIL_TEST_CLOCK")
if _clock:
    import time

    import time_machine

    _fake, _real = (float(part) for part in _clock.split("@"))
    time_machine.travel(_fake + (time.time() - _real), tick=True).start()
