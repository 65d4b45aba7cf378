"""/reports: daily rollups (rollup.py, filled by a nightly job), what a day's figures are (daily.py),
reading them with today's live part (reading.py), the periods (periods.py) and the reports built on
them (build.py)."""
