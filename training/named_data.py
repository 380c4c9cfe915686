"""A second built-in synthetic data set whose features mean something to a person.

Card transactions over two weeks, seeded and time-ordered. Each row is one transaction with ten
features an analyst reads directly, so reason codes ("far from home", "fifth payment in an hour")
make sense:

==============================  =================================================================
``amount``                      the payment in currency units
``hour``                        local hour of day, 0-23
``merchant_category_risk``      the merchant category's fraud risk score, 0-1 (a per-category table)
``distance_from_home_km``       distance between the card holder's home and the merchant (or IP)
``card_present``                1 when the card was physically used, 0 for card-not-present
``card_tx_count_1h``            the card's earlier transactions in the hour before this one
``card_tx_count_24h``           ... in the 24 hours before
``card_amount_sum_1h``          the amount those transactions add up to in the hour before
``card_amount_sum_24h``         ... in the 24 hours before
``minutes_since_card_last_tx``  minutes since the card's previous transaction (43,200 when none)
==============================  =================================================================

Legitimate traffic: cards with their own activity level and spending scale, shopping sessions
(a few payments minutes apart), more by day than by night, mostly card-present, near home, mostly
low-risk merchants. Fraud comes in *bursts* on a compromised card: several payments minutes apart,
more likely at night, mostly card-not-present at risky merchants far from home, often opened by a
small card-testing payment; some bursts use a skimmed card in person far from home; and about 15 %
of frauds look like ordinary payments (no model catches everything). The velocity features are
computed from the generated timeline itself, per card, exactly as a feature store would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.data import SECONDS_PER_DAY, DataError, Dataset

NAMED_FEATURE_NAMES: tuple[str, ...] = (
    "amount",
    "hour",
    "merchant_category_risk",
    "distance_from_home_km",
    "card_present",
    "card_tx_count_1h",
    "card_tx_count_24h",
    "card_amount_sum_1h",
    "card_amount_sum_24h",
    "minutes_since_card_last_tx",
)
NAMED_LABEL = "is_fraud"
DAYS = 14
NO_PREVIOUS_TX_MINUTES = 43_200.0  # 30 days: "no earlier transaction" stays far from any real gap

# name, risk score (the feature), share of legitimate payments, share of those online, amount factor
MERCHANT_CATEGORIES: tuple[tuple[str, float, float, float, float], ...] = (
    ("grocery", 0.02, 0.22, 0.05, 1.0),
    ("restaurants", 0.03, 0.14, 0.05, 0.8),
    ("fuel", 0.06, 0.10, 0.0, 1.2),
    ("pharmacy", 0.04, 0.06, 0.10, 0.7),
    ("clothing", 0.10, 0.10, 0.40, 1.5),
    ("online_retail", 0.25, 0.12, 1.0, 1.3),
    ("electronics", 0.40, 0.06, 0.60, 3.0),
    ("travel", 0.35, 0.05, 0.80, 4.0),
    ("digital_goods", 0.55, 0.07, 1.0, 0.5),
    ("jewelry", 0.50, 0.02, 0.30, 5.0),
    ("gift_cards", 0.75, 0.02, 0.70, 1.5),
    ("money_transfer", 0.65, 0.04, 1.0, 3.0),
)


def _diurnal_times(rng: np.random.Generator, n: int, span: float, peak_hour: float, floor: float) -> np.ndarray:
    """``n`` times over ``span`` seconds, thinned to a daily cycle peaking at ``peak_hour``."""
    out: list[np.ndarray] = []
    have = 0
    while have < n:
        draws = rng.uniform(0.0, span, size=2 * (n - have) + 64)
        hour = (draws % SECONDS_PER_DAY) / 3_600.0
        accept = floor + (1.0 - floor) * (1.0 + np.cos(2.0 * np.pi * (hour - peak_hour) / 24.0)) / 2.0
        kept = draws[rng.uniform(size=draws.size) < accept]
        out.append(kept)
        have += kept.size
    return np.concatenate(out)[:n]


def _velocity(cards: np.ndarray, times: np.ndarray, amounts: np.ndarray) -> dict[str, np.ndarray]:
    """Per-card counts and sums over the hour and the day *before* each transaction, and the gap
    since the card's previous transaction (vectorised: one sort, one searchsorted per window)."""
    order = np.lexsort((times, cards))
    c, t, a = cards[order], times[order], amounts[order]
    stride = 4.0 * DAYS * SECONDS_PER_DAY  # > span + window: a card's keys never reach the previous card's
    keys = c.astype(np.float64) * stride + t
    cumulative = np.concatenate([[0.0], np.cumsum(a)])
    index = np.arange(t.size)
    out: dict[str, np.ndarray] = {}
    for label, window in (("1h", 3_600.0), ("24h", SECONDS_PER_DAY)):
        first = np.searchsorted(keys, keys - window, side="left")
        out[f"card_tx_count_{label}"] = (index - first).astype(np.float64)
        out[f"card_amount_sum_{label}"] = np.round(cumulative[index] - cumulative[first], 2)
    same_card = np.concatenate([[False], c[1:] == c[:-1]])
    gap = np.full(t.size, NO_PREVIOUS_TX_MINUTES)
    gap[same_card] = np.minimum((t[1:] - t[:-1])[same_card[1:]] / 60.0, NO_PREVIOUS_TX_MINUTES)
    out["minutes_since_card_last_tx"] = np.round(gap, 1)
    restore = np.empty_like(order)
    restore[order] = index
    return {name: values[restore] for name, values in out.items()}


