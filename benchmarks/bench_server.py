"""Engine server throughput: 100 jobs from 20 concurrent clients, storyboard engine at 64x64, 1 s.

Reports jobs/s, p50/p99 latency of create and retrieve, and the server's RSS before and after; the
baseline is the same renders called in-process (no HTTP, no queue), so the ratio is the server's overhead.
Run: `.venv/bin/python -m benchmarks.bench_server`.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from edusdk.engine.storyboard import StoryboardEngine
from edusdk.models.engine import ShotRequest
from edusdk.server import ServerConfig, create_app
from edusdk.server.testing import serve_in_thread

JOBS, CLIENTS, KEY = 100, 20, "sk-bench-0123456789abcdef"
BODY = {"prompt": "a leaf", "size": "64x64", "seconds": "1"}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def _client(url: str, count: int, creates: list[float], retrieves: list[float]) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as http:
        for _ in range(count):
            t = time.perf_counter()
            vid = http.post("/v1/videos", json=BODY).raise_for_status().json()["id"]
            creates.append(time.perf_counter() - t)
            while True:
                t = time.perf_counter()
                video = http.get(f"/v1/videos/{vid}").json()
                retrieves.append(time.perf_counter() - t)
                if video["status"] in ("completed", "failed"):
                    break
                time.sleep(0.05)


def run(print_table: bool = True) -> list[dict[str, Any]]:
    proc = psutil.Process()
    with tempfile.TemporaryDirectory() as work:
        engine = StoryboardEngine()
        t = time.perf_counter()
        for i in range(10):
            engine.generate(
                ShotRequest(shot_id=f"b{i}", prompt="a leaf", width=64, height=64, fps=24, num_frames=24, seed=i),
                output=Path(work) / f"b{i}.mp4",
            )
        direct = 10 / (time.perf_counter() - t)
        app = create_app(ServerConfig(data_dir=Path(work) / "srv", api_keys={"bench": KEY}, poll_after_ms=50))
        rss_before = proc.memory_info().rss
        creates: list[float] = []
        retrieves: list[float] = []
        with serve_in_thread(app) as url:
            t = time.perf_counter()
            threads = [
                threading.Thread(target=_client, args=(url, JOBS // CLIENTS, creates, retrieves))
                for _ in range(CLIENTS)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - t
        rss_after = proc.memory_info().rss
    rows = [
        {"metric": "in-process renders (baseline)", "value": f"{direct:.1f} jobs/s"},
        {
            "metric": f"server, {JOBS} jobs / {CLIENTS} clients",
            "value": f"{JOBS / elapsed:.1f} jobs/s ({JOBS / elapsed / direct:.2f}x of baseline)",
        },
        {"metric": "create latency p50 / p99", "value": f"{_pct(creates, 0.5):.1f} / {_pct(creates, 0.99):.1f} ms"},
        {
            "metric": "retrieve latency p50 / p99",
            "value": f"{_pct(retrieves, 0.5):.1f} / {_pct(retrieves, 0.99):.1f} ms ({len(retrieves)} polls)",
        },
        {
            "metric": "server process RSS before / after",
            "value": f"{rss_before / 2**20:.0f} / {rss_after / 2**20:.0f} MiB",
        },
        {"metric": "mean create latency", "value": f"{statistics.mean(creates) * 1000:.1f} ms"},
    ]
    if print_table:
        width = max(len(r["metric"]) for r in rows)
        print("bench_server")
        for r in rows:
            print(f"  {r['metric']:<{width}}  {r['value']}")
    return rows


if __name__ == "__main__":
    run()
