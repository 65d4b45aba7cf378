"""Escaping and splitting of outgoing HTML."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.text import h, split_message, visible_length


def test_escape_user_data():
    assert h("<b>Tom & Jerry</b>") == "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;"


def test_visible_length_counts_like_telegram():
    assert visible_length("<b>ab</b> &amp;") == 4
    assert visible_length("😀") == 2  # UTF-16 code units


def test_short_text_is_one_chunk():
    assert split_message("hello\nworld") == ["hello\nworld"]


def test_split_at_line_boundaries():
    lines = [f"<b>line {i}</b> " + "x" * 90 for i in range(200)]
    chunks = split_message("\n".join(lines))
    assert len(chunks) > 1
    assert all(visible_length(c) <= 4096 for c in chunks)
    assert "\n".join(chunks).split("\n") == lines  # nothing lost, nothing cut mid-line


def test_one_huge_line_is_cut_without_breaking_entities():
    text = "&amp;" * 5000
    chunks = split_message(text)
    assert all(visible_length(c) <= 4096 for c in chunks)
    assert "".join(chunks) == text


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300), max_size=60))
def test_split_never_exceeds_the_limit_and_keeps_content(parts):
    text = "\n".join(h(p) for p in parts)
    chunks = split_message(text, limit=500)
    assert all(visible_length(c) <= 500 for c in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "") or not text.strip()
