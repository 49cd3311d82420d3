"""Property-based tests (hypothesis) of validation (shared/spec/sources.md, "What bad input gets").

A clean synthetic landing zone (`kinerja.synthetic.generate_landing`, 40 employees, 2025-S2, so
that the budget is a CSV) is generated once for the module. Each example picks a dataset, one of
its files, a row, a field and a way to break it (an empty required field, a bad NIP, a NIP or unit
that does not exist, a bad or out-of-period date, a bad time or timestamp, a check_out before the
check_in, an unknown code or rating label, text in a number, a negative or zero amount, a key
copied from another row), writes the mutated file into a fresh folder and runs extract + validate
for that dataset with the context the clean datasets before it give. Then:

- the broken row is quarantined, with one reason that names the broken field, and its payload is
  the row as written;
- the other rows quarantined are exactly those the spec says go with it: the other row of a
  duplicate key, and rows of the same file that referred to the key the broken row lost
  (parent_unit_code, supervisor_nip);
- rows read = rows accepted + rows quarantined, per dataset and per file.

A second property breaks the key of a unit or an employee and validates every dataset after it:
exactly the rows that refer to a unit or employee no longer accepted are quarantined, each naming
its reference column.

Examples per property: the `*_EXAMPLES` constant above each test (settings in conftest.py).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from kinerja.period import Period
from kinerja.synthetic import badrows as bad
from kinerja.synthetic import generate_landing
from schemas.sources import DATASETS, VALIDATION_ORDER, ValidationContext
from tasks.sources.extract import extract_dataset
from tasks.sources.validate import ValidatedDataset, context_after, validate_dataset

BASE = settings.get_profile("kinerja-properties")  # registered in conftest.py

AGENCY = "3374"
PERIOD = Period.parse("2025-S2")
EMPLOYEES = 40
SEED = 5

# In-file references to a dataset's own key: a row that loses its key orphans these rows.
SELF_REFERENCES = {"units": ("unit_code", "parent_unit_code"),
                   "employees": ("nip", "supervisor_nip")}
# References to earlier datasets' accepted keys (sources.md), and to employees.csv's NIPs.
ACCEPTED_UNIT_REFS = {"employees": "unit_code", "unit_iku": "unit_code", "budget": "unit_code"}
ACCEPTED_NIP_REFS = {"attendance": "nip", "skp": "nip", "ratings": "nip"}
FILE_NIP_REFS = {"ratings": "rater_nip"}
NUMBER_RULES = {  # decimal column -> positive (> 0) or non_negative (>= 0)
    "target": "positive", "weight": "positive",
    "realization": "non_negative", "pagu": "non_negative", "realisasi": "non_negative",
}
LABEL_WORDS = {"DIATASEKSPEKTASI", "SESUAIEKSPEKTASI", "DIBAWAHEKSPEKTASI"}


# --- the landing zone, read as plain CSV ----------------------------------------------------


class LandedFile:
    """One landed CSV as written: header and rows of text. Not a dataclass: hypothesis prints
    dataclasses field by field, and a failing example would print every row."""

    def __init__(self, rel: str, header: list[str], rows: list[list[str]]) -> None:
        self.rel = rel  # relative to the period folder
        self.header = header
        self.rows = rows

    def __repr__(self) -> str:
        return f"LandedFile({self.rel!r}, {len(self.rows)} rows)"

    @property
    def columns(self) -> list[str]:
        return [h.strip().lower() for h in self.header]

    def record(self, i: int) -> dict[str, str]:
        return dict(zip(self.columns, self.rows[i], strict=True))

    def write(self, folder: Path, changes: dict[int, dict[str, str]]) -> None:
        rows = [list(r) for r in self.rows]
        for i, cells in changes.items():
            for column, value in cells.items():
                rows[i][self.columns.index(column)] = value
        path = folder / self.rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.header)
            writer.writerows(rows)


class Landing:
    """The clean landing zone, its files as written, and the context each dataset is validated
    with after the clean datasets before it."""

    def __init__(self, folder: Path, files: dict[str, list[LandedFile]]) -> None:
        self.folder = folder
        self.files = files
        self.contexts: dict[str, ValidationContext] = {}

    def __repr__(self) -> str:
        return f"Landing({self.folder})"

    def unit_codes(self) -> set[str]:
        units = self.files["units"][0]
        return {units.record(i)["unit_code"].strip() for i in range(len(units.rows))}


def read_landed(path: Path, folder: Path) -> LandedFile:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert all(len(r) == len(header) for r in rows)
    return LandedFile(path.relative_to(folder).as_posix(), header, rows)


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Landing:
    root = tmp_path_factory.mktemp("landing")
    generate_landing(root, AGENCY, EMPLOYEES, [PERIOD.id], seed=SEED)
    folder = root / AGENCY / PERIOD.id
    files = {}
    for name in VALIDATION_ORDER:
        raw = extract_dataset(folder, name)
        files[name] = [read_landed(folder / f.path, folder) for f in raw.files]
    ctx = ValidationContext(PERIOD)
    result = Landing(folder, files)
    for name in VALIDATION_ORDER:
        result.contexts[name] = ctx
        validated = validate_dataset(extract_dataset(folder, name), ctx)
        assert validated.rows_quarantined == 0, (name, validated.quarantine.head())
        ctx = context_after(ctx, validated)
    return result


# --- ways to break a field --------------------------------------------------------------------

SEQ_UNKNOWN = st.integers(bad.UNKNOWN_SEQ, 999)  # sequences no real employee has


@st.composite
def valid_nip(draw, seq=SEQ_UNKNOWN) -> str:
    born = draw(st.dates(date(1960, 1, 1), date(2003, 12, 31)))
    appointed = draw(st.dates(date(1980, 1, 1), date(2025, 6, 30)))
    return f"{born:%Y%m%d}{appointed:%Y%m}{draw(st.sampled_from('12'))}{draw(seq):03d}"


@st.composite
def invalid_nip(draw, base: str) -> str:
    """A NIP that breaks domain.md's rule: corrupted the generator's ways, or the wrong length."""
    how = draw(st.sampled_from([*bad.NIP_KINDS, "length", "letter"]))
    if how == "length":
        return draw(st.text("0123456789", min_size=1, max_size=24).filter(lambda s: len(s) != 18))
    if how == "letter":
        at = draw(st.integers(0, 17))
        return base[:at] + draw(st.sampled_from("OolIS ")) + base[at + 1:]
    return bad.corrupt_nip(base, how, draw(st.floats(0, 1, exclude_max=True)))


def _squeeze(value: str) -> str:
    return re.sub(r"[\s_\-]+", "", value).upper()


printable = st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"])
unknown_text = st.text(printable, min_size=1, max_size=12).filter(lambda s: s.strip() != "")


def unknown_code(allowed: tuple[str, ...]) -> st.SearchStrategy[str]:
    known = {a.upper() for a in allowed}
    listed = st.sampled_from([*bad.UNKNOWN_STATUSES, *bad.UNKNOWN_EMPLOYEE_TYPES,
                              *bad.UNKNOWN_POSITION_TYPES, *bad.UNKNOWN_POLARITIES])
    return st.one_of(listed, unknown_text).filter(lambda s: s.strip().upper() not in known)


unknown_rating = st.one_of(st.sampled_from(bad.UNKNOWN_RATINGS), unknown_text).filter(
    lambda s: _squeeze(s) not in LABEL_WORDS and s.strip() != "")


@st.composite
def bad_date(draw) -> str:
    d = draw(st.dates(date(2000, 1, 1), date(2030, 12, 28)))
    return draw(st.sampled_from([
        bad.bad_date(draw(st.floats(0, 1, exclude_max=True)), d.isoformat()),
        f"{d:%d/%m/%Y}", f"{d:%Y/%m/%d}", f"{d:%d-%m-%Y}", f"{d:%Y%m%d}", f"{d.year}-{d.month}-x",
        f"{d:%Y-%m}-{draw(st.integers(32, 99))}", f"{d.year}-{draw(st.integers(13, 99))}-01",
        f"{d.year}-02-{draw(st.integers(30, 31))}", f"{d.year}-00-{d.day:02d}", "kemarin",
    ]))


outside_period = st.dates(date(1990, 1, 1), date(2040, 12, 31)).filter(
    lambda d: not PERIOD.start <= d <= PERIOD.end).map(date.isoformat)


@st.composite
def bad_time(draw) -> str:
    h, m = draw(st.integers(0, 23)), draw(st.integers(0, 59))
    return draw(st.sampled_from([
        *bad.BAD_TIMES, f"{draw(st.integers(24, 99))}:{m:02d}",
        f"{h:02d}:{draw(st.integers(60, 99))}", f"{h:02d}.{m:02d}", f"{h:02d}{m:02d}",
        f"{h:02d}:{m:02d} WIB", f"{h:02d}:{m:02d}:{draw(st.integers(60, 99))}",
        f"{h:02d}:{m}" if m < 10 else "7:5",
    ]))


@st.composite
def bad_timestamp(draw) -> str:
    d = draw(st.dates(date(2025, 7, 1), date(2025, 12, 31)))
    h, m = draw(st.integers(0, 23)), draw(st.integers(0, 59))
    return draw(st.sampled_from([
        f"{d:%d/%m/%Y} {h:02d}:{m:02d}", f"{d.isoformat()} {draw(st.integers(24, 99))}:{m:02d}",
        f"{d.isoformat()}{h:02d}:{m:02d}", f"{d.isoformat()} {h:02d}.{m:02d}", "besok pagi",
        f"{d.year}-13-{d.day:02d} {h:02d}:{m:02d}", f"{d.isoformat()} {h:02d}:{m:02d} WIB",
    ]))


@st.composite
def not_a_number(draw) -> str:
    a, b = draw(st.integers(1, 999)), draw(st.integers(0, 999))
    return draw(st.sampled_from([
        *bad.BAD_DECIMALS, f"{a}.{b:03d}.{b:03d}", f"{a},{b}", f"Rp {a}", f"{a} dokumen",
        f"{a}%", "nan", "inf", "-inf", f"{a}e", f"0x{a}", f"{a}-{b}", f"{a}..{b}",
    ]))


@st.composite
def negative(draw) -> str:
    value = draw(st.floats(min_value=1e-6, max_value=1e12))
    return draw(st.sampled_from([f"-{value}", f"-{value:.2f}" if value >= 0.01 else "-0.01"]))


@st.composite
def unknown_unit(draw, known: set[str]) -> str:
    a, b, c = draw(st.integers(1, 9)), draw(st.integers(1, 99)), draw(st.integers(1, 99))
    return draw(st.sampled_from([*bad.UNKNOWN_UNIT_CODES, f"{a}.{b:02d}.0.00.0.00.{c:02d}.0000"])
                .filter(lambda s: s.strip() not in known))


@dataclass
class Breakage:
    how: str
    field: str  # the field a reason must name
    cells: dict[str, str]  # column -> new value, on the broken row
    partner: int | None = None  # the other row of a duplicate key


KIND_BREAKAGE = {"nip": "bad_nip", "date": "bad_date", "time": "bad_time",
                 "timestamp": "bad_timestamp", "decimal": "not_a_number",
                 "code": "unknown_code", "rating": "unknown_rating"}


def ways_to_break() -> list[tuple[str, str, str]]:
    """Every (dataset, breakage, column) that sources.md's rules make a quarantine (94)."""
    ways: list[tuple[str, str, str]] = []
    for name, dataset in DATASETS.items():
        for col in dataset.columns:
            if col.required:
                ways.append((name, "empty", col.name))
            if col.kind in KIND_BREAKAGE:
                ways.append((name, KIND_BREAKAGE[col.kind], col.name))
            if col.name in NUMBER_RULES:
                ways.append((name, "negative", col.name))
                if NUMBER_RULES[col.name] == "positive":
                    ways.append((name, "zero", col.name))
        if dataset.key:
            ways.append((name, "duplicate_key", dataset.key[0]))
    ways += [
        ("units", "unknown_unit", "parent_unit_code"),
        ("employees", "unknown_unit", "unit_code"),
        ("employees", "unknown_nip", "supervisor_nip"),
        ("employees", "supervisor_self", "supervisor_nip"),
        ("employees", "active_to_before_from", "active_to"),
        ("calendar", "outside_period", "date"),
        ("attendance", "outside_period", "date"),
        ("attendance", "unknown_nip", "nip"),
        ("attendance", "checkout_before_checkin", "check_out"),
        ("skp", "unknown_nip", "nip"),
        ("ratings", "unknown_nip", "nip"),
        ("ratings", "unknown_nip", "rater_nip"),
        ("unit_iku", "unknown_unit", "unit_code"),
        ("budget", "unknown_unit", "unit_code"),
    ]
    return sorted(ways, key=lambda w: (VALIDATION_ORDER.index(w[0]), w[2], w[1]))


