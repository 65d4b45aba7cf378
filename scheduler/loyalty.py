"""Jobs of the loyalty domain (being built). Registered on scheduler.jobs.registry."""

from __future__ import annotations
