"""The workbooks do not depend on how their cells were chunked: built 10,000 rows at a time (one
chunk per sheet and one batch for every OPD at this size) or a few rows at a time (many chunks,
OPDs alone and in batches), every workbook holds the same sheets, byte for byte. And mapping
codes to labels once per distinct value gives what mapping every row gives."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from tasks.reporting import workbook, xlsx
from tasks.reporting.report import aspect_labels, assemble_report_data, predikat_set_label
from tests.reporting import synthetic_publication, workbook_members


@pytest.fixture(scope="module")
def data():
    return assemble_report_data(**synthetic_publication(2_000))


def _write(data, folder: Path) -> dict[str, bytes]:
    data.__dict__.pop("_workbook_tables", None)
    workbook.write_workbook(data, folder)
    workbook.write_opd_workbooks(data, folder / "opd")
    return workbook_members(folder)


def test_small_chunks_write_the_same_workbooks(data, tmp_path, monkeypatch):
    whole = _write(data, tmp_path / "whole")
    sizes = data.employees.groupby("opd_code").size()
    chunk = 37
    assert (sizes > chunk).any() and (sizes <= chunk).any()  # OPDs alone and in batches
    monkeypatch.setattr(workbook, "CHUNK_ROWS", chunk)
    monkeypatch.setattr(xlsx, "CHUNK_ROWS", chunk)
    chunked = _write(data, tmp_path / "chunked")
    assert chunked.keys() == whole.keys()
    assert len([k for k in whole if k.startswith("opd/")]) > 10 * len(data.opds) - 1
    for key, content in whole.items():
        assert chunked[key] == content, key


def _cells(values: pd.Series) -> list:
    """As a cell shows them: every missing value (pandas' map may turn None into NaN) empty."""
    return [None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
            else v for v in values]


@pytest.mark.parametrize("function", [aspect_labels, predikat_set_label,
                                      lambda v: None if v is None else str(v)])
def test_labels_once_per_value_equal_labels_per_row(function):
    values = ["INTEGRITAS,KOLABORATIF", None, "", "SANGAT_BAIK", math.nan, pd.NA,
              "SANGAT_BAIK", "BAIK,KURANG", None]
    for series in (pd.Series(values, dtype=object),
                   pd.Series([v if isinstance(v, str) else None for v in values],
                             dtype=pd.StringDtype("pyarrow"))):
        try:
            expected = _cells(series.map(function))
        except TypeError:  # pd.NA has no truth value: per row or once, the same failure
            with pytest.raises(TypeError):
                workbook._each(series, function)
            continue
        assert _cells(workbook._each(series, function)) == expected
    flags = pd.Series([True, False, None, True], dtype=object)
    yes_no = workbook._yes_no("flag")(pd.DataFrame({"flag": flags}))
    assert yes_no.tolist() == ["Ya", "Tidak", None, "Ya"]
