"""What people read: the HTML reports and their sections, texts and charts (`report*`), the
Excel workbooks (`workbook`, written by `xlsx`), and the data-quality check with its Data Docs
(`check`, proven on frames by `expectations`). Reads the publication through
`tasks.warehouse.database`, `run_ledger` and `change_labels`; never sources or score."""
