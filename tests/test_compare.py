"""Tracked changes, as the preview shows findings against a standard or approved text: the text as it
prints, changes grouped into phrases, white space and line wrapping no change."""

from __future__ import annotations

import re

from hmicfrs_letters.preview.compare import tracked_changes, unchanged

OUT = '<del><span class="visually-hidden">taken out: </span>'
IN = '<ins><span class="visually-hidden">put in: </span>'


def test_a_rewritten_phrase_is_one_deletion_and_one_insertion_and_paragraphs_are_kept():
    old = "Your plans did not reflect the strategy.\n\nThe second paragraph stays."
    new = "Your plans reflected the national strategy.\n\nThe second paragraph stays.\n\nA new one."
    assert tracked_changes(old, new) == (
        f"<p>Your plans {OUT}did not reflect the</del>{IN}reflected the national</ins> strategy.</p> "
        f"<p>The second paragraph stays.</p> <p>{IN}A new one.</ins></p>"
    )


def test_a_rewritten_sentence_never_alternates_word_by_word():
    old = "Your plans were a good start and covered the main risks. They named an owner."
    new = "We found your plans thorough: they covered the main risks well. They named an owner."
    changes = tracked_changes(old, new)
    assert changes == (
        f"<p>{OUT}Your plans were a good start and</del>{IN}We found your plans thorough: they</ins> covered the main risks"
        f" {IN}well</ins>. They named an owner.</p>"
    )
    between = re.findall(r"</(?:del|ins)>(.*?)<(?:del|ins)>", str(changes))
    assert all(part == "" or len(re.findall(r"\w+", part)) >= 3 for part in between), between


def test_markdown_shows_as_it_prints_not_raw():
    old = "Your plans were a *good start*.\n\n- one\n- two"
    new = "Your plans were a *good start*.\n\n- one\n- two\n- three"
    changes = tracked_changes(old, new)
    assert "<em>good start</em>" in changes and "*" not in changes
    assert re.sub(r"\s", "", changes).endswith(f"<li>two</li><li>{IN}three</ins></li></ul>".replace(" ", "").replace("\n", ""))


def test_white_space_and_line_wrapping_are_no_change():
    old = "One sentence, wrapped\nby an editor   here."
    new = "One sentence, wrapped by an editor here."
    assert unchanged(old, new) and "<del>" not in tracked_changes(old, new) and "<ins>" not in tracked_changes(old, new)
    assert not unchanged("One.", "One.\n\nTwo.")


def test_the_same_text_has_no_marks_and_both_texts_are_escaped():
    assert tracked_changes("Same words.", "Same words.") == "<p>Same words.</p>"
    assert tracked_changes("a <b>", "a <script>") == f"<p>a &lt;{OUT}b</del>{IN}script</ins>&gt;</p>"


def test_emphasis_inside_a_change_is_part_of_the_one_insertion():
    changes = tracked_changes("Your plans were good.", "Our *new* plans were good.")
    assert changes == f"<p>{OUT}Your</del>{IN}Our <em>new</em></ins> plans were good.</p>"


def _texts(marked: str) -> tuple[str, str]:
    """The old and the new text a marked comparison gives back: without <ins> runs, and without <del> runs."""
    import html
    import re

    def strip(kept: str, dropped: str) -> str:
        text = re.sub(r'<span class="visually-hidden">.*?</span>', "", marked)
        text = re.sub(rf"<{dropped}>.*?</{dropped}>", "", text, flags=re.DOTALL)
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
    assert marked.split("<ins>")[1].split("</ins>")[0].split("</span>")[-1].strip() == "inserted here"


def test_texts_past_the_limit_are_shown_unmarked_with_a_note():
    from hmicfrs_letters.preview.compare import MAX_TOKENS

    new = _words(2, MAX_TOKENS)  # words and spaces: twice the limit
    marked = tracked_changes(_words(1, MAX_TOKENS), new)
    assert "Too long to compare" in marked and "<ins>" not in marked and "<del>" not in marked
