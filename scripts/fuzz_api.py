"""A longer fuzzing run than CI's gate: tests/test_fuzz_api.py, round after round.

Each round runs the gate (every operation of the OpenAPI document, in-process) with
`--examples` generated requests per operation and its own seed (`--seed`, then +1 each
round), until `--seconds` have passed or `--rounds` are done; then it prints how many
requests were sent, per status, and every failure with its operation and round. Exit
status 1 if any round failed. Rounds use the database settings of the environment:

    .venv/bin/python scripts/fuzz_api.py --seconds 300 --examples 200
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/herald_fuzz \\
        .venv/bin/python scripts/fuzz_api.py --seconds 300

A round that fails is repeated by rerunning the gate with its seed:
`HERALD_FUZZ_SEED=… HERALD_FUZZ_EXAMPLES=… .venv/bin/python -m pytest -m fuzz`.
Requests that checks send on their own (the same request without its key, with a wrong key,
with a method the path has not) are not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GATE = "tests/test_fuzz_api.py"


def _round(*, seed: int, examples: int, report: Path, timeout: float) -> tuple[int, float]:
    env = {**os.environ, "HERALD_FUZZ_SEED": str(seed), "HERALD_FUZZ_EXAMPLES": str(examples),
           "HERALD_FUZZ_REPORT": str(report)}
    started = time.monotonic()
    command = [sys.executable, "-m", "pytest", GATE, "-q", "-p", "no:randomly",
               "-p", "no:cacheprovider", "--timeout", str(max(60, int(timeout)))]
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if completed.returncode not in (0, 1):  # 1: tests failed, reported below
        sys.stdout.write(completed.stdout[-4000:] + completed.stderr[-4000:])
        raise SystemExit(f"round with seed {seed}: pytest exited {completed.returncode}")
    return completed.returncode, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200,
                        help="generated requests per operation and round (CI's gate: 50)")
    parser.add_argument("--seconds", type=float, default=300,
                        help="start no new round after this long (default 300)")
    parser.add_argument("--rounds", type=int, default=0,
                        help="at most this many rounds (0: no cap)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first round")
    args = parser.parse_args()

    statuses: Counter[int] = Counter()
    per_operation: Counter[str] = Counter()
    failures: list[tuple[int, str, int, list[str]]] = []
    started = time.monotonic()
    rounds = 0
    with tempfile.TemporaryDirectory() as scratch:
        while True:
            seed = args.seed + rounds
            report = Path(scratch) / f"round-{seed}.jsonl"
            remaining = args.seconds - (time.monotonic() - started)
            code, took = _round(seed=seed, examples=args.examples, report=report,
                                timeout=max(remaining, 60))
            rounds += 1
            sent = 0
            for line in report.read_text().splitlines() if report.exists() else []:
                entry = json.loads(line)
                if "failures" in entry:
                    failures.append((seed, entry["operation"], entry["status"], entry["failures"]))
                    continue
                sent += 1
                statuses[entry["status"]] += 1
                per_operation[entry["operation"]] += 1
            print(f"round {rounds} (seed {seed}): {sent} requests in {took:.0f} s, "
                  f"{'failed' if code else 'passed'}", flush=True)
            if args.rounds and rounds >= args.rounds:
                break
            if time.monotonic() - started >= args.seconds:
                break

    elapsed = time.monotonic() - started
    total = sum(statuses.values())
    postgres = os.environ.get("DATABASE_URL", "").startswith("postgres")
    database = "PostgreSQL" if postgres else "SQLite"
    print(f"\n{total} requests in {elapsed:.0f} s ({total / elapsed:.0f}/s), {rounds} rounds of "
          f"{args.examples} examples per operation, seeds {args.seed}..{args.seed + rounds - 1}, "
          f"{len(per_operation)} operations, {database}")
    print("per status: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    server_errors = sum(count for status, count in statuses.items() if status >= 500)
    print(f"5xx: {server_errors}")
    print(f"failures: {len(failures)}")
    for seed, operation, status, kinds in failures:
        print(f"  seed {seed}  {operation}  (last answer {status}): {'; '.join(kinds)}")
    return 1 if failures or server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
