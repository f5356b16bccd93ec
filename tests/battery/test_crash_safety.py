"""Crash safety: `casedesk serve --workers 2` is killed with SIGKILL (uvicorn's parent and its
workers at once) at random moments while writers create, PATCH, change status, comment and
delete, then restarted on the same database and port, again and again.

After each restart the database passes the integrity check (`casedesk db check`) and every
write that was answered with a 2xx is there: created cases with their fields, PATCH values
(or a later write's), the status log each answer showed, the comments. A write that got no
answer may be there or not, but whole: a case that exists has all its fields from one write
or another, and its search entry and filter refs (the integrity check compares them).

The kill moments and the writers' choices come from a fixed seed; figures.scale() multiplies
the number of kills.
"""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk import integrity
from casedesk.auth import service as auth_service
from tests.battery import figures
from tests.conftest import run_in_transaction
from tests.servers import KillableServer, killable_server

KILLS = 5
WRITERS = 8
SEED = 20261202
STATUSES = ("New", "In Progress", "Waiting for Customer", "Resolved", "Closed")
# When to kill: after this many acknowledged writes of the round, then this many seconds
# more, so that the kill lands anywhere in a request (before, during or after its commit).
KILL_AFTER_WRITES = (10, 80)
KILL_JITTER_SECONDS = 0.03
# Operations a writer picks from, with their weights.
OPERATIONS = {"create": 25, "patch": 25, "status": 20, "comment": 25, "delete": 5}


class ServerGone(Exception):
    """The server stopped answering: the writer's round is over."""


@dataclass
class Attempt:
    """One value a write tried to store, and whether the server acknowledged it (2xx)."""

    value: Any
    acked: bool


@dataclass
class TrackedCase:
    id: str
    owner: int | None  # the writer that alone writes its fields; None: every writer comments
    fields: dict[str, list[Attempt]] = field(default_factory=dict)
    logs: list[list[dict[str, Any]]] = field(default_factory=list)  # from acked answers
    comments: list[Attempt] = field(default_factory=list)
    deletes: list[Attempt] = field(default_factory=list)
    case_number: str | None = None  # from the acked create
    writes: int = 0

    @property
    def live(self) -> bool:
        """The owner still writes to it: no delete was tried."""
        return not self.deletes

    def attempt(self, name: str, value: Any, acked: bool) -> None:
        self.fields.setdefault(name, []).append(Attempt(value, acked))

    @property
    def acknowledged(self) -> bool:
        """Some write to it was acknowledged, so it exists."""
        return any(
            attempt.acked
            for attempt in (
                *(a for attempts in self.fields.values() for a in attempts),
                *self.comments,
                *self.deletes,
            )
        )


@dataclass
class Ledger:
    cases: dict[str, TrackedCase] = field(default_factory=dict)
    acked: int = 0
    unanswered: int = 0
    refused: list[str] = field(default_factory=list)
    # Set once `acked` reaches the number: when the round's kill is due.
    kill_due: tuple[int, asyncio.Event] | None = None

    def acknowledge(self) -> None:
        self.acked += 1
        if self.kill_due is not None and self.acked >= self.kill_due[0]:
            self.kill_due[1].set()


@dataclass
class Answer:
    response: httpx.Response | None  # None: sent, but no answer came

    @property
    def acked(self) -> bool:
        return self.response is not None and self.response.is_success


