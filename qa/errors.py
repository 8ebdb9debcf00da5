"""newsqa's small, typed error hierarchy: every message says what to do next."""

from __future__ import annotations


class NewsqaError(Exception):
    """Base class of every error newsqa raises on purpose."""


class ConfigError(NewsqaError):
    """A setting is missing or invalid."""


class IngestError(NewsqaError):
    """An input could not be read as articles."""


class StoreError(NewsqaError):
    """The on-disk index is missing, locked, or inconsistent."""


class ModelError(NewsqaError):
    """A model is not present, or could not be fetched or loaded."""


class LLMError(NewsqaError):
    """The language model failed to answer."""


class InputError(NewsqaError):
    """A question or request is not usable as given."""
