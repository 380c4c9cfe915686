"""Generate ``fraud_scoring/policy_schema_validator.py`` from ``policy.schema.json`` (``make policy-schema``).

fastjsonschema compiles a JSON Schema into Python source; compiling it at every cold start costs
70-140 ms here, so the source is generated once and committed (a test keeps it in sync).
"""

from __future__ import annotations

import json
import sys

import fastjsonschema

from fraud_scoring.policy import SCHEMA_FILE

TARGET = SCHEMA_FILE.with_name("policy_schema_validator.py")
HEADER = (
    "# Generated from policy.schema.json by `make policy-schema` (fastjsonschema.compile_to_code); do not edit.\n"
    "# mypy: ignore-errors\n"
)


def generated_source() -> str:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return HEADER + fastjsonschema.compile_to_code(schema, use_default=False)


def main() -> int:
    TARGET.write_text(generated_source(), encoding="utf-8")
    print(f"wrote {TARGET}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