WAYS = ways_to_break()
# The property runs once per (dataset, breakage) and draws the column among those it applies to:
# the same check on another column of the dataset (seven BerAKHLAK aspects) costs no extra case.
WAY_COLUMNS: dict[tuple[str, str], tuple[str, ...]] = {}
for _name, _how, _column in WAYS:
    WAY_COLUMNS[(_name, _how)] = (*WAY_COLUMNS.get((_name, _how), ()), _column)
# The generator's kinds of bad rows (kinerja/synthetic/badrows.py) as the ways above name them.
GENERATOR_KINDS = {
    **dict.fromkeys(bad.NIP_KINDS, "bad_nip"),
    bad.NIP_UNKNOWN: "unknown_nip", bad.RATER_UNKNOWN: "unknown_nip",
    bad.SUPERVISOR_UNKNOWN: "unknown_nip", bad.SUPERVISOR_SELF: "supervisor_self",
    bad.UNIT_UNKNOWN: "unknown_unit", bad.PARENT_UNKNOWN: "unknown_unit",
    bad.DATE_OUTSIDE_PERIOD: "outside_period", bad.DATE_UNPARSEABLE: "bad_date",
    bad.TIMESTAMP_UNPARSEABLE: "bad_timestamp", bad.TIME_UNPARSEABLE: "bad_time",
    bad.CHECKOUT_BEFORE_CHECKIN: "checkout_before_checkin",
    bad.ACTIVE_TO_BEFORE_FROM: "active_to_before_from",
    bad.STATUS_UNKNOWN: "unknown_code", bad.EMPLOYEE_TYPE_UNKNOWN: "unknown_code",
    bad.POSITION_TYPE_UNKNOWN: "unknown_code", bad.POLARITY_UNKNOWN: "unknown_code",
    bad.RATING_LABEL_UNKNOWN: "unknown_rating", bad.EMPTY_REQUIRED: "empty",
    bad.DECIMAL_UNPARSEABLE: "not_a_number", bad.TARGET_ZERO: "zero",
    bad.TARGET_NEGATIVE: "negative", bad.REALIZATION_NEGATIVE: "negative",
    bad.WEIGHT_NOT_POSITIVE: "zero", bad.PAGU_NEGATIVE: "negative",
    bad.REALISASI_NEGATIVE: "negative", bad.DUPLICATE_KEY: "duplicate_key",
}


