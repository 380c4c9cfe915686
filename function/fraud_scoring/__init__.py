"""Fraud-scoring core: the model manifest, the ONNX Runtime session, score-one and score-many.

No web framework is imported here; every way of running the service (Lambda, the local
emulator, the self-hosted server) is a thin adapter on top of this package.
"""
