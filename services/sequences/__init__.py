"""Drip sequences (/sequences): building them (build), enrolment by a trigger or by hand and the stops
(hooks: light, so the domains whose events trigger or stop a sequence can call it), the checks and
bookkeeping of each step's send (sending; the send itself is scheduler/sequences.py, a durable job)
and the per-step figures."""
