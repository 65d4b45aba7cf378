"""Analytics: /reports (reports.py)."""

from handlers.analytics import reports

routers = [reports.router]
