"""Persistence: the Store protocol and its backends. The only package that holds SQL."""

from otastats.storage.base import Store
from otastats.storage.open import open_store

__all__ = ["Store", "open_store"]
