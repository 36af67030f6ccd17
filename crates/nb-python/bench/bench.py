"""The Python client against the official `openai` SDK alone and against
LiteLLM's Router, on the same nb-mock and the same load, in one run.

Each client runs in a process of its own (so its CPU time is its own: the
process's user and system time, every thread included, the engine's too),
`--rounds` times, alternating, and each figure is the median of its rounds.
A round sends `--requests` completions one after another (one caller),
after a warm-up; latency is measured per request on the wall clock.

    python bench.py --mock-bin target/debug/neuralbridge --requests 2000 --rounds 3

prints a markdown table (what `cargo xtask bench python` writes into
docs/BENCHMARKS.md). Run by hand it needs `openai` and `litellm` installed
beside `neuralbridge`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

MODEL = "gpt-4o-mini"
FALLBACK = "gpt-4o"
SCENARIO = f"""
[[models]]
name = "{MODEL}"
[[models]]
name = "{FALLBACK}"
"""
MESSAGES = [{"role": "user", "content": "Say hello in five words."}]


def client_call(kind: str, base_url: str):
    """One synchronous completion call of `kind`, ready to time."""
    if kind == "openai":
        import openai

        client = openai.OpenAI(base_url=base_url, api_key="sk-bench-0000", max_retries=2)
        return lambda: client.chat.completions.create(model=MODEL, messages=MESSAGES)
    if kind == "neuralbridge":
        from neuralbridge import NeuralBridge

        client = NeuralBridge(
            api_key="sk-bench-0000", base_url=base_url, fallback_models=[MODEL, FALLBACK]
        )
        return lambda: client.chat().create(model=MODEL, messages=MESSAGES)
    if kind == "litellm":
        import litellm
        from litellm import Router

        litellm.telemetry = False
        params = {"api_base": base_url, "api_key": "sk-bench-0000"}
        router = Router(
            model_list=[
                {"model_name": MODEL, "litellm_params": {"model": f"openai/{MODEL}", **params}},
                {"model_name": FALLBACK, "litellm_params": {"model": f"openai/{FALLBACK}", **params}},
            ],
            fallbacks=[{MODEL: [FALLBACK]}],
            num_retries=2,
        )
        return lambda: router.completion(model=MODEL, messages=MESSAGES)
    raise SystemExit(f"unknown client {kind}")


def one_round(kind: str, base_url: str, requests: int, warmup: int) -> dict:
    call = client_call(kind, base_url)
    for _ in range(warmup):
        call()
    latencies = []
    cpu0 = os.times()
    wall0 = time.perf_counter()
    for _ in range(requests):
        t = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - t)
    wall = time.perf_counter() - wall0
    cpu1 = os.times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    latencies.sort()
    return {
        "cpu_per_request_ms": cpu / requests * 1e3,
        "p50_ms": latencies[len(latencies) // 2] * 1e3,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1e3,
        "requests_per_s": requests / wall,
    }


def start_mock(mock_bin: str) -> tuple[subprocess.Popen, str]:
    scenario = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
    scenario.write(SCENARIO)
    scenario.close()
    process = subprocess.Popen(
        [mock_bin, "mock", "--scenario", scenario.name, "--quiet"],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise SystemExit(f"nb-mock did not start: {line!r}")
    return process, line.rsplit(" ", 1)[-1].strip()


def versions() -> str:
    out = []
    for name in ("neuralbridge", "openai", "litellm"):
        try:
            from importlib.metadata import version

            out.append(f"{name} {version(name)}")
        except Exception:
            out.append(f"{name} (not installed)")
    return ", ".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mock-bin", required=True)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="openai,neuralbridge,litellm")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(one_round(args.child, args.base_url, args.requests, args.warmup)))
        return

    mock, base_url = start_mock(args.mock_bin)
    kinds = args.clients.split(",")
    results: dict[str, list[dict]] = {k: [] for k in kinds}
    try:
        for _ in range(args.rounds):
            for kind in kinds:
                out = subprocess.run(
                    [
                        sys.executable, __file__, "--mock-bin", args.mock_bin, "--child", kind,
                        "--base-url", base_url, "--requests", str(args.requests),
                        "--warmup", str(args.warmup),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                results[kind].append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        mock.kill()

    def median(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in results[kind])

    names = {
        "openai": "`openai` SDK alone (baseline)",
        "neuralbridge": "`neuralbridge` (this package)",
        "litellm": "LiteLLM `Router`",
    }
    base = "openai" if "openai" in kinds else kinds[0]
    print(
        f"One caller, {args.requests} completions per round after {args.warmup} to warm up, "
        f"median of {args.rounds} alternating rounds, each client in its own process; "
        f"{versions()}; Python {sys.version.split()[0]}.\n"
    )
    print("| client | CPU per request | p50 | p99 | requests/s | CPU vs baseline |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in kinds:
        cpu = median(kind, "cpu_per_request_ms")
        print(
            f"| {names.get(kind, kind)} | {cpu:.3f} ms | {median(kind, 'p50_ms'):.3f} ms | "
            f"{median(kind, 'p99_ms'):.3f} ms | {median(kind, 'requests_per_s'):.0f} | "
            f"{cpu / median(base, 'cpu_per_request_ms'):.2f}× |"
        )


if __name__ == "__main__":
    main()
