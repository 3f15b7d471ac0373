"""`POST /tills/{till}/journals`: a till's offline journal, read as it arrives, answered line by
line (application/x-ndjson: a header, one outcome per line, a summary) once it is all read; the
answers wait in a temporary file past 1 MiB, so memory never holds the journal nor its answers.

Lines go to the writer CHUNK to a command (`RecordTillLines`), up to WINDOW commands at once,
so they commit in large groups. The till's high-water mark (its next line, decided on the Till
aggregate in the writer) makes every line count once: a re-upload, or an overlapping one,
answers a recorded line `already_recorded` and applies nothing. A line the API cannot read but
whose `seq` it can is still recorded, as rejected, so the lines after it keep their order; a
line without a readable `seq` is answered with an error and recorded nowhere."""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any
from uuid import uuid4

import orjson
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from api import callers
from api.access import principal_of, require_locations
from api.auth import Principal
from api.caller_bounds import occurred_at
from api.journal_reading import LineTooLongError, journal_lines
from api.models import REFERENCE_PATTERN
from api.problems import ApiProblem
from api.rate_limits import BUDGET_KEY, Budget, RateLimitedError, explain
from api.request_state import runtime_of
from api.till_models import JournalLineIn
from api.tracing import traced
from domain.errors import DomainError
from domain.till_commands import RecordTillLine, RecordTillLines, TillItem
from domain.trace import Trace
from service_layer import till_queries
from service_layer.bootstrap import LedgerRuntime
from service_layer.writer import Outcome, WriterOverloadedError, WriterStoppedError

CHUNK = 200  # lines a command records
WINDOW = 8  # commands in the writer at once
SPOOLED_IN_MEMORY = 1 << 20  # answers beyond this wait in a temporary file


@dataclass
class Waiting:
    """Lines sent to the writer in one command, and their answers once it committed."""

    future: asyncio.Future[Outcome] | None
    lines: tuple[RecordTillLine, ...]
    answers: list[dict[str, Any]] = field(default_factory=list)


Pending = Waiting | dict[str, Any]


@dataclass
class Upload:
    runtime: LedgerRuntime
    till: str
    journal_id: str
    channel: str
    principal: str
    caller: Principal
    last_seq: int = 0
    chunk: list[RecordTillLine] = field(default_factory=list)
    lines_referenced: bool = False  # whether `till:T#seq` is a valid source_ref for this till
    budget: Budget | None = None  # with rate limits on: the lines sent to the writer pay
    sent: int = 0  # lines sent to the writer
    stopped: bool = False  # the budget ran out: the rest is not read

    def __post_init__(self) -> None:
        self.lines_referenced = _is_ref(f"till:{self.till}#{2**53}")  # the longest seq


async def upload_journal(request: Request) -> Response:
    runtime = runtime_of(request)
    code = _code(request.path_params["till"], "till")
    channel, principal = callers.caller(request)
    caller = principal_of(request)
    found = await run_in_threadpool(till_queries.till, runtime.ledger, code)
    require_locations(caller, [found.location])
    journal_id = _code(request.headers.get("journal-id") or uuid4().hex, "Journal-Id header")
    upload = Upload(runtime, code, journal_id, channel, principal, caller)
    upload.budget = request.scope.get(BUDGET_KEY)
    answers = tempfile.SpooledTemporaryFile(max_size=SPOOLED_IN_MEMORY)  # noqa: SIM115
    try:
        async for line in _answers(upload, request):
            answers.write(line)
    except BaseException:
        answers.close()
        raise
    answers.seek(0)
    return StreamingResponse(_read_back(answers), media_type="application/x-ndjson")


async def _read_back(answers: IO[bytes]) -> AsyncIterator[bytes]:
    """The answers, once the whole journal is read: a client that sends its body before it
    reads (most do) would otherwise stall the upload on a full socket."""
    try:
        while chunk := answers.read(64 * 1024):
            yield chunk
    finally:
        answers.close()


