"""Self-hosted adapter: the fraud API as a plain HTTP server (gunicorn + uvicorn workers).

For running outside AWS (a VM, ECS, Kubernetes). It serves the same FastAPI app as the Lambda
function (``fraud_api.factory.create_app`` around the model from ``$MODEL_DIR``) and adds, in
process, what API Gateway gives the Lambda variant: token-bucket throttling with the same 429 body,
a request-body limit, and Prometheus metrics on ``/metrics``.

Entry point: ``python -m selfhosted`` (the container's CMD and ``make serve-selfhosted``).
"""
