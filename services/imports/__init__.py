"""Imports of clients and purchases from a CSV or XLSX file.

- reading: the file into a header and rows of text (encodings, delimiters, refusals of bad files)
- fields: what a column can be, headers recognised in Russian or English, cell values
- staging: a staged import (its rows, kind, mapping, options) and the steps a person takes
- checking: the dry run: each row to add, already known or invalid with the reason
- applying: one batch of the apply, committed with the import's cursor (never twice)
- report: the errors file (a CSV with a reason per row)
"""
