"""Jobs of the surveys domain (being built). Registered on scheduler.jobs.registry."""

from __future__ import annotations
