"""A worker process of `Ingestor.ingest_file`: reads its job (JSON) on stdin, ingests its part of the file,
writes the `IngestResult` (JSON) on stdout. Run as `python -m edusdk.analytics.ingest_worker`; not a user command.
"""

from __future__ import annotations

import gc
import json
import sys
import warnings

from edusdk.analytics.ingest import ingest_part


def main() -> None:
    warnings.simplefilter("ignore")  # the parent already warned about its configuration
    job = json.loads(sys.stdin.read())
    # Every event makes a few short-lived tuples, and a batch keeps 50,000 rows alive until it is written: with the
    # default threshold (700) the collector runs every few hundred events over the batch being built, with 70,000
    # it still cost 6 % of a worker's CPU (1 M events: 17.3 s → 16.2 s at 1,000,000). This short-lived process makes
    # little cyclic garbage (the rows are freed by reference counting when their batch is written), so the collector
    # runs only once that many objects have piled up: a safety net, not a cost.
    gc.freeze()
    gc.set_threshold(1_000_000, 10, 10)
    result = ingest_part(job)
    json.dump(result.as_json(), sys.stdout)


if __name__ == "__main__":
    main()
