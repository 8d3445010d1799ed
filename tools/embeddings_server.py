#!/usr/bin/env python3
"""A minimal OpenAI-compatible /v1/embeddings server on llama-cpp-python (127.0.0.1 only):
the GGUF's mean-pooled last hidden states, one vector per input text. A stand-in for
`tools/start-llm.sh --embeddings` (llama.cpp's llama-server) when only llama-cpp-python is
installed: llama_cpp.server cannot set the pooling type, and SmolLM2's GGUF has none, so it
would return one vector per token.

  tools/.venv/bin/python tools/embeddings_server.py --model GGUF [--port 8084] [--pooling mean|cls|last]
"""
import argparse, json, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
import llama_cpp

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True); ap.add_argument("--port", type=int, default=8084)
ap.add_argument("--pooling", default="mean", choices=["mean", "cls", "last"]); ap.add_argument("--threads", type=int, default=1)
a = ap.parse_args()
pool = {"mean": llama_cpp.LLAMA_POOLING_TYPE_MEAN, "cls": llama_cpp.LLAMA_POOLING_TYPE_CLS, "last": llama_cpp.LLAMA_POOLING_TYPE_LAST}[a.pooling]
llm = llama_cpp.Llama(model_path=a.model, embedding=True, pooling_type=pool, n_ctx=512, n_batch=512, n_ubatch=512,
                      n_threads=a.threads, n_threads_batch=a.threads, verbose=False)
lock = threading.Lock()

class H(BaseHTTPRequestHandler):
    def log_message(self, *x): pass
    def send(self, obj, code=200):
        b = json.dumps(obj).encode()
        self.send_response(code); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def do_GET(self):
        if self.path.rstrip("/") in ("/v1/models", "/health"):
            return self.send({"object": "list", "data": [{"id": "embeddings", "pooling": a.pooling}]})
        self.send({"error": {"message": "unknown path"}}, 404)
    def do_POST(self):
        if self.path != "/v1/embeddings":
            return self.send({"error": {"message": "unknown path"}}, 404)
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            xs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            assert all(isinstance(x, str) for x in xs)
        except Exception as e:
            return self.send({"error": {"message": f"bad request: {e}"}}, 400)
        with lock:  # one model, one context: one text at a time
            vs = [llm.embed(x) for x in xs]
        self.send({"object": "list", "model": body.get("model", ""),
                   "data": [{"object": "embedding", "index": k, "embedding": v} for k, v in enumerate(vs)]})

ThreadingHTTPServer(("127.0.0.1", a.port), H).serve_forever()
