"""The application shell: health, nothing built at import (Swagger UI: tests/http/swagger)."""

from __future__ import annotations

import subprocess
import sys

from fastapi.testclient import TestClient


def test_health_answers_without_a_token(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_importing_the_app_builds_no_engine_or_settings() -> None:
    probe = (
        "import casedesk.main, casedesk.cli.commands, sqlalchemy.ext.asyncio as a, sys;"
        "import gc;"
        "engines = [o for o in gc.get_objects() if isinstance(o, a.AsyncEngine)];"
        "sys.exit(len(engines))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
