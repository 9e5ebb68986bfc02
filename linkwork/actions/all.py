"""Every action module, for a front end that reaches them through one import (the app)."""

from linkwork.actions import people

__all__ = ["people"]
