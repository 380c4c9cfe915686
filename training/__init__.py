"""Training pipeline: data -> XGBoost -> evaluation -> ONNX export with a parity gate -> model layer.

Run it with ``make train`` (or ``python -m training --help``). It writes ``layers/model/model.onnx``
and ``layers/model/manifest.json`` (the schema lives in ``fraud_scoring.manifest``) plus a report.
"""
