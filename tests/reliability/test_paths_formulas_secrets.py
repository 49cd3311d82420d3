"""Issue 10, defects 1, 2 and 4: an agency code never reaches a path or a page unchecked, source
text never becomes a live formula in the HR workbook or markup in the Data Docs, and a password
is masked even in a malformed URL."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from kinerja import identifiers
from kinerja.cli import app
from kinerja.config import ConfigError, load_settings
from kinerja.redact import mask_secrets, redact_url, remember_secret
from tests.landing import FILES, NIP_A, NIP_B, write_period

runner = CliRunner()
HOSTILE_CODES = [
    "/tmp/elsewhere",
    "../3374",
    "3374/../../x",
    "<img src=x onerror=alert(1)>",
    "3" * 5000,
    "33 74",
    "3374\n",
    "",
    ".",
]


# Agency codes and periods --------------------------------------------------------------------


@pytest.mark.parametrize("code", HOSTILE_CODES)
def test_hostile_agency_codes_are_refused_with_one_short_escaped_line(code):
    with pytest.raises(identifiers.InvalidIdentifier) as caught:
        identifiers.agency_code(code)
    message = str(caught.value)
    assert "\n" not in message and "<img" not in message
    assert len(message) < 200


@pytest.mark.parametrize("code", ["3374", "1171", "33", "9999"])
def test_bps_codes_are_accepted(code):
    assert identifiers.agency_code(code) == code


def _victim(tmp_path: Path) -> Path:
    """A folder with a file that a run must never delete nor write beside."""
    victim = tmp_path / "victim"
    (victim / "keep_2025-S1").mkdir(parents=True)
    (victim / "keep_2025-S1" / "precious.txt").write_text("do not delete")
    return victim


COMMANDS = {
    "run": ["run", "--agency", "{code}", "--period", "2025-S1"],
    "check": ["check", "--agency", "{code}", "--period", "2025-S1"],
    "backfill": ["backfill", "--agency", "{code}", "--from", "2025-S1"],
    "changes": ["changes", "--agency", "{code}", "--period", "2025-S1"],
    "generate": ["generate", "--agency", "{code}", "--employees", "5", "--periods", "2025-S1",
                 "--out", "{out}"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_refuses_a_path_as_agency_before_touching_anything(
        command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    victim = _victim(tmp_path)
    code = str(victim / "keep")
    args = [a.format(code=code, out=tmp_path / "out") for a in COMMANDS[command]]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().startswith("kinerja: error: invalid agency code")
    assert len(result.stderr.strip().splitlines()) == 1
    assert (victim / "keep_2025-S1" / "precious.txt").read_text() == "do not delete"
    # Nothing was created: no warehouse (so no pipeline_run row), no report, no landing data.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim"]


def test_a_long_or_markup_code_is_shown_escaped_and_short(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for code in ("3" * 5000, "<img src=x onerror=alert(1)>"):
        result = runner.invoke(app, ["run", "--agency", code, "--period", "2025-S1"])
        assert result.exit_code == 1
        line = result.stderr.strip()
        assert len(line) < 250 and "File name too long" not in line
        assert "<img" not in line


def test_configuration_refuses_a_hostile_agency_table(tmp_path, monkeypatch):
    monkeypatch.delenv("KINERJA_CONFIG", raising=False)
    (tmp_path / "kinerja.toml").write_text('[agencies."../../etc"]\nname = "x"\n')
    with pytest.raises(ConfigError, match="invalid agency code"):
        load_settings(tmp_path)


def test_flows_check_their_parameters_as_a_deployment_passes_them(tmp_path, monkeypatch):
    # A deployment run hands parameters straight to the flow: the flow itself refuses them,
    # before it reads settings, opens the warehouse or touches a folder.
    from flows.backfill import backfill
    from flows.semester import semester_appraisal

    monkeypatch.chdir(tmp_path)
    victim = _victim(tmp_path)
    with pytest.raises(identifiers.InvalidIdentifier):
        semester_appraisal.fn(agency_code=str(victim / "keep"), period_id="2025-S1",
                              landing=str(tmp_path), reports=str(victim))
    with pytest.raises(identifiers.InvalidIdentifier):
        semester_appraisal.fn(agency_code="3374", period_id="../2025-S1")
    with pytest.raises(identifiers.InvalidIdentifier):
        backfill.fn(agency_code="../../x", from_period="2025-S1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim"]


def test_output_names_come_from_checked_codes_only(tmp_path):
    from tasks.reporting.check import data_docs_dir
    from tasks.reporting.report import report_path
    from tasks.reporting.workbook import workbook_path

    assert data_docs_dir(tmp_path, "3374", "2025-s1") == tmp_path / "datadocs" / "3374_2025-S1"
    assert report_path(tmp_path, "3374", "2025-S1").name == "3374_2025-S1_laporan.html"
    for make in (data_docs_dir, report_path, workbook_path):
        with pytest.raises(identifiers.InvalidIdentifier):
            make(tmp_path, "/etc", "2025-S1")
        with pytest.raises(identifiers.InvalidIdentifier):
            make(tmp_path, "3374", "2025-S1/../../x")


def test_the_check_replaces_only_its_own_data_docs_folder(tmp_path):
    from tasks.reporting.check import run_suite

    victim = _victim(tmp_path)
    with pytest.raises(identifiers.InvalidIdentifier):
        run_suite({}, None, {}, victim / "keep_2025-S1", run_name="x")  # type: ignore[arg-type]
    # A Data Docs folder that is a link to elsewhere is not followed into.
    (tmp_path / "reports" / "datadocs").mkdir(parents=True)
    (tmp_path / "reports" / "datadocs" / "3374_2025-S1").symlink_to(victim / "keep_2025-S1")
    with pytest.raises(identifiers.InvalidIdentifier):
        run_suite({}, None, {}, tmp_path / "reports" / "datadocs" / "3374_2025-S1",
                  run_name="x")  # type: ignore[arg-type]
    assert (victim / "keep_2025-S1" / "precious.txt").read_text() == "do not delete"


def test_unit_codes_become_safe_distinct_file_names():
    assert identifiers.file_component("U-01.a") == "U-01.a"
    hostile = ["../x", "/etc/passwd", "..", ".", "a/b", "a\\b", "x" * 300, "<b>", "a\x00b"]
    names = [identifiers.file_component(v) for v in hostile]
    assert len(set(names)) == len(names)
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name), name
        assert name not in (".", "..")


def test_inside_refuses_paths_that_leave_their_root(tmp_path):
    assert identifiers.inside(tmp_path, tmp_path / "a" / "b") == (tmp_path / "a" / "b").resolve()
    for bad in (tmp_path, tmp_path / ".." / "x", Path("/etc/passwd")):
        with pytest.raises(identifiers.InvalidIdentifier):
            identifiers.inside(tmp_path, bad)


# Passwords -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "postgresql//kinerja:s3cretpw@db/kinerja",       # missing ':'
    "postgresql:/kinerja:s3cretpw@db/kinerja",        # one '/'
    "postgresql://kinerja:s3cretpw@db/kinerja",       # well formed
    "mysql+pymysql//kinerja:s3cretpw@db:3306/x",
    "kinerja:s3cretpw@db/kinerja",                     # no scheme at all
    "postgresql://kinerja:s3c@retpw@db/kinerja",     # an '@' inside the password
])
def test_a_password_is_masked_whether_or_not_the_url_parses(url):
    secret = url.split(":", 2)[-1].rsplit("@", 1)[0] if "//" not in url.split(":")[0] else ""
    for text in (redact_url(url), mask_secrets(f"could not parse '{url}' (see log)")):
        assert "s3cretpw" not in text and "retpw" not in text, text
        assert "***" in text
    assert secret is not None


def test_remembered_secrets_are_masked_wherever_they_are_quoted():
    remember_secret("pw-from-env-9431")
    assert mask_secrets("auth failed for pw-from-env-9431 at host") == \
        "auth failed for *** at host"


def test_plain_messages_are_left_alone():
    for text in ("landing/3374/2025-S1: no such period folder", "mail kepegawaian@semarang.go.id",
                 "postgresql+psycopg://postgres@127.0.0.1:5432/test (no password)",
                 "attendance/a.csv:17: nip: not a valid NIP", "12:30 at 07:45"):
        assert mask_secrets(text) == text


def test_a_malformed_warehouse_url_never_shows_its_password(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", "--agency", "3374", "--period", "2025-S1",
                                 "--warehouse", "postgresql//kinerja:s3cretpw@127.0.0.1/x"])
    assert result.exit_code == 1
    assert "s3cretpw" not in result.output
    assert "not a valid warehouse URL" in result.stderr


def test_a_malformed_source_url_is_masked_in_the_run_record_logs_and_prefect(
        prefect_harness, tmp_path, monkeypatch, caplog):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    from flows.semester import semester_appraisal

    monkeypatch.chdir(tmp_path)
    write_period(tmp_path / "landing" / "3374" / "2025-S1")
    (tmp_path / "kinerja.toml").write_text(
        '[agencies.3374.sources]\n'
        'skp = { url = "mysql+pymysql//kinerja:s3cretpw@127.0.0.1:1/x", '
        'query = "ekinerja_mariadb/skp.sql" }\n')
    monkeypatch.delenv("KINERJA_CONFIG", raising=False)
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    state = semester_appraisal(agency_code="3374", period_id="2025-S1",
                               landing=str(tmp_path / "landing"), warehouse_url=url,
                               reports=str(tmp_path / "reports"), return_state=True)
    assert state.is_failed()
    engine = sa.create_engine(url)
    runs = pd.read_sql("SELECT * FROM pipeline_run", engine)
    engine.dispose()
    assert runs["status"].tolist() == ["failed"]
    flow_run_id = runs.loc[0, "flow_run_id"]
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
        logs = client.read_logs(log_filter=LogFilter(
            flow_run_id=LogFilterFlowRunId(any_=[flow_run.id])))
        task_runs = client.read_task_runs()
    texts = {
        "run message": runs.to_csv(),
        "captured log": caplog.text,
        "prefect logs": "\n".join(log.message for log in logs),
        "flow state": repr(flow_run.state),
        "task states": "\n".join(repr(t.state) for t in task_runs),
    }
    assert "***" in runs.loc[0, "message"]
    for where, text in texts.items():
        assert "s3cretpw" not in text, where


# The workbook --------------------------------------------------------------------------------

FORMULAS = {
    "name": '=HYPERLINK("http://evil.example/x","klik")',
    "unit": "=cmd|' /C calc'!A0",
    "position": "+SUM(1;2)",
    "grade": "@SUM(1)",
    "indicator": "-2+3",
}


def _hostile_landing(root: Path) -> Path:
    files = dict(FILES)
    files["units.csv"] = ("unit_code,unit_name,parent_unit_code\n"
                          "U1,Dinas Kesehatan,\n"
                          f'U2,"{FORMULAS["unit"]}",U1\n')
    files["employees.csv"] = files["employees.csv"].replace(
        "Sri Wahyuni", '"' + FORMULAS["name"].replace('"', '""') + '"').replace(
        "Perawat", FORMULAS["position"]).replace("III/b", FORMULAS["grade"])
    files["skp.csv"] = files["skp.csv"].replace("Waktu tunggu", FORMULAS["indicator"])
    return write_period(root / "3374" / "2025-S1", files)


def test_source_text_is_never_a_formula_in_the_workbook(prefect_harness, tmp_path, monkeypatch):
    from flows.semester import semester_appraisal

    monkeypatch.chdir(tmp_path)
    _hostile_landing(tmp_path / "landing")
    summary = semester_appraisal(agency_code="3374", period_id="2025-S1",
                                 landing=str(tmp_path / "landing"),
                                 warehouse_url=f"sqlite:///{tmp_path / 'w.db'}",
                                 reports=str(tmp_path / "reports"))
    path = Path(summary["workbook"])
    with zipfile.ZipFile(path) as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
        xml = "".join(book.read(n).decode() for n in sheets)
        styles = book.read("xl/styles.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    assert 'quotePrefix="1"' in styles

    from openpyxl import load_workbook

    book = load_workbook(path)
    shown = {c.value for sheet in book.worksheets for row in sheet.iter_rows() for c in row}
    # Every hostile text is there, as text, exactly as the source spelled it.
    for text in (FORMULAS["name"], FORMULAS["unit"], FORMULAS["position"], FORMULAS["grade"]):
        assert text in shown, text
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row
             if c.value == FORMULAS["name"]]
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)
    # The rater calibration sheet (issue 12) names units through the same text path.
    calibration = [c for row in book["Kalibrasi Penilai"].iter_rows(min_row=2) for c in row
                   if c.value == FORMULAS["unit"]]
    assert calibration and all(c.data_type == "s" and c.quotePrefix for c in calibration)
    assert NIP_A and NIP_B  # the landing's employees are the ones published


def test_markup_in_source_text_is_inert_in_the_data_docs(tmp_path):
    from tasks.reporting.check import _escaped_for_docs

    frame = pd.DataFrame({"name": ["<img src=x onerror=alert(1)>", "Budi"], "n": [1, 2],
                          "code": pd.Series(["A&B", None], dtype="string")})
    escaped = _escaped_for_docs(frame)
    assert escaped["name"].tolist() == ["&lt;img src=x onerror=alert(1)&gt;", "Budi"]
    assert escaped["code"].tolist()[0] == "A&amp;B"
    assert frame["name"].tolist()[0] == "<img src=x onerror=alert(1)>"  # the input is untouched
    assert escaped["n"].tolist() == [1, 2]
