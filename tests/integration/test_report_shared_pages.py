"""A large agency's report is written by two processes (tasks/steps.py `publication_reports`):
the second takes OPD pages from the last on, the run from the first, each claiming a page
before it writes it (tasks/claims.py). Wherever they meet, the report folder is the one a
single process writes, byte for byte. And the index, rendered once for the two places it lies,
is the page rendered for each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tasks.reporting import report
from tasks.reporting.report import assemble_report_data
from tests.reporting import synthetic_publication, workbook_members


@pytest.fixture(scope="module")
def data():
    return assemble_report_data(**synthetic_publication(1_500))


def _files(reports: Path) -> dict[str, bytes]:
    """Every file of the report folder, the workbooks by member, without the time each was
    written."""
    folder = reports / f"{report.output_stem(DATA_AGENCY, DATA_PERIOD)}"
    out = {f"xlsx:{k}": v for k, v in workbook_members(folder).items()}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix != ".xlsx":
            out[str(path.relative_to(folder))] = path.read_bytes()
    return out


DATA_AGENCY, DATA_PERIOD = "3374", "2025-S1"


def _meeting_at(first_of_second: int):
    """The second process's share as if it had taken the OPD pages from the last back to
    `first_of_second` before the run took any: the run's own loop then stops there."""
    taken_by_run: list[int] = []

    def share(data, reports: Path, scratch: Path):
        claims = report.Claims(scratch / report.OPD_CLAIMS, prefix="opd")
        ahead = list(range(first_of_second))
        for number in ahead:  # the run's part, held back so that the share stops before it
            assert claims.take(number)
        written = report.write_opd_pages(data, reports, scratch, from_last=True)
        assert written == len(data.opds) - first_of_second
        for number in ahead:
            claims.path(number).unlink()
        taken_by_run.extend(ahead)
        return report.opd_workbooks_here(data, reports, scratch)
    return share


def test_opd_pages_shared_by_two_writers_equal_one_writers(data, tmp_path):
    assert data.opds.shape[0] >= 4
    report.write_pages(data, tmp_path / "one", agency_workbook=True)
    alone = _files(tmp_path / "one")
    assert len([k for k in alone if k.startswith("opd/") and k.endswith(".html")]) \
        == len(data.opds)
    for first_of_second in (0, 1, len(data.opds) // 2, len(data.opds)):
        reports = tmp_path / f"meet-{first_of_second}"
        report.write_pages(data, reports, agency_workbook=True,
                           opd_workbooks=_meeting_at(first_of_second))
        shared = _files(reports)
        assert shared.keys() == alone.keys(), first_of_second
        for key, content in alone.items():
            assert shared[key] == content, (first_of_second, key)
        assert not [p for p in reports.rglob("*") if p.name.startswith(".")]


def test_the_index_rendered_once_equals_the_index_rendered_for_each_place(data, tmp_path):
    env = report._environment()
    marked = report.render_page("index", data, report._marked_links(data, tmp_path), env=env)
    assert "kinerja-link" in marked
    for copy in (False, True):
        links = report._links(data, tmp_path, index_copy=copy)
        placed = report._placed(marked, links)
        assert placed == report.render_page("index", data, links, env=env)
        assert "\x00" not in placed
    # The copy beside the folder links into it; the folder's index links beside itself.
    copy = report._placed(marked, report._links(data, tmp_path, index_copy=True))
    index = report._placed(marked, report._links(data, tmp_path))
    stem = report.output_stem(DATA_AGENCY, DATA_PERIOD)
    assert f'href="{stem}/opd/' in copy and 'href="opd/' in index
    assert re.search(rf'href="{stem}_hasil\.xlsx"', copy)
    assert re.search(rf'href="\.\./{stem}_hasil\.xlsx"', index)
