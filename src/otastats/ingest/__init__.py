"""Ingestion: validating reported events and folding them into the kept metric state."""
