"""The wording lock: the approved fixed wording of an assessment's letters, and its fingerprint.

The fixed wording is the letter's text with the parts that vary between letters held neutral:
the template is rendered for a neutral letter whose recipient's details and declared fields are
`{placeholders}` naming them, approved (so without draft marks). Everything the templates and
the assessment file put into the letter is in it, down to the last comma; nothing a letter file
says is. Its SHA-256 is recorded in the assessment file, and the text itself beside it
(`data/assessments/<assessment>.wording.txt`) so that a change can be shown word by word.

Wording that only some letters print is locked too: each other path through the templates (each
value of a `choice` field, each optional field unwritten, each `list` field with no items, each
outcome), rendered one factor at a time from the neutral letter, whose text differs from the base
wording (`wording_variants`). Their SHA-256 is `variants_sha256`, their text
`<assessment>.variants.txt`; `wording_sha256`, which every letter's approval holds, stays the base
wording's.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from hmicfrs_letters.core.errors import LetterError, Problem, Severity
from hmicfrs_letters.core.files import write_atomic, writing
from hmicfrs_letters.core.load import MAX_FILE_BYTES, load_yaml
from hmicfrs_letters.core.models import Assessment, Letter
from hmicfrs_letters.core.reading import read_project_text
from hmicfrs_letters.core.render import render_letter
from hmicfrs_letters.core.skeleton import HeldChoice, neutral_letter
from hmicfrs_letters.core.templates import Templates
from hmicfrs_letters.core.text import letter_passages
from hmicfrs_letters.core.validate import Batch

KEY = "wording_sha256"
VARIANTS_KEY = "variants_sha256"
_HEX = re.compile(r"[0-9a-f]{64}")


def fixed_wording(templates: Templates, assessment: Assessment) -> str:
    """The letter's fixed wording: one passage a line, the varying parts as placeholders; LetterError
    if the templates cannot render it."""
    return _wording(templates, assessment, neutral_letter(assessment))


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def wording_variants(templates: Templates, assessment: Assessment, base: str | None = None) -> dict[str, str]:
    """The fixed wording of the letters' other paths through the templates, each named by what takes it
    ("when 'word' is 'brigade'"): one factor at a time from the neutral letter, each value of each
    `choice` field, each optional field unwritten (an `{% if %}`'s standard passage), each `list` field
    with no items, each outcome but the first. Only those whose text differs from the base wording and
    from the paths before (`base`: the base wording, when the caller has it already); LetterError if
    the templates cannot render one."""
    neutral = neutral_letter(assessment)
    paths: list[tuple[str, Letter]] = []
    for spec in assessment.fields:
        values = dict(neutral.values)
        if spec.type == "choice":
            paths += [
                (f"when '{spec.name}' is '{value}'", replace(neutral, values={**values, spec.name: HeldChoice(spec.name, value)}))
                for value in spec.choices
            ]
        elif spec.type == "list":
            paths.append((f"when '{spec.name}' has no items", replace(neutral, values={**values, spec.name: ()})))
        elif not spec.required and spec.default is None:
            del values[spec.name]
            paths.append((f"when '{spec.name}' is not written", replace(neutral, values=values)))
    paths += [(f"when the outcome is '{category.key}'", replace(neutral, outcome=category.key)) for category in assessment.categories[1:]]
    seen = {_wording(templates, assessment, neutral) if base is None else base}
    variants = {}
    for path, letter in paths:
        text = _wording(templates, assessment, letter)
        if text not in seen:
            seen.add(text)
            variants[path] = text
    return variants


def _wording(templates: Templates, assessment: Assessment, letter: Letter) -> str:
    html = render_letter(templates, assessment, letter, "{source}")
    return "".join(passage.text + "\n" for passage in letter_passages(html))


def variants_text(variants: dict[str, str]) -> str:
    """The other paths' wording as its file holds it: each path's name and a colon, then its passages
    indented by two spaces, one a line (a passage never begins with a space)."""
    return "".join(f"{path}:\n" + "".join(f"  {line}\n" for line in text.splitlines()) for path, text in variants.items())


def _read_variants(text: str) -> dict[str, str] | None:
    """The paths and their wording from the text of a variants file; None if it is not in that form."""
    variants: dict[str, str] = {}
    path = None
    for line in text.splitlines():
        if line.startswith("  ") and path is not None:
            variants[path] += line[2:] + "\n"
        elif line.endswith(":") and line[:1].strip():
            path = line[:-1]
            variants[path] = ""
        else:
            return None
    return variants


def wording_problems(batch: Batch, templates: Templates | None = None) -> list[Problem]:
    """Whether the fixed wording, on every path through the templates, is still the approved one: an
    error with a word diff for each that is not."""
    project, assessment = batch.project, batch.assessment
    shown = project.shown(project.assessment_file(assessment.slug))
    doc = load_yaml(project.assessment_file(assessment.slug), shown, project.data_dir)
    line = doc.line(KEY)
    if not assessment.wording_sha256:
        return [
            Problem(
                shown,
                f"no approved wording recorded ('{KEY}'); run `letters approve-wording` once the wording is approved",
                severity=Severity.WARNING,
            )
        ]
    if not _HEX.fullmatch(assessment.wording_sha256):
        return [Problem(shown, f"'{KEY}' should be 64 lower-case hexadecimal digits; run `letters approve-wording`", line)]
    templates = templates or Templates(project.templates_dir)
    try:
        text = fixed_wording(templates, assessment)
        variants = wording_variants(templates, assessment, text)
    except LetterError as exc:
        return exc.problems
    problems, approved = [], None
    if fingerprint(text) != assessment.wording_sha256:
        approved, detail = _approved(batch, project.wording_file(assessment.slug), assessment.wording_sha256)
        problems.append(
            Problem(
                shown,
                "the letters' fixed wording differs from the approved wording (changes below); "
                "fix the templates, or run `letters approve-wording` if the change is approved",
                line,
                detail=detail if approved is None else word_diff(approved, text),
            )
        )
    return problems + _variant_problems(batch, doc.line(VARIANTS_KEY), variants, text, approved)


def _variant_problems(batch: Batch, line: int | None, variants: dict[str, str], text: str, approved_base: str | None) -> list[Problem]:
    """Whether each other path's wording is the approved one. `text`: the base wording now; `approved_base`:
    the approved base wording when it changed (a change of the base is told once, not again for each path)."""
    project, assessment = batch.project, batch.assessment
    shown = project.shown(project.assessment_file(assessment.slug))
    recorded = assessment.variants_sha256
    if not recorded:
        if not variants:
            return []
        named = ", ".join(list(variants)[:3]) + (", …" if len(variants) > 3 else "")
        return [
            Problem(
                shown,
                f"the wording the letters print {named} is not locked yet ('{VARIANTS_KEY}'); "
                "run `letters approve-wording` once it is approved",
                severity=Severity.WARNING,
            )
        ]
    if not _HEX.fullmatch(recorded):
        return [Problem(shown, f"'{VARIANTS_KEY}' should be 64 lower-case hexadecimal digits; run `letters approve-wording`", line)]
    if fingerprint(variants_text(variants)) == recorded:
        return []
    told = (
        "differs from the approved wording (changes below); fix the templates, or run `letters approve-wording` if the change is approved"
    )
    file_text, detail = _approved(batch, project.variants_file(assessment.slug), recorded)
    approved = None if file_text is None else _read_variants(file_text)
    if approved is None:
        detail = detail or f"({project.shown(project.variants_file(assessment.slug))} is not in its form: no diff to show)"
        return [Problem(shown, f"the wording the letters print on another path through the templates {told}", line, detail=detail)]
    base_then = text if approved_base is None else approved_base
    explained = _changes(base_then, text)
    problems = []
    for path in dict.fromkeys([*variants, *approved]):
        old, new = approved.get(path, base_then), variants.get(path, text)
        if old != new and not (explained and _changes(old, new) <= explained):
            problems.append(Problem(shown, f"the wording printed {path} {told}", line, detail=word_diff(old, new)))
    return problems


def _changes(old: str, new: str) -> set[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The runs of lines changed from one text to the other, each as (old lines, new lines)."""
    a, b = old.splitlines(), new.splitlines()
    return {
        (tuple(a[a1:a2]), tuple(b[b1:b2]))
        for tag, a1, a2, b1, b2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
        if tag != "equal"
    }


def _approved(batch: Batch, path: Path, digest: str) -> tuple[str | None, str]:
    """The approved text kept in this file, when it is there and has the recorded fingerprint; else
    None and why (no diff can be shown)."""
    project = batch.project
    approved, unread = None, "is missing"
    try:
        approved = read_project_text(project.data_dir, path, project.shown(path), MAX_FILE_BYTES)
    except LetterError as exc:
        if os.path.lexists(path):  # there, but a link out of data/, a FIFO, not UTF-8…
            unread = f"cannot be read ({exc.problems[0].message})"
    if approved is None:
        return None, f"(the approved text, {project.shown(path)}, {unread}: no diff to show)"
    if fingerprint(approved) != digest:
        return None, f"({project.shown(path)} does not match the fingerprint either: no diff to show)"
    return approved, ""


@dataclass(frozen=True)
class WordingApproval:
    fingerprint: str
    text_file: Path
    changed: bool
    variants: int = 0  # how many other paths through the templates have their own wording
    variants_file: Path | None = None


def approve_wording(batch: Batch) -> WordingApproval:
    """Record the templates' current fixed wording as approved, on every path: fingerprints and texts."""
    project, assessment = batch.project, batch.assessment
    templates = Templates(project.templates_dir)
    text = fixed_wording(templates, assessment)
    variants = wording_variants(templates, assessment, text)
    digest = fingerprint(text)
    others = fingerprint(variants_text(variants)) if variants else ""
    path = project.assessment_file(assessment.slug)
    text_file, variants_file = project.wording_file(assessment.slug), project.variants_file(assessment.slug)
    with writing(project.shown(text_file), then="the wording was not approved"):
        write_atomic(text_file, text)
    if variants:
        with writing(project.shown(variants_file), then="the wording was not approved"):
            write_atomic(variants_file, variants_text(variants))
    changed = digest != assessment.wording_sha256 or others != assessment.variants_sha256
    if changed:
        from hmicfrs_letters.workflow.yamledit import edit_yaml  # ruamel.yaml: only approve-wording writes, not check

        with writing(project.shown(path), then=f"the wording was not approved; {project.shown(text_file)} already holds the new text"):
            edit_yaml(path, project.shown(path), project.data_dir, lambda data: _set_fingerprints(data, digest, others))
    if not variants and os.path.lexists(variants_file):
        with writing(project.shown(variants_file), then="the old wording of other paths is left behind"):
            variants_file.unlink()
    return WordingApproval(digest, text_file, changed, len(variants), variants_file if variants else None)


def _set_fingerprints(data, digest: str, others: str) -> None:
    _set_fingerprint(data, digest)
    if others:
        keys = list(data)
        if VARIANTS_KEY in keys:
            data[VARIANTS_KEY] = others
            return
        data.insert(keys.index(KEY) + 1, VARIANTS_KEY, others)
        data.yaml_set_comment_before_after_key(
            VARIANTS_KEY,
            before="SHA-256 of the approved wording of the letters' other paths through the templates (their text is in\n"
            "the .variants.txt file beside this one); `letters approve-wording` sets it.",
        )
    elif VARIANTS_KEY in data:
        del data[VARIANTS_KEY]


def _set_fingerprint(data, digest: str) -> None:
    if KEY in data:
        data[KEY] = digest
        return
    keys = list(data)
    after = next((keys.index(k) + 1 for k in ("page_limit", "template") if k in keys), len(keys))
    data.insert(after, KEY, digest)
    data.yaml_set_comment_before_after_key(
        KEY, before="SHA-256 of the approved fixed wording (the text is beside this file); `letters approve-wording` sets it."
    )


def word_diff(old: str, new: str) -> str:
    """The lines that changed, numbered as in the approved text, removed words as [-old-] and added ones as {+new+}."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    shown = []
    for tag, a1, a2, b1, b2 in difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes():
        if tag != "equal":
            shown += _changed_block(old_lines[a1:a2], new_lines[b1:b2], first_line=a1 + 1)
    return "\n".join(shown)


def _changed_block(old: list[str], new: list[str], first_line: int) -> list[str]:
    """A run of changed lines: each new line paired, in order, with the most alike old line left, if alike enough."""
    shown, i = [], 0
    for line in new:
        ratios = [difflib.SequenceMatcher(None, candidate, line).ratio() for candidate in old[i:]]
        best = max(range(len(ratios)), key=ratios.__getitem__, default=None)
        if best is None or ratios[best] < 0.5:
            place = f"after line {first_line + i - 1}" if first_line + i > 1 else "at the start"
            shown.append(f"  {place}: {{+{line}+}}")
            continue
        shown += [f"  line {first_line + k}: [-{old[k]}-]" for k in range(i, i + best)]
        shown.append(f"  line {first_line + i + best}: {_word_changes(old[i + best], line)}")
        i += best + 1
    shown += [f"  line {first_line + k}: [-{old[k]}-]" for k in range(i, len(old))]
    return shown


def _word_changes(old: str, new: str, context: int = 6) -> str:
    """The changed words of one line, with a few unchanged words either side and `…` for the rest."""
    old_words, new_words = old.split(), new.split()
    tokens: list[tuple[str, bool]] = []  # (word or change mark, is a change)
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old_words, new_words, autojunk=False).get_opcodes():
        if op == "equal":
            tokens += [(word, False) for word in old_words[i1:i2]]
            continue
        if i2 > i1:
            tokens.append(("[-" + " ".join(old_words[i1:i2]) + "-]", True))
        if j2 > j1:
            tokens.append(("{+" + " ".join(new_words[j1:j2]) + "+}", True))
    changes = [i for i, (_, changed) in enumerate(tokens) if changed]
    keep = {i for c in changes for i in range(c - context, c + context + 1)}
    words, skipped = [], False
    for i, (word, _) in enumerate(tokens):
        if i in keep:
            words.append(word)
            skipped = False
        elif not skipped:
            words.append("…")
            skipped = True
    return " ".join(words)