def test_the_ways_cover_every_kind_of_bad_row_the_generator_writes():
    ways = {(name, how) for name, how, _ in WAYS}
    missing = [(name, kind.name) for name, kinds in bad.KINDS.items() for kind in kinds
               if (name, GENERATOR_KINDS[kind.name]) not in ways]
    assert not missing
    assert len(WAYS) == len(set(WAYS))


@st.composite
def breakage(draw, landing: Landing, name: str, how: str, column: str, landed: LandedFile,
             i: int) -> Breakage:
    """New values for row i of the file that break `column` the way `how` says."""
    dataset = DATASETS[name]
    row = landed.record(i)
    value = row[column].strip()
    if how == "empty":
        return Breakage(how, column, {column: draw(st.sampled_from(["", " ", "  "]))})
    if how == "bad_nip":
        base = value if re.fullmatch(r"\d{18}", value) else draw(valid_nip())
        return Breakage(how, column, {column: draw(invalid_nip(base))})
    if how == "unknown_nip":
        return Breakage(how, column, {column: draw(valid_nip())})
    if how == "supervisor_self":
        return Breakage(how, column, {column: row["nip"]})
    if how == "bad_date":
        return Breakage(how, column, {column: draw(bad_date())})
    if how == "outside_period":
        return Breakage(how, column, {column: draw(outside_period)})
    if how == "active_to_before_from":
        first = draw(st.dates(date(1990, 1, 1), date(2025, 12, 31)))
        last = first - timedelta(days=draw(st.integers(1, 3000)))
        return Breakage(how, column, {"active_from": first.isoformat(),
                                      "active_to": last.isoformat()})
    if how == "bad_time":
        return Breakage(how, column, {column: draw(bad_time())})
    if how == "checkout_before_checkin":
        check_in = draw(st.integers(60, 23 * 3600 + 59 * 60))
        check_out = check_in - draw(st.integers(1, check_in))
        hms = [f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}" for s in (check_in, check_out)]
        return Breakage(how, column, {"check_in": hms[0], "check_out": hms[1]})
    if how == "bad_timestamp":
        return Breakage(how, column, {column: draw(bad_timestamp())})
    if how == "not_a_number":
        return Breakage(how, column, {column: draw(not_a_number())})
    if how == "negative":
        return Breakage(how, column, {column: draw(negative())})
    if how == "zero":
        return Breakage(how, column, {column: draw(st.sampled_from(["0", "0.0", "0.000", "-0"]))})
    if how == "unknown_code":
        allowed = next(c.allowed for c in dataset.columns if c.name == column)
        return Breakage(how, column, {column: draw(unknown_code(allowed))})
    if how == "unknown_rating":
        return Breakage(how, column, {column: draw(unknown_rating)})
    if how == "unknown_unit":
        return Breakage(how, column, {column: draw(unknown_unit(landing.unit_codes()))})
    assert how == "duplicate_key"
    j = draw(st.integers(0, len(landed.rows) - 2))
    j += j >= i  # any other row
    other = landed.record(j)
    return Breakage(how, column, {c: other[c] for c in dataset.key}, partner=j)


