"""A large agency's report is shared by two processes (tasks/steps.py `publication_reports`):
the second takes the report's jobs (OPD workbooks batch by batch, OPD pages, the agency
workbook) from the last back, the run from the first on, each claiming a job before doing it
(kinerja/claims.py). Wherever they meet, the reports are those a single process writes, byte for
byte. And the index, rendered once for the two places it lies, is the page rendered for each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tasks.reporting import report, workbook
from tasks.reporting.report import assemble_report_data
from tests.reporting import AGENCY, PERIOD, synthetic_publication, workbook_members


@pytest.fixture(scope="module")
def data():
    return assemble_report_data(**synthetic_publication(1_500))


def _files(reports: Path) -> dict[str, bytes]:
    """Every file under `reports`, the workbooks by member, without the time each was
    written."""
    out = {f"xlsx:{k}": v for k, v in workbook_members(reports).items()}
    for path in sorted(reports.rglob("*")):
        if path.is_file() and path.suffix != ".xlsx":
            out[str(path.relative_to(reports))] = path.read_bytes()
    return out


def _meeting_at(first_of_second: int, jobs: int):
    """A second process's share as if it had taken the jobs from the last back to
    `first_of_second` before the run took any: the run's own loop then stops there."""
    def share(data, reports: Path, scratch: Path):
        claims = report.Claims(scratch / report.SHARE_CLAIMS, prefix="job")
        ahead = range(first_of_second)
        for number in ahead:  # the run's part, held back so that the share stops before it
            assert claims.take(number)
        done = report.write_shared(data, reports, scratch, agency_workbook=True,
                                   from_last=True)
        assert done == jobs - first_of_second
        for number in ahead:
            claims.path(number).unlink()
        return lambda: None
    return share


def test_a_report_shared_by_two_processes_equals_one_processs(data, tmp_path):
    opds = len(data.opds)
    batches = len(workbook.opd_workbook_batches(data))
    assert opds >= 4 and batches >= 1
    jobs = opds + batches + 1
    report.write_pages(data, tmp_path / "one", agency_workbook=True)
    alone = _files(tmp_path / "one")
    stem = report.output_stem(AGENCY, PERIOD)
    assert len([k for k in alone if k.startswith(f"{stem}/opd/") and k.endswith(".html")]) \
        == opds
    assert len({k.split(":")[1] for k in alone if k.startswith(f"xlsx:{stem}/opd/")}) == opds
    assert any(k.startswith(f"xlsx:{stem}_hasil.xlsx:") for k in alone)
    for first_of_second in sorted({0, 1, batches, batches + 1, jobs - 2, jobs - 1, jobs}):
        reports = tmp_path / f"meet-{first_of_second}"
        report.write_pages(data, reports, agency_workbook=True,
                           share=_meeting_at(first_of_second, jobs))
        shared = _files(reports)
        assert shared.keys() == alone.keys(), first_of_second
        for key, content in alone.items():
            assert shared[key] == content, (first_of_second, key)
        assert not [p for p in reports.rglob("*") if p.name.startswith(".")]


def test_the_processes_meet_among_the_smallest_pages(data, tmp_path):
    """Each process starts on the largest jobs, so that the last job either does is small."""
    jobs = report._shared_jobs(data, tmp_path, tmp_path, True, report._environment())
    batches = len(workbook.opd_workbook_batches(data))
    people = data.employees["opd_code"].value_counts()
    sizes = [int(people.get(job.args[0]["unit_code"], 0)) for job in jobs[batches:-1]]
    assert len(sizes) == len(data.opds) and len(set(sizes)) > 2
    valley = sizes.index(min(sizes))
    assert sizes[:valley + 1] == sorted(sizes[:valley + 1], reverse=True)
    assert sizes[valley:] == sorted(sizes[valley:])
    assert max(sizes) in (sizes[0], sizes[-1])


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
    stem = report.output_stem(AGENCY, PERIOD)
    assert f'href="{stem}/opd/' in copy and 'href="opd/' in index
    assert re.search(rf'href="{stem}_hasil\.xlsx"', copy)
    assert re.search(rf'href="\.\./{stem}_hasil\.xlsx"', index)
    # Text shaped like a mark, without this process's number, stays text.
    forged = "a\x00kinerja-link:/etc/passwd\x00 b\x00kinerja-link-0123:/etc\x00"
    assert report._placed(forged, report._links(data, tmp_path)) == forged


def test_a_run_that_fails_stops_the_share_before_removing_its_folder(data, tmp_path,
                                                                     monkeypatch):
    """The run fails while the second process still takes jobs (here a thread): the second
    stops after its current job and is waited for, so nothing it writes lands in the scratch
    folder after the run removed it."""
    import threading

    finished = threading.Event()
    failures: list[BaseException] = []

    def share(data, reports: Path, scratch: Path):
        def second() -> None:
            try:
                report.write_shared(data, reports, scratch, agency_workbook=True,
                                    from_last=True)
            except BaseException as error:  # noqa: BLE001 - what the second process raised
                failures.append(error)
            finally:
                finished.set()
        thread = threading.Thread(target=second)
        thread.start()

        def done() -> None:
            thread.join()
            if failures:
                raise failures[0]
        return done

    def index_fails(*args, **kwargs):
        raise RuntimeError("the index could not be placed")

    monkeypatch.setattr(report, "_placed", index_fails)
    reports = tmp_path / "reports"
    with pytest.raises(RuntimeError, match="index could not be placed"):
        report.write_pages(data, reports, agency_workbook=True, share=share)
    assert finished.is_set()
    assert isinstance(failures[0], FileNotFoundError)  # its next claim found no claims
    assert not [p for p in reports.iterdir() if p.name.startswith(".")]
    assert not (reports / report.output_stem(AGENCY, PERIOD)).exists()
