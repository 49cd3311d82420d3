"""Indonesian national holidays (hari libur nasional) and collective leave (cuti bersama).

2024 to 2026 follow the joint ministerial decrees (SKB 3 Menteri). Other years are estimated:
fixed-date holidays are exact, Easter-based ones are computed, and the Islamic and lunar holidays
are shifted from 2025 by the mean length of the lunar year, which is close enough for synthetic
data (the real dates depend on moon sighting anyway).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

Holiday = tuple[date, str]

_OFFICIAL: dict[int, tuple[tuple[str, str], ...]] = {
    2024: (
        ("2024-01-01", "Tahun Baru 2024 Masehi"),
        ("2024-02-08", "Isra Mikraj Nabi Muhammad SAW"),
        ("2024-02-09", "Cuti Bersama Tahun Baru Imlek"),
        ("2024-02-10", "Tahun Baru Imlek 2575 Kongzili"),
        ("2024-03-11", "Hari Suci Nyepi Tahun Baru Saka 1946"),
        ("2024-03-12", "Cuti Bersama Hari Suci Nyepi"),
        ("2024-03-29", "Wafat Isa Almasih"),
        ("2024-03-31", "Hari Paskah"),
        ("2024-04-08", "Cuti Bersama Idul Fitri 1445 H"),
        ("2024-04-09", "Cuti Bersama Idul Fitri 1445 H"),
        ("2024-04-10", "Hari Raya Idul Fitri 1445 H"),
        ("2024-04-11", "Hari Raya Idul Fitri 1445 H"),
        ("2024-04-12", "Cuti Bersama Idul Fitri 1445 H"),
        ("2024-04-15", "Cuti Bersama Idul Fitri 1445 H"),
        ("2024-05-01", "Hari Buruh Internasional"),
        ("2024-05-09", "Kenaikan Isa Almasih"),
        ("2024-05-10", "Cuti Bersama Kenaikan Isa Almasih"),
        ("2024-05-23", "Hari Raya Waisak 2568 BE"),
        ("2024-05-24", "Cuti Bersama Hari Raya Waisak"),
        ("2024-06-01", "Hari Lahir Pancasila"),
        ("2024-06-17", "Hari Raya Idul Adha 1445 H"),
        ("2024-06-18", "Cuti Bersama Idul Adha 1445 H"),
        ("2024-07-07", "Tahun Baru Islam 1446 H"),
        ("2024-08-17", "Hari Kemerdekaan Republik Indonesia"),
        ("2024-09-16", "Maulid Nabi Muhammad SAW"),
        ("2024-12-25", "Hari Raya Natal"),
        ("2024-12-26", "Cuti Bersama Hari Raya Natal"),
    ),
    2025: (
        ("2025-01-01", "Tahun Baru 2025 Masehi"),
        ("2025-01-27", "Isra Mikraj Nabi Muhammad SAW"),
        ("2025-01-28", "Cuti Bersama Tahun Baru Imlek"),
        ("2025-01-29", "Tahun Baru Imlek 2576 Kongzili"),
        ("2025-03-28", "Cuti Bersama Hari Suci Nyepi"),
        ("2025-03-29", "Hari Suci Nyepi Tahun Baru Saka 1947"),
        ("2025-03-31", "Hari Raya Idul Fitri 1446 H"),
        ("2025-04-01", "Hari Raya Idul Fitri 1446 H"),
        ("2025-04-02", "Cuti Bersama Idul Fitri 1446 H"),
        ("2025-04-03", "Cuti Bersama Idul Fitri 1446 H"),
        ("2025-04-04", "Cuti Bersama Idul Fitri 1446 H"),
        ("2025-04-07", "Cuti Bersama Idul Fitri 1446 H"),
        ("2025-04-18", "Wafat Isa Almasih"),
        ("2025-04-20", "Hari Paskah"),
        ("2025-05-01", "Hari Buruh Internasional"),
        ("2025-05-12", "Hari Raya Waisak 2569 BE"),
        ("2025-05-13", "Cuti Bersama Hari Raya Waisak"),
        ("2025-05-29", "Kenaikan Isa Almasih"),
        ("2025-05-30", "Cuti Bersama Kenaikan Isa Almasih"),
        ("2025-06-01", "Hari Lahir Pancasila"),
        ("2025-06-06", "Hari Raya Idul Adha 1446 H"),
        ("2025-06-09", "Cuti Bersama Idul Adha 1446 H"),
        ("2025-06-27", "Tahun Baru Islam 1447 H"),
        ("2025-08-17", "Hari Kemerdekaan Republik Indonesia"),
        ("2025-08-18", "Cuti Bersama Hari Kemerdekaan"),
        ("2025-09-05", "Maulid Nabi Muhammad SAW"),
        ("2025-12-25", "Hari Raya Natal"),
        ("2025-12-26", "Cuti Bersama Hari Raya Natal"),
    ),
    2026: (
        ("2026-01-01", "Tahun Baru 2026 Masehi"),
        ("2026-01-16", "Isra Mikraj Nabi Muhammad SAW"),
        ("2026-02-16", "Cuti Bersama Tahun Baru Imlek"),
        ("2026-02-17", "Tahun Baru Imlek 2577 Kongzili"),
        ("2026-03-18", "Cuti Bersama Hari Suci Nyepi"),
        ("2026-03-19", "Hari Suci Nyepi Tahun Baru Saka 1948"),
        ("2026-03-20", "Cuti Bersama Idul Fitri 1447 H"),
        ("2026-03-21", "Hari Raya Idul Fitri 1447 H"),
        ("2026-03-22", "Hari Raya Idul Fitri 1447 H"),
        ("2026-03-23", "Cuti Bersama Idul Fitri 1447 H"),
        ("2026-03-24", "Cuti Bersama Idul Fitri 1447 H"),
        ("2026-04-03", "Wafat Isa Almasih"),
        ("2026-04-05", "Hari Paskah"),
        ("2026-05-01", "Hari Buruh Internasional"),
        ("2026-05-14", "Kenaikan Isa Almasih"),
        ("2026-05-15", "Cuti Bersama Kenaikan Isa Almasih"),
        ("2026-05-27", "Hari Raya Idul Adha 1447 H"),
        ("2026-05-28", "Cuti Bersama Idul Adha 1447 H"),
        ("2026-05-31", "Hari Raya Waisak 2570 BE"),
        ("2026-06-01", "Hari Lahir Pancasila"),
        ("2026-06-16", "Tahun Baru Islam 1448 H"),
        ("2026-08-17", "Hari Kemerdekaan Republik Indonesia"),
        ("2026-08-25", "Maulid Nabi Muhammad SAW"),
        ("2026-12-24", "Cuti Bersama Hari Raya Natal"),
        ("2026-12-25", "Hari Raya Natal"),
    ),
}

_FIXED = (((1, 1), "Tahun Baru {year} Masehi"), ((5, 1), "Hari Buruh Internasional"),
          ((6, 1), "Hari Lahir Pancasila"), ((8, 17), "Hari Kemerdekaan Republik Indonesia"),
          ((12, 25), "Hari Raya Natal"))
# Islamic holidays as observed in 2025, shifted by whole lunar years for other years.
_ISLAMIC_2025 = (("2025-01-27", "Isra Mikraj Nabi Muhammad SAW"),
                 ("2025-03-31", "Hari Raya Idul Fitri"), ("2025-04-01", "Hari Raya Idul Fitri"),
                 ("2025-06-06", "Hari Raya Idul Adha"), ("2025-06-27", "Tahun Baru Islam"),
                 ("2025-09-05", "Maulid Nabi Muhammad SAW"))
_LUNAR_YEAR_DAYS = 354.367
_LUNAR_MONTH_DAYS = 29.531


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def _lunar_in_year(reference: date, year: int, earliest: tuple[int, int]) -> date:
    """A lunisolar holiday (Imlek, Nyepi, Waisak): its 2025 date shifted by lunar years, then by
    whole lunar months (the leap months) into its usual 30-day season starting at `earliest`."""
    day = reference + timedelta(days=round((year - reference.year) * _LUNAR_YEAR_DAYS))
    season = date(year, *earliest)
    months = int(np.floor((season - day).days / _LUNAR_MONTH_DAYS)) + 1
    if not 0 <= (day - season).days < 30:
        day += timedelta(days=round(months * _LUNAR_MONTH_DAYS))
    return day


def _estimated(year: int) -> list[Holiday]:
    out: list[Holiday] = [(date(year, m, d), text.format(year=year)) for (m, d), text in _FIXED]
    easter = _easter(year)
    out += [(easter - timedelta(days=2), "Wafat Isa Almasih"), (easter, "Hari Paskah"),
            (easter + timedelta(days=39), "Kenaikan Isa Almasih")]
    for iso, text in _ISLAMIC_2025:
        reference = date.fromisoformat(iso)
        for k in range(-3, 4):  # every lunar-year shift that lands in `year`
            day = reference + timedelta(days=round((year - 2025 + k) * _LUNAR_YEAR_DAYS))
            if day.year == year:
                out.append((day, text))
    out += [(_lunar_in_year(date(2025, 1, 29), year, (1, 21)), "Tahun Baru Imlek"),
            (_lunar_in_year(date(2025, 3, 29), year, (3, 7)), "Hari Suci Nyepi"),
            (_lunar_in_year(date(2025, 5, 12), year, (4, 30)), "Hari Raya Waisak")]
    fitri = sorted(d for d, text in out if text == "Hari Raya Idul Fitri")
    if fitri:  # the government adds collective leave around Lebaran and Christmas
        before, after = fitri[0] - timedelta(days=1), fitri[-1] + timedelta(days=1)
        extra = [before, after, after + timedelta(days=1)]
        out += [(d, "Cuti Bersama Idul Fitri") for d in extra if d.year == year]
    out.append((date(year, 12, 26), "Cuti Bersama Hari Raya Natal"))
    unique: dict[date, str] = {}
    for day, text in sorted(out):
        unique.setdefault(day, text)
    return sorted(unique.items())


def holidays(start: date, end: date) -> list[Holiday]:
    """Every national holiday and cuti bersama from `start` to `end`, by date, one per date."""
    out: list[Holiday] = []
    for year in range(start.year, end.year + 1):
        if year in _OFFICIAL:
            days = [(date.fromisoformat(d), text) for d, text in _OFFICIAL[year]]
        else:
            days = _estimated(year)
        out += [(d, text) for d, text in days if start <= d <= end]
    return sorted(out)
