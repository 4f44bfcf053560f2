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
    # Every event makes a few short-lived tuples: with the default threshold (700) the collector runs every few
    # hundred events over the batch being built, about 5 % of a worker's time. This short-lived process makes
    # little cyclic garbage, so it collects a hundred times less often.
    gc.freeze()
    gc.set_threshold(70_000, 10, 10)
    result = ingest_part(job)
    json.dump(result.as_json(), sys.stdout)


if __name__ == "__main__":
    main()
