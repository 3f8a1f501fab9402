"""Structured logging through Powertools, created on first use to keep init lean."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger


@functools.cache
def logger() -> Logger:
    from aws_lambda_powertools import Logger

    from predictor.observability._settings import ObservabilitySettings

    settings = ObservabilitySettings.from_environ()
    return Logger(service=settings.service, level=settings.log_level)
