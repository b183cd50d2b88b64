"""What every command shares: the resolved target and one API client, built on first use."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
import typer

from relay_cli.api import Api
from relay_cli.target import Target, resolve


class Session:
    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        stack_name: str | None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        transport: httpx.BaseTransport | None = None,
        openai_http_client: Any = None,
        aws_session: Any = None,
    ) -> None:
        self._options = {"base_url": base_url, "api_key": api_key, "stack_name": stack_name}
        self._env, self._cwd, self._aws = env, cwd, aws_session
        # Tests hand in an httpx MockTransport; the openai SDK, on its own HTTP stack, its own client.
        self.transport = transport
        self.openai_http_client = openai_http_client

    @cached_property
    def target(self) -> Target:
        return resolve(**self._options, env=self._env, cwd=self._cwd, session=self._aws)

    @cached_property
    def api(self) -> Api:
        return Api(self.target.base_url, self.target.api_key, transport=self.transport)

    def openai(self) -> Any:
        from openai import OpenAI

        # The SDK insists on a key; an empty one still reaches the server, which answers 401.
        return OpenAI(
            base_url=self.target.base_url,
            api_key=self.target.api_key or "missing",
            http_client=self.openai_http_client,
            max_retries=1,
        )


def session_of(ctx: typer.Context) -> Session:
    obj = ctx.find_root().obj
    if not isinstance(obj, Session):
        raise RuntimeError("the relay callback did not run")
    return obj
