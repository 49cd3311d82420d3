"""Kinds of deliberately broken rows and the helpers that make them.

Every bad row is an extra row: it never replaces or alters a good row, and its keys are fresh
(a phantom employee, a new indicator id, a new rated_at), so quarantining it leaves the good data
exactly as a run without bad rows would have it, and a duplicate key quarantines two extra rows,
never a real one. That is what lets tests compare `GenerationSummary` with the quarantine: the
pipeline must quarantine exactly the rows counted there, each for the reason of its kind.
"""

from __future__ import annotations

import numpy as np

from kinerja.synthetic.common import BadKind

# Kind names (the keys of DatasetSummary.bad_by_kind).
NIP_LENGTH = "nip_length"  # 17 or 19 digits
NIP_LETTERS = "nip_letters"  # a letter O for a zero, spaces, Excel's 1.99001E+17
NIP_DATE = "nip_date"  # birth month 13, day 32, 30 February or TMT month 00
NIP_GENDER = "nip_gender"  # gender digit 3 or 0
NIP_UNKNOWN = "nip_unknown"  # a valid NIP that employees.csv does not have
RATER_UNKNOWN = "rater_unknown"
SUPERVISOR_UNKNOWN = "supervisor_unknown"
SUPERVISOR_SELF = "supervisor_self"
UNIT_UNKNOWN = "unit_unknown"
PARENT_UNKNOWN = "parent_unknown"
DATE_OUTSIDE_PERIOD = "date_outside_period"
DATE_UNPARSEABLE = "date_unparseable"
TIMESTAMP_UNPARSEABLE = "timestamp_unparseable"
TIME_UNPARSEABLE = "time_unparseable"
CHECKOUT_BEFORE_CHECKIN = "checkout_before_checkin"
ACTIVE_TO_BEFORE_FROM = "active_to_before_from"
STATUS_UNKNOWN = "status_unknown"
EMPLOYEE_TYPE_UNKNOWN = "employee_type_unknown"
POSITION_TYPE_UNKNOWN = "position_type_unknown"
POLARITY_UNKNOWN = "polarity_unknown"
RATING_LABEL_UNKNOWN = "rating_label_unknown"
EMPTY_REQUIRED = "empty_required"
DECIMAL_UNPARSEABLE = "decimal_unparseable"
TARGET_ZERO = "target_zero"
TARGET_NEGATIVE = "target_negative"
REALIZATION_NEGATIVE = "realization_negative"
WEIGHT_NOT_POSITIVE = "weight_not_positive"
PAGU_NEGATIVE = "pagu_negative"
REALISASI_NEGATIVE = "realisasi_negative"
DUPLICATE_KEY = "duplicate_key"  # two extra rows sharing one key: both are quarantined

NIP_KINDS = (NIP_LENGTH, NIP_LETTERS, NIP_DATE, NIP_GENDER)
_NIP_KIND_SET = [BadKind(k) for k in NIP_KINDS]

KINDS: dict[str, tuple[BadKind, ...]] = {
    "units": (BadKind(EMPTY_REQUIRED), BadKind(PARENT_UNKNOWN), BadKind(DUPLICATE_KEY, 2)),
    "employees": (
        *_NIP_KIND_SET, BadKind(EMPTY_REQUIRED), BadKind(EMPLOYEE_TYPE_UNKNOWN),
        BadKind(POSITION_TYPE_UNKNOWN), BadKind(UNIT_UNKNOWN), BadKind(SUPERVISOR_SELF),
        BadKind(SUPERVISOR_UNKNOWN), BadKind(ACTIVE_TO_BEFORE_FROM), BadKind(DATE_UNPARSEABLE),
        BadKind(DUPLICATE_KEY, 2),
    ),
    "calendar": (BadKind(DATE_OUTSIDE_PERIOD), BadKind(DATE_UNPARSEABLE), BadKind(EMPTY_REQUIRED),
                 BadKind(DUPLICATE_KEY, 2)),
    "attendance": (
        *_NIP_KIND_SET, BadKind(NIP_UNKNOWN), BadKind(DATE_OUTSIDE_PERIOD),
        BadKind(DATE_UNPARSEABLE), BadKind(STATUS_UNKNOWN), BadKind(TIME_UNPARSEABLE),
        BadKind(CHECKOUT_BEFORE_CHECKIN), BadKind(EMPTY_REQUIRED),
    ),
    "skp": (
        *_NIP_KIND_SET, BadKind(NIP_UNKNOWN), BadKind(EMPTY_REQUIRED), BadKind(TARGET_ZERO),
        BadKind(TARGET_NEGATIVE), BadKind(REALIZATION_NEGATIVE), BadKind(DECIMAL_UNPARSEABLE),
        BadKind(POLARITY_UNKNOWN), BadKind(WEIGHT_NOT_POSITIVE), BadKind(DUPLICATE_KEY, 2),
    ),
    "ratings": (
        *_NIP_KIND_SET, BadKind(NIP_UNKNOWN), BadKind(RATER_UNKNOWN), BadKind(EMPTY_REQUIRED),
        BadKind(RATING_LABEL_UNKNOWN), BadKind(TIMESTAMP_UNPARSEABLE), BadKind(DUPLICATE_KEY, 2),
    ),
    "unit_iku": (
        BadKind(UNIT_UNKNOWN), BadKind(EMPTY_REQUIRED), BadKind(TARGET_ZERO),
        BadKind(TARGET_NEGATIVE), BadKind(REALIZATION_NEGATIVE), BadKind(DECIMAL_UNPARSEABLE),
        BadKind(POLARITY_UNKNOWN), BadKind(WEIGHT_NOT_POSITIVE), BadKind(DUPLICATE_KEY, 2),
    ),
    "budget": (
        BadKind(UNIT_UNKNOWN), BadKind(EMPTY_REQUIRED), BadKind(PAGU_NEGATIVE),
        BadKind(REALISASI_NEGATIVE), BadKind(DECIMAL_UNPARSEABLE), BadKind(DUPLICATE_KEY, 2),
    ),
}

