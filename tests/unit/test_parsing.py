import numpy as np
import pandas as pd

from schemas.parsing import (
    canonical_rating,
    nip_is_valid,
    parse_date,
    parse_decimal,
    parse_time,
    parse_timestamp,
)


def text(*values):
    return pd.Series(list(values), dtype="str")


def test_nip_rules_of_domain_md():
    nips = text(
        "199001012015031001",  # valid: born 1990-01-01, TMT 2015-03, male
        "199001012015032001",  # valid: female
        "199001012015033001",  # gender digit 3
        "199013012015031001",  # birth month 13
        "199002302015031001",  # 30 February
        "199001012015131001",  # appointment month 13
        "19900101201503100",  # 17 digits
        "19900101201503100A",  # a letter
        None,
    )
    assert nip_is_valid(nips).tolist() == [True, True, False, False, False, False, False, False,
                                           False]


def test_dates_are_strict_iso():
    parsed = parse_date(text("2025-01-05", "2025/01/05", "2025-02-30", "05-01-2025", None))
    assert parsed.iloc[0] == pd.Timestamp("2025-01-05")
    assert parsed.iloc[1:].isna().all()


def test_times_in_seconds_after_midnight():
    parsed = parse_time(text("07:30", "07:30:01", "7:05", "24:00", "07:60", "0730", None))
    assert parsed.iloc[:3].tolist() == [27000.0, 27001.0, 25500.0]
    assert parsed.iloc[3:].isna().all()


def test_timestamps_need_a_time():
    parsed = parse_timestamp(text("2025-06-20 10:00", "2025-06-20 10:00:05", "2025-06-20"))
    assert parsed.iloc[0] == pd.Timestamp("2025-06-20 10:00")
    assert parsed.iloc[1] == pd.Timestamp("2025-06-20 10:00:05")
    assert pd.isna(parsed.iloc[2])


def test_decimals_use_a_dot_and_must_be_finite():
    parsed = parse_decimal(text("1.5", "-2", "1,5", "abc", "inf", "NaN", None))
    assert parsed.iloc[0] == 1.5 and parsed.iloc[1] == -2.0
    assert np.isnan(parsed.iloc[2:]).all()


def test_rating_labels_in_any_spelling():
    out = canonical_rating(text("Di Atas Ekspektasi", "DIATAS_EKSPEKTASI", "diatas ekspektasi",
                                "sesuai-ekspektasi", "Dibawah Ekspektasi", "bagus", None))
    assert out.iloc[:5].tolist() == ["DIATAS_EKSPEKTASI"] * 3 + ["SESUAI_EKSPEKTASI",
                                                                 "DIBAWAH_EKSPEKTASI"]
    assert out.iloc[5] == "bagus"  # unknown text is kept so that validation can name it
    assert pd.isna(out.iloc[6])


def test_parsers_scale_with_distinct_values_not_rows():
    many = text(*(["07:31:00"] * 100_000 + ["16:05"] * 100_000))
    parsed = parse_time(many)
    assert parsed.iloc[0] == 27060.0 and parsed.iloc[-1] == 57900.0
