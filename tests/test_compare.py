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


def _texts(marked: str) -> tuple[str, str]:
    """The old and the new text a marked comparison gives back: without <ins> runs, and without <del> runs."""
    import html
    import re

    def strip(kept: str, dropped: str) -> str:
        text = re.sub(rf"<{dropped}>.*?</{dropped}>", "", marked, flags=re.DOTALL)
        text = text.replace("</p><p>", "\n\n")
        return html.unescape(re.sub(r"<[^>]+>", "", text))

    return strip("del", "ins"), strip("ins", "del")


def _words(seed: int, count: int) -> str:
    import random

    pick = random.Random(seed)
    vocabulary = [f"w{n}" for n in range(3000)]
    return " ".join(pick.choice(vocabulary) + ("\n\n" if pick.random() < 0.02 else "") for _ in range(count)).replace("\n\n ", "\n\n")


def test_long_texts_that_differ_throughout_are_compared_paragraph_by_paragraph_and_give_both_back():
    # About 19,000 characters each, all different: a word diff of the whole (quadratic) took 15 s.
    old, new = _words(1, 3500), _words(2, 3500)
    marked = tracked_changes(old, new)
    assert "<del>" in marked and "<ins>" in marked
    before, after = _texts(marked)
    assert " ".join(before.split()) == " ".join(old.split()) and " ".join(after.split()) == " ".join(new.split())


def test_one_edit_in_a_long_text_is_marked_word_by_word():
    old = _words(1, 20_000)
    middle = len(old) // 2
    cut = old.index(" ", middle)
    new = old[:cut] + " inserted here" + old[cut:]
    marked = tracked_changes(old, new)
    assert marked.count("<ins>") == 1 and "<del>" not in marked
    assert marked.split("<ins>")[1].split("</ins>")[0].strip() == "inserted here"


def test_texts_past_the_limit_are_shown_unmarked_with_a_note():
    from hmicfrs_letters.preview.compare import MAX_TOKENS

    new = _words(2, MAX_TOKENS)  # words and spaces: twice the limit
    marked = tracked_changes(_words(1, MAX_TOKENS), new)
    assert "Too long to compare" in marked and "<ins>" not in marked and "<del>" not in marked
