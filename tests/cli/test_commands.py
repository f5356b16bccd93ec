"""The command line: what an operator types, and what an integrator then does with it."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner, Result

from casedesk.cli import commands as cli_module
from casedesk.cli.commands import app
from casedesk.config import Settings
from casedesk.http.request_log import logging_config
from casedesk.main import create_app
from tests.conftest import SECRET_KEY, ApiUser
from tests.databases import BACKENDS, POSTGRES_ADMIN_URL

CASEDESK = Path(sys.executable).parent / "casedesk"


Invoke = Callable[..., Result]


@pytest.fixture
def cli(database_url: str) -> Invoke:
    """cli("users", "list") runs `casedesk users list` against the test database."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), env={"CASEDESK_DATABASE_URL": database_url})

    return invoke


def created(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    user: dict[str, Any] = json.loads(lines[0])
    return user


def token_for(client: TestClient, user: dict[str, Any]) -> httpx.Response:
    return client.post(
        "/api/token",
        params={"clientId": user["ClientId"], "clientSecret": user["ClientSecret"]},
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_users_create_json_prints_one_object_with_the_secret(cli: Invoke) -> None:
    user = created(cli("users", "create", "Helpdesk sync", "--role", "CaseAdmin", "--json"))
    assert set(user) >= {"ClientId", "ClientSecret", "Roles"}
    assert user["Roles"] == ["CaseAdmin", "AllMarkets"]
    assert user["Name"] == "Helpdesk sync"
    assert user["Tenant"] == "default"
    assert len(user["ClientSecret"]) >= 32


def test_the_printed_secret_gets_a_token_that_works(cli: Invoke, client: TestClient) -> None:
    user = created(cli("users", "create", "Helpdesk sync", "--role", "CaseAdmin", "--json"))
    response = token_for(client, user)
    assert response.status_code == 200, response.text
    created_case = client.post(
        "/api/cases", json={"Subject": "Order arrived damaged"}, headers=bearer(response.text)
    )
    assert created_case.status_code == 201, created_case.text


def test_users_create_without_json_prints_labelled_lines(cli: Invoke) -> None:
    result = cli("users", "create", "Reporting", "--role", "CaseRead")
    assert result.exit_code == 0, result.output
    assert re.search(r"^ClientId: +\S+$", result.stdout, re.MULTILINE)
    assert re.search(r"^ClientSecret: +\S+$", result.stdout, re.MULTILINE)
    assert re.search(r"^Roles: +CaseRead, AllMarkets$", result.stdout, re.MULTILINE)


def test_markets_become_market_roles_instead_of_all_markets(cli: Invoke) -> None:
    user = created(
        cli(
            "users", "create", "Nordics", "--role", "CaseRead", "--market", "NO", "--market", "SE",
            "--json",
        )
    )  # fmt: skip
    assert user["Roles"] == ["CaseRead", "market-NO", "market-SE"]


def test_a_market_user_sees_only_its_markets(
    cli: Invoke, client: TestClient, admin: ApiUser
) -> None:
    norway = admin.create_case(MarketId="NO")
    denmark = admin.create_case(MarketId="DK")
    user = created(
        cli("users", "create", "Norway", "--role", "CaseRead", "--market", "NO", "--json")
    )
    headers = bearer(token_for(client, user).text)
    assert client.get(f"/api/cases/{norway['Id']}", headers=headers).status_code == 200
    assert client.get(f"/api/cases/{denmark['Id']}", headers=headers).status_code == 404


def test_an_unknown_role_fails_naming_the_allowed_roles(cli: Invoke) -> None:
    result = cli("users", "create", "Typo", "--role", "CaseAdmn", "--json")
    assert result.exit_code != 0
    assert "Unknown role CaseAdmn" in result.output
    assert "CaseAdmin" in result.output
    assert "Traceback" not in result.output
    assert "ClientSecret" not in result.stdout


def test_a_role_is_required(cli: Invoke) -> None:
    result = cli("users", "create", "Nobody")
    assert result.exit_code != 0
    assert "--role" in result.output


def test_an_unknown_tenant_fails_with_a_clear_message(cli: Invoke) -> None:
    result = cli("users", "create", "Lost", "--role", "CaseRead", "--tenant", "acme", "--json")
    assert result.exit_code != 0
    assert "Tenant 'acme' does not exist." in result.output
    assert "Traceback" not in result.output


def test_users_of_a_new_tenant_see_only_its_cases(
    cli: Invoke, client: TestClient, admin: ApiUser
) -> None:
    default_case = admin.create_case()
    result = cli("tenants", "create", "acme")
    assert result.exit_code == 0, result.output
    assert "Created tenant acme." in result.stdout
    user = created(
        cli("users", "create", "Acme admin", "--role", "CaseAdmin", "--tenant", "acme", "--json")
    )
    assert user["Tenant"] == "acme"
    headers = bearer(token_for(client, user).text)
    own = client.post("/api/cases", json={"Subject": "Acme's case"}, headers=headers)
    assert own.status_code == 201, own.text
    assert own.json()["CaseNumber"] == "CS-1001"
    assert client.get(f"/api/cases/{default_case['Id']}", headers=headers).status_code == 404


def test_creating_a_tenant_twice_fails(cli: Invoke) -> None:
    assert cli("tenants", "create", "acme").exit_code == 0
    result = cli("tenants", "create", "acme")
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_a_tenant_name_with_spaces_is_refused(cli: Invoke) -> None:
    result = cli("tenants", "create", "Acme Corp")
    assert result.exit_code != 0
    assert "letters, digits" in result.output


def test_users_list_shows_every_user_and_no_secret(cli: Invoke) -> None:
    first = created(cli("users", "create", "Helpdesk sync", "--role", "CaseAdmin", "--json"))
    second = created(cli("users", "create", "Reporting", "--role", "CaseRead", "--json"))
    result = cli("users", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    assert first["ClientId"] in lines[0]
    assert "Helpdesk sync" in lines[0]
    assert "CaseAdmin" in lines[0]
    assert "active" in lines[0]
    assert second["ClientId"] in lines[1]
    for user in (first, second):
        assert user["ClientSecret"] not in result.stdout
    assert "argon2" not in result.stdout


def test_users_deactivate_makes_its_token_fail_at_once(cli: Invoke, client: TestClient) -> None:
    user = created(cli("users", "create", "Leaver", "--role", "CaseRead", "--json"))
    headers = bearer(token_for(client, user).text)
    assert client.post("/api/cases/search", json={}, headers=headers).status_code == 200
    result = cli("users", "deactivate", user["ClientId"])
    assert result.exit_code == 0, result.output
    assert client.post("/api/cases/search", json={}, headers=headers).status_code == 401
    assert token_for(client, user).status_code == 401
    assert "deactivated" in cli("users", "list").stdout


def test_deactivating_an_unknown_user_fails(cli: Invoke) -> None:
    result = cli("users", "deactivate", "no-such-client")
    assert result.exit_code != 0
    assert "no-such-client" in result.output


def test_db_upgrade_is_idempotent(cli: Invoke) -> None:
    for _ in range(2):
        result = cli("db", "upgrade")
        assert result.exit_code == 0, result.output
        assert "latest schema" in result.stdout


def test_db_upgrade_creates_a_new_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    result = CliRunner().invoke(app, ["db", "upgrade"], env={"CASEDESK_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new.db").exists()


# `casedesk serve`, as a real process on a new SQLite file.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    base: str
    log: Path

    def output(self) -> str:
        return self.log.read_text()


@contextmanager
def serving(
    database_url: str, log: Path, *, settings: dict[str, str] | None = None
) -> Iterator[Served]:
    """`casedesk serve` on 127.0.0.1 until the block ends; always stopped."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEDESK_")}
    env["CASEDESK_DATABASE_URL"] = database_url
    env.update(settings or {})
    with log.open("w") as sink:
        process = subprocess.Popen(
            [str(CASEDESK), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        served = Served(f"http://127.0.0.1:{port}", log)
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, f"casedesk serve exited:\n{served.output()}"
                try:
                    if httpx.get(f"{served.base}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"no /health in 60 s:\n{served.output()}"
                time.sleep(0.2)
            yield served
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_serve_migrates_bootstraps_an_owner_once_and_keeps_its_signing_key(
    tmp_path: Path,
) -> None:
    database = tmp_path / "fresh.db"
    url = f"sqlite:///{database}"

    with serving(url, tmp_path / "first.log") as first:
        output = first.output()
        client_ids = re.findall(r"ClientId: +(\S+)", output)
        secrets = re.findall(r"ClientSecret: +(\S+)", output)
        assert len(client_ids) == 1, output
        assert len(secrets) == 1, output
        assert first.base in output
        token = httpx.post(
            f"{first.base}/api/token",
            params={"clientId": client_ids[0], "clientSecret": secrets[0]},
        )
        assert token.status_code == 200, token.text
        headers = bearer(token.text)
        # ApiOwner may read and change the case settings.
        assert httpx.get(f"{first.base}/api/cases/settings", headers=headers).status_code == 200

    with serving(url, tmp_path / "second.log") as second:
        output = second.output()
        assert "ClientSecret" not in output
        assert secrets[0] not in output
        # The key generated on the first start was kept, so the old token is still good.
        settings = httpx.get(f"{second.base}/api/cases/settings", headers=headers)
        assert settings.status_code == 200, settings.text
        assert httpx.get(f"{second.base}/health").json() == {"status": "ok"}


def test_users_create_refuses_an_empty_market_id(cli: Invoke) -> None:
    result = cli("users", "create", "Shop", "--role", "CaseRead", "--market", "")

    assert result.exit_code != 0
    assert "MarketId" in result.output


def test_seed_loads_cases_and_ends_with_a_summary(cli: Invoke) -> None:
    result = cli("seed", "--cases", "40", "--seed", "2")

    assert result.exit_code == 0, result.output
    assert "Seeded 40 cases into tenant 'default'" in result.output
    assert "cases/s" in result.output


def test_serve_logs_json_lines_without_secrets_and_cuts_off_a_trickled_body(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'logged.db'}"
    runner = CliRunner()
    env = {"CASEDESK_DATABASE_URL": url}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    created = runner.invoke(
        app, ["users", "create", "Shop", "--role", "CaseAdmin", "--json"], env=env
    )
    user = json.loads(created.output.strip().splitlines()[-1])
    log = tmp_path / "serve.log"

    with serving(
        url,
        log,
        settings={"CASEDESK_REQUEST_TIMEOUT_SECONDS": "2", "CASEDESK_SEARCH_TIMEOUT_SECONDS": "1"},
    ) as served:
        credentials = {"clientId": user["ClientId"], "clientSecret": user["ClientSecret"]}
        token = httpx.post(f"{served.base}/api/token", params=credentials).text
        missing = httpx.get(
            f"{served.base}/api/cases/abc123",
            headers={"Authorization": f"Bearer {token}", "X-Request-Id": "req-serve"},
        )
        assert missing.status_code == 404
        with socket.create_connection(("127.0.0.1", int(served.base.rsplit(":", 1)[1]))) as raw:
            raw.sendall(
                b"POST /api/cases HTTP/1.1\r\nHost: casedesk\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            )
            raw.settimeout(30)
            answer = raw.recv(65536)
        assert answer.startswith(b"HTTP/1.1 503"), answer

    output = log.read_text()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    requests = [
        line
        for line in lines
        if line["logger"] == "casedesk.access" and line["path"] != "/health"  # waiting for it
    ]
    assert [(r["path"], r["status"]) for r in requests] == [
        ("/api/token", 200),
        ("/api/cases/{id}", 404),
        ("/api/cases", 503),
    ]
    assert requests[1]["requestId"] == "req-serve"
    assert requests[1]["clientId"] == user["ClientId"]
    assert not [line for line in lines if line["logger"].startswith("uvicorn.access")]
    for secret in (user["ClientSecret"], token, "clientSecret"):
        assert secret not in output


def test_serve_hands_uvicorn_its_limits_and_json_logging(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *_args, **options: handed.update(options))
    monkeypatch.setenv("CASEDESK_MAX_CONNECTIONS", "50")
    monkeypatch.setenv("CASEDESK_LOG_LEVEL", "warning")

    result = cli("serve")

    assert result.exit_code == 0, result.output
    assert handed["limit_concurrency"] == 50
    assert handed["access_log"] is False
    assert handed["timeout_keep_alive"] == 5
    assert handed["log_level"] == "warning"
    assert handed["log_config"] == logging_config("WARNING")


@pytest.mark.parametrize(("workers", "each"), [(1, 4), (2, 2), (3, 1), (8, 1)])
def test_serve_shares_the_cpus_for_secret_checks_among_its_workers(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch, workers: int, each: int
) -> None:
    seen: list[str | None] = []
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.delenv("CASEDESK_SECRET_VERIFICATIONS", raising=False)
    monkeypatch.setattr(
        uvicorn,
        "run",
        lambda *_a, **_o: seen.append(os.environ.get("CASEDESK_SECRET_VERIFICATIONS")),
    )

    result = cli("serve", "--workers", str(workers))

    assert result.exit_code == 0, result.output
    assert seen == [str(each)]
    assert "CASEDESK_SECRET_VERIFICATIONS" not in os.environ


def test_serve_leaves_a_secret_check_cap_the_operator_set(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str | None] = []
    monkeypatch.setenv("CASEDESK_SECRET_VERIFICATIONS", "7")
    monkeypatch.setattr(
        uvicorn,
        "run",
        lambda *_a, **_o: seen.append(os.environ.get("CASEDESK_SECRET_VERIFICATIONS")),
    )

    assert cli("serve", "--workers", "2").exit_code == 0
    assert seen == ["7"]


# A mistake in the setup gets one or two lines saying what to do, never a traceback.


def unmigrated_sqlite(tmp_path: Path) -> str:
    """A database file with no tables at all, as `sqlite3 new.db` leaves it."""
    (tmp_path / "unmigrated.db").touch()
    return f"sqlite:///{tmp_path / 'unmigrated.db'}"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param(["users", "list"], "", id="users-list"),
        pytest.param(
            ["users", "create", "Shop", "--role", "CaseRead"], "ClientSecret:", id="create"
        ),
        pytest.param(["tenants", "create", "acme"], "Created tenant acme.", id="tenants-create"),
    ],
)
def test_a_command_on_an_unmigrated_database_migrates_it_first(
    tmp_path: Path, args: list[str], says: str
) -> None:
    url = unmigrated_sqlite(tmp_path)
    result = CliRunner().invoke(app, args, env={"CASEDESK_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert says in result.stdout


def test_deactivating_on_an_unmigrated_database_says_the_user_is_unknown(tmp_path: Path) -> None:
    url = unmigrated_sqlite(tmp_path)
    result = CliRunner().invoke(
        app, ["users", "deactivate", "no-such-client"], env={"CASEDESK_DATABASE_URL": url}
    )
    assert result.exit_code == 1, result.output
    assert result.output.strip() == "error: No API user has ClientId 'no-such-client'."


def closed_postgres_port() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/casedesk"


def missing_postgres_database() -> str:
    url = make_url(POSTGRES_ADMIN_URL).set(database="casedesk_no_such_database")
    return url.render_as_string(hide_password=False)


@dataclass(frozen=True)
class Mistake:
    url: Callable[[Path], str]
    says: str
    advice: str


CLOSED_PORT = Mistake(
    lambda _: closed_postgres_port(), "Connection refused", "Check that PostgreSQL is running"
)
MISTAKES = {
    "postgresql-unreachable": CLOSED_PORT,
    "sqlite-directory-missing": Mistake(
        lambda tmp: f"sqlite:///{tmp / 'no-such-directory' / 'casedesk.storage.database'}",
        "unable to open database file",
        "no-such-directory' exists and is writable",
    ),
    "port-not-a-number": Mistake(
        lambda _: "postgresql://postgres@127.0.0.1:notaport/casedesk",
        "is not a database URL",
        "use sqlite:/// or postgresql://",
    ),
    "unmigrated-for-db-check": Mistake(
        unmigrated_sqlite, "schema revision none", "run `casedesk db upgrade` first"
    ),
}
if "postgresql" in BACKENDS:
    MISTAKES["postgresql-database-missing"] = Mistake(
        lambda _: missing_postgres_database(),
        'database "casedesk_no_such_database" does not exist',
        "Create it first",
    )
COMMANDS = {
    "serve": ["serve"],
    "db-upgrade": ["db", "upgrade"],
    "db-check": ["db", "check"],
    "users-list": ["users", "list"],
    "users-create": ["users", "create", "Shop", "--role", "CaseRead"],
    "users-deactivate": ["users", "deactivate", "no-such-client"],
    "tenants-create": ["tenants", "create", "acme"],
    "seed": ["seed", "--cases", "10"],
}
# db check is the one command that changes nothing: it leaves an unmigrated database as it
# is, and looks for an SQLite file without creating one (that message: tests/test_integrity.py).
FOR_DB_CHECK_ONLY = {"unmigrated-for-db-check"}
NOT_FOR_DB_CHECK = {"sqlite-directory-missing"}
CASES = [
    pytest.param(mistake, command, id=f"{command_name}-{mistake_name}")
    for mistake_name, mistake in MISTAKES.items()
    for command_name, command in COMMANDS.items()
    if mistake_name not in (NOT_FOR_DB_CHECK if command_name == "db-check" else FOR_DB_CHECK_ONLY)
]


def run_casedesk(args: list[str], database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEDESK_")}
    env["CASEDESK_DATABASE_URL"] = database_url
    return subprocess.run(
        [str(CASEDESK), *args], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(("mistake", "command"), CASES)
def test_a_database_that_cannot_be_used_gets_two_lines_and_exit_code_2(
    tmp_path: Path, mistake: Mistake, command: list[str]
) -> None:
    result = CliRunner().invoke(app, command, env={"CASEDESK_DATABASE_URL": mistake.url(tmp_path)})
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, result.stderr
    assert lines[0].startswith("error: ")
    assert mistake.says in result.stderr
    assert mistake.advice in result.stderr


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(sqlite3.OperationalError("database is locked"), id="sqlite-locked"),
        pytest.param(sqlite3.OperationalError("database or disk is full"), id="sqlite-disk-full"),
        pytest.param(
            psycopg.errors.DeadlockDetected("deadlock detected"), id="postgresql-deadlock"
        ),
        pytest.param(
            psycopg.errors.QueryCanceled("canceling statement due to user request"),
            id="postgresql-cancelled",
        ),
        pytest.param(psycopg.errors.DiskFull("could not extend file"), id="postgresql-disk-full"),
    ],
)
def test_a_database_failure_after_connecting_is_a_bug_that_keeps_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    failed = OperationalError("INSERT INTO tenants ...", {}, failure)

    async def create_tenant(session: object, *, name: str) -> None:
        raise failed

    monkeypatch.setattr(cli_module.tenants_service, "create_tenant", create_tenant)
    result = CliRunner().invoke(
        app,
        ["tenants", "create", "acme"],
        env={"CASEDESK_DATABASE_URL": unmigrated_sqlite(tmp_path)},
    )
    assert result.exception is failed, result.output
    assert result.exit_code == 1
    assert "error:" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [pytest.param(["db", "upgrade"], id="db-upgrade"), pytest.param(["serve"], id="serve")],
)
def test_a_real_process_prints_no_traceback_and_no_password(
    tmp_path: Path, command: list[str]
) -> None:
    url = closed_postgres_port().replace("postgres@", "postgres:hunter2-password@")
    finished = run_casedesk(command, url)
    assert finished.returncode == 2, finished.stderr
    assert "Traceback" not in finished.stderr
    assert len(finished.stderr.strip().splitlines()) == 2, finished.stderr
    assert "Connection refused" in finished.stderr
    assert "hunter2-password" not in finished.stderr


# `casedesk keys rotate` (the rotation itself: tests/auth/test_keys.py).


def rotation(database_url: str, *args: str, **env: str) -> Result:
    return CliRunner().invoke(
        app, ["keys", "rotate", *args], env={"CASEDESK_DATABASE_URL": database_url, **env}
    )


@pytest.fixture
def started(database_url: str) -> str:
    """A database whose signing key was generated by a first start."""
    with TestClient(create_app(Settings(database_url=database_url))):
        return database_url


def test_keys_rotate_on_a_database_without_a_key_generates_one(database_url: str) -> None:
    result = rotation(database_url)
    assert result.exit_code == 0, result.output
    assert result.stdout == "There was no signing key yet: generated one.\n"


def test_keys_rotate_keeps_the_old_key_for_the_token_lifetime_by_default(started: str) -> None:
    now = datetime.now(UTC)
    result = rotation(started, CASEDESK_TOKEN_LIFETIME_SECONDS="7200")
    assert result.exit_code == 0, result.output
    assert "Restart `casedesk serve` to sign tokens with the new one." in result.stdout
    until = re.search(r"accepted until (\S+);", result.stdout)
    assert until is not None, result.stdout
    grace = datetime.fromisoformat(until[1]) - now
    assert timedelta(seconds=7199) <= grace <= timedelta(seconds=7230)


def test_keys_rotate_takes_the_grace_period_it_is_given(started: str) -> None:
    now = datetime.now(UTC)
    result = rotation(started, "--grace-seconds", "60")
    assert result.exit_code == 0, result.output
    until = re.search(r"accepted until (\S+);", result.stdout)
    assert until is not None, result.stdout
    grace = datetime.fromisoformat(until[1]) - now
    assert timedelta(seconds=59) <= grace <= timedelta(seconds=90)


def test_keys_rotate_refuses_a_key_from_the_environment_saying_how_to_rotate_it(
    database_url: str,
) -> None:
    result = rotation(database_url, CASEDESK_SECRET_KEY=SECRET_KEY)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "error: CASEDESK_SECRET_KEY is set, so the key in the database is not used."
    assert "CASEDESK_PREVIOUS_SECRET_KEY" in lines[1]
    assert len(lines) == 2