@dataclass(frozen=True)
class Transactions:
    """The generated timeline: features plus the columns a real export would also carry."""

    data: Dataset
    seconds: np.ndarray  # since the start of the two weeks, ascending
    card_ids: np.ndarray  # int


def generate_named(n_rows: int = 200_000, fraud_rate: float = 0.005, seed: int = 7) -> Dataset:
    """Seeded card transactions with named features (see the module doc), ordered by time."""
    return named_transactions(n_rows, fraud_rate, seed).data


def named_transactions(n_rows: int = 200_000, fraud_rate: float = 0.005, seed: int = 7) -> Transactions:
    """:func:`generate_named` with each row's time and card (what a user's CSV export looks like)."""
    if n_rows < 1_000:
        raise DataError(f"n_rows must be at least 1000, got {n_rows}")
    if not 0.0 < fraud_rate < 0.5:
        raise DataError(f"fraud_rate must be in (0, 0.5), got {fraud_rate}")
    rng = np.random.default_rng(seed)
    span = DAYS * SECONDS_PER_DAY
    risk = np.array([c[1] for c in MERCHANT_CATEGORIES])
    legit_share = np.array([c[2] for c in MERCHANT_CATEGORIES])
    online_share = np.array([c[3] for c in MERCHANT_CATEGORIES])
    amount_factor = np.array([c[4] for c in MERCHANT_CATEGORIES])

    n_cards = max(200, n_rows // 20)
    card_activity = rng.lognormal(0.0, 0.8, n_cards)
    card_scale = rng.lognormal(np.log(30.0), 0.5, n_cards)
    card_home_radius = rng.lognormal(np.log(4.0), 0.6, n_cards)

    # -- fraud bursts: a compromised card, several payments minutes apart -----------------------
    # kinds: an online spree, a skimmed card used in person, a single fraud that looks ordinary
    n_bursts_max = max(3, round(n_rows * fraud_rate))
    kinds = rng.choice(3, size=n_bursts_max, p=[0.5, 0.2, 0.3])
    all_sizes = np.where(kinds == 2, 1, np.minimum(rng.geometric(0.35, n_bursts_max), 12))
    target = n_bursts_max  # fraud rows wanted
    count = int(np.searchsorted(np.cumsum(all_sizes), target)) + 1
    sizes, kind = all_sizes[:count].copy(), kinds[:count]
    sizes[-1] -= int(sizes.sum()) - target
    keep = sizes > 0
    sizes, kind = sizes[keep], kind[keep]
    n_fraud = int(sizes.sum())
    burst_card = rng.integers(0, n_cards, sizes.size)
    burst_start = _diurnal_times(rng, sizes.size, span, peak_hour=3.0, floor=0.45)
    burst_of = np.repeat(np.arange(sizes.size), sizes)
    step = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    position = np.arange(n_fraud) - np.repeat(step, sizes)  # 0 for the first payment of a burst
    gaps = rng.exponential(240.0, n_fraud)
    gaps[position == 0] = 0.0
    f_time = np.minimum(burst_start[burst_of] + _cumsum_by_group(gaps, sizes), span - 1.0)
    f_card = burst_card[burst_of]
    f_kind = kind[burst_of]

    fraud_weights = risk**1.5 * (online_share + 0.2)
    f_cat = rng.choice(risk.size, size=n_fraud, p=fraud_weights / fraud_weights.sum())
    skim_cats = np.array([2, 6, 9, 10])  # fuel, electronics, jewelry, gift cards
    skim = f_kind == 1
    f_cat[skim] = rng.choice(skim_cats, size=int(skim.sum()))
    ordinary = f_kind == 2
    f_cat[ordinary] = rng.choice(risk.size, size=int(ordinary.sum()), p=legit_share)
    f_present = np.where(skim, 1.0, (rng.uniform(size=n_fraud) < 0.1).astype(np.float64))
    f_present[ordinary] = (rng.uniform(size=int(ordinary.sum())) >= online_share[f_cat[ordinary]]).astype(float)
    f_amount = card_scale[f_card] * rng.lognormal(1.0, 0.7, n_fraud) * np.sqrt(amount_factor[f_cat])
    testing = (position == 0) & (f_kind == 0) & (rng.uniform(size=n_fraud) < 0.5)
    f_amount[testing] = rng.uniform(0.5, 5.0, int(testing.sum()))
    f_amount[ordinary] = card_scale[f_card[ordinary]] * rng.lognormal(0.0, 0.9, int(ordinary.sum()))
    # card-not-present: the IP is far away, or behind a proxy near the card holder
    online_distance = np.where(
        rng.uniform(size=n_fraud) < 0.55,
        rng.lognormal(np.log(400.0), 1.2, n_fraud),
        rng.lognormal(np.log(30.0), 1.2, n_fraud),
    )
    f_distance = np.where(skim, rng.lognormal(np.log(250.0), 0.9, n_fraud), online_distance)
    f_distance[ordinary] = card_home_radius[f_card[ordinary]] * rng.lognormal(0.0, 0.8, int(ordinary.sum()))

    # -- legitimate traffic: shopping sessions of one or a few payments ----------------------------
    n_legit = n_rows - n_fraud
    session_sizes = np.minimum(rng.geometric(0.7, n_legit), 6)
    session_sizes = session_sizes[: int(np.searchsorted(np.cumsum(session_sizes), n_legit)) + 1]
    session_sizes[-1] -= int(session_sizes.sum()) - n_legit
    session_sizes = session_sizes[session_sizes > 0]
    session_start = _diurnal_times(rng, session_sizes.size, span, peak_hour=15.0, floor=0.08)
    session_card = rng.choice(n_cards, size=session_sizes.size, p=card_activity / card_activity.sum())
    session_of = np.repeat(np.arange(session_sizes.size), session_sizes)
    l_gaps = rng.exponential(480.0, n_legit)
    l_gaps[np.concatenate([[0], np.cumsum(session_sizes)[:-1]])] = 0.0
    l_time = np.minimum(session_start[session_of] + _cumsum_by_group(l_gaps, session_sizes), span - 1.0)
    l_card = session_card[session_of]
    l_cat = rng.choice(risk.size, size=n_legit, p=legit_share)
    l_present = (rng.uniform(size=n_legit) >= online_share[l_cat]).astype(np.float64)
    l_amount = card_scale[l_card] * rng.lognormal(0.0, 0.9, n_legit) * amount_factor[l_cat]
    l_distance = card_home_radius[l_card] * rng.lognormal(0.0, 0.8, n_legit)
    travelling = rng.uniform(size=n_legit) < 0.05
    l_distance[travelling] = rng.uniform(100.0, 3_000.0, int(travelling.sum()))
    online = l_present == 0
    l_distance[online] = rng.lognormal(np.log(15.0), 1.0, int(online.sum()))  # IP geolocation: coarse

    # -- one timeline, features from it ------------------------------------------------------------
    times = np.concatenate([l_time, f_time])
    cards = np.concatenate([l_card, f_card])
    amounts = np.round(np.maximum(np.concatenate([l_amount, f_amount]), 0.5), 2)
    y = np.concatenate([np.zeros(n_legit, np.int8), np.ones(n_fraud, np.int8)])
    columns = {
        "amount": amounts,
        "hour": np.floor((times % SECONDS_PER_DAY) / 3_600.0),
        "merchant_category_risk": risk[np.concatenate([l_cat, f_cat])],
        "distance_from_home_km": np.round(np.concatenate([l_distance, f_distance]), 1),
        "card_present": np.concatenate([l_present, f_present]),
        **_velocity(cards, times, amounts),
    }
    X = np.column_stack([columns[name] for name in NAMED_FEATURE_NAMES]).astype(np.float64)
    order = np.argsort(times, kind="stable")
    data = Dataset(
        X=X[order],
        y=y[order],
        source=f"named(n_rows={n_rows}, fraud_rate={fraud_rate}, seed={seed})",
        feature_names=NAMED_FEATURE_NAMES,
    )
    return Transactions(data=data, seconds=times[order], card_ids=cards[order])


def _cumsum_by_group(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` restarting at every group (groups are consecutive, of ``sizes``)."""
    total = np.cumsum(values)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    before = np.concatenate([[0.0], total])[starts]
    return np.asarray(total - np.repeat(before, sizes))
