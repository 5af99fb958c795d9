"""What `list`, `check` and `verify` print with --json, and `list`'s table: the documents, shaped once.

The shapes are documented in the guide (docs/guide.md, "The commands"); the CLI only prints them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hmicfrs_letters.core.chars import visible
from hmicfrs_letters.core.errors import Problem
from hmicfrs_letters.core.state import LetterState
from hmicfrs_letters.workflow.series import Workflow


def problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "path": problem.path,
        "line": problem.line,
        "column": problem.column,
        "severity": str(problem.severity),
        "message": problem.message,
        "detail": problem.detail or None,
    }


def list_json(listed: Sequence[tuple[Workflow, Sequence[LetterState]]], problems: Sequence[Problem]) -> dict[str, Any]:
    """`letters list --json`: every letter of these assessments with its state."""
    letters = [
        {
            "assessment": work.assessment.slug,
            "slug": state.slug,
            "name": state.item.letter.recipient.name if state.item.letter else None,
            "outcome": (state.item.letter.outcome or None) if state.item.letter else None,
            "status": str(state.status),
            "issued": state.item.letter.issued.as_json() if state.item.letter and state.item.letter.issued else None,
            "errors": len(state.errors),
            "warnings": len(state.warnings),
            "file": state.item.shown,
        }
        for work, states in listed
        for state in states
    ]
    return {
        "assessments": [work.assessment.slug for work, _ in listed],
        "letters": letters,
        "problems": [problem_json(p) for p in problems],
    }


def list_rows(listed: Sequence[tuple[Workflow, Sequence[LetterState]]]) -> list[tuple[str, ...]]:
    """`letters list`: a header and a row a letter (with the assessment's column when there are several)."""
    several = len(listed) > 1
    nouns = {work.batch.recipients.singular for work, _ in listed}
    noun = nouns.pop().upper() if len(nouns) == 1 else "RECIPIENT"
    rows = [(*(("ASSESSMENT",) if several else ()), noun, "OUTCOME", "STATUS", "PROBLEMS")]
    for work, states in listed:
        for state in states:
            outcome = (state.item.letter.outcome or "-") if state.item.letter else "-"
            errors = str(len(state.errors)) if state.errors else ""
            rows.append((*((work.assessment.slug,) if several else ()), visible(state.slug), outcome, str(state.status), errors))
    return rows


def check_json(works: Sequence[Workflow], problems: Sequence[Problem], errors: int) -> dict[str, Any]:
    """`letters check --json`."""
    return {
        "assessments": [work.assessment.slug for work in works],
        "errors": errors,
        "warnings": len(problems) - errors,
        "problems": [problem_json(p) for p in problems],
    }


def verify_json(works: Sequence[Workflow], checked: Sequence[str], problems: Sequence[Problem]) -> dict[str, Any]:
    """`letters verify --json`."""
    return {
        "assessments": [work.assessment.slug for work in works],
        "checked": list(checked),
        "problems": [problem_json(p) for p in problems],
    }
