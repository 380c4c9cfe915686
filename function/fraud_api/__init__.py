"""HTTP layer of the fraud-scoring service: FastAPI app (``fraud_api.app:app``), Mangum handler
(``fraud_api.lambda_handler.handler``) and ``create_app`` for tests and other hosts.

Importing the package loads no model (``fraud_api.app`` does). It does set two pydantic start-up
options before FastAPI is imported, because they are most of the cold start FastAPI can save
(measured in benchmarks/bench_function.py, see BENCHMARKS.md):

- ``defer_build``: pydantic builds a model's validators on first use instead of at class creation.
  FastAPI defines some fifty OpenAPI models at import that only ``/openapi.json`` ever uses, and the
  scoring routes validate with ``validation.py``, not pydantic. Behaviour is unchanged; only the
  moment of building moves. Set through pydantic's config defaults (no public switch exists).
- ``PYDANTIC_DISABLE_PLUGINS``: skip scanning every installed distribution's entry points for
  pydantic plugins (the service uses none). An explicit value in the environment wins.
"""

from __future__ import annotations

import os


def _lean_pydantic_startup() -> None:
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        from pydantic._internal import _config
    except ImportError:  # pydantic moved its internals: start-up is slower, nothing breaks
        return
    defaults = getattr(_config, "config_defaults", None)
    if isinstance(defaults, dict) and "defer_build" in defaults:
        defaults["defer_build"] = True


if os.environ.get("FRAUD_API_EAGER_PYDANTIC", "").lower() not in {"1", "true", "yes"}:
    _lean_pydantic_startup()
