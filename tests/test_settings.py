"""Production settings as the environment makes them (config/settings.py is evaluated afresh in
a subprocess: pytest's own settings are already loaded)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def production_settings(**env: str) -> dict:
    code = (
        "import json, config.settings as s; print(json.dumps({'sub': s.SECURE_HSTS_INCLUDE_"
        "SUBDOMAINS, 'preload': s.SECURE_HSTS_PRELOAD, 'seconds': s.SECURE_HSTS_SECONDS, "
        "'silenced': s.SILENCED_SYSTEM_CHECKS}))"
    )
    environ = {
        **os.environ, "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "x" * 50,
        "DATABASE_URL": "sqlite://:memory:", **env,
    }
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environ, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_hsts_covers_this_host_only_by_default():
    s = production_settings()

    assert (s["seconds"], s["sub"], s["preload"]) == (31_536_000, False, False)


@pytest.mark.parametrize(("var", "key", "check"), [
    ("DJANGO_HSTS_INCLUDE_SUBDOMAINS", "sub", "security.W005"),
    ("DJANGO_HSTS_PRELOAD", "preload", "security.W021"),
])
def test_hsts_subdomains_and_preload_are_opt_in(var, key, check):
    s = production_settings(**{var: "true"})

    assert s[key] is True
    assert check not in s["silenced"]  # Django's deploy check is back on when opted in


@pytest.mark.parametrize("timeout", ["0", "-1", "60", "600"])
def test_it_refuses_a_webhook_timeout_that_cannot_end_within_its_lease(timeout):
    with pytest.raises(subprocess.CalledProcessError) as failed:
        production_settings(SLA_WEBHOOK_TIMEOUT_SECONDS=timeout)

    assert "SLA_WEBHOOK_TIMEOUT_SECONDS" in failed.value.stderr


def test_it_takes_a_webhook_timeout_above_ten_seconds():
    production_settings(SLA_WEBHOOK_TIMEOUT_SECONDS="30")  # no error: honoured as given
