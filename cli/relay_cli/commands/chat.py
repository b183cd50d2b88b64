"""`relay chat MODEL`: a streaming chat in the terminal, or one turn with `-m`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from relay_cli.api import openai_error
from relay_cli.output import CliError, JsonOption, console, emit_json, err_console
from relay_cli.session import session_of

HELP = "Commands: /reset clears the history, /system TEXT sets the system prompt, /exit (or Ctrl-D) leaves."


def stream_reply(
    client: Any, model: str, messages: list[dict[str, str]], extra: dict[str, Any]
) -> dict[str, Any]:
    """Print the reply as it arrives (reasoning dimmed); returns content, reasoning, usage."""
    import openai

    content: list[str] = []
    reasoning: list[str] = []
    usage = None
    try:
        stream = client.chat.completions.create(
            model=model, messages=messages, stream=True, stream_options={"include_usage": True}, **extra
        )
        for chunk in stream:
            usage = chunk.usage or usage
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            thought = getattr(delta, "reasoning_content", None) or (delta.model_extra or {}).get(
                "reasoning_content"
            )
            if thought:
                reasoning.append(thought)
                console.print(thought, style="dim italic", end="", soft_wrap=True)
            if delta.content:
                if reasoning and not content:
                    console.print()
                content.append(delta.content)
                console.print(delta.content, end="", soft_wrap=True, markup=False)
    except openai.OpenAIError as exc:
        console.print()
        raise openai_error(exc) from None
    console.print()
    return {
        "content": "".join(content),
        "reasoning_content": "".join(reasoning) or None,
        "usage": usage.model_dump() if usage is not None else None,
    }


def chat(
    ctx: typer.Context,
    model: str,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Send one message, print the reply, exit.")
    ] = None,
    system: Annotated[str | None, typer.Option(help="A system prompt.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Cap each reply.")] = None,
    temperature: Annotated[float | None, typer.Option()] = None,
    as_json: JsonOption = False,
) -> None:
    """Chat with a model; replies stream, reasoning shows dimmed."""
    client = session_of(ctx).openai()
    extra = {k: v for k, v in (("max_tokens", max_tokens), ("temperature", temperature)) if v is not None}
    history: list[dict[str, str]] = []

    def messages() -> list[dict[str, str]]:
        return ([{"role": "system", "content": system}] if system else []) + history

    if message is not None:
        if as_json:
            console.quiet = True  # the reply goes into the JSON only
        history.append({"role": "user", "content": message})
        try:
            reply = stream_reply(client, model, messages(), extra)
        finally:
            console.quiet = False
        if as_json:
            emit_json({"model": model, **reply})
        return
    if as_json:
        raise typer.BadParameter("--json needs --message (an interactive chat has no single result)")
    err_console.print(f"Chatting with [bold]{model}[/]. {HELP}")
    while True:
        try:
            line = console.input("[bold green]you>[/] ")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        text = line.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            return
        if text == "/reset":
            history.clear()
            err_console.print("[dim]History cleared.[/]")
            continue
        if text.startswith("/system"):
            system = text.removeprefix("/system").strip() or None
            err_console.print(f"[dim]System prompt {'set' if system else 'removed'}.[/]")
            continue
        if text.startswith("/"):
            err_console.print(f"[yellow]Unknown command {text.split()[0]}.[/] {HELP}")
            continue
        history.append({"role": "user", "content": text})
        console.print(f"[bold blue]{model}>[/] ", end="")
        try:
            reply = stream_reply(client, model, messages(), extra)
        except KeyboardInterrupt:
            console.print("\n[dim](interrupted)[/]")
            history.pop()
            continue
        except CliError as exc:
            err_console.print(f"[red]{exc.format_message()}[/]")
            history.pop()
            continue
        history.append({"role": "assistant", "content": reply["content"]})
