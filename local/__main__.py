"""`make local`: the Relay API on 127.0.0.1, on an embedded stand-in for AWS."""

from __future__ import annotations

import argparse
import os
import signal
import sys

import uvicorn

SNIPPET = """\
Relay is running on the local stack.

  Base URL : {base}
  API key  : {key}

  export OPENAI_BASE_URL={base}
  export OPENAI_API_KEY={key}

  python - <<'PY'
  from openai import OpenAI
  client = OpenAI()  # reads OPENAI_BASE_URL and OPENAI_API_KEY
  print([m.id for m in client.models.list()])
  PY

  curl -s {base}/models -H "Authorization: Bearer {key}"

Ctrl-C stops everything.
"""


def _stack_outputs(stack_name: str) -> dict[str, str]:
    import boto3

    stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("RELAY_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("RELAY_PORT", "8000")))
    parser.add_argument(
        "--real-aws",
        action="store_true",
        default=os.environ.get("RELAY_REAL_AWS", "") in ("1", "true"),
        help="serve the app against real AWS with your own credentials instead of the emulated stack",
    )
    parser.add_argument(
        "--stack-name",
        default=os.environ.get("RELAY_STACK_NAME", ""),
        help="with --real-aws: read the table, bucket and secret from this deployed stack's outputs",
    )
    parser.add_argument(
        "--scaler-seconds",
        type=float,
        default=float(os.environ["RELAY_LOCAL_SCALER_SECONDS"])
        if os.environ.get("RELAY_LOCAL_SCALER_SECONDS")
        else None,
        help="run the idle scaler every this many seconds instead of the template's rate (0: never)",
    )
    args = parser.parse_args(argv)

    stack = None
    if args.real_aws:
        if args.stack_name:
            outputs = _stack_outputs(args.stack_name)
            os.environ.setdefault("RELAY_TABLE_NAME", outputs["TableName"])
            os.environ.setdefault("RELAY_BUCKET_NAME", outputs["BucketName"])
            os.environ.setdefault("RELAY_ADMIN_SECRET_ID", outputs["AdminKeySecretArn"])
        key = "(the admin key in Secrets Manager: " + os.environ.get("RELAY_ADMIN_SECRET_ID", "?") + ")"
    else:
        from local.stack import LocalStack

        stack = LocalStack(host=args.host, scaler_seconds=args.scaler_seconds).start()
        key = stack.admin_key

    from relay.http.app import create_local_app

    app = create_local_app()
    base = f"http://{args.host}:{args.port}/v1"
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    print(SNIPPET.format(base=base, key=key), flush=True)
    state_file = None
    if stack is not None:  # for scripts and the `relay` CLI (local/state.py)
        from local import state
        from local.stack import EMULATED_SERVICES

        state_file = state.state_file_path()
        region, names = os.environ["AWS_DEFAULT_REGION"], stack.resources.names
        state.write_state(state_file, state.build_state(base, key, EMULATED_SERVICES, names, region))
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it: as SystemExit rather than the
    # default kill, so the finally below still removes the state file and stops the stack.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        server.run()
    finally:
        if state_file is not None:
            state.remove_state(state_file)
        if stack is not None:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