async def _answers(upload: Upload, request: Request) -> AsyncIterator[bytes]:
    yield _line({"journal_id": upload.journal_id, "till": upload.till})
    pending: deque[Pending] = deque()
    tally: dict[str, int] = {}
    try:
        async for raw in journal_lines(request.stream()):
            if upload.stopped:
                break
            found = _read(upload, raw)
            if isinstance(found, dict):  # answered at once: what was read before goes first
                await _flush(upload, pending)
                pending.append(found)
            else:
                upload.chunk.append(found)
                if len(upload.chunk) >= CHUNK:
                    await _flush(upload, pending)
            while len(pending) >= WINDOW:
                for answer in await _settle(pending.popleft()):
                    yield _counted(answer, tally)
    except LineTooLongError as error:
        await _flush(upload, pending)
        pending.append(_error(None, "line-too-long", str(error)))
    except ClientDisconnect:
        await _flush(upload, pending)
        pending.append(_error(None, "upload-cut-off", "the upload stopped; re-upload"))
    await _flush(upload, pending)
    while pending:
        for answer in await _settle(pending.popleft()):
            yield _counted(answer, tally)
    yield _line({"summary": {"journal_id": upload.journal_id, **tally}})


def _read(upload: Upload, raw: bytes) -> RecordTillLine | dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return _error(None, "malformed-line", f"not JSON ({error}); expected one object")
    seq = data.get("seq") if isinstance(data, dict) else None
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq <= 2**53:
        detail = "no whole positive `seq`: the till's sequence number is needed to record it"
        return _error(None, "malformed-line", detail)
    if seq <= upload.last_seq:
        detail = f"line {seq} comes after line {upload.last_seq} in this upload: lines go in order"
        return _error(seq, "repeated-seq", detail)
    upload.last_seq = seq
    return _command(upload, seq, data)


async def _flush(upload: Upload, pending: deque[Pending]) -> None:
    """Send the lines read so far to the writer as one command."""
    if not upload.chunk:
        return
    lines, upload.chunk = tuple(upload.chunk), []
    if upload.budget is not None and not await _paid(upload, lines, pending):
        return
    upload.sent += len(lines)
    now = datetime.now(tz=UTC)
    ref = f"till:{upload.till}/{upload.journal_id}"
    trace = traced(
        Trace(upload.channel, upload.principal, now, None, ref if _is_ref(ref) else None)
    )
    command = RecordTillLines(upload.till, upload.journal_id, lines, trace)
    while True:
        try:
            pending.append(Waiting(upload.runtime.writer.submit_async(command), lines))
            return
        except WriterOverloadedError:
            await asyncio.sleep(0.05)
        except WriterStoppedError as error:
            answers = [_error(x.seq, "ledger-busy", f"{error}; re-upload") for x in lines]
            pending.append(Waiting(None, lines, answers))
            return


async def _paid(upload: Upload, lines: tuple[RecordTillLine, ...], pending: deque[Pending]) -> bool:
    """Whether the rate limits' budget paid for these lines (a line costs 1, waiting for room
    up to GLOW_COMMAND_TIMEOUT_SECONDS). When it cannot and nothing was sent yet, the upload
    is a 429 (RateLimitedError); else these lines and the rest are answered `rate-limited`,
    recorded nowhere, and the rest is not read."""
    assert upload.budget is not None
    try:
        await upload.budget.spend(len(lines), upload.runtime.settings.command_timeout_seconds)
    except RateLimitedError as error:
        if upload.sent == 0:
            raise
        said, _ = explain(error.verdict, time.time())
        again = f"re-upload from line {lines[0].seq} (the lines before it answer already_recorded)"
        detail = f"{said}; not recorded: {again}"
        pending.append(Waiting(None, lines, [_error(x.seq, "rate-limited", detail) for x in lines]))
        rest = f"{said}; the journal was not read past line {lines[-1].seq}: {again}"
        pending.append(_error(None, "rate-limited", rest))
        upload.stopped = True
        return False
    return True