# --- expectations ---------------------------------------------------------------------------


def orphans(name: str, landed: LandedFile, i: int, cells: dict[str, str]) -> set[int]:
    """Rows of the file whose in-file reference pointed at the key row i no longer has."""
    if name not in SELF_REFERENCES:
        return set()
    key, ref = SELF_REFERENCES[name]
    if key not in cells or ref not in landed.columns:
        return set()
    old = landed.record(i)[key].strip()
    new_keys = {landed.record(k)[key].strip() for k in range(len(landed.rows)) if k != i}
    new_keys.add(cells[key].strip())
    if old in new_keys:
        return set()
    return {k for k in range(len(landed.rows))
            if k != i and landed.record(k)[ref].strip() == old}


def names(reason: str, column: str) -> bool:
    """The reason names the column as a word (`nip` is not named by `supervisor_nip`), outside
    the quoted failing value that ends a column's reason (`status: not one of ... ('nip')`)."""
    text = reason.split(" ('", 1)[0]
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(column)}(?![A-Za-z0-9_])", text) is not None


def refs_of(quarantine) -> dict[str, str]:
    return dict(zip(quarantine["record_ref"], quarantine["reasons"], strict=True))


def check_accounting(validated: ValidatedDataset) -> None:
    assert validated.rows_read == len(validated.accepted) + validated.rows_quarantined
    counts = validated.file_counts
    assert (counts["rows_read"] == counts["rows_accepted"] + counts["rows_quarantined"]).all()
    assert counts["rows_quarantined"].sum() == validated.rows_quarantined


