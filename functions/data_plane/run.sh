#!/bin/sh
# Started by the Lambda Web Adapter (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap); the adapter
# streams responses because AWS_LWA_INVOKE_MODE=response_stream.
exec python -m uvicorn --host 127.0.0.1 --port "${PORT:-8080}" --no-access-log \
    --timeout-keep-alive 75 --log-level warning main:app
