"""NAIVE BASELINE for benchmarks only: the old service's style on Lambda. Not shipped, not tested."""
# ruff: noqa: UP006, UP035, UP045  (kept in the old service's typing style on purpose)

import json
import os
from typing import List, Optional

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI, HTTPException
from mangum import Mangum
from pydantic import BaseModel

MODEL_DIR = os.environ.get("MODEL_DIR", "/opt/model")
with open(os.path.join(MODEL_DIR, "manifest.json")) as handle:
    MANIFEST = json.load(handle)
session = ort.InferenceSession(os.path.join(MODEL_DIR, MANIFEST["onnx_file"]))
input_name = session.get_inputs()[0].name
output_names = [output.name for output in session.get_outputs()]
PROBABILITY_INDEX = output_names.index(MANIFEST["probability_output"])
THRESHOLD = MANIFEST["threshold"]

app = FastAPI(title="Fraud Detection API")


class Transaction(BaseModel):
    features: List[float]
    transaction_id: Optional[str] = None


class Prediction(BaseModel):
    fraud_score: float
    is_fraud: bool
    threshold: float
    model_version: str
    transaction_id: Optional[str] = None


@app.post("/predict", response_model=Prediction)
async def predict(tx: Transaction):
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
async def health():
    return {"status": "ok"}


handler = Mangum(app)