class Writer:
    """One client that writes to cases of its own (and comments on a shared one) until the
    server is killed, recording each write it sent and what came back."""

    def __init__(
        self, index: int, client: httpx.AsyncClient, ledger: Ledger, round_: int, hot: str
    ) -> None:
        self.index = index
        self.client = client
        self.ledger = ledger
        self.round = round_
        self.hot = hot
        self.rng = random.Random(SEED * 1_000 + round_ * 100 + index)
        self.made = 0
        self.notes = 0

    async def run(self, stop: asyncio.Event) -> None:
        operations = list(OPERATIONS)
        weights = list(OPERATIONS.values())
        try:
            while not stop.is_set():
                # Only cases known to exist: a write to one whose create got no answer
                # could meet a 404.
                mine = [
                    case
                    for case in self.ledger.cases.values()
                    if case.owner == self.index and case.live and case.case_number is not None
                ]
                operation = self.rng.choices(operations, weights)[0] if mine else "create"
                if operation == "create":
                    await self.create()
                    continue
                target = self.rng.choice(mine)
                if operation in ("status", "comment") and self.rng.random() < 0.3:
                    target = self.ledger.cases[self.hot]
                await getattr(self, operation)(target)
        except ServerGone:
            return

    async def send(self, method: str, url: str, **kwargs: Any) -> Answer:
        try:
            response = await self.client.request(method, url, **kwargs)
        except httpx.ConnectError:
            raise ServerGone from None  # never sent: nothing to record
        except httpx.TransportError:
            self.ledger.unanswered += 1
            return Answer(None)
        if response.is_success:
            self.ledger.acknowledge()
        else:
            self.ledger.refused.append(f"{method} {url}: {response.status_code} {response.text}")
        return Answer(response)

    def _finish(self, answer: Answer) -> None:
        if answer.response is None:
            raise ServerGone

    async def create(self) -> None:
        self.made += 1
        case_id = f"crash-{self.round}-{self.index}-{self.made}"
        values = {
            "Subject": f"Crash case {case_id}",
            "Description": f"Written by writer {self.index} in round {self.round}",
            "CustomerId": f"cust-{case_id}",
            "CustomerName": f"Customer {self.made}",
            "Tags": [f"tag-{case_id}"],
            "RelatedOrders": [f"ORD-{case_id}"],
        }
        answer = await self.send("POST", "/api/cases", json={"Id": case_id, **values})
        case = self.ledger.cases[case_id] = TrackedCase(case_id, self.index)
        for name, value in {**values, "Status": "New"}.items():
            case.attempt(name, value, answer.acked)
        if answer.acked and answer.response is not None:
            case.case_number = answer.response.json()["CaseNumber"]
            case.logs.append(answer.response.json()["CaseStatusLog"])
        self._finish(answer)

    async def patch(self, case: TrackedCase) -> None:
        case.writes += 1
        values = {
            "Subject": f"Crash case {case.id} v{case.writes}",
            "Tags": [f"tag-{case.id}-v{case.writes}", "patched"],
        }
        answer = await self.send("PATCH", "/api/cases", json={"Id": case.id, **values})
        for name, value in values.items():
            case.attempt(name, value, answer.acked)
        self._finish(answer)

    async def status(self, case: TrackedCase) -> None:
        current = case.fields["Status"][-1].value if case.owner is not None else None
        target = self.rng.choice([status for status in STATUSES if status != current])
        answer = await self.send(
            "POST", f"/api/cases/{case.id}/changestatus", params={"status": target}
        )
        self._record_status(case, target, answer)
        self._finish(answer)

    def _record_status(self, case: TrackedCase, target: str, answer: Answer) -> None:
        if case.owner is not None:
            case.attempt("Status", target, answer.acked)
        if answer.acked and answer.response is not None:
            case.logs.append(answer.response.json()["CaseStatusLog"])

    async def comment(self, case: TrackedCase) -> None:
        self.notes += 1
        detail = f"Note {self.notes} from writer {self.index} in round {self.round}"
        answer = await self.send("POST", f"/api/cases/{case.id}/comments", json={"Detail": detail})
        case.comments.append(Attempt(detail, answer.acked))
        self._finish(answer)

    async def delete(self, case: TrackedCase) -> None:
        answer = await self.send("DELETE", f"/api/cases/{case.id}")
        case.deletes.append(Attempt(None, answer.acked))
        self._finish(answer)


def _allowed(attempts: list[Attempt]) -> list[Any]:
    """What a field may hold: the last acknowledged value, or that of any write after it
    (none of which was acknowledged); with nothing acknowledged, any value tried."""
    last_acked = max((i for i, a in enumerate(attempts) if a.acked), default=0)
    return [attempt.value for attempt in attempts[last_acked:]]


@dataclass
class Verdict:
    """What the stored case says about the writes to it."""

    lost: list[str] = field(default_factory=list)  # acknowledged, but not there
    mangled: list[str] = field(default_factory=list)  # there, but no write sent it so


def judge(case: TrackedCase, status: int, body: dict[str, Any] | None) -> Verdict:
    verdict = Verdict()
    if status == 404 or body is None:
        if case.acknowledged and not case.deletes:
            verdict.lost.append(f"{case.id}: acknowledged, now missing")
        return verdict
    if any(delete.acked for delete in case.deletes):
        verdict.lost.append(f"{case.id}: an acknowledged delete was undone")
    if case.case_number is not None and body["CaseNumber"] != case.case_number:
        verdict.lost.append(
            f"{case.id}: CaseNumber {body['CaseNumber']}, answered {case.case_number}"
        )
    for name, attempts in case.fields.items():
        if body[name] not in _allowed(attempts):
            kind = verdict.lost if any(a.acked for a in attempts) else verdict.mangled
            kind.append(f"{case.id}: {name} is {body[name]!r}, not one of {_allowed(attempts)}")
    log = body["CaseStatusLog"]
    for seen in case.logs:
        if log[: len(seen)] != seen:
            verdict.lost.append(f"{case.id}: the status log lost entries an answer showed: {seen}")
    notes = [note["Detail"] for note in body["InternalNotes"]]
    for comment in case.comments:
        if comment.acked and comment.value not in notes:
            verdict.lost.append(f"{case.id}: acknowledged comment {comment.value!r} is missing")
    tried = {comment.value for comment in case.comments}
    unsent = [note for note in notes if note not in tried]
    if unsent:
        verdict.mangled.append(f"{case.id}: comments nobody sent are stored: {unsent}")
    twice = sorted({note for note in notes if notes.count(note) > 1})
    if twice:
        verdict.mangled.append(f"{case.id}: comments stored twice: {twice}")
    return verdict


