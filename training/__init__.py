"""Training pipeline: data -> XGBoost -> evaluation -> ONNX + explainer export with parity gates -> model layer.

Run it with ``make train`` (or ``python -m training --help``). It writes ``layers/model/model.onnx``,
``layers/model/explainer.npz`` and ``layers/model/manifest.json`` (the schema lives in
``fraud_scoring.manifest``) plus a report.
"""
