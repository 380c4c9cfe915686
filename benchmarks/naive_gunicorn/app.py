"""NAIVE BASELINE, for benchmarks/bench_selfhosted.py only: never shipped, never deployed.

The same ``POST /predict`` written the way the old nginx + gunicorn + FastAPI service was:
a pydantic ``List[float]`` request model, a synchronous ``def`` endpoint (FastAPI runs it in a
thread pool), a NumPy array built per request, a pydantic response model, served by gunicorn with
uvicorn workers and default settings. ONNX Runtime gets one intra-op thread, like the real app, so
the comparison measures the HTTP and application layers, not a thread-count mistake.
"""

import json
import os
from typing import List, Optional  # noqa: UP035 - the old service style, on purpose

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

MODEL_DIR = os.environ.get("MODEL_DIR", "/opt/model")
with open(os.path.join(MODEL_DIR, "manifest.json")) as handle:
    MANIFEST = json.load(handle)
options = ort.SessionOptions()
options.intra_op_num_threads = 1
session = ort.InferenceSession(os.path.join(MODEL_DIR, MANIFEST["onnx_file"]), options)
input_name = session.get_inputs()[0].name
output_names = [output.name for output in session.get_outputs()]
PROBABILITY_INDEX = output_names.index(MANIFEST["probability_output"])
THRESHOLD = MANIFEST["threshold"]

app = FastAPI(title="Fraud Detection API (naive baseline)")


class Transaction(BaseModel):
    features: List[float]  # noqa: UP006 - the old service's style, on purpose
    transaction_id: Optional[str] = None  # noqa: UP045


class Prediction(BaseModel):
    fraud_score: float
    is_fraud: bool
    threshold: float
    model_version: str
    transaction_id: Optional[str] = None  # noqa: UP045


@app.post("/predict", response_model=Prediction)
def predict(tx: Transaction):
    if len(tx.features) != len(MANIFEST["feature_names"]):
        raise HTTPException(status_code=422, detail="wrong number of features")
    x = np.array(tx.features, dtype=np.float32).reshape(1, -1)
    outputs = session.run(None, {input_name: x})
    score = float(outputs[PROBABILITY_INDEX][0][MANIFEST["positive_class_index"]])
    return Prediction(
        fraud_score=score,
        is_fraud=score >= THRESHOLD,
        threshold=THRESHOLD,
        model_version=MANIFEST["model_version"],
        transaction_id=tx.transaction_id,
    )


@app.get("/health")
def health():
    return {"status": "ok"}