async def verify(client: httpx.AsyncClient, ledger: Ledger) -> Verdict:
    semaphore = asyncio.Semaphore(WRITERS)

    async def one(case: TrackedCase) -> Verdict:
        async with semaphore:
            response = await client.get(f"/api/cases/{case.id}")
        if response.status_code not in (200, 404):
            return Verdict(mangled=[f"{case.id}: GET answered {response.status_code}"])
        body = response.json() if response.status_code == 200 else None
        return judge(case, response.status_code, body)

    verdicts = await asyncio.gather(*(one(case) for case in ledger.cases.values()))
    return Verdict(
        [problem for verdict in verdicts for problem in verdict.lost],
        [problem for verdict in verdicts for problem in verdict.mangled],
    )


def _client(base: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
        limits=httpx.Limits(max_connections=WRITERS),
    )


async def _load_until_killed(
    server: KillableServer, token: str, ledger: Ledger, round_: int, hot: str, rng: random.Random
) -> None:
    stop, due = asyncio.Event(), asyncio.Event()
    ledger.kill_due = (ledger.acked + rng.randint(*KILL_AFTER_WRITES), due)
    async with _client(server.base, token) as client:
        writers = [Writer(i, client, ledger, round_, hot) for i in range(WRITERS)]
        tasks = [asyncio.create_task(writer.run(stop)) for writer in writers]
        waiting = asyncio.create_task(due.wait())
        writing = asyncio.gather(*tasks)
        either: list[asyncio.Future[Any]] = [waiting, writing]
        await asyncio.wait(either, timeout=120, return_when=asyncio.FIRST_COMPLETED)
        if not due.is_set():
            stop.set()
            waiting.cancel()
            server.kill()
            await writing
            raise AssertionError(
                f"round {round_}: the writers stopped, or got no {ledger.kill_due[0]} "
                "acknowledged writes in 120 s, before the kill"
            )
        await asyncio.sleep(rng.uniform(0, KILL_JITTER_SECONDS))
        server.kill()
        stop.set()
        await writing


@dataclass
class Tally:
    kills: int = 0
    checks: int = 0
    checks_passed: int = 0
    problems: list[str] = field(default_factory=list)
    lost: set[str] = field(default_factory=set)
    mangled: set[str] = field(default_factory=set)


async def _crash_repeatedly(
    server: KillableServer, database_url: str, token: str, kills: int
) -> tuple[Ledger, Tally]:
    ledger, tally = Ledger(), Tally()
    rng = random.Random(SEED)
    async with _client(server.base, token) as client:
        response = await client.post("/api/cases", json={"Id": "crash-hot", "Subject": "Hot"})
        assert response.status_code == 201, response.text
    number = response.json()["CaseNumber"]
    hot = ledger.cases["crash-hot"] = TrackedCase("crash-hot", None, case_number=number)
    hot.attempt("Subject", "Hot", acked=True)
    hot.logs.append(response.json()["CaseStatusLog"])
    for round_ in range(kills):
        await _load_until_killed(server, token, ledger, round_, hot.id, rng)
        tally.kills += 1
        await asyncio.to_thread(server.start)
        report = await asyncio.to_thread(integrity.check, database_url)
        tally.checks += 1
        tally.checks_passed += report.ok
        tally.problems += [f"after kill {round_ + 1}: {problem}" for problem in report.problems]
        async with _client(server.base, token) as client:
            verdict = await verify(client, ledger)
        tally.lost.update(verdict.lost)
        tally.mangled.update(verdict.mangled)
    return ledger, tally


def _server_env() -> dict[str, str]:
    # No signing key in the environment: the one kept in the database must survive the kills
    # (the token taken before the first kill is used to the end). Rate limits are off: this
    # is about durability, and a 429 would be a refused write.
    env = {name: value for name, value in os.environ.items() if not name.startswith("CASEDESK_")}
    return {**env, "CASEDESK_RATE_LIMIT_ENABLED": "false"}


