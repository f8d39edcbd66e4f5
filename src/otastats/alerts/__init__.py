"""Alerts: a figure of an app watched against a threshold, and signed webhook calls."""
