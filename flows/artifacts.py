"""What a semester run shows in the Prefect UI: pure functions from the run's summary to the
payloads of its artifacts (issue 15). `flows/observe.py` makes the Prefect calls.

Three artifacts per run, keyed per agency and period so the UI's Artifacts page shows each one's
history across runs (Prefect keys: lowercase letters, digits and dashes only):

- `kinerja-<agency>-<period>-baris`: table, rows read/accepted/quarantined per dataset;
- `kinerja-<agency>-<period>-predikat`: table, employees per predikat (and per status for those
  without one);
- `kinerja-<agency>-<period>`: markdown, the quality verdict with the failed expectations, the
  change summary against the replaced run and the paths of the report, workbook and Data Docs.
  A failed run writes this key too, with its reason, so the history shows the failure.

Labels are Indonesian, like the report; numbers are the run's own, unrounded. Nothing here puts a
URL in an artifact: the warehouse is not named at all (its URL may carry a password).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from kinerja import identifiers
from kinerja.redact import mask_secrets
from tasks.reporting.report import DATASET_LABELS, PREDIKAT_LABELS, PREDIKAT_ORDER, STATUS_LABELS

KEY_PREFIX = "kinerja"
ROWS_PART = "baris"
PREDIKAT_PART = "predikat"
_KEY_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

KIND_LABELS = {"scheduled": "terjadwal", "manual": "manual", "backfill": "backfill (koreksi)"}
QUALITY_VERDICTS = {"passed": "LULUS", "failed": "GAGAL"}
# Rows of the predikat table after the predikat: employees counted by status instead.
_STATUS_ROWS = ("NOT_RATED", "INACTIVE")
# Enough to act on in the UI; the report, the workbook and `kinerja changes` hold every row.
MAX_LISTED = 20

ROW_COLUMNS = ("Dataset", "Baris dibaca", "Diterima", "Dikarantina")
PREDIKAT_COLUMNS = ("Predikat", "Kode", "Jumlah pegawai")
TOTAL_LABEL = "Jumlah"


def artifact_key(agency_code: str, period_id: str, part: str | None = None) -> str:
    """`kinerja-3374-2025-s1[-part]`, checked against Prefect's key rule (lowercase letters,
    digits, dashes): the agency and period are checked identifiers, so nothing else can reach
    a key."""
    agency = identifiers.agency_code(agency_code)
    period = identifiers.period_id(period_id)
    key = "-".join(p for p in (KEY_PREFIX, agency, period, part) if p).lower()
    if not _KEY_RE.fullmatch(key):
        raise ValueError(f"not a valid Prefect artifact key: {identifiers.shown(key)}")
    return key


def _agency(summary: Mapping[str, Any]) -> str:
    """`Kota Semarang (3374)`, or the code alone when the agency has no name of its own."""
    code, name = summary["agency_code"], summary.get("agency_name")
    return f"{_md(name)} ({code})" if name and name != code else code


def description(summary: Mapping[str, Any], what: str) -> str:
    """The artifact's one-line description: what it is, for which agency, period and run."""
    return f"{what} — {_agency(summary)}, periode {summary['period_id']}, run `{summary['run_id']}`"