def copy_dataset(landing: Landing, name: str, into: Path, skip: str) -> None:
    for landed in landing.files[name]:
        if landed.rel != skip:
            target = into / landed.rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(landing.folder / landed.rel, target)


# --- the properties -------------------------------------------------------------------------

FIELD_EXAMPLES = 3  # per (dataset, breakage): the simplest row, column and value, then random ones


@pytest.mark.parametrize(("name", "how"), list(WAY_COLUMNS), ids=["-".join(w) for w in WAY_COLUMNS])
@settings(BASE, max_examples=FIELD_EXAMPLES)
@given(data=st.data())
def test_a_broken_field_quarantines_its_row_naming_the_field(landing, name, how, data):
    column = data.draw(st.sampled_from(WAY_COLUMNS[(name, how)]), label="column")
    files = [f for f in landing.files[name] if column in f.columns]
    landed = data.draw(st.sampled_from(files), label="file")
    i = data.draw(st.integers(0, len(landed.rows) - 1), label="row")
    broken = data.draw(breakage(landing, name, how, column, landed, i), label="breakage")

    with tempfile.TemporaryDirectory() as tmp:
        # Only the broken file: the dataset's other files (attendance has many) are clean and
        # validated in the fixture; one file keeps an example fast.
        folder = Path(tmp)
        landed.write(folder, {i: broken.cells})
        validated = validate_dataset(extract_dataset(folder, name), landing.contexts[name])

    reasons = refs_of(validated.quarantine)
    ref = f"{landed.rel}:{i + 2}"  # line 1 is the header
    assert ref in reasons, (broken, sorted(reasons))
    assert any(names(r, broken.field) for r in reasons[ref].split("; ")), (broken, reasons[ref])

    # the payload is the row as written (empty fields left out)
    payload = json.loads(validated.quarantine.set_index("record_ref").at[ref, "payload"])
    written = {**landed.record(i), **broken.cells}
    assert payload == {k: v for k, v in written.items() if v != ""}

    expected = {i} | orphans(name, landed, i, broken.cells)
    if broken.partner is not None:
        expected.add(broken.partner)
        assert reasons[f"{landed.rel}:{broken.partner + 2}"].startswith("duplicate key")
    assert set(reasons) == {f"{landed.rel}:{k + 2}" for k in expected}, broken
    check_accounting(validated)
    assert validated.rows_read == len(landed.rows)


