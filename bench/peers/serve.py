"""The serving peer: the benchmark's model behind FastAPI, the way a PyTorch user would serve it.

    MODEL_WEIGHTS=model.pt TORCH_THREADS=N [TORCH_DEVICE=cuda] python3 -m uvicorn serve:app --host 127.0.0.1 --port 5092

One uvicorn process. POST /predict takes RnnService's request body ({"model": ..., "inputs": [sequence, ...]}, each
sequence a list of steps of 8 features) and answers {"outputs": [[value], ...]}: the request's sequences padded and
packed into one batch (moved to the GPU when TORCH_DEVICE says so), the LSTM run under torch.inference_mode(), the
head's output per sequence. A plain `def`
endpoint, so FastAPI runs requests on its thread pool and PyTorch works outside the GIL.

Where FastAPI cannot load (Debian 12's pydantic 1.10.4, which the GPU kit carries, fails on Python 3.12.4 and later),
the same endpoints run on Starlette, FastAPI's own core, without its request validation; GET /health names the one.
"""
import os
from typing import List

import torch
import torch.nn as nn
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
device = torch.device(os.environ.get("TORCH_DEVICE", "cpu"))
torch.backends.cudnn.allow_tf32 = False  # float32, as RnnService serves by default (Engine:AllowTf32)
model = SequenceModel()
model.load_state_dict(torch.load(os.environ["MODEL_WEIGHTS"], map_location="cpu"))
model.to(device).eval()
def predict(name: str, inputs: List[List[List[float]]]):
    sequences = [torch.tensor(sequence, dtype=torch.float32) for sequence in inputs]
    lengths = torch.tensor([len(sequence) for sequence in sequences])
    with torch.inference_mode():
        outputs = model(pad_sequence(sequences, batch_first=True).to(device), lengths)
    return {"model": name, "outputs": outputs.tolist()}


def health():
    return {"status": "ok", "threads": torch.get_num_threads(), "device": str(device), "framework": framework}


try:
    from fastapi import FastAPI
    from pydantic import BaseModel

    framework = "fastapi"
    app = FastAPI()

    class PredictRequest(BaseModel):
        model: str
        inputs: List[List[List[float]]]

    @app.post("/predict")
    def predict_endpoint(request: PredictRequest):
        return predict(request.model, request.inputs)

    app.get("/health")(health)
except Exception:  # pydantic 1.10.4 on Python 3.12.4+: TypeError from typing.ForwardRef._evaluate
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    framework = "starlette"

    async def predict_endpoint(request):
        body = await request.json()
        return JSONResponse(await run_in_threadpool(predict, body["model"], body["inputs"]))

    async def health_endpoint(_):
        return JSONResponse(health())

    app = Starlette(routes=[Route("/predict", predict_endpoint, methods=["POST"]), Route("/health", health_endpoint)])
