"""Stored keys for `--key-checks`: one without limits and one with limits it never reaches.

Both are created through Relay's own key service in a child process that has the stack's
environment, so the bench measures what a team key costs on the request path: the
unlimited key's auth-cache hit, and the limited key's one conditional counter write
(against moto's DynamoDB on loopback, which is slower than DynamoDB's single-digit
milliseconds in the same region, so the figure is an upper bound on CPU, not on network).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Far above what the bench sends, so the limited key is never refused while measured.
RPM, TPM, DAILY_BUDGET = 10**9, 10**12, 10**15


def create_keys(stack_env: dict[str, str]) -> dict[str, str]:
    """{"relay-key": plaintext, "relay-limited": plaintext}."""
    env = dict(os.environ)
    env.update(stack_env)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "layers" / "relay"), str(REPO), env.get("PYTHONPATH", "")]
    )
    result = subprocess.run(
        [sys.executable, "-c", "from bench.keys import _main; _main()"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"creating the bench keys failed:\n{result.stderr[-3000:]}")
    keys: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    return keys


def _main() -> None:
    from relay.services.container import Services
    from relay.services.keys.policy import KeyPolicy, TokenBudget
    from relay.settings import Settings

    service = Services(Settings.from_env()).keys
    limited = KeyPolicy(rpm_limit=RPM, tpm_limit=TPM, token_budget=TokenBudget(DAILY_BUDGET, "day"))
    plain, _ = service.create("bench unlimited")
    capped, _ = service.create("bench limited", limited)
    print(json.dumps({"relay-key": plain, "relay-limited": capped}))
