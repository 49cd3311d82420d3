"""The logger of the Prefect run a step is in, for steps that also run outside Prefect."""

from __future__ import annotations

import logging


def run_logger(fallback: logging.Logger) -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """Prefect's run logger inside a flow or task run (its records reach the Prefect API),
    else `fallback` (a module's own logger: tests, scripts, the CLI's own steps)."""
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return fallback
