"""Broadcasts (/broadcast, /campaigns): the text and its placeholders (texts), and a campaign from its
draft to its report (core). The sending itself is scheduler/campaigns.py, a durable step job."""
