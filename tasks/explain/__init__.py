"""`kinerja explain`: how every published value of one employee came about, down to the source
rows, and the rater calibration of the report and workbook (issue 12).

- `derive`: pure. The scoring functions of `tasks/score/` run again over one employee's rows
  (and once over the whole agency, for ranks and unit counts) and every value is annotated with
  the source rows (`<path>:<line>`) that decided it. No formula is written twice.
- `compare`: pure. The derived values against the published rows; any difference is reported.
- `calibration`: pure. Per rater, the shares of each rating beside the unit's and the agency's,
  and the raters whose share of the top predikat exceeds their unit's distribution curve.
- `sources`: I/O. The publication (run, policy, lineage, facts) from the warehouse, the source
  files re-read and re-validated with the same extract/validate code as the run (so line numbers
  match the quarantine), their SHA-256 checked against `source_file`.
- `render`: the explanation as Indonesian text and as the printable A4 slip (HTML).
"""
