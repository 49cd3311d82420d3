"""Settings of the property-based tests (hypothesis) under tests/reliability/.

Every property uses the profile registered here, with its own `max_examples` (the constant next to
each test), so the suite is the same on every machine and in CI:

- derandomize: the examples are derived from each test's name, not drawn at random, so a run is
  reproducible and a failure in CI fails the same way locally; this also means no example
  database, so nothing is written into the checkout (`.hypothesis/`);
- deadline None: the machine is shared, and a slow example is not a failure;
- print_blob: a failure prints the `@reproduce_failure` line that replays it.

`pytest tests/reliability --hypothesis-show-statistics` prints, per property, how many examples
passed. A deeper local search: `--hypothesis-profile kinerja-properties-deep` is not needed; raise
`max_examples` of the property in question and drop derandomize for a random search.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

PROFILE = "kinerja-properties"

settings.register_profile(
    PROFILE,
    derandomize=True,
    deadline=None,
    print_blob=True,
    # Building a landing zone or a scoring input takes longer than hypothesis' default budget for
    # data generation; that is a property of these tests, not a problem.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
