"""A worker process of `Ingestor.ingest_file`: reads its job (JSON) on stdin, ingests its part of the file,
writes the `IngestResult` (JSON) on stdout. Run as `python -m edusdk.analytics.ingest_worker`; not a user command.
"""

from __future__ import annotations

import gc
import json
import sys
import warnings

from edusdk.analytics.ingest import ingest_part, relaxed_collector


def main() -> None:
    warnings.simplefilter("ignore")  # the parent already warned about its configuration
    job = json.loads(sys.stdin.read())
    gc.freeze()  # what was imported is never collected: the rare collections skip it
    with relaxed_collector():
        result = ingest_part(job)
    json.dump(result.as_json(), sys.stdout)


if __name__ == "__main__":
    main()
