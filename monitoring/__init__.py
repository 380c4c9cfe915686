"""Watching the service from its decision logs: champion vs challenger, drift, live performance."""
