"""The run's summary page for HR (Indonesian): plain HTML, self-contained, opens offline."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NONE

PREDIKAT_LABELS = {
    "SANGAT_BAIK": "Sangat Baik",
    "BAIK": "Baik",
    "BUTUH_PERBAIKAN": "Butuh Perbaikan",
    "KURANG": "Kurang/Misconduct",
    "SANGAT_KURANG": "Sangat Kurang",
    "NOT_RATED": "Belum dinilai",
    "INACTIVE": "Tidak aktif",
}
DATASET_LABELS = {
    "units": "Unit kerja (units)",
    "employees": "Pegawai (employees)",
    "calendar": "Hari libur (calendar)",
    "attendance": "Presensi (attendance)",
    "skp": "SKP (skp)",
    "ratings": "Penilaian atasan (ratings)",
    "unit_iku": "IKU unit (unit_iku)",
    "budget": "Anggaran (budget)",
}


def report_path(reports_dir: Path, agency_code: str, period_id: str) -> Path:
    return Path(reports_dir) / f"{agency_code}_{period_id}_laporan.html"


def _row(*cells: object, header: bool = False) -> str:
    tag = "th" if header else "td"
    return "<tr>" + "".join(f"<{tag}>{escape(str(c))}</{tag}>" for c in cells) + "</tr>"


def summary_html(summary: dict[str, Any]) -> str:
    """The summary page of one run: row accounting per dataset and predikat counts."""
    datasets = summary["datasets"]
    rows = "".join(
        _row(DATASET_LABELS.get(d["dataset"], d["dataset"]), d["rows_read"], d["rows_accepted"],
             d["rows_quarantined"])
        for d in datasets
    )
    total = _row("Jumlah", summary["rows_read"], summary["rows_accepted"],
                 summary["rows_quarantined"])
    predikat = "".join(
        _row(PREDIKAT_LABELS.get(k, k), summary["predikat_counts"].get(k, 0))
        for k in PREDIKAT_LABELS
    )
    title = f"Ringkasan Penilaian Kinerja {summary['agency_name']} — {summary['period_id']}"
    return f"""<!DOCTYPE html>
<html lang="id"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #999;padding:.3em .7em}}
td:not(:first-child){{text-align:right}}th{{background:#eee}}</style></head>
<body><h1>{escape(title)}</h1>
<p>Kode instansi {escape(summary['agency_code'])}; run <code>{escape(summary['run_id'])}</code>;
kebijakan {escape(summary['policy_name'])}.</p>
<h2>Data sumber</h2>
<table>{_row('Dataset', 'Dibaca', 'Diterima', 'Dikarantina', header=True)}{rows}{total}</table>
<h2>Predikat pegawai</h2>
<table>{_row('Predikat', 'Jumlah pegawai', header=True)}{predikat}</table>
<p>Baris yang dikarantina beserta alasannya tersimpan di tabel <code>quarantine</code>
gudang data (run_id di atas).</p>
</body></html>
"""


@task(name="report", cache_policy=NONE)
def write_summary_report(reports_dir: str, summary: dict[str, Any]) -> str:
    path = report_path(Path(reports_dir), summary["agency_code"], summary["period_id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(summary_html(summary), encoding="utf-8")
    return str(path)
