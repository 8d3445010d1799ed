#!/usr/bin/env python3
"""OpenAI-compatible /v1/moderations server around alt-profanity-check.

A real (trained, not simulated) offensive-language classifier exposed with the
request/response shape of OpenAI's moderation endpoint, so that `ttu` can use
it as a rater with no network access and no API key.

  POST /v1/moderations   {"input": "text" | ["t1", ...], "model": "..."}
  GET  /v1/models        model list (OpenAI shape)
  GET  /health           {"status": "ok", ...}

Response for POST /v1/moderations:

  {"id": "modr-<hex>", "model": "alt-profanity-check",
   "results": [{"flagged": bool,
                "categories": {"profanity": bool, "harassment": bool},
                "category_scores": {"profanity": p, "harassment": p}}]}

The classifier yields one probability p per text; both categories carry it
(the classifier does not distinguish them). flagged = p >= threshold.

Errors use OpenAI's shape: {"error": {"message", "type", "param", "code"}}
with HTTP 400 (bad request), 404 (unknown path), 405, 413, 500.

Stdlib only (http.server.ThreadingHTTPServer) apart from profanity_check.
Listens on 127.0.0.1 by default.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL_ID = "alt-profanity-check"
MAX_BODY = 16 * 1024 * 1024  # bytes
MAX_INPUTS = 4096

_predict_lock = threading.Lock()
_predict_prob = None


def load_classifier():
    global _predict_prob
    from profanity_check import predict_prob  # noqa: WPS433 (import here: clear error)

    predict_prob(["warm-up"])  # load the vectorizer/model now, not on first request
    _predict_prob = predict_prob


def score(texts: list[str]) -> list[float]:
    if not texts:
        return []
    # scikit-learn objects are not documented as thread-safe for predict; serialise.
    with _predict_lock:
        probs = _predict_prob(texts)
    return [float(p) for p in probs]


class BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


def parse_inputs(body: object) -> list[str]:
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object", code="invalid_body")
    if "input" not in body:
        raise BadRequest("missing required field 'input'", param="input", code="missing_input")
    raw = body["input"]
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list):
        if len(raw) > MAX_INPUTS:
            raise BadRequest(f"at most {MAX_INPUTS} inputs per request", param="input")
        texts = []
        for i, item in enumerate(raw):
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, dict) and item.get("type") == "text" and isinstance(item.get("text"), str):
                # OpenAI multi-modal input form: {"type": "text", "text": "..."}
                texts.append(item["text"])
            else:
                raise BadRequest(f"input[{i}] must be a string", param="input", code="invalid_input")
        return texts
    raise BadRequest("'input' must be a string or an array of strings", param="input", code="invalid_input")


class Handler(BaseHTTPRequestHandler):
    server_version = "ttu-moderation/1.0"
    protocol_version = "HTTP/1.1"  # keep-alive for clients that reuse connections
    threshold = 0.5
    quiet = False

    # --- helpers -----------------------------------------------------------
    def _send_json(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status: int, message: str, etype: str = "invalid_request_error",
               param: str | None = None, code: str | None = None) -> None:
        self._send_json(status, {"error": {"message": message, "type": etype, "param": param, "code": code}})

    def _path(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/") or "/"

    def log_message(self, fmt, *args):  # noqa: D401
        if not self.quiet:
            sys.stderr.write("%s - [%s] %s\n" % (self.address_string(), self.log_date_time_string(), fmt % args))

    # --- GET ----------------------------------------------------------------
    def do_GET(self):
        path = self._path()
        if path in ("/health", "/v1/health"):
            self._send_json(200, {"status": "ok", "model": MODEL_ID, "threshold": self.threshold})
        elif path == "/v1/models":
            self._send_json(200, {"object": "list", "data": [
                {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "local"}]})
        elif path == f"/v1/models/{MODEL_ID}":
            self._send_json(200, {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "local"})
        elif path == "/v1/moderations":
            self._error(405, "use POST for /v1/moderations")
        else:
            self._error(404, f"unknown path {path}", code="not_found")

    do_HEAD = do_GET

    # --- POST ---------------------------------------------------------------
    def do_POST(self):
        path = self._path()
        # Always drain the body so keep-alive connections stay in sync.
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            return self._error(400, "invalid Content-Length")
        if length > MAX_BODY:
            self.close_connection = True
            return self._error(413, f"request body larger than {MAX_BODY} bytes")
        raw = self.rfile.read(length) if length else b""

        if path != "/v1/moderations":
            return self._error(404, f"unknown path {path}", code="not_found")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return self._error(400, f"malformed JSON body: {exc}", code="invalid_json")
        try:
            texts = parse_inputs(body)
        except BadRequest as exc:
            return self._error(400, exc.message, param=exc.param, code=exc.code)
        try:
            probs = score(texts)
        except Exception as exc:  # pragma: no cover - classifier failure
            return self._error(500, f"classifier failed: {exc}", etype="server_error")

        thr = self.threshold
        results = []
        for p in probs:
            hit = p >= thr
            results.append({
                "flagged": hit,
                "categories": {"profanity": hit, "harassment": hit},
                "category_scores": {"profanity": p, "harassment": p},
            })
        self._send_json(200, {"id": "modr-" + uuid.uuid4().hex, "model": MODEL_ID, "results": results})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8082)
    ap.add_argument("--threshold", type=float, default=0.5,
                    help="flag when the classifier's probability >= this (default 0.5)")
    ap.add_argument("--quiet", action="store_true", help="no per-request access log")
    args = ap.parse_args(argv)
    if not 0.0 <= args.threshold <= 1.0:
        ap.error("--threshold must be in [0, 1]")

    t0 = time.monotonic()
    try:
        load_classifier()
    except Exception as exc:
        print(f"moderation_server: cannot load alt-profanity-check: {exc}", file=sys.stderr)
        return 2

    Handler.threshold = args.threshold
    Handler.quiet = args.quiet
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.allow_reuse_address = True
    httpd = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"moderation_server: model {MODEL_ID} loaded in {time.monotonic() - t0:.2f} s; "
          f"threshold {args.threshold}; listening on http://{args.host}:{args.port}/v1", file=sys.stderr, flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
