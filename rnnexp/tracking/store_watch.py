"""Saying, within seconds, that the store is waiting: a slow statement or server request.

Installed by `Tracker`; each watcher prints one line at most every 30 s. `SLOW_STORE_S` is
read from here when a wait begins, by `store`'s lock waits too, so one setting times both.
"""

import math
import os

SLOW_STORE_S = 3.0  # a database statement or server request this slow is waiting: say so


def server_give_up_s() -> float:
    """About how long MLflow tries one request to a silent server (tries x timeout + backoff)."""
    try:
        tries = 1 + int(os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"])
        timeout = float(os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"])
        backoff = float(os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"])
    except (KeyError, ValueError):
        return 30.0
    return tries * timeout + sum(backoff * 2**i for i in range(1, tries - 1))


class _SlowStatements:
    """Say, within seconds, that a database statement is waiting (a locked sqlite file).

    SQLAlchemy's cursor events time every statement MLflow runs; one that has
    not returned after `SLOW_STORE_S` gets one console line, instead of the
    silence of sqlite's 20 s busy timeout. Once a statement has given up on a
    lock, the ones that end the runs wait 1 s each, not 20: the whole fault
    is said within ~30 s (a run they cannot end, `--resume` or the next run
    marks KILLED).
    """

    def __init__(self):
        import threading

        self.lock = threading.Lock()
        self.timers: dict[int, object] = {}
        self.said_at = self.locked_at = -math.inf

    def install(self):
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        if not event.contains(Engine, "before_cursor_execute", self.before):
            event.listen(Engine, "before_cursor_execute", self.before, retval=True)
            event.listen(Engine, "after_cursor_execute", self.after)
            event.listen(Engine, "handle_error", self.failed)

    def before(self, conn, cursor, statement, parameters, context, executemany):
        import threading
        import time

        if statement.startswith("PRAGMA busy_timeout") and time.monotonic() - self.locked_at < 60:
            return "PRAGMA busy_timeout = 1000;", parameters
        timer = threading.Timer(SLOW_STORE_S, self.say, args=(str(conn.engine.url),))
        timer.daemon = True
        with self.lock:
            self.timers[threading.get_ident()] = timer
        timer.start()
        return statement, parameters

    def after(self, *args):
        import threading

        with self.lock:
            timer = self.timers.pop(threading.get_ident(), None)
        if timer is not None:
            timer.cancel()

    def failed(self, context):
        import time

        self.after()
        if "database is locked" in str(getattr(context, "original_exception", "")):
            self.locked_at = time.monotonic()

    def say(self, url: str):
        import time

        with self.lock:
            if time.monotonic() - self.said_at < 30:
                return
            self.said_at = time.monotonic()
        print(f"rnnexp: waiting for the store {url}: another process holds it", flush=True)


SLOW_STATEMENTS = _SlowStatements()


class _SlowRequests:
    """Say, within seconds, that a request to a tracking server is waiting.

    MLflow's REST calls all go through `rest_utils._get_http_response_with_retries`;
    a call that has not returned after `SLOW_STORE_S` gets one console line
    naming the server (at most one every 30 s), instead of the silence of
    MLflow's retries.
    """

    def __init__(self):
        import threading

        self.lock = threading.Lock()
        self.said_at = -math.inf

    def install(self):
        from mlflow.utils import rest_utils

        original = rest_utils._get_http_response_with_retries
        if getattr(original, "_rnnexp_watched", False):
            return

        def watched(method, url, *args, **kwargs):
            import threading

            timer = threading.Timer(SLOW_STORE_S, self.say, args=(url,))
            timer.daemon = True
            timer.start()
            try:
                return original(method, url, *args, **kwargs)
            finally:
                timer.cancel()

        watched._rnnexp_watched = True
        rest_utils._get_http_response_with_retries = watched

    def say(self, url: str):
        import time
        import urllib.parse

        with self.lock:
            if time.monotonic() - self.said_at < 30:
                return
            self.said_at = time.monotonic()
        parts = urllib.parse.urlsplit(url)
        print(
            f"rnnexp: waiting for the tracking server {parts.scheme}://{parts.netloc} to "
            f"answer {parts.path} (gives up after about {server_give_up_s():.0f} s)",
            flush=True,
        )


SLOW_REQUESTS = _SlowRequests()
