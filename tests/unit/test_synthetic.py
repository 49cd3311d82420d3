"""The synthetic landing-zone writer (`kinerja generate`): reproducible bytes, every file and
column of sources.md, valid data when no bad rows are asked for, and exactly the announced bad
rows when they are. The checks read the files with plain pandas, independently of the pipeline's
own extraction and validation."""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from kinerja.period import Period
from kinerja.synthetic import DATASETS, GenerationSummary, generate_landing
from kinerja.synthetic import badrows as bad

AGENCY = "3374"
PERIODS = ["2025-S1", "2025-S2"]
EMPLOYEES = 600
SEED = 11

REQUIRED = {
    "units.csv": {"unit_code", "unit_name"},
    "employees.csv": {"nip", "name", "employee_type", "unit_code", "position_type"},
    "calendar.csv": {"date"},
    "skp.csv": {"nip", "indicator_id", "target"},
    "ratings.csv": {"nip", "rated_at", "results_rating", "behavior_rating"},
    "unit_iku.csv": {"unit_code", "iku_id", "target"},
}
BUDGET_REQUIRED = {"unit_code", "program_code", "activity_code", "pagu", "realisasi"}
STATUSES = {"H", "S", "I", "C", "DL", "TK"}
LABELS = {"DIATASEKSPEKTASI", "SESUAIEKSPEKTASI", "DIBAWAHEKSPEKTASI"}
ASPECTS = ["berorientasi_pelayanan", "akuntabel", "kompeten", "harmonis", "loyal", "adaptif",
           "kolaboratif"]


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> GenerationSummary:
    return generate_landing(tmp_path_factory.mktemp("clean"), AGENCY, EMPLOYEES, PERIODS,
                            seed=SEED)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory) -> GenerationSummary:
    return generate_landing(tmp_path_factory.mktemp("dirty"), AGENCY, EMPLOYEES, PERIODS,
                            seed=SEED, bad_rows=0.05)


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> GenerationSummary:
    """A 2,000-employee agency: big enough that every band and tier must occur."""
    return generate_landing(tmp_path_factory.mktemp("city"), AGENCY, 2000, ["2025-S1"], seed=0)


# --- helpers ---------------------------------------------------------------------------------


def folder(summary: GenerationSummary, period_id: str) -> Path:
    return summary.out_dir / AGENCY / period_id