def rows_table(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows read, accepted and quarantined per dataset, in validation order, then the total."""
    rows = [
        {"Dataset": DATASET_LABELS.get(d["dataset"], d["dataset"]),
         "Baris dibaca": int(d["rows_read"]), "Diterima": int(d["rows_accepted"]),
         "Dikarantina": int(d["rows_quarantined"])}
        for d in summary["datasets"]
    ]
    rows.append({"Dataset": TOTAL_LABEL, "Baris dibaca": int(summary["rows_read"]),
                 "Diterima": int(summary["rows_accepted"]),
                 "Dikarantina": int(summary["rows_quarantined"])})
    return rows


def predikat_table(predikat_counts: Mapping[str, int]) -> list[dict[str, Any]]:
    """Employees per predikat, best first (every predikat, 0 included), then those counted by
    status (not rated, inactive), any other code of a custom policy, and the total."""
    known = [*PREDIKAT_ORDER, *_STATUS_ROWS]
    others = sorted(code for code in predikat_counts if code not in known)
    rows = []
    for code in [*known, *others]:
        if code in _STATUS_ROWS and code not in predikat_counts:
            continue
        label = PREDIKAT_LABELS.get(code) or STATUS_LABELS.get(code) or code
        rows.append({"Predikat": label, "Kode": code,
                     "Jumlah pegawai": int(predikat_counts.get(code, 0))})
    rows.append({"Predikat": TOTAL_LABEL, "Kode": "",
                 "Jumlah pegawai": sum(int(v) for v in predikat_counts.values())})
    return rows


def _md(value: Any) -> str:
    """A value as inert markdown text in a table cell or a line: no markup, no pipe, no line
    break (names and reasons come from sources and exceptions)."""
    text = " ".join(str(value).split())
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("`", "'"),
                     ("*", "\\*"), ("_", "\\_"), ("[", "\\["), ("]", "\\]")):
        text = text.replace(old, new)
    return text


def _code(value: Any) -> str:
    """A path or an identifier in a code span (a backtick inside cannot end it early)."""
    return "`" + " ".join(str(value).split()).replace("`", "'") + "`"


def _title(summary: Mapping[str, Any]) -> str:
    return f"# {_agency(summary)} — periode {summary['period_id']}"


def _quality_section(summary: Mapping[str, Any], quality: Mapping[str, Any] | None) -> list[str]:
    status = summary.get("quality_status") or (quality or {}).get("status")
    lines = [f"## Mutu data: **{QUALITY_VERDICTS.get(status, 'BELUM DIPERIKSA')}**", ""]
    if status is None:
        return [*lines, "Suite mutu data belum dijalankan untuk run ini."]
    failed = int(summary.get("quality_failed", (quality or {}).get("failed", 0)))
    evaluated = int(summary.get("quality_evaluated", (quality or {}).get("evaluated", 0)))
    lines.append(f"{evaluated} ekspektasi diperiksa, {failed} gagal.")
    failures: Sequence[Mapping[str, Any]] = (quality or {}).get("failures") or []
    if failures:
        lines += ["", "Ekspektasi yang gagal:", "",
                  "| Tabel | Kolom | Ekspektasi | Uraian | Baris tidak sesuai |",
                  "| --- | --- | --- | --- | ---: |"]
        for f in failures[:MAX_LISTED]:
            count = f.get("unexpected_count")
            lines.append(
                f"| {_md(f['table'])} | {_md(f.get('column') or '–')} | {_md(f['expectation'])} "
                f"| {_md(f.get('uraian') or f.get('error') or '–')} "
                f"| {'–' if count is None else int(count)} |")
        left_out = len(failures) - MAX_LISTED + int((quality or {}).get("failures_left_out", 0))
        if left_out > 0:
            lines += ["", f"… dan {left_out} lainnya (lihat Data Docs)."]
    return lines


def _changes_section(changes: Mapping[str, Any] | None) -> list[str]:
    lines = ["## Perubahan terhadap publikasi sebelumnya", ""]
    if not changes or not changes.get("replaced_run_id"):
        return [*lines, "Publikasi pertama periode ini: tidak ada run yang digantikan."]
    predikat = changes.get("predikat_changed") or []
    files = changes.get("files_changed") or []
    lines += [
        f"Menggantikan run {_code(changes['replaced_run_id'])}: "
        f"{int(changes['change_rows'])} baris perubahan untuk "
        f"{int(changes['employees_changed'])} pegawai; predikat berubah untuk {len(predikat)} "
        f"pegawai; {len(changes.get('appeared') or [])} pegawai muncul, "
        f"{len(changes.get('disappeared') or [])} pegawai hilang; {len(files)} berkas sumber "
        "berbeda.",
    ]
    if predikat:
        lines += ["", "| NIP | Predikat lama | Predikat baru |", "| --- | --- | --- |"]
        for p in predikat[:MAX_LISTED]:
            lines.append(f"| {_md(p['nip'])} | {_md(_predikat_label(p.get('old')))} "
                         f"| {_md(_predikat_label(p.get('new')))} |")
        if len(predikat) > MAX_LISTED:
            lines += ["", f"… dan {len(predikat) - MAX_LISTED} lainnya (`kinerja changes`)."]
    if files:
        lines += ["", "| Dataset | Berkas | Perubahan |", "| --- | --- | --- |"]
        for f in files[:MAX_LISTED]:
            lines.append(f"| {_md(f['dataset'])} | {_md(f['path'])} "
                         f"| {_md(FILE_CHANGE_LABELS.get(f['change'], f['change']))} |")
        if len(files) > MAX_LISTED:
            lines += ["", f"… dan {len(files) - MAX_LISTED} berkas lainnya."]
    return lines


FILE_CHANGE_LABELS = {"added": "baru", "removed": "dihapus", "changed": "berubah"}


def _predikat_label(code: Any) -> str:
    if code is None or code == "":
        return "–"
    return PREDIKAT_LABELS.get(code) or STATUS_LABELS.get(code) or str(code)


def _files_section(summary: Mapping[str, Any]) -> list[str]:
    lines = ["## Berkas hasil", "", "Di mesin yang menjalankan run (worker):", ""]
    for key, label in (("report", "Laporan HTML"), ("workbook", "Buku kerja Excel"),
                       ("data_docs", "Data Docs mutu data")):
        if summary.get(key):
            lines.append(f"- {label}: {_code(summary[key])}")
    return lines


def summary_markdown(summary: Mapping[str, Any], kind: str,
                     quality: Mapping[str, Any] | None = None,
                     changes: Mapping[str, Any] | None = None) -> str:
    """The run's markdown artifact: headline, quality verdict with the failed expectations,
    the change summary against the replaced run, and where the outputs are."""
    lines = [
        _title(summary), "",
        f"Run {_code(summary['run_id'])} · jenis {KIND_LABELS.get(kind, _md(kind))} · "
        f"kebijakan {_code(summary.get('policy_name', '–'))} · **terbit**", "",
        f"{int(summary['rows_read'])} baris dibaca, {int(summary['rows_accepted'])} diterima, "
        f"{int(summary['rows_quarantined'])} dikarantina; "
        f"{sum(int(v) for v in summary['predikat_counts'].values())} pegawai tercatat pada "
        "hasil penilaian.", "",
        *_quality_section(summary, quality), "",
        *_changes_section(changes), "",
        *_files_section(summary),
    ]
    return "\n".join(lines) + "\n"


def failure_markdown(agency_code: str, period_id: str, run_id: str, kind: str,
                     reason: str, agency_name: str | None = None) -> str:
    """The markdown artifact of a run that failed: its reason (passwords masked) and what
    stays published."""
    summary = {"agency_code": agency_code, "period_id": period_id,
               "agency_name": agency_name}
    lines = [
        _title(summary), "",
        f"Run {_code(run_id)} · jenis {KIND_LABELS.get(kind, _md(kind))} · **GAGAL**", "",
        f"Alasan: {_md(mask_secrets(reason))}", "",
        "Run yang gagal sebelum terbit tidak mengubah publikasi: yang berlaku tetap publikasi "
        "sebelumnya, bila ada. Run yang gagal setelah terbit (pada laporan atau pemeriksaan "
        "mutu) tetap terbit. Berkas sumber yang berbeda dari publikasi sebelumnya: "
        f"{_code(f'kinerja changes --agency {agency_code} --period {period_id} --run {run_id}')}"
        ".",
    ]
    return "\n".join(lines) + "\n"
