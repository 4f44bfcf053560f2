"""`make bench`: each module's `run()` measures its subject against a baseline in the same run."""
