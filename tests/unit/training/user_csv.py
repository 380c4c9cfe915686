"""A small user-like CSV: a card issuer's export with its own column names, ids and ISO times.

Built from the named synthetic data set, so it carries a real fraud signal; the columns come in the
order an export would have them (ids first, the label in the middle), not the order training uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.named_data import NAMED_FEATURE_NAMES, named_transactions

START = np.datetime64("2026-03-02T00:00:00")
# what the user's export calls each named feature
USER_NAMES = {
    "amount": "amount_eur",
    "hour": "local_hour",
    "merchant_category_risk": "mcc_risk",
    "distance_from_home_km": "km_from_home",
    "card_present": "chip_used",
    "card_tx_count_1h": "tx_last_hour",
    "card_tx_count_24h": "tx_last_day",
    "card_amount_sum_1h": "spent_last_hour",
    "card_amount_sum_24h": "spent_last_day",
    "minutes_since_card_last_tx": "minutes_since_previous",
}
LABEL = "is_fraud"
TIME = "created_at"
IDS = ("transaction_id", "card_id")
HEADER = [
    "transaction_id",
    TIME,
    "card_id",
    *[USER_NAMES[n] for n in NAMED_FEATURE_NAMES[:5]],
    LABEL,
    *[USER_NAMES[n] for n in NAMED_FEATURE_NAMES[5:]],
]
FEATURES = tuple(name for name in HEADER if name not in (LABEL, TIME, *IDS))


def user_rows(n_rows: int = 20_000, seed: int = 21, fraud_rate: float = 0.01) -> list[list[str]]:
    """Data rows as strings in HEADER order, shuffled out of time order (the loader sorts them)."""
    tx = named_transactions(n_rows=n_rows, fraud_rate=fraud_rate, seed=seed)
    rng = np.random.default_rng(seed)
    stamps = START + (tx.seconds * 1e6).astype("timedelta64[us]")
    rows: list[list[str]] = []
    for i in range(tx.data.n_rows):
        named = dict(zip(NAMED_FEATURE_NAMES, tx.data.X[i], strict=True))
        values = {USER_NAMES[name]: repr(float(value)) for name, value in named.items()}
        values.update(
            transaction_id=f"tx{i:07d}",
            card_id=f"card-{int(tx.card_ids[i]):05d}",
            created_at=f"{np.datetime_as_string(stamps[i], unit='s')}Z",
            is_fraud=str(int(tx.data.y[i])),
        )
        rows.append([values[name] for name in HEADER])
    order = rng.permutation(len(rows))
    return [rows[i] for i in order]


def write_csv(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> Path:
    lines = [delimiter.join(header), *(delimiter.join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_user_csv(path: Path, n_rows: int = 20_000, seed: int = 21) -> Path:
    return write_csv(path, HEADER, user_rows(n_rows, seed))
