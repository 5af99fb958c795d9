"""Tracked changes, word by word, as the preview shows findings against a standard or approved text."""

from __future__ import annotations

from hmicfrs_letters.preview.compare import tracked_changes


def test_words_taken_out_and_put_in_are_marked_and_paragraphs_kept():
    old = "Your plans did not reflect the strategy.\n\nThe second paragraph stays."
    new = "Your plans reflected the national strategy.\n\nThe second paragraph stays.\n\nA new one."
    assert tracked_changes(old, new) == (
        "<p>Your plans <del>did not reflect</del><ins>reflected</ins> the<ins> national</ins> strategy.</p>"
        "<p>The second paragraph stays.</p><p><ins>A new one.</ins></p>"
    )


def test_the_same_text_has_no_marks_and_both_texts_are_escaped():
    assert tracked_changes("Same words.", "Same words.") == "<p>Same words.</p>"
    assert tracked_changes("a <b>", "a <script>") == "<p>a <del>&lt;b&gt;</del><ins>&lt;script&gt;</ins></p>"