def tree_hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def read(path: Path) -> pd.DataFrame:
    """A landed CSV as sources.md allows it: BOM, any header case, every value text."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.columns = [c.strip().lower() for c in frame.columns]
    return frame


def read_attendance(period_dir: Path) -> pd.DataFrame:
    frames = []
    for path in sorted((period_dir / "attendance").glob("*.csv")):
        frame = read(path)
        frame["_file"] = path.name
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True).fillna("")
    out["code"] = out["status"].str.strip().str.upper()
    return out


def read_budget(period_dir: Path) -> pd.DataFrame:
    if (period_dir / "budget.csv").exists():
        return read(period_dir / "budget.csv")
    sheet = load_workbook(period_dir / "budget.xlsx", read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=[str(c).strip().lower() for c in rows[0]])


def nip_valid(nip: str) -> bool:
    if len(nip) != 18 or not nip.isdigit() or nip[14] not in "12":
        return False
    try:
        date(int(nip[:4]), int(nip[4:6]), int(nip[6:8]))
    except ValueError:
        return False
    return 1 <= int(nip[12:14]) <= 12


def seconds(text: pd.Series) -> pd.Series:
    """HH:MM[:SS] as seconds after midnight; NaN for anything else (25:10, 07:61, 7.30)."""
    parts = text.str.extract(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$").astype(float)
    return parts[0] * 3600 + parts[1] * 60 + parts[2].fillna(0)


def squeeze(label: pd.Series) -> pd.Series:
    return label.str.replace(r"[\s_]+", "", regex=True).str.upper()


def sanction(absent: int, longest_run: int) -> str:
    if absent >= 28 or longest_run >= 10:
        return "PEMBERHENTIAN"
    for low, name in ((25, "PEMBEBASAN_JABATAN"), (21, "PENURUNAN_JABATAN"),
                      (17, "POTONG_TUKIN_25_12BLN"), (14, "POTONG_TUKIN_25_9BLN"),
                      (11, "POTONG_TUKIN_25_6BLN"), (7, "PERNYATAAN_TIDAK_PUAS"),
                      (4, "TEGURAN_TERTULIS"), (3, "TEGURAN_LISAN")):
        if absent >= low:
            return name
    return "NONE"


# --- reproducibility -------------------------------------------------------------------------


def test_same_arguments_write_the_same_bytes(clean, tmp_path):
    again = generate_landing(tmp_path, AGENCY, EMPLOYEES, list(reversed(PERIODS)), seed=SEED)
    first, second = tree_hashes(clean.out_dir), tree_hashes(again.out_dir)
    assert len(first) > 2 * 10  # every period has 7 files plus several attendance exports
    assert any(name.endswith("budget.xlsx") for name in first)  # the pinned workbook too
    assert first == second


def test_a_period_does_not_depend_on_the_other_periods_requested(clean, tmp_path):
    alone = generate_landing(tmp_path, AGENCY, EMPLOYEES, ["2025-S2"], seed=SEED)
    both = {k: v for k, v in tree_hashes(clean.out_dir).items() if "/2025-S2/" in k}
    assert both == tree_hashes(alone.out_dir)


def test_another_seed_writes_other_data(clean, tmp_path):
    other = generate_landing(tmp_path, AGENCY, EMPLOYEES, ["2025-S1"], seed=SEED + 1)
    ours = read(folder(clean, "2025-S1") / "employees.csv")
    theirs = read(folder(other, "2025-S1") / "employees.csv")
    assert len(set(ours["nip"]) & set(theirs["nip"])) < 5
    first, second = tree_hashes(folder(clean, "2025-S1")), tree_hashes(folder(other, "2025-S1"))
    # Same size, so the unit list and the national holidays may coincide; nothing else may.
    assert all(first[k] != second[k] for k in first.keys() & second.keys()
               if k not in ("units.csv", "calendar.csv"))


# --- files and columns -----------------------------------------------------------------------


def test_every_file_of_the_landing_zone_is_written_for_every_period(clean):
    for period_id in PERIODS:
        period_dir = folder(clean, period_id)
        for name in REQUIRED:
            assert (period_dir / name).is_file(), name
        exports = sorted(p.name for p in (period_dir / "attendance").glob("*.csv"))
        terminals = [n for n in exports if re.fullmatch(r"mesin_\d{2}_\d{4}-\d{2}\.csv", n)]
        assert "surat_izin.csv" in exports
        assert len(terminals) >= 2 * 6  # at least two terminals, one file per month
        assert {n[-11:-4] for n in terminals} == {f"{period_id[:4]}-{m:02d}" for m in (
            range(1, 7) if period_id.endswith("S1") else range(7, 13))}
        assert clean.periods[period_id].datasets.keys() == set(DATASETS)


def test_budget_is_xlsx_in_s1_and_csv_in_s2(clean):
    s1, s2 = folder(clean, "2025-S1"), folder(clean, "2025-S2")
    assert (s1 / "budget.xlsx").is_file() and not (s1 / "budget.csv").exists()
    assert (s2 / "budget.csv").is_file() and not (s2 / "budget.xlsx").exists()
    workbook = read_budget(s1)
    assert set(workbook.columns) >= BUDGET_REQUIRED
    assert len(workbook) == clean.dataset("2025-S1", "budget").rows
    assert all(isinstance(v, float | int) and v > 0 for v in workbook["pagu"])


def test_headers_hold_the_required_columns_in_any_case(clean):
    cases = set()
    for period_id in PERIODS:
        period_dir = folder(clean, period_id)
        for name, required in REQUIRED.items():
            assert required <= set(read(period_dir / name).columns), name
        assert set(read_budget(period_dir).columns) >= BUDGET_REQUIRED
        for path in (period_dir / "attendance").glob("*.csv"):
            header = path.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
            assert {"nip", "date", "status"} <= {h.strip().strip('"').lower() for h in header}
            cases.add("upper" if "NIP" in header else "lower" if "nip" in header else "other")
    assert {"upper", "lower"} <= cases


def test_attendance_exports_vary_like_real_ones(clean):
    paths = list((folder(clean, "2025-S1") / "attendance").glob("*.csv")) + list(
        (folder(clean, "2025-S2") / "attendance").glob("*.csv"))
    raw = {p: p.read_bytes() for p in paths}
    assert any(b.startswith(b"\xef\xbb\xbf") for b in raw.values())
    assert any(not b.startswith(b"\xef\xbb\xbf") for b in raw.values())
    assert any(b"\r\n" in b[:300] for b in raw.values())
    headers = {p: [h.strip('"').lower() for h in read(p).columns] for p in paths}
    assert len({tuple(h) for h in headers.values()}) > 3  # column order and extras differ
    assert any(set(h) - {"nip", "date", "status", "check_in", "check_out"} for h in
               headers.values())
    att = read_attendance(folder(clean, "2025-S1"))
    times = att["check_in"][att["check_in"] != ""]
    assert times.str.fullmatch(r"\d{2}:\d{2}").any() and times.str.fullmatch(
        r"\d{2}:\d{2}:\d{2}").any()
    assert (att["status"] != att["code"]).any()  # h, " dl ", Tk, ...
    assert {"h", "tk"} & set(att["status"].str.strip())


# --- clean data ------------------------------------------------------------------------------


def test_employees_have_valid_unique_nips_and_a_sound_hierarchy(clean):
    for period_id in PERIODS:
        emp = read(folder(clean, period_id) / "employees.csv")
        assert emp["nip"].map(nip_valid).all()
        assert emp["nip"].is_unique
        assert set(emp["employee_type"].str.strip().str.upper()) == {"PNS", "PPPK"}
        assert set(emp["position_type"].str.strip().str.upper()) == {
            "JPT", "ADMINISTRATOR", "PENGAWAS", "FUNGSIONAL", "PELAKSANA"}
        heads = emp[emp["supervisor_nip"] == ""]
        assert len(heads) == 1  # the head of the agency (Sekretaris Daerah)
        head = heads["nip"].iloc[0]
        assert set(emp["supervisor_nip"]) - {""} <= set(emp["nip"])
        assert (emp["supervisor_nip"] != emp["nip"]).all()
        jpt = emp[(emp["position_type"].str.strip().str.upper() == "JPT") & (emp["nip"] != head)]
        assert len(jpt) >= 3 and (jpt["supervisor_nip"] == head).all()
        units = read(folder(clean, period_id) / "units.csv")
        assert set(emp["unit_code"]) <= set(units["unit_code"])
        pppk = emp[emp["employee_type"].str.strip().str.upper() == "PPPK"]
        assert pppk["grade"].isin(["V", "VI", "VII", "VIII", "IX", "X"]).all()
        pns = emp[emp["employee_type"].str.strip().str.upper() == "PNS"]
        assert pns["grade"].str.fullmatch(r"(I|II|III|IV)/[a-e]").all()


def test_units_are_a_tree_of_indonesian_opd(clean):
    units = read(folder(clean, "2025-S1") / "units.csv")
    assert units["unit_code"].is_unique
    assert set(units["parent_unit_code"]) - {""} <= set(units["unit_code"])
    names = dict(zip(units["unit_code"], units["unit_name"], strict=True))
    for name in ("Sekretariat Daerah", "Dinas Kesehatan", "Dinas Pendidikan dan Kebudayaan",
                 "Badan Kepegawaian dan Pengembangan Sumber Daya Manusia"):
        assert name in names.values()
    children = units[units["parent_unit_code"] != ""]
    parents = children["parent_unit_code"].map(names)
    assert (parents[children["unit_name"].str.startswith("Puskesmas")] == "Dinas Kesehatan").all()
    assert parents[children["unit_name"].str.startswith("Kelurahan")].str.startswith(
        "Kecamatan").all()
    assert children["unit_name"].str.startswith("Puskesmas").any()


def test_no_bad_rows_means_no_broken_rows(clean):
    assert clean.total_bad_rows == 0
    for period_id in PERIODS:
        period = Period.parse(period_id)
        start, end = period.start.isoformat(), period.end.isoformat()
        period_dir = folder(clean, period_id)
        emp = read(period_dir / "employees.csv")
        att = read_attendance(period_dir)
        assert set(att["code"]) == STATUSES
        assert att["date"].between(start, end).all()
        assert att["nip"].isin(emp["nip"]).all()
        both = att[(att["check_in"] != "") & (att["check_out"] != "")]
        assert (seconds(both["check_out"]) >= seconds(both["check_in"])).all()
        assert seconds(att["check_in"][att["check_in"] != ""]).notna().all()
        dated = emp[(emp["active_from"] != "") & (emp["active_to"] != "")]
        assert (dated["active_to"] >= dated["active_from"]).all()
        cal = read(period_dir / "calendar.csv")
        assert cal["date"].between(start, end).all() and cal["date"].is_unique
        skp = read(period_dir / "skp.csv")
        assert (pd.to_numeric(skp["target"]) > 0).all()
        assert (pd.to_numeric(skp["realization"].replace("", np.nan)).dropna() >= 0).all()
        assert (pd.to_numeric(skp["weight"].replace("", np.nan)).dropna() > 0).all()
        assert not skp.duplicated(["nip", "indicator_id"]).any()
        assert skp["polarity"].str.strip().str.upper().isin(["MAX", "MIN", ""]).all()
        ratings = read(period_dir / "ratings.csv")
        for column in ["results_rating", "behavior_rating", *ASPECTS]:
            labels = squeeze(ratings[column])
            assert labels[labels != ""].isin(LABELS).all()
        assert ratings["nip"].isin(emp["nip"]).all()
        assert not ratings.duplicated(["nip", "rated_at"]).any()
        budget = read_budget(period_dir)
        assert (pd.to_numeric(budget["pagu"]) >= 0).all()
        assert not budget.duplicated(["unit_code", "program_code", "activity_code"]).any()


def test_attendance_exports_overlap(clean):
    att = read_attendance(folder(clean, "2025-S1"))
    files_per_day = att.groupby(["nip", "date"])["_file"].nunique()
    assert (files_per_day > 1).mean() > 0.01
    terminals = att[att["_file"] != "surat_izin.csv"]
    letters = att[att["_file"] == "surat_izin.csv"]
    assert set(letters["code"]) == {"S", "I", "C", "DL"}
    overlap = letters.merge(terminals, on=["nip", "date"], suffixes=("_letter", "_terminal"))
    assert {"H", "TK"} <= set(overlap["code_terminal"])
    two_terminals = terminals.groupby(["nip", "date"])["_file"].nunique()
    assert (two_terminals > 1).sum() > 100
    assert (terminals["code"] == "TK").any()
    weekend = pd.to_datetime(att["date"]).dt.weekday >= 5
    assert (weekend & (att["code"] == "H")).any()
    assert ((att["code"] == "H") & (att["check_in"] == "")).any()
    assert ((att["code"] == "H") & (att["check_out"] == "")).any()


def test_every_lateness_tier_discipline_band_and_predikat_occurs(city):
    """scoring.md sections 2, 5 and 8 need every tier, sanction and predikat in a city."""
    period = Period.parse("2025-S1")
    period_dir = folder(city, period.id)
    emp = read(period_dir / "employees.csv")
    holidays = set(read(period_dir / "calendar.csv")["date"])
    working = [d for d in pd.bdate_range(period.start, period.end).strftime("%Y-%m-%d")
               if d not in holidays]
    att = read_attendance(period_dir)
    att = att[att["date"].isin(working)]

    present = att[att["code"] == "H"].copy()
    present["in"] = seconds(present["check_in"])
    first_in = present.groupby(["nip", "date"])["in"].min()
    late = np.ceil((first_in.dropna() - 7.5 * 3600) / 60)
    late = late[late > 0]
    for low, high in ((1, 30), (31, 60), (61, 90), (91, 10_000)):
        assert late.between(low, high).sum() >= 10, (low, high)
    assert first_in.isna().sum() > 0  # a missing check_in: the highest tier

    rank = {"DL": 0, "C": 1, "S": 2, "I": 3, "H": 4, "TK": 5}
    merged = att.assign(r=att["code"].map(rank)).groupby(["nip", "date"])["r"].min()
    covered = set(merged[merged < 5].index)
    counts: dict[str, int] = {}
    long_runs = 0
    for row in emp.itertuples():
        days = [d for d in working if (not row.active_from or d >= row.active_from)
                and (not row.active_to or d <= row.active_to)]
        absent = [(row.nip, d) not in covered for d in days]
        longest = max((len(list(g)) for k, g in itertools.groupby(absent) if k), default=0)
        long_runs += longest >= 10
        band = sanction(sum(absent), longest)
        counts[band] = counts.get(band, 0) + 1
    assert len(counts) == 10, counts  # every band of scoring.md section 8
    assert long_runs >= 5
    # ... yet plausible: a few percent of the staff with a sanction, dismissals rare (issue 11:
    # the demo used to sanction 19% of its staff and dismiss 32).
    staff = sum(counts.values())
    sanctioned = staff - counts["NONE"]
    assert 0.01 * staff <= sanctioned <= 0.08 * staff, counts
    assert counts["PEMBERHENTIAN"] <= 0.0075 * staff, counts

    ratings = read(period_dir / "ratings.csv").sort_values("rated_at")
    latest = ratings.drop_duplicates("nip", keep="last")
    results, behaviour = squeeze(latest["results_rating"]), squeeze(latest["behavior_rating"])
    predikat = set()
    for r, b in zip(results, behaviour, strict=True):
        if r == "DIBAWAHEKSPEKTASI":
            predikat.add("SANGAT_KURANG" if b == "DIBAWAHEKSPEKTASI" else "BUTUH_PERBAIKAN")
        elif b == "DIBAWAHEKSPEKTASI":
            predikat.add("KURANG")
        else:
            both_above = r == b == "DIATASEKSPEKTASI"
            predikat.add("SANGAT_BAIK" if both_above else "BAIK")
    assert predikat == {"SANGAT_BAIK", "BAIK", "BUTUH_PERBAIKAN", "KURANG", "SANGAT_KURANG"}


def test_ratings_skp_and_iku_look_like_e_kinerja(clean, city):
    period_dir = folder(city, "2025-S1")
    emp = read(period_dir / "employees.csv")
    ratings = read(period_dir / "ratings.csv")
    for label in LABELS:
        spellings = set(ratings["results_rating"][squeeze(ratings["results_rating"]) == label])
        assert len(spellings) >= 3, label  # Di Atas Ekspektasi, DIATAS_EKSPEKTASI, ...
    aspects = ratings[ASPECTS]
    assert (aspects == "").all(axis=1).any() and (aspects != "").all(axis=1).any()
    assert ((aspects == "").any(axis=1) & (aspects != "").any(axis=1)).any()
    assert ratings["nip"].duplicated().sum() >= 20  # rated twice: the later one counts
    assert 0 < (~emp["nip"].isin(ratings["nip"])).sum() < 0.15 * len(emp)
    skp = read(period_dir / "skp.csv")
    assert 0 < (~emp["nip"].isin(skp["nip"])).sum() < 0.1 * len(emp)
    assert {"MAX", "max", "MIN", "min", ""} <= set(skp["polarity"])
    assert (skp["weight"] == "").any() and (skp["weight"] != "").any()
    iku = read(period_dir / "unit_iku.csv")
    assert {"MAX", "MIN"} <= set(iku["polarity"].str.upper())
    units = read(period_dir / "units.csv")
    assert 0 < (~units["unit_code"].isin(iku["unit_code"])).sum() < len(units)
    budget = read_budget(period_dir)
    ratio = budget["realisasi"].astype(float) / budget["pagu"].astype(float)
    assert ratio.between(0.6, 1.0).mean() > 0.8 and (ratio > 1).any()
    assert budget.groupby("unit_code")["program_code"].nunique().max() >= 2
    cal = read(period_dir / "calendar.csv")
    assert cal["description"].str.contains("Idul Fitri").any()
    assert cal["description"].str.contains("Cuti Bersama").any()
    s2_calendar = read(folder(clean, "2025-S2") / "calendar.csv")
    assert {"2025-08-17", "2025-12-25"} <= set(s2_calendar["date"])


def test_the_same_people_work_across_periods(clean):
    s1 = read(folder(clean, "2025-S1") / "employees.csv")
    s2 = read(folder(clean, "2025-S2") / "employees.csv")
    shared = set(s1["nip"]) & set(s2["nip"])
    assert len(shared) > 0.95 * len(s1)
    joined = s2[(s2["active_from"] >= "2025-07-01")]
    left = s2[(s2["active_to"] != "") & (s2["active_to"] >= "2025-07-01")]
    assert len(joined) > 0 and len(left) > 0
    assert not joined["nip"].isin(s1["nip"]).any()
    names = dict(zip(s1["nip"], s1["name"], strict=True))
    assert all(names[n] == m for n, m in zip(s2["nip"], s2["name"], strict=True) if n in names)


# --- bad rows --------------------------------------------------------------------------------


def test_bad_rows_are_extra_rows_and_leave_good_rows_untouched(clean, dirty):
    for period_id in PERIODS:
        for name in DATASETS:
            good = clean.dataset(period_id, name)
            broken = dirty.dataset(period_id, name)
            assert broken.rows - good.rows == broken.bad_rows, (period_id, name)
            assert sum(broken.bad_by_kind.values()) == broken.bad_rows
            if broken.rows >= 20:
                assert 0 < broken.bad_rows / broken.rows < 0.1, (period_id, name)
        lines = {}
        for tree in (clean, dirty):
            text = (folder(tree, period_id) / "employees.csv").read_text(encoding="utf-8-sig")
            lines[tree is dirty] = text.splitlines()
        assert set(lines[False]) <= set(lines[True])


def test_bad_rows_cover_every_kind(dirty):
    by_dataset = {name: {} for name in DATASETS}
    for period in dirty.periods.values():
        for name, dataset in period.datasets.items():
            for kind, count in dataset.bad_by_kind.items():
                by_dataset[name][kind] = by_dataset[name].get(kind, 0) + count
    for name in ("employees", "attendance", "skp", "ratings"):
        assert set(by_dataset[name]) == {k.name for k in bad.KINDS[name]}, name
    assert by_dataset["employees"][bad.DUPLICATE_KEY] % 2 == 0


def test_bad_row_counts_match_what_pandas_detects(dirty):
    period_id = "2025-S1"
    period = Period.parse(period_id)
    period_dir = folder(dirty, period_id)

    emp_summary = dirty.dataset(period_id, "employees").bad_by_kind
    emp = read(period_dir / "employees.csv")
    assert (~emp["nip"].map(nip_valid)).sum() == sum(emp_summary.get(k, 0) for k in bad.NIP_KINDS)
    assert emp["nip"].duplicated(keep=False).sum() == emp_summary[bad.DUPLICATE_KEY]
    assert (emp["supervisor_nip"] == emp["nip"]).sum() == emp_summary[bad.SUPERVISOR_SELF]
    types = emp["employee_type"].str.strip().str.upper()
    assert (~types.isin(["PNS", "PPPK", ""])).sum() == emp_summary[bad.EMPLOYEE_TYPE_UNKNOWN]

    att_summary = dirty.dataset(period_id, "attendance").bad_by_kind
    att = read_attendance(period_dir)
    assert (~att["code"].isin(STATUSES | {""})).sum() == att_summary[bad.STATUS_UNKNOWN]
    iso = att["date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}") & pd.to_datetime(
        att["date"], format="%Y-%m-%d", errors="coerce").notna()
    outside = iso & ~att["date"].between(period.start.isoformat(), period.end.isoformat())
    assert outside.sum() == att_summary[bad.DATE_OUTSIDE_PERIOD]
    assert (~iso & (att["date"] != "")).sum() == att_summary[bad.DATE_UNPARSEABLE]
    good_emp = set(emp["nip"][emp["nip"].map(nip_valid)])
    unknown = att["nip"].map(nip_valid) & ~att["nip"].isin(good_emp)
    assert unknown.sum() == att_summary[bad.NIP_UNKNOWN]
    both = att[(att["check_in"] != "") & (att["check_out"] != "")]
    inverted = seconds(both["check_out"]) < seconds(both["check_in"])
    assert inverted.sum() == att_summary[bad.CHECKOUT_BEFORE_CHECKIN]

    skp_summary = dirty.dataset(period_id, "skp").bad_by_kind
    skp = read(period_dir / "skp.csv")
    target = pd.to_numeric(skp["target"], errors="coerce")
    assert (target == 0).sum() == skp_summary[bad.TARGET_ZERO]
    assert (target < 0).sum() == skp_summary[bad.TARGET_NEGATIVE]
    keyed = skp[skp["indicator_id"] != ""]
    assert keyed.duplicated(["nip", "indicator_id"], keep=False).sum() == skp_summary[
        bad.DUPLICATE_KEY]

    ratings_summary = dirty.dataset(period_id, "ratings").bad_by_kind
    ratings = read(period_dir / "ratings.csv")
    unknown_label = ~squeeze(ratings["results_rating"]).isin(LABELS | {""}) | ~squeeze(
        ratings["behavior_rating"]).isin(LABELS | {""}) | ~squeeze(ratings["kompeten"]).isin(
        LABELS | {""})
    assert unknown_label.sum() == ratings_summary[bad.RATING_LABEL_UNKNOWN]

    budget = read_budget(period_dir)  # S1: the workbook
    budget_summary = dirty.dataset(period_id, "budget").bad_by_kind
    pagu = pd.to_numeric(budget["pagu"], errors="coerce")
    assert (pagu < 0).sum() == budget_summary.get(bad.PAGU_NEGATIVE, 0)


# --- API -------------------------------------------------------------------------------------


def test_summary_paths_progress_and_argument_checks(tmp_path):
    lines: list[str] = []
    summary = generate_landing(tmp_path, AGENCY, 40, ["2024-S2"], seed=2, progress=lines.append)
    period = summary.periods["2024-S2"]
    assert summary.total_rows == period.rows == sum(d.rows for d in period.datasets.values())
    assert all(p.is_file() for d in period.datasets.values() for p in d.paths)
    assert any("attendance 100%" in line for line in lines)
    assert all(line.startswith(f"{AGENCY} 2024-S2") for line in lines)
    with pytest.raises(ValueError):
        generate_landing(tmp_path, AGENCY, 40, ["2025-S3"])
    with pytest.raises(ValueError):
        generate_landing(tmp_path, "../x", 40, ["2025-S1"])
    with pytest.raises(ValueError):
        generate_landing(tmp_path, AGENCY, 40, ["2025-S1"], bad_rows=-0.1)
    assert math.isfinite(summary.elapsed_seconds)
