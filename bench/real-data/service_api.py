"""The service's HTTP API as the real-data benchmarks use it: upload a dataset, train with the defaults (and any
settings a variant names), predict in chunks."""
import json
import os
import time
import urllib.request
import uuid


class Service:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, content_type="application/json"):
        request = urllib.request.Request(self.base + path, data=body, method=method,
                                         headers={"Content-Type": content_type} if body else {})
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read())

    def upload(self, path):
        boundary = uuid.uuid4().hex
        with open(path, "rb") as f:
            content = f.read()
        name = os.path.basename(path)
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
        return self.call("POST", "/datasets", body, f"multipart/form-data; boundary={boundary}")

    def train(self, dataset, model_name, task, variant=None):
        """A job with the task and the variant's settings ({"model": {...}, ...}), followed until it ends."""
        body = {"datasetId": dataset["id"], "modelName": model_name, "task": task}
        for part, settings in (variant or {}).items():
            body[part] = {**body.get(part, {}), **settings}
        job = self.call("POST", "/training-jobs", json.dumps(body).encode())
        while job["state"] in ("queued", "running"):
            time.sleep(1)
            job = self.call("GET", f"/training-jobs/{job['id']}")
        return job

    def tune(self, dataset, model_name, task, search, shared=None):
        """A tuning job over the search (and the shared settings, {"training": {...}, ...}), followed until it ends."""
        body = {"datasetId": dataset["id"], "modelName": model_name, "task": task, "search": search, **(shared or {})}
        tuning = self.call("POST", "/tuning-jobs", json.dumps(body).encode())
        while tuning["state"] in ("queued", "running"):
            time.sleep(1)
            tuning = self.call("GET", f"/tuning-jobs/{tuning['id']}")
        return tuning

    def predict(self, model_name, field, items, chunk=512, **parallel):
        """Outputs for items, in chunks; parallel: lists that go with the items (a forecast's starts, future)."""
        outputs = []
        for start in range(0, len(items), chunk):
            body = {"model": model_name, field: items[start:start + chunk],
                    **{name: values[start:start + chunk] for name, values in parallel.items()}}
            outputs += self.call("POST", "/predict", json.dumps(body).encode())["outputs"]
        return outputs
