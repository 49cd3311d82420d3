"""A large agency's report is shared by two processes (tasks/steps.py `publication_reports`):
the report's jobs (OPD workbooks batch by batch, OPD pages, the agency workbook) are ordered
largest first, and each process takes the next job the other has not taken, claiming it before
doing it (kinerja/claims.py). Whichever jobs each takes, the reports are those a single process
writes, byte for byte. And the index, rendered once for the two places it lies, is the page
rendered for each."""

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


def _second_took(taken: set[int], jobs: int):
    """A second process's share as if it had taken the jobs `taken` before the run took any:
    the run then takes the others."""
    def share(data, reports: Path, scratch: Path):
        claims = report.Claims(scratch / report.SHARE_CLAIMS, prefix="job")
        others = [number for number in range(jobs) if number not in taken]
        for number in others:  # the run's part, held back so that the share leaves it
            assert claims.take(number)
        done = report.write_shared(data, reports, scratch, agency_workbook=True)
        assert done == len(taken)
        for number in others:
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
    shares = {"none": set(), "all": set(range(jobs)), "first": {0}, "last": {jobs - 1},
              "first half": set(range(jobs // 2)), "every other": set(range(0, jobs, 2)),
              "every third": set(range(1, jobs, 3))}
    for name, taken in shares.items():
        reports = tmp_path / name.replace(" ", "-")
        report.write_pages(data, reports, agency_workbook=True, share=_second_took(taken, jobs))
        shared = _files(reports)
        assert shared.keys() == alone.keys(), name
        for key, content in alone.items():
            assert shared[key] == content, (name, key)
        assert not [p for p in reports.rglob("*") if p.name.startswith(".")]


def test_the_jobs_come_largest_first(data, tmp_path):
    """Both processes take the next job left, so the last jobs either does are the smallest:
    by the employees each covers, plus a fixed part per file."""
    jobs = report._shared_jobs(data, tmp_path, tmp_path, True, report._environment())
    batches = workbook.opd_workbook_batches(data)
    assert len(jobs) == len(batches) + len(data.opds) + 1
    people = data.employees["opd_code"].value_counts()

    def covered(job) -> int:
        if job.func is workbook.write_workbook:
            return len(data.employees) + report._FILE_COST
        opds = job.args[2] if job.func is workbook.write_opd_batch else [job.args[0]]
        return sum(int(people.get(opd["unit_code"], 0)) + report._FILE_COST for opd in opds)

    costs = [covered(job) for job in jobs]
    assert costs == sorted(costs, reverse=True)
    assert len({job.func for job in jobs}) == 3  # batches and pages mixed by cost
    # The order is the same in every process: jobs of equal cost keep the order they are
    # listed in.
    again = report._shared_jobs(data, tmp_path, tmp_path, True, report._environment())
    assert [(j.func.__name__, j.args[-1] if j.args else None) for j in again] == \
        [(j.func.__name__, j.args[-1] if j.args else None) for j in jobs]


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
                report.write_shared(data, reports, scratch, agency_workbook=True)
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
