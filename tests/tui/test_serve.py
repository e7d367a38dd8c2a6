"""`redislab serve` in headless Chromium: the page loads the app, a lesson step runs from
keystrokes sent to the page, the lab shows the result (read with redis-py), a screenshot is
saved in the test's tmp dir, and closing the page tears the lab down.

Chromium is driven over the Chrome DevTools protocol (``websockets``). Without Debian's
chromium the test skips, except under CI=true where that is a failure.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from nodes import free_port, wait_until
from tuitools import free_base, in_ci

pytestmark = pytest.mark.xdist_group("tui")
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
KEYS = {  # key, code, windowsVirtualKeyCode, text
    "Enter": ("Enter", "Enter", 13, "\r"),
    "F2": ("F2", "F2", 113, ""),
    "F3": ("F3", "F3", 114, ""),
    "F7": ("F7", "F7", 118, ""),
}


def chromium() -> str | None:
    for path in CHROMIUM:
        if os.path.exists(path):
            return path
    return shutil.which("chromium")


def wait(cond: Any, timeout: float, what: str) -> Any:
    return wait_until(cond, timeout, 0.2, what, errors=(Exception,))  # not there yet


def http_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read()


class DevTools:
    """A minimal Chrome DevTools protocol client on one page."""

    def __init__(self, ws_url: str):
        from websockets.sync.client import connect

        self._conn = connect(ws_url, max_size=64 * 1024 * 1024, open_timeout=10)
        self.ws = self._conn.__enter__()
        self.next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=30))
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def key(self, name: str) -> None:
        key, code, vk, text = KEYS[name]
        down = dict(type="keyDown", key=key, code=code, windowsVirtualKeyCode=vk,
                    nativeVirtualKeyCode=vk)
        if text:
            down["text"] = text
        self.call("Input.dispatchKeyEvent", **down)
        self.call("Input.dispatchKeyEvent", type="keyUp", key=key, code=code,
                  windowsVirtualKeyCode=vk, nativeVirtualKeyCode=vk)

    def close(self) -> None:
        try:
            self._conn.__exit__(None, None, None)
        except Exception:
            pass


def test_serve_in_chromium(tmp_path: Path, lab_home: Path) -> None:
    browser = chromium()
    if browser is None:
        if in_ci():
            pytest.fail("chromium is missing (scripts/system-deps.sh installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from redislab.backends import labs
    from redislab.lab.progress import Progress

    env = dict(os.environ, REDISLAB_HOME=str(lab_home), LANG="C.UTF-8")
    port, devtools_port = free_port(), free_port()
    serve = subprocess.Popen([sys.executable, "-m", "redislab", "serve", "--port", str(port),
                              "--fast", "--lang", "en", "--base-port",
                              str(free_base(3, 20400))], cwd=ROOT, env=env,
                             stdout=open(tmp_path / "serve.log", "wb"),
                             stderr=subprocess.STDOUT, start_new_session=True)
    chrome = None
    page = None
    try:
        wait(lambda: b"textual" in http_get(f"http://127.0.0.1:{port}/"), 30, "the server")
        chrome = subprocess.Popen(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={tmp_path / 'chrome'}",
             f"--remote-debugging-port={devtools_port}", "--remote-debugging-address=127.0.0.1",
             "--window-size=1500,950", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        targets = wait(lambda: [t for t in json.loads(http_get(
            f"http://127.0.0.1:{devtools_port}/json/list")) if t.get("type") == "page"],
            30, "chromium's DevTools")
        page = DevTools(targets[0]["webSocketDebuggerUrl"])
        page.call("Page.enable")
        page.call("Page.navigate", url=f"http://127.0.0.1:{port}/")
        wait(lambda: page.evaluate("document.body && document.body.classList.contains("
                                   "'-first-byte')"), 60, "the app's first bytes in the page")
        time.sleep(2.0)  # the start screen has loaded its lessons
        page.evaluate("document.querySelector('.xterm-helper-textarea').focus()")

        page.key("Enter")  # open lesson 1
        record = wait(lambda: next((r for r in labs() if r.state == "running"), None), 90,
                      "the lesson's lab")
        master = next(n for n in record.topology["nodes"] if n["name"] == "master")
        import redis

        r = redis.Redis(port=master["port"], decode_responses=True, socket_timeout=5)
        wait(lambda: r.ping(), 30, "the master")
        time.sleep(2.0)  # the lesson screen is showing step 1

        page.key("F7")  # step 2: "A key before replication"
        time.sleep(1.5)
        page.key("F2")  # run it: SET k1 v1 on master
        wait(lambda: r.get("k1") == "v1", 30, "k1 written on the master by the step")
        page.key("F3")  # check it
        wait(lambda: 1 in Progress().get("master-two-replicas").done, 60,
             "step 2 recorded as passed")
        time.sleep(1.0)
        shot = page.call("Page.captureScreenshot", format="png")
        out = tmp_path / "serve.png"
        out.write_bytes(base64.b64decode(shot["data"]))
        assert out.stat().st_size > 10_000
        print(f"screenshot: {out}")

        page.call("Page.close")  # the app's session ends with the page: its lab goes
        page.close()
        page = None
        wait(lambda: not labs(), 60, "the lab torn down after the page closed")
    finally:
        if page is not None:
            page.close()
        for proc in (chrome, serve):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
