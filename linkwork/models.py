"""Imports every domain package's tables so SQLModel.metadata knows them all (Alembic, tests)."""

import directory.models  # noqa: F401
import screening.casework.models
import screening.counts
import screening.exchange.delivery
import screening.exchange.models
import screening.models  # noqa: F401
