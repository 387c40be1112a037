"""Tooling for the retention warehouse: generate, load, validate, bench."""
