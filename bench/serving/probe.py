"""What bench/serving/run.sh asks of HTTP, with the standard library only (a GPU machine may have no curl).
  probe.py wait URL                   waits up to 60 s for URL to answer 2xx and prints the answer; exits 1 if it never does
  probe.py upload URL FILE SPEC       POSTs FILE as the multipart field `weights` and SPEC as the field `spec`
"""
import sys
import time
import urllib.error
import urllib.request
import uuid


def wait(url):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                print(response.read().decode())
                return 0
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    print(f"{url} did not answer within 60 s", file=sys.stderr)
    return 1


def upload(url, path, spec):
    boundary = uuid.uuid4().hex
    with open(path, "rb") as f:
        weights = f.read()
    body = b"".join([
        f'--{boundary}\r\nContent-Disposition: form-data; name="spec"\r\n\r\n{spec}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="weights"; filename="model.pt"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode(),
        weights,
        f"\r\n--{boundary}--\r\n".encode(),
    ])
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=60):
            return 0
    except urllib.error.HTTPError as error:
        print(f"{url}: {error.code} {error.read().decode(errors='replace')}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    sys.exit(wait(*args) if command == "wait" else upload(*args))
