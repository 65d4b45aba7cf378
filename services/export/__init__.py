"""Exports: tables written as CSV (for machines) or XLSX (for people), streaming, in parts that fit
Telegram's upload limit."""
