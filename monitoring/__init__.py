"""Watching the service from its decision logs: champion vs challenger (``python -m monitoring.compare``),
live performance from late labels (``python -m monitoring.performance``), promotion (``monitoring.promote``).

Decision logs are the JSON lines the service writes (``fraud_api.telemetry``): the output of
``make serve`` (the emulator), the self-hosted server's log, or a CloudWatch Logs export.
"""
