"""gunicorn settings from the environment (ECERT_BIND, ECERT_WORKERS)."""
import os
import tempfile

bind = os.environ.get("ECERT_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("ECERT_WORKERS", "2"))
worker_class = "sync"
timeout = 30
graceful_timeout = 20
# The app logs one JSON line per request itself; gunicorn's access log would duplicate it.
accesslog = None
errorlog = "-"
loglevel = "info"
# Bounds against slow or hostile clients before Flask sees the request.
limit_request_line = 8190
limit_request_field_size = 8190
preload_app = False
# gunicorn's runtime control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl):
# two services on one host (make run and a benchmark, say) would fight over it. Nothing here
# uses gunicornc, so it is off.
control_socket_disable = True

# Prometheus: each worker writes its figures to this directory and /metrics sums them.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ecert-metrics-")


def child_exit(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    # A graceful stop writes the verification events still queued for their batch.
    from ecert import batched

    batched.close_all()


def post_worker_init(worker):
    # Start the PDF checker's fork server (pyHanko imported once) and one warm check process in
    # the background, so the first PDF upload of a worker does not pay ~1-2 s for them and the
    # worker starts serving at once. A failure only means the first upload starts them itself.
    import threading

    def warm():
        try:
            from ecert import pdfcheck

            pdfcheck.warm()
        except Exception as exc:  # noqa: BLE001 - never stop a worker for a warm-up
            worker.log.warning("PDF checker not warmed up: %s", type(exc).__name__)

    threading.Thread(target=warm, name="ecert-pdfcheck-warm", daemon=True).start()
