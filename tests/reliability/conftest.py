"""Settings of the property-based tests (hypothesis) under tests/reliability/.

Every property builds its settings on the profile registered here, with its own `max_examples`
(the `*_EXAMPLES` constant next to each test), so the suite runs the same on every machine:

- derandomize: the examples derive from each test's name instead of a random seed, so a run is
  reproducible and a failure in CI fails the same way locally; it also means no example database,
  so nothing is written into the checkout (`.hypothesis/`);
- deadline None: the machine is shared, and a slow example is not a failure;
- no shrink phase: an example validates a landing zone or scores a period, and shrinking a
  failure took up to half an hour; the failing example is printed as generated (with
  `@reproduce_failure`). KINERJA_PROPERTY_SHRINK=1 shrinks it to a minimal one, for debugging.

`pytest tests/reliability --hypothesis-show-statistics` prints, per property, how many examples
ran and what they covered (the `event`s).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

PROFILE = "kinerja-properties"

_PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
if os.environ.get("KINERJA_PROPERTY_SHRINK") == "1":
    _PHASES += [Phase.shrink, Phase.explain]

settings.register_profile(
    PROFILE,
    derandomize=True,
    deadline=None,
    print_blob=True,
    phases=_PHASES,
    # Drawing a scoring input or a landing-zone breakage takes longer than hypothesis' default
    # budget for data generation; that is the nature of these tests, not a problem.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
