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
