"""How a user's CSV is read: which column is the label, which orders rows in time, which to ignore.

Every other column is a feature, in file order. A schema comes from a small JSON or YAML file
(``--schema``), from options (``--label``, ``--time``, ``--ignore``, ``--delimiter``), or both (the
options win). Without either, the CSV must have the public credit-card-fraud layout.

.. code-block:: yaml

    label: is_fraud           # required: 0/1
    time: ts                  # optional: orders rows for the time-ordered split (numbers or ISO 8601)
    ignore: [transaction_id, card_id]   # optional: ids and anything that is not a feature
    delimiter: ","            # optional
    time_is_feature: false    # optional: also feed the time column to the model
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
SCHEMA_KEYS = ("label", "time", "ignore", "delimiter", "time_is_feature")


class SchemaError(ValueError):
    """The schema file or options are unusable; the message names the key at fault."""


@dataclass(frozen=True)
class CsvSchema:
    label: str
    time: str | None = None
    ignore: tuple[str, ...] = ()
    delimiter: str = ","
    time_is_feature: bool = False
    # The public layout only: exactly these features, no other column (its strict check).
    exact_features: tuple[str, ...] | None = None

    def describe(self) -> dict[str, Any]:
        """What the manifest records about how the training CSV was read."""
        return {
            "label": self.label,
            "time": self.time,
            "ignore": list(self.ignore),
            "delimiter": self.delimiter,
            "time_is_feature": self.time_is_feature,
        }


def parse_delimiter(value: str) -> str:
    resolved = DELIMITER_NAMES.get(value.lower(), value)
    if len(resolved) != 1 or resolved in {'"', "\n", "\r"}:
        raise SchemaError(f"delimiter must be one character (or comma, semicolon, tab, pipe), got {value!r}")
    return resolved


def _names(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = [item.strip() for item in value]
    else:
        raise SchemaError(f"{key} must be a list of column names or a comma-separated string, got {value!r}")
    if any(not item for item in items):
        raise SchemaError(f"{key} has an empty column name: {value!r}")
    return tuple(items)


def schema_from_mapping(data: dict[str, Any], source: str = "schema") -> CsvSchema:
    unknown = sorted(set(data) - set(SCHEMA_KEYS))
    if unknown:
        raise SchemaError(f"{source}: unknown key(s) {', '.join(unknown)} (known: {', '.join(SCHEMA_KEYS)})")
    label = data.get("label")
    if not isinstance(label, str) or not label.strip():
        raise SchemaError(f"{source}: 'label' (the 0/1 fraud column) is required and must be a column name")
    time = data.get("time")
    if time is not None and (not isinstance(time, str) or not time.strip()):
        raise SchemaError(f"{source}: 'time' must be a column name, got {time!r}")
    time_is_feature = data.get("time_is_feature", False)
    if not isinstance(time_is_feature, bool):
        raise SchemaError(f"{source}: 'time_is_feature' must be true or false, got {time_is_feature!r}")
    delimiter = data.get("delimiter", ",")
    if not isinstance(delimiter, str):
        raise SchemaError(f"{source}: 'delimiter' must be a string, got {delimiter!r}")
    schema = CsvSchema(
        label=label.strip(),
        time=time.strip() if isinstance(time, str) else None,
        ignore=_names(data.get("ignore", []), f"{source}: 'ignore'"),
        delimiter=parse_delimiter(delimiter),
        time_is_feature=time_is_feature,
    )
    check_schema(schema, source)
    return schema


def check_schema(schema: CsvSchema, source: str = "schema") -> None:
    roles = [("label", schema.label)]
    if schema.time is not None:
        roles.append(("time", schema.time))
    roles += [("ignore", name) for name in schema.ignore]
    seen: dict[str, str] = {}
    for role, name in roles:
        if name in seen:
            raise SchemaError(f"{source}: column {name!r} is both {seen[name]!r} and {role!r}")
        seen[name] = role
    if schema.time_is_feature and schema.time is None:
        raise SchemaError(f"{source}: 'time_is_feature' needs a 'time' column")


def load_schema_file(path: str | Path) -> CsvSchema:
    """Read a schema from ``.json``, ``.yaml`` or ``.yml``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SchemaError(f"{path}: no such schema file") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SchemaError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {exc}") from exc
    if not isinstance(data, dict):
        raise SchemaError(f"{path}: must hold a mapping with at least 'label'")
    return schema_from_mapping(data, str(path))


def build_schema(
    file: Path | None = None,
    label: str | None = None,
    time: str | None = None,
    ignore: str | None = None,
    delimiter: str | None = None,
    time_is_feature: bool | None = None,
) -> CsvSchema | None:
    """The schema from a file and/or options (options win); ``None`` when neither is given."""
    base = load_schema_file(file) if file is not None else None
    if base is None and label is None:
        if any(v is not None for v in (time, ignore, delimiter, time_is_feature)):
            raise SchemaError("--label (LABEL=) is required with --time, --ignore, --delimiter or --time-is-feature")
        return None
    schema = base if base is not None else CsvSchema(label=str(label))
    changes: dict[str, Any] = {}
    if label is not None:
        changes["label"] = label.strip()
    if time is not None:
        changes["time"] = time.strip() or None
    if ignore is not None:
        changes["ignore"] = _names(ignore, "--ignore") if ignore.strip() else ()
    if delimiter is not None:
        changes["delimiter"] = parse_delimiter(delimiter)
    if time_is_feature is not None:
        changes["time_is_feature"] = time_is_feature
    schema = replace(schema, **changes)
    check_schema(schema, "options")
    return schema