UNKNOWN_STATUSES = ("HADIR", "X", "A", "CT", "TB", "SAKIT", "ALPA", "L")
UNKNOWN_EMPLOYEE_TYPES = ("HONORER", "THL", "PPNPN", "CPNS", "P3K")
UNKNOWN_POSITION_TYPES = ("STRUKTURAL", "ESELON III", "STAF", "JFT", "JFU")
UNKNOWN_POLARITIES = ("NAIK", "TURUN", "+", "POSITIF", "MAKS")
UNKNOWN_RATINGS = ("Baik", "Sangat Baik", "Cukup", "B", "Diatas", "Memuaskan")
BAD_TIMES = ("7.30", "25:10", "07:61", "0730", "jam 7", "07:30 WIB", "16.05", "24:00")
BAD_DECIMALS = ("1.250.000", "Rp 1.250.000", "12,5", "n/a", "-", "sepuluh", "10 dokumen", "1e")
UNKNOWN_UNIT_CODES = ("9.99.0.00.0.00.99.0000", "1.02.0.00.0.00.77.0000", "DINKES", "X-01")


def bad_date(u: float, iso: str) -> str:
    """An unparseable spelling of the ISO date `iso` (YYYY-MM-DD)."""
    year, month, day = iso.split("-")
    variants = (f"{day}/{month}/{year}", f"{year}-{month}-32", f"{year}-13-{day}",
                f"{day}-{month}-{year}", f"{year}{month}{day}", f"{year}-02-30")
    return variants[int(u * len(variants))]


def corrupt_nip(nip: str, kind: str, u: float) -> str:
    """`nip` (valid) broken the way `kind` says; `u` in [0, 1) picks the variant."""
    if kind == NIP_LENGTH:
        return nip[:-1] if u < 0.5 else nip + "0"
    if kind == NIP_LETTERS:
        variants = (nip[:6] + "O" + nip[7:], f"{nip[:8]} {nip[8:14]} {nip[14]} {nip[15:]}",
                    f"{int(nip):.5E}", "NIP" + nip[3:])
        return variants[int(u * len(variants))]
    if kind == NIP_DATE:
        variants = (nip[:4] + "13" + nip[6:], nip[:6] + "32" + nip[8:], nip[:4] + "0230" + nip[8:],
                    nip[:12] + "00" + nip[14:])
        return variants[int(u * len(variants))]
    if kind == NIP_GENDER:
        return nip[:14] + ("3" if u < 0.7 else "0") + nip[15:]
    raise ValueError(kind)


def reserved_nips(rng: np.random.Generator, count: int, low_seq: int) -> list[str]:
    """`count` distinct valid NIPs whose sequence lies in [low_seq, low_seq + 50), a range real
    people never get (population.NIP_SEQ_RESERVED): unknown references and phantom employees."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        u = rng.random(5)
        birth = np.datetime64("1965-01-01") + int(u[0] * 35 * 365)
        born = birth.astype(object)
        nip = (f"{born:%Y%m%d}{born.year + 22 + int(u[1] * 10):04d}{1 + int(u[2] * 12):02d}"
               f"{1 + int(u[3] * 2)}{low_seq + int(u[4] * 50):03d}")
        if nip not in seen:
            seen.add(nip)
            out.append(nip)
    return out


UNKNOWN_SEQ = 950  # NIPs that appear nowhere in employees.csv
PHANTOM_SEQ = 900  # NIPs of the extra (broken) employees rows
