"""Analytics: what counts as a purchase, RFM segments and ABC classes, satisfaction and loyalty
indexes, the reports' figures. Everything is computed in SQL (window functions work on SQLite and
PostgreSQL alike)."""
