"""otastats: exact, real-time usage statistics for live-update (OTA) platforms."""

__version__ = "0.1.0"
