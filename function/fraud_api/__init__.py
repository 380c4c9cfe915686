"""HTTP layer of the fraud-scoring service: FastAPI app (``fraud_api.app:app``), Mangum handler
(``fraud_api.lambda_handler.handler``) and ``create_app`` for tests and other hosts.

Importing the package itself loads nothing: the model is loaded by ``fraud_api.app``.
"""
