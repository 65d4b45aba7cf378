"""Rendering (texts and keyboards) per capability; handlers call these to draw replies."""