def _user(database_url: str) -> auth_service.NewUser:
    async def work(session: AsyncSession) -> auth_service.NewUser:
        return await auth_service.create_user(
            session, name="crash writer", roles=["CaseAdmin"], markets=[]
        )

    return run_in_transaction(database_url, work)


def test_killed_servers_lose_no_acknowledged_write_and_stay_consistent(
    database_url: str, backend: str
) -> None:
    user = _user(database_url)
    kills = KILLS * figures.scale()
    with killable_server(database_url, workers=2, env=_server_env()) as server:
        token = httpx.post(
            f"{server.base}/api/token",
            params={"clientId": user.client_id, "clientSecret": user.client_secret},
        ).text
        ledger, tally = asyncio.run(_crash_repeatedly(server, database_url, token, kills))

    figures.record(
        "crash safety",
        backend,
        kills=tally.kills,
        cases=len(ledger.cases),
        acknowledged_writes=ledger.acked,
        unanswered_writes=ledger.unanswered,
        acknowledged_writes_lost=len(tally.lost),
        mangled_writes=len(tally.mangled),
        integrity_checks_run=tally.checks,
        integrity_checks_passed=tally.checks_passed,
    )
    assert tally.kills == kills
    assert sorted(tally.lost) == []
    assert sorted(tally.mangled) == []
    assert tally.problems == []
    assert ledger.refused == []
    assert tally.checks_passed == tally.checks == kills
    # The kills must have cut writes off mid-way, or the run tested only clean stops.
    assert ledger.unanswered > 0


# --- The verdict on one case, without a server -------------------------------------------


def _created(acked: bool) -> TrackedCase:
    case = TrackedCase("crash-0-0-1", 0, case_number="CS-1001" if acked else None)
    case.attempt("Subject", "First", acked)
    case.attempt("Status", "New", acked)
    return case


def _stored(**fields: Any) -> dict[str, Any]:
    log = [{"Status": "New", "Timestamp": "2026-01-01T10:00:00.000Z"}]
    return {
        "CaseNumber": "CS-1001",
        "Subject": "First",
        "Status": "New",
        "CaseStatusLog": log,
        "InternalNotes": [],
        **fields,
    }


def test_a_missing_case_whose_create_was_acknowledged_is_a_lost_write() -> None:
    assert judge(_created(acked=True), 404, None).lost == ["crash-0-0-1: acknowledged, now missing"]


def test_a_missing_case_whose_create_got_no_answer_is_no_lost_write() -> None:
    assert judge(_created(acked=False), 404, None) == Verdict()


def test_a_value_older_than_the_last_acknowledged_one_is_a_lost_write() -> None:
    case = _created(acked=True)
    case.attempt("Subject", "Second", True)

    assert judge(case, 200, _stored(Subject="First")) == Verdict(
        lost=["crash-0-0-1: Subject is 'First', not one of ['Second']"]
    )


def test_a_later_unanswered_value_may_or_may_not_be_stored() -> None:
    case = _created(acked=True)
    case.attempt("Subject", "Second", False)

    assert judge(case, 200, _stored(Subject="First")) == Verdict()
    assert judge(case, 200, _stored(Subject="Second")) == Verdict()


def test_a_status_log_without_an_acknowledged_entry_is_a_lost_write() -> None:
    case = _created(acked=True)
    entry = {"Status": "Closed", "Timestamp": "2026-01-01T10:00:01.000Z"}
    case.logs.append([*_stored()["CaseStatusLog"], entry])

    assert len(judge(case, 200, _stored()).lost) == 1


def test_a_lost_comment_and_a_comment_nobody_sent_are_told_apart() -> None:
    case = _created(acked=True)
    case.comments.append(Attempt("Called the customer", True))
    stored = _stored(InternalNotes=[{"Detail": "Never sent"}])

    assert judge(case, 200, stored) == Verdict(
        lost=["crash-0-0-1: acknowledged comment 'Called the customer' is missing"],
        mangled=["crash-0-0-1: comments nobody sent are stored: ['Never sent']"],
    )


def test_a_comment_stored_twice_is_named() -> None:
    case = _created(acked=True)
    case.comments.append(Attempt("Called the customer", False))
    stored = _stored(InternalNotes=[{"Detail": "Called the customer"}] * 2)

    assert judge(case, 200, stored) == Verdict(
        mangled=["crash-0-0-1: comments stored twice: ['Called the customer']"]
    )


def test_a_case_still_there_after_an_acknowledged_delete_is_a_lost_write() -> None:
    case = _created(acked=True)
    case.deletes.append(Attempt(None, True))

    assert judge(case, 200, _stored()).lost == ["crash-0-0-1: an acknowledged delete was undone"]
