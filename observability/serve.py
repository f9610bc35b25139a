"""Serve this host's metrics on a port of its own, for a host that runs watchers or clusters but
no web server (their counters live in PROMETHEUS_MULTIPROC_DIR and only a process on the same
host can add them up):

    PROMETHEUS_MULTIPROC_DIR=/run/switchboard-metrics \\
        .venv/bin/python -m observability.serve --bind 10.0.0.7 --port 9108

No Django, no database: the database-derived figures come from the web nodes' /metrics. Bind
it to an address only your Prometheus can reach (it has no token check)."""

from __future__ import annotations

import argparse
import os
import signal
import threading

from prometheus_client import CollectorRegistry, multiprocess, start_http_server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9108)
    args = parser.parse_args(argv)
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        parser.error("PROMETHEUS_MULTIPROC_DIR is not set: there is nothing of other processes "
                     "to serve")
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    server, thread = start_http_server(args.port, addr=args.bind, registry=registry)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    thread.join(5)


if __name__ == "__main__":
    main()
