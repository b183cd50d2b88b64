"""`GET /v1/usage`: requests and tokens per key, model and UTC day (an admin sees every key).

`start` and `end` are UNIX seconds or `YYYY-MM-DD` (UTC days, both included); the default is
the last 30 days. `group_by` is any of `key`, `model`, `day`, comma-separated (default all).
Usage is written just after each response ends, so a report may miss requests still running.
"""

from __future__ import annotations

import calendar
import time

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from relay.errors import BadRequestError
from relay.http.security import require_key, services_of
from relay.protocol.keys import UsageList, UsageRow
from relay.services.keys.models import Principal
from relay.services.usage.service import parse_group_by

router = APIRouter(dependencies=[Depends(require_key)])


def _instant(raw: str | None, param: str) -> float | None:
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    if value.isdigit():
        return float(value)
    try:
        return float(calendar.timegm(time.strptime(value, "%Y-%m-%d")))
    except ValueError:
        raise BadRequestError(f"{param} must be UNIX seconds or a YYYY-MM-DD date", param=param) from None


@router.get("/v1/usage", response_model=UsageList)
async def usage(
    request: Request,
    principal: Principal = Depends(require_key),
    start: str | None = Query(default=None, max_length=32),
    end: str | None = Query(default=None, max_length=32),
    key_id: str | None = Query(default=None, max_length=64),
    group_by: str | None = Query(default=None, max_length=64),
) -> UsageList:
    groups = parse_group_by(group_by)
    lines = await run_in_threadpool(
        lambda: services_of(request).usage.report(
            principal,
            start=_instant(start, "start"),
            end=_instant(end, "end"),
            key_id=key_id,
            group_by=groups,
        )
    )
    return UsageList(
        data=[
            UsageRow(
                key_id=line.key_id,
                model=line.model,
                date=line.date,
                requests=line.counts.requests,
                input_tokens=line.counts.input_tokens,
                output_tokens=line.counts.output_tokens,
                cached_tokens=line.counts.cached_tokens,
                cache_write_tokens=line.counts.cache_write_tokens,
            )
            for line in lines
        ]
    )