def _command(upload: Upload, seq: int, data: dict[str, Any]) -> RecordTillLine:
    """The line as its command, its trace made once its date is known (a journal has tens
    of thousands of lines: every object made per line shows)."""
    now = datetime.now(tz=UTC)
    ref = f"till:{upload.till}#{seq}"
    source_ref = ref if upload.lines_referenced else None
    try:
        line = JournalLineIn.model_validate(data)
        at = occurred_at(
            line.occurred_at, now, upload.caller, upload.channel, upload.runtime.settings
        )
    except (ValidationError, ApiProblem, DomainError) as error:
        kind = data.get("type") if data.get("type") in ("sale", "return", "void") else "sale"
        trace = traced(Trace(upload.channel, upload.principal, now, ref, source_ref))
        return _rejected(seq, str(kind), trace, _why_unread(error))
    trace = traced(Trace(upload.channel, upload.principal, at, ref, source_ref))
    if line.type == "void" and line.voids is None:
        return _rejected(seq, line.type, trace, "a void names the sale it voids: `voids`")
    if line.type == "return" and any(item.batch is None for item in line.lines):
        detail = "a return names the batch of each item it takes back: `batch`"
        return _rejected(seq, line.type, trace, detail)
    items = tuple(TillItem(i.sku, i.quantity, i.batch, i.expiry, i.restock) for i in line.lines)
    return RecordTillLine(seq, line.type, items, trace, line.voids)


def _why_unread(error: ValidationError | ApiProblem | DomainError) -> str:
    if isinstance(error, ValidationError):
        said = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(line)'}: {e['msg']}"
            for e in error.errors(include_url=False)
        )
        return f"invalid line: {said}"
    if isinstance(error, ApiProblem):
        return error.detail
    return error.message  # dated in the future, or further back than a till may


def _rejected(seq: int, kind: str, trace: Trace, why: str) -> RecordTillLine:
    return RecordTillLine(seq, kind, (), trace, rejection=why)


async def _settle(pending: Pending) -> list[dict[str, Any]]:
    if isinstance(pending, dict):
        return [pending]
    if pending.future is None:
        return pending.answers
    try:
        outcome = await pending.future
    except DomainError as error:
        return [_error(x.seq, error.code, error.message) for x in pending.lines]
    except Exception as error:  # these lines' failure is their answer, never the upload's
        said = f"{type(error).__name__}: {error}; re-upload"
        return [_error(x.seq, "lines-failed", said) for x in pending.lines]
    answers: list[dict[str, Any]] = outcome.body["lines"]
    return answers


def _counted(answer: dict[str, Any], tally: dict[str, int]) -> bytes:
    name = str(answer.get("outcome"))
    tally[name] = tally.get(name, 0) + 1
    return _line(answer)


def _error(seq: int | None, code: str, detail: str) -> dict[str, Any]:
    return {"seq": seq, "outcome": "error", "error": code, "detail": detail}


def _line(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body, default=str) + b"\n"


def _is_ref(text: str) -> bool:
    return len(text) <= 100 and re.fullmatch(REFERENCE_PATTERN, text) is not None


def _code(raw: str, name: str) -> str:
    if len(raw) > 64 or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:/-]*", raw):
        raise ApiProblem(
            422,
            "invalid-path-parameter",
            "Invalid parameter",
            f"{name} {raw[:80]!r} is not a code: expected 1 to 64 letters, digits and . _ : / -",
        )
    return raw


async def report(request: Request) -> Response:
    runtime = runtime_of(request)
    code = _code(request.path_params["till"], "till")
    journal_id = _code(request.path_params["journal_id"], "journal_id")
    found = await run_in_threadpool(till_queries.journal_report, runtime.ledger, code, journal_id)
    require_locations(principal_of(request), [found["location"]])
    return Response(orjson.dumps(found, default=str), media_type="application/json")
