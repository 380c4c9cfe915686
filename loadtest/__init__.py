"""k6 load testing: payload generation, the runner that starts a target and k6, and the report."""
