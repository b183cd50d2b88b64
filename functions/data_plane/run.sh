#!/bin/sh
# Started by the Lambda Web Adapter (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap); the adapter
# streams responses because AWS_LWA_INVOKE_MODE=response_stream.
# The adapter runs this script instead of the Python runtime's bootstrap, which is what
# normally puts the function code and layers on sys.path (Lambda's default PYTHONPATH is
# only /var/runtime, where the runtime's boto3 lives).
export PYTHONPATH="/var/task:/opt/python${PYTHONPATH:+:$PYTHONPATH}"
exec python -m uvicorn --host 127.0.0.1 --port "${PORT:-8080}" --no-access-log \
    --timeout-keep-alive 75 --log-level warning main:app
