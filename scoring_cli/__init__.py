"""Offline scoring and backtesting over files: an adapter over fraud_scoring (see docs/policy.md)."""
