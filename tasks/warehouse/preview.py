"""What a dry run (`kinerja run --dry-run`, `kinerja backfill --dry-run`) shows, in pure pandas.

A dry run extracts, validates and scores like a real run and then, instead of publishing,
compares its frames with the current publication (`change_log.preview_changes`). A dry
backfill re-runs several periods without publishing any, so a later period must read the
earlier ones as the backfill would have re-published them, not as the warehouse still holds
them: `overlay_prior` puts the dry run's own results over the warehouse's.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from kinerja.period import Period

# Quarantined rows shown per dry run: enough to see what is wrong, short enough to read.
SHOWN_QUARANTINE_ROWS = 20
SHOWN_CHANGE_ROWS = 20
_QUOTED_VALUE = r" \('.*'\)$"


def overlay_prior(
    prior_absent_days: pd.DataFrame,
    prior_predikat: pd.DataFrame,
    period: Period,
    earlier: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The inputs of `tasks.warehouse.database.load_prior` with the periods of `earlier` replaced.

    `earlier` maps a period id to that period's dry-run `(absent_days, predikat)`: frames with
    columns nip, absent_days and nip, period_id, predikat, as a publication would have stored
    them. Every row of such a period comes from the overlay, none from the warehouse; the
    result keeps the warehouse frames' columns and dtypes.
    """
    first_half = Period(period.year, 1).id
    absent = prior_absent_days
    if period.half == 2 and first_half in earlier:
        absent = _typed_like(earlier[first_half][0], prior_absent_days)
    window = {period.previous(n).id for n in (1, 2, 3)}
    replaced = sorted(window & set(earlier))
    predikat = prior_predikat
    if replaced:
        kept = prior_predikat[~prior_predikat["period_id"].astype(str).isin(replaced)]
        added = [_typed_like(earlier[p][1], prior_predikat) for p in replaced]
        predikat = (pd.concat([kept, *added], ignore_index=True)
                    .sort_values(["nip", "period_id"], kind="stable")
                    .reset_index(drop=True))
    return absent.reset_index(drop=True), predikat


def _typed_like(frame: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({c: frame[c].astype(like[c].dtype) for c in like.columns})


def quarantine_preview(quarantine: pd.DataFrame,
                       rows: int = SHOWN_QUARANTINE_ROWS) -> dict[str, object]:
    """Counts per dataset and reason, and the first `rows` quarantined rows (dataset,
    record_ref, reasons) of a dry run's quarantine (tasks.sources.validate.QUARANTINE_COLUMNS)."""
    if quarantine.empty:
        return {"rows": 0, "reasons": [], "first_rows": []}
    # Counted without the quoted value ("status: not one of ... ('A')"): one line per rule.
    reasons = (quarantine.assign(reason=quarantine["reasons"].astype(str).str.split("; "))
               .explode("reason")
               .assign(reason=lambda f: f["reason"].str.replace(_QUOTED_VALUE, "", regex=True))
               .groupby(["dataset", "reason"], sort=True).size()
               .sort_values(ascending=False, kind="stable"))
    first = quarantine.loc[:, ["dataset", "record_ref", "reasons"]].head(rows)
    return {
        "rows": len(quarantine),
        "reasons": [{"dataset": str(d), "reason": str(r), "rows": int(n)}
                    for (d, r), n in reasons.items()],
        "first_rows": [{k: str(v) for k, v in r.items()}
                       for r in first.to_dict(orient="records")],
    }
