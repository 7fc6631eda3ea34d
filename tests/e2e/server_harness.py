"""Starts the real `qinfer serve` on a tiny checkpoint for the e2e server tests and stops it.
The port is chosen by the server (--port 0) and read from its log line."""
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request

QINFER_BIN = os.environ.get("QINFER_BIN", os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "apps", "qinfer"))


class Server:
    def __init__(self, model_dir, *args, env=None):
        self.lines = []
        cmd = [QINFER_BIN, "serve", model_dir, "--host", "127.0.0.1", "--port", "0", *args]
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     text=True, env=e)
        self.port = None
        ready = threading.Event()

        def reader():
            for line in self.proc.stderr:
                self.lines.append(line.rstrip("\n"))
                m = re.search(r"on http://[^:]+:(\d+) ", line)
                if m:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()

        self.thread = threading.Thread(target=reader, daemon=True)
        self.thread.start()
        # Opening the checkpoint parses the 6 MB tokenizer.json: allow for a slow machine.
        ready.wait(240)
        if self.port is None:
            self.stop()
            raise RuntimeError("server did not start:\n" + "\n".join(self.lines[-30:]))
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(self.url + "/health", timeout=5)
                break
            except OSError:
                time.sleep(0.05)

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def metrics(self):
        text = urllib.request.urlopen(self.url + "/metrics", timeout=10).read().decode()
        out = {}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
        return out

    def request_logs(self):
        import json
        return [json.loads(l) for l in self.lines if l.startswith("{")]

    def terminate(self, timeout=60):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