CASCADE_EXAMPLES = 5


def column_values(landed: LandedFile, column: str) -> list[str]:
    if column not in landed.columns:
        return [""] * len(landed.rows)
    at = landed.columns.index(column)
    return [row[at].strip() for row in landed.rows]


@settings(BASE, max_examples=CASCADE_EXAMPLES)
@given(data=st.data())
def test_a_lost_unit_or_employee_quarantines_what_refers_to_it(landing, data):
    """Take a unit's code away (empty, or renamed) or break an employee's NIP (empty or
    invalid), then validate every dataset in order: exactly the rows that refer to a unit or
    employee no longer accepted are quarantined, each naming its reference column, and rows read
    = accepted + quarantined for every dataset."""
    name = data.draw(st.sampled_from(["units", "employees"]), label="dataset")
    landed = landing.files[name][0]
    key, self_ref = SELF_REFERENCES[name]
    i = data.draw(st.integers(0, len(landed.rows) - 1), label="row")
    old = landed.record(i)[key].strip()
    renamed = st.just("") if name == "employees" else unknown_unit(landing.unit_codes())
    new = data.draw(st.one_of(st.just(""), invalid_nip(old) if name == "employees" else renamed),
                    label="new key")
    event("dataset", name)
    event("new key", "empty" if new.strip() == "" else "other")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for other in VALIDATION_ORDER:
            copy_dataset(landing, other, folder, skip=landed.rel)
        landed.write(folder, {i: {key: new}})
        ctx = ValidationContext(PERIOD)
        results = {}
        for dataset in VALIDATION_ORDER:
            results[dataset] = validate_dataset(extract_dataset(folder, dataset), ctx)
            ctx = context_after(ctx, results[dataset])

    # The model: which rows go, and which keys stay accepted, dataset after dataset.
    expected: dict[str, dict[int, str]] = {}  # dataset -> row -> the column its reason names
    broken = {i: key} if name == "employees" or new.strip() == "" else {}
    lost = {k: self_ref for k in orphans(name, landed, i, {key: new})}
    expected[name] = {**lost, **broken}
    units_file, employees_file = landing.files["units"][0], landing.files["employees"][0]
    unit_codes = column_values(units_file, "unit_code")
    nips = column_values(employees_file, "nip")
    if name == "units":
        unit_codes[i] = new.strip()
    else:
        nips[i] = new.strip()
    gone = expected.get("units", {})
    accepted_units = {c for k, c in enumerate(unit_codes) if k not in gone} - {""}
    if name == "units":
        expected["employees"] = {
            k: "unit_code" for k, c in enumerate(column_values(employees_file, "unit_code"))
            if c not in accepted_units
        }
    gone = expected["employees"]
    accepted_nips = {n for k, n in enumerate(nips) if k not in gone} - {""}
    nips_in_file = set(nips) - {""}

    for dataset, validated in results.items():
        check_accounting(validated)
        want: dict[str, str] = {}
        for landed_file in landing.files[dataset]:
            rows = expected.get(dataset, {}) if landed_file is landed or dataset == "employees" \
                else {}
            refs = {}
            if dataset in ACCEPTED_UNIT_REFS and dataset != "employees":
                refs = {k: "unit_code"
                        for k, c in enumerate(column_values(landed_file, "unit_code"))
                        if c not in accepted_units}
            if dataset in ACCEPTED_NIP_REFS:
                refs = {k: "nip" for k, n in enumerate(column_values(landed_file, "nip"))
                        if n not in accepted_nips}
                for k, n in enumerate(column_values(landed_file, "rater_nip")):
                    if dataset in FILE_NIP_REFS and n and n not in nips_in_file:
                        refs.setdefault(k, "rater_nip")
            want.update({f"{landed_file.rel}:{k + 2}": c for k, c in {**refs, **rows}.items()})
        reasons = refs_of(validated.quarantine)
        assert set(reasons) == set(want), (dataset, name, old, new)
        for ref, column in want.items():
            assert any(names(r, column) for r in reasons[ref].split("; ")), (ref, reasons[ref])
    event("rows quarantined downstream",
          "some" if any(results[d].rows_quarantined for d in VALIDATION_ORDER if d != name)
          else "none")
