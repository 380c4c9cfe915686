"""The gunicorn worker class: uvicorn's, with the ASGI lifespan off (the app has no startup work:
the model loads when the app is built in the worker) and no per-request access log (the app
writes one decision line per transaction; a load balancer keeps the access log)."""

from __future__ import annotations

import warnings
from typing import Any

with warnings.catch_warnings():
    # uvicorn points to the separate uvicorn-worker package; this module is the same class, and is
    # pinned in the lock file with uvicorn itself.
    warnings.simplefilter("ignore", DeprecationWarning)
    from uvicorn.workers import UvicornWorker


class ServerWorker(UvicornWorker):
    CONFIG_KWARGS: dict[str, Any] = {  # noqa: RUF012 - the base class's own attribute
        "loop": "auto",
        "http": "auto",
        "lifespan": "off",
        "access_log": False,
        "server_header": False,
    }
