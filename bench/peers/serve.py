"""The serving peer: the benchmark's model behind FastAPI, the way a PyTorch user would serve it.

    MODEL_WEIGHTS=model.pt TORCH_THREADS=N python3 -m uvicorn serve:app --host 127.0.0.1 --port 5092

One uvicorn process. POST /predict takes RnnService's request body ({"model": ..., "inputs": [sequence, ...]}, each
sequence a list of steps of 8 features) and answers {"outputs": [[value], ...]}: the request's sequences padded and
packed into one batch, the LSTM run under torch.inference_mode(), the head's output per sequence. A plain `def`
endpoint, so FastAPI runs requests on its thread pool and PyTorch works outside the GIL.
"""
import os
from typing import List

import torch
import torch.nn as nn
from fastapi import FastAPI
from pydantic import BaseModel
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence


class SequenceModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(8, 128, num_layers=2, batch_first=True)
        self.head = nn.Linear(128, 1)

    def forward(self, x, lengths):
        _, (h, _) = self.rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        return self.head(h[-1])


torch.set_num_threads(int(os.environ.get("TORCH_THREADS", torch.get_num_threads())))
model = SequenceModel()
model.load_state_dict(torch.load(os.environ["MODEL_WEIGHTS"]))
model.eval()
app = FastAPI()


class PredictRequest(BaseModel):
    model: str
    inputs: List[List[List[float]]]


@app.post("/predict")
def predict(request: PredictRequest):
    sequences = [torch.tensor(sequence, dtype=torch.float32) for sequence in request.inputs]
    lengths = torch.tensor([len(sequence) for sequence in sequences])
    with torch.inference_mode():
        outputs = model(pad_sequence(sequences, batch_first=True), lengths)
    return {"model": request.model, "outputs": outputs.tolist()}


@app.get("/health")
def health():
    return {"status": "ok", "threads": torch.get_num_threads()}
