"""Watching the model after it ships: live performance from late labels (``python -m monitoring.performance``).

Reads the service's decision logs (JSON lines, ``fraud_api.telemetry``) from files: the output of
``make serve`` (the emulator), the self-hosted server's log, or a CloudWatch Logs export.
"""
