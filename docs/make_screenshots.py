#!/usr/bin/env python3
"""Regenerates docs/screenshots/*.png (shown in README): a fresh demo database (seed_demo's
30-day history, SQLite in a temporary folder), the demo web server, and headless Chromium
(Debian's, driven by Playwright) logged in as agent1 (queue, a ticket, the open incident) and as
the manager (the SLA report).

    .venv/bin/python docs/make_screenshots.py
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
PY = sys.executable
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "switchboard-demo"  # noqa: S105 - the demo's documented password


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pick_ticket(env: dict[str, str]) -> int:
    """An open ticket of agent1's with a conversation, preferably one with a late clock."""
    script = (
        "from django.db.models import Count\n"
        "from tickets.models import Ticket\n"
        "qs = Ticket.objects.filter(status__in=['open', 'new', 'pending'])"
        ".annotate(n=Count('comments')).order_by('-n', 'sla_due_at')\n"
        "mine = qs.filter(assignee__username='agent1')\n"
        "print((mine.first() or qs.first()).pk)\n"
    )
    out = subprocess.run([PY, "manage.py", "shell", "-c", script], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1])


def pick_incident(env: dict[str, str]) -> int:
    """The demo's open incident (else the newest)."""
    script = (
        "from incidents.models import Incident\n"
        "qs = Incident.objects.order_by('-detected_at')\n"
        "print((qs.filter(status__in=Incident.OPEN_STATUSES).first() or qs.first()).pk)\n"
    )
    out = subprocess.run([PY, "manage.py", "shell", "-c", script], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1])


def main() -> None:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        sys.exit("no chromium: bash .ci/install-browser")
    tmp = Path(tempfile.mkdtemp(prefix="switchboard-shots-"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'demo.sqlite3'}",
           "DJANGO_DEBUG": "true", "LOG_LEVEL": "WARNING"}
    subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([PY, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True)
    ticket = pick_ticket(env)
    incident = pick_incident(env)
    port = free_port()
    server = subprocess.Popen([PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)  # noqa: S310 - local
                break
            except OSError:
                time.sleep(0.2)
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)

            def session(username: str):  # type: ignore[no-untyped-def]
                page = browser.new_context(viewport={"width": 1440, "height": 900},
                                           base_url=base).new_page()
                page.goto("/admin/login/")
                page.fill("#id_username", username)
                page.fill("#id_password", PASSWORD)
                page.click("input[type=submit]")
                page.wait_for_load_state()
                return page

            agent = session("agent1")
            agent.screenshot(path=str(OUT / "queue.png"), full_page=False)
            agent.goto(f"/admin/tickets/ticket/{ticket}/change/")
            agent.screenshot(path=str(OUT / "ticket.png"), full_page=True)
            agent.goto(f"/admin/incidents/incident/{incident}/change/")
            agent.screenshot(path=str(OUT / "incident.png"))
            manager = session("manager")
            manager.goto("/admin/reports/sla/?from="
                         + time.strftime("%Y-%m-%d", time.gmtime(time.time() - 29 * 86400)))
            manager.set_viewport_size({"width": 1440, "height": 1700})
            manager.screenshot(path=str(OUT / "report.png"))  # KPIs, clocks, chart, times
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {', '.join(sorted(p.name for p in OUT.glob('*.png')))} in {OUT}")


if __name__ == "__main__":
    main()
