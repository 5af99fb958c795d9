"""The letter page as the place where a letter is written, checked and approved.

The page is a plain HTML form that works without a script: it posts its values with the
server's token and the version of the file it was made from, and the server saves them on the
command line's rules (workflow.edit), approves (workflow.approve) or starts a draft
(workflow.new), then sends the browser back to the page (303). editor.js adds what a script
can: the letter, its problems and its pages updated as one types. Nothing is ever overwritten
silently: a file changed since the page was made is a conflict, shown with both versions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from hmicfrs_letters.core.errors import LetterError, Problem, plain
from hmicfrs_letters.core.files import read_data_file
from hmicfrs_letters.core.languages import language_name
from hmicfrs_letters.core.load import parse_yaml
from hmicfrs_letters.core.models import PENDING, Assessment, Category, FieldSpec
from hmicfrs_letters.preview import conflict as choosing
from hmicfrs_letters.preview import forms
from hmicfrs_letters.preview.compare import tracked_changes, unchanged
from hmicfrs_letters.preview.responses import page, problems_page, view_of
from hmicfrs_letters.preview.state import LetterView, Preview
from hmicfrs_letters.workflow.approve import approve, check_name
from hmicfrs_letters.workflow.edit import Conflict, edited, letter_file, save, set_draft
from hmicfrs_letters.workflow.new import STANDARD_FIELD, new_letter
from hmicfrs_letters.workflow.series import Workflow

EDITOR_JS = Path(__file__).parent / "pages" / "editor.js"
# What the page says after a change, by the word in its address (?done=…).
DONE = {
    "saved": "Saved.",
    "approved": "Approved: the letter is ready to issue.",
    "draft": "Set back to draft.",
    "kept": "Nothing saved: the approved letter is as it was.",
    "started": "Draft started from the outcome's standard findings. Make them this letter's own, then save.",
}
_NO_STORE = {"Cache-Control": "no-store"}
# The approver's name, remembered by the browser that gave it (never guessed from the machine's git identity).
APPROVER_COOKIE = "letters-approver"


@dataclass(frozen=True)
class Ask:
    """A question the page asks before something is lost; the server does nothing until the form posts `confirm`."""

    heading: str
    text: str
    confirm: str  # the value of the form's `confirm` that says yes
    action: str  # what yes does
    yes: str
    safe_action: str  # what the safe choice (the primary button) does
    safe: str


@dataclass(frozen=True)
class Refused:
    """Why an action was not done: what the page says, the problems to mark, or a question to ask first."""

    failed: str | None = None
    problems: Sequence[Problem] | None = None
    ask: Ask | None = None
    reasons: Sequence[Mapping[str, str]] = ()


def _preview(request: Request) -> Preview:
    return request.app.state.preview


async def _guarded_form(request: Request) -> FormData | str:
    """The posted form, or why the request may not change anything (forms.Guard): the one token check.

    Limits before work: a request from another origin is refused on its headers, before its body
    is read; a body over forms.MAX_FORM_BYTES is refused as it streams in, before it is parsed.
    """
    headers = request.headers
    refusal = forms.Guard.origin_refusal(headers.get("origin"), headers.get("referer"), headers.get("host"))
    if refusal:
        return refusal
    body = await _capped_body(request)
    if body is None:
        return f"this form is larger than the {forms.MAX_FORM_BYTES:,} bytes a letter's form may send"
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form()
    refusal = request.app.state.guard.refusal(form.get("token"), headers.get("origin"), headers.get("referer"), headers.get("host"))
    return refusal or form


async def _capped_body(request: Request) -> bytes | None:
    """The request's body, read as it streams in; None as soon as it is larger than forms.MAX_FORM_BYTES."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > forms.MAX_FORM_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > forms.MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def letter_page(request: Request) -> Response:
    """The letter page: the form, the checklist and the letter, with a word on what was just done."""
    view = view_of(request)
    if isinstance(view, Response):
        return view
    return _letter_page(request, view, notice=DONE.get(request.query_params.get("done", "")))


def _letter_page(request: Request, view: LetterView, status: int = 200, posted: Mapping[str, Any] | None = None, **extra: Any) -> Response:
    """The letter page: the form filled from the file (or from what was posted), the checklist, the letter."""
    preview = _preview(request)
    work = preview.get(view.assessment).loaded()
    try:
        file = letter_file(work.batch, view.slug)
    except LetterError as exc:  # a FIFO or a link out of data/ in its place: nothing to fill a form from
        return problems_page(request, exc.problems, 500)
    readiness = None
    if view.html is not None:
        view, readiness = preview.readiness(view)
    problems = list(extra.pop("problems", view.problems))
    extra.setdefault("notice", None)
    extra.setdefault("failed", None)
    extra.setdefault("ask", None)
    extra.setdefault("reasons_failed", ())
    extra.setdefault("regrouped", None)
    return page(
        request,
        "letter.html.j2",
        status,
        view=view,
        readiness=readiness,
        assessment=work.assessment,
        words=work.batch.recipients,
        file=file,
        controls=_controls(work.assessment, _mapping(file.text), posted),
        outcomes=[Category(PENDING, "Pending: not decided yet"), *work.assessment.categories],
        by_field=_by_field(problems),
        problems=problems,
        started=bool(view.item.letter and view.item.letter.values),
        token=request.app.state.guard.token,
        approver=_approver(request) or (_by(posted) if posted is not None else ""),  # a name typed is not lost either
        approver_fixed=bool(_server_user(request) or _user_header(request)),
        standard=_standard(work.assessment, view),
        approved_copy=preview.project.approved_copy(view.assessment, view.slug).is_file(),
        **extra,
    )


async def letter_post(request: Request) -> Response:
    """The form's post: save, approve, set back to draft or start a draft, then back to the page (303)."""
    form = await _guarded_form(request)
    if isinstance(form, str):
        return problems_page(request, [Problem(request.url.path, form)], 403)
    view = view_of(request)
    if isinstance(view, Response):
        return view
    if _user_header(request) and not _server_user(request):
        said = f"the request names no one in its {_user_header(request)} header: sign in through the proxy"
        return problems_page(request, [Problem(request.url.path, said)], 403)
    if user := _server_user(request):  # the server's user approves and saves, whatever a form says
        form = FormData([*((k, v) for k, v in form.multi_items() if k != "by"), ("by", user)])
    elif (
        form.get("action") in ("save", "resolve") and not _by(form) and (remembered := _remembered(request))
    ):  # a save from a form that did not repeat the name
        form = FormData([*((k, v) for k, v in form.multi_items() if k != "by"), ("by", remembered)])
    action = str(form.get("action", ""))
    if action.startswith(("add:", "remove:")):  # a list's "Add another" or "Remove": the page again, nothing saved
        return await run_in_threadpool(_regroup, request, view, action, form)
    if action not in ACTIONS:
        return problems_page(request, [Problem(request.url.path, f"no such action: {action[:40]!r}")], 400)
    return await run_in_threadpool(_act, request, view, action, form)


def _regroup(request: Request, view: LetterView, action: str, form: FormData) -> Response:
    """The page again with an item added to a list or removed, and everything typed kept: nothing is written."""
    changed = forms.regrouped(_preview(request).get(view.assessment).loaded().assessment, form, action)
    if changed is None:
        return problems_page(request, [Problem(request.url.path, f"no such action: {action[:40]!r}")], 400)
    return _letter_page(request, view, posted=FormData(changed.form), regrouped=changed)


def _act(request: Request, view: LetterView, action: str, form: FormData) -> Response:
    """Do what the form asks, on the command line's rules; back to the page, or the page again with why not."""
    preview = _preview(request)
    work = preview.get(view.assessment).loaded()
    try:
        refused = ACTIONS[action](work, view, form)
    except Conflict as conflict:
        saving = action in ("save", "resolve")
        posted = [(name, str(value)) for name, value in form.multi_items() if name not in ("token", "version", "action", "confirm")]
        posted = [(name, value) for name, value in posted if not name.startswith(choosing.CHOICE)]
        theirs = _mapping(conflict.theirs.text)
        return page(
            request,
            "conflict.html.j2",
            409,
            view=view,
            theirs=conflict.theirs,
            differences=choosing.differences(work.assessment, theirs, form) if saving else [],
            choice=choosing.CHOICE,
            posted=posted if saving else [],
            saving=saving,
            token=request.app.state.guard.token,
            problems=conflict.problems,
        )
    except LetterError as exc:
        failed = "Not done: " + " ".join(plain(p) or p.message for p in exc.problems)
        return _letter_page(request, view, 422, posted=form if action in POSTING else None, failed=failed)
    if refused is not None:
        extra: dict[str, Any] = {"problems": refused.problems} if refused.problems is not None else {}
        status = 200 if refused.ask else 422
        posted = form if action in POSTING else None
        return _letter_page(
            request, view, status, posted=posted, failed=refused.failed, ask=refused.ask, reasons_failed=refused.reasons, **extra
        )
    change = preview.reload([preview.project.letters_dir(view.assessment) / f"{view.slug}.yaml"])
    if change is not None:
        request.app.state.broadcast.publish(change.event())
    done = {"resolve": "saved", "save": "saved", "approve": "approved", "draft": "draft", "start": "started", "keep": "kept"}[action]
    response = RedirectResponse(f"{_url(view)}?{urlencode({'done': done})}", 303, headers=_NO_STORE)
    if (
        action in ("approve", "save", "resolve") and _by(form) and not _server_user(request)
    ):  # remembered by this browser, for this server only
        response.set_cookie(APPROVER_COOKIE, quote(_by(form)), max_age=400 * 86400, path="/", httponly=True, samesite="strict")
    return response


# The actions whose refusal shows the page again with what was posted (nothing typed is lost).
POSTING = ("save", "start", "resolve")


def _save(work: Workflow, view: LetterView, form: FormData) -> Refused | None:
    file = letter_file(work.batch, view.slug)
    values = forms.values(work.assessment, form, _mapping(file.text))
    record = view.record
    if view.status in ("approved", "issued") and record and form.get("confirm") != "withdraw":
        if edited(work.batch, file.data, values) != file.data:
            return Refused(
                ask=Ask(
                    "Saving withdraws the approval",
                    f"The letter was approved by {record.by} on {record.on:%-d %B %Y}. Saving your change withdraws that approval: "
                    "the letter must then be approved again.",
                    "withdraw",
                    "save",
                    "Save and withdraw the approval",
                    "keep",
                    "Keep the approved letter",
                )
            )
    by = _by(form)
    if not by:
        problem = Problem("(the page)", "give your name", key="saved-by", plain="Enter your name: the letter records who last saved it.")
        return Refused("Not saved: saving needs your name.", [problem])
    check_name(by, "the editor's name")
    saved = save(work.batch, view.slug, values, str(form.get("version", "")), by)
    return None if saved.written else Refused("Not saved: fix what is marked below.", saved.item.problems)


def _resolve(work: Workflow, view: LetterView, form: FormData) -> Refused | None:
    """A conflict's choices saved: the typed value where "mine" was chosen, the file's own where the one on disk was kept."""
    return _save(work, view, FormData(choosing.chosen(work.assessment, form.multi_items())))


def _keep(work: Workflow, view: LetterView, form: FormData) -> Refused | None:
    """The safe answer to a question: nothing is written; back to the letter as it is."""
    return None


def _set_draft(work: Workflow, view: LetterView, form: FormData) -> Refused | None:
    set_draft(work.batch, view.slug, str(form.get("version", "")))
    return None


def _start(work: Workflow, view: LetterView, form: FormData) -> Refused | None:
    file = letter_file(work.batch, view.slug)
    if file.version != str(form.get("version", "")):
        raise Conflict(file, b"")
    typed = [spec.title for spec in work.assessment.fields if forms.typed_in(spec, form)]
    if typed and form.get("confirm") != "replace":
        return Refused(
            ask=Ask(
                "Starting the draft replaces what you typed",
                f"You have typed in {_listed(typed)}. Starting the draft replaces {'it' if len(typed) == 1 else 'them'} "
                "with the outcome's standard wording.",
                "replace",
                "start",
                "Replace what I typed",
                "save",
                "Keep what I typed and save it",
            )
        )
    outcome = str(form.get("outcome", "")) or None
    new_letter(work.batch, view.slug, outcome if work.assessment.graded else None)
    return None


def _approve(work: Workflow, view: LetterView, form: FormData) -> Refused | None:
    by = _by(form)
    if not by:
        problem = Problem("(the page)", "give your name", key="by", plain="Enter your name: the approval records who approved the letter.")
        return Refused("Not approved: the approval needs your name.", [problem])
    (result,) = approve(work, [view.slug], by, seen={view.slug: str(form.get("version", ""))})
    if result.approved:
        return None
    reasons = [{"text": plain(reason) or str(reason), "key": getattr(reason, "key", "")} for reason in result.reasons]
    return Refused("Not approved: first put right what is listed here.", reasons=reasons)


ACTIONS = {"resolve": _resolve, "save": _save, "approve": _approve, "draft": _set_draft, "start": _start, "keep": _keep}


async def live(request: Request) -> Response:
    """The letter as the form's values make it, unsaved: its HTML, problems by field, pages and page breaks."""
    form = await _guarded_form(request)
    if isinstance(form, str):
        return JSONResponse({"refused": form}, 403, headers=_NO_STORE)
    view = view_of(request)
    if isinstance(view, Response):
        return JSONResponse({"refused": "no such letter"}, 404, headers=_NO_STORE)
    preview = _preview(request)
    try:
        values = forms.values(preview.get(view.assessment).loaded().assessment, form)
        # The letter first (milliseconds), its pages on a second ask (a PDF laid out: a tenth of a second or more).
        pages = request.query_params.get("part") != "letter"
        draft = await run_in_threadpool(preview.try_values, view.assessment, view.slug, values, pages)
    except LetterError as exc:
        return JSONResponse({"problems": [_json(p) for p in exc.problems]}, 422, headers=_NO_STORE)
    return JSONResponse(
        {
            "html": draft.html,
            "problems": [_json(p) for p in draft.problems],
            "pages": draft.pages,
            "limit": draft.limit,
            "breaks": list(draft.breaks),
        },
        headers=_NO_STORE,
    )


def compare(request: Request) -> Response:
    """Each Markdown field with its changes against the outcome's standard wording and the version last approved."""
    view = view_of(request)
    if isinstance(view, Response):
        return view
    project = _preview(request).project
    work = _preview(request).get(view.assessment).loaded()
    try:
        current = _mapping(letter_file(work.batch, view.slug).text)
    except LetterError as exc:
        return problems_page(request, exc.problems, 500)
    copy = project.approved_copy(view.assessment, view.slug)
    try:
        kept = read_data_file(project.data_dir, copy, project.shown(copy))
    except LetterError:  # a copy that cannot be read is no approved version to compare with
        kept = None
    approved = _mapping(kept.decode("utf-8", errors="replace")) if kept is not None else None
    sections = []
    for spec, language in _markdown_texts(work.assessment, current):
        text = _text(_in(current.get(spec.name), language))
        against = []
        standard = _standard(work.assessment, view) if spec.name == STANDARD_FIELD else None
        if standard:
            same = unchanged(standard.standard_findings, text)
            changes = tracked_changes(standard.standard_findings, text)
            against.append({"label": f"the standard wording for “{standard.label}”", "changes": changes, "same": same, "approved": False})
        if approved is not None:
            kept_text = _text(_in(approved.get(spec.name), language))
            same = unchanged(kept_text, text)
            against.append(
                {"label": "the version last approved", "changes": tracked_changes(kept_text, text), "same": same, "approved": True}
            )
        key, title = (
            (spec.name, spec.title) if language is None else (f"{spec.name}-{language}", f"{spec.title} ({language_name(language)})")
        )
        sections.append({"key": key, "title": title, "against": against})
    return page(request, "compare.html.j2", view=view, sections=sections, record=view.record)


def _markdown_texts(assessment: Assessment, current: Mapping[str, Any]) -> list[tuple[FieldSpec, str | None]]:
    """Each Markdown text of a letter to compare: a field's, or for a value by language each language's."""
    found: list[tuple[FieldSpec, str | None]] = []
    for spec in assessment.fields:
        if spec.type == "markdown":
            value = current.get(spec.name)
            found += [(spec, str(language)) for language in value] if isinstance(value, Mapping) else [(spec, None)]
    return found


def _in(value: Any, language: str | None) -> Any:
    """A field's value in this language (the value itself when it is not by language)."""
    if language is None:
        return None if isinstance(value, Mapping) else value
    return value.get(language) if isinstance(value, Mapping) else None


def script(request: Request) -> Response:
    return Response(EDITOR_JS.read_bytes(), media_type="text/javascript", headers={**_NO_STORE, "X-Content-Type-Options": "nosniff"})


ROUTES = [
    Route("/_preview/editor.js", script),
    Route("/{assessment}/letters/{slug}/live", live, methods=["POST"]),
    Route("/{assessment}/letters/{slug}/compare", compare),
    Route("/{assessment}/letters/{slug}", letter_page, methods=["GET", "HEAD"]),
    Route("/{assessment}/letters/{slug}", letter_post, methods=["POST"]),
]


def _by(form: Mapping[str, Any]) -> str:
    return " ".join(str(form.get("by", "")).split())[:200]


def _server_user(request: Request) -> str:
    """The name the server gives: the one it was started with (`letters serve --user`, LETTERS_USER), or
    the one its reverse proxy sends in the trusted header (`--trust-user-header`); '' when each browser gives its own."""
    header = _user_header(request)
    if header:
        raw = request.headers.get(header, "")
        try:
            raw = raw.encode("latin-1").decode("utf-8")  # a proxy sends a name in UTF-8; Starlette reads headers as Latin-1
        except UnicodeError:
            pass
        return " ".join(raw.split())[:200]
    return getattr(request.app.state, "user", None) or ""


def _user_header(request: Request) -> str:
    """The request header that names who approves (`letters serve --trust-user-header`); '' when none is trusted."""
    return getattr(request.app.state, "user_header", None) or ""


def _approver(request: Request) -> str:
    """Who approves: the server's user, or the name this browser gave last; never the machine's git identity."""
    return _server_user(request) or _remembered(request)


def _remembered(request: Request) -> str:
    """The name this browser gave last (its cookie); '' when it gave none."""
    return " ".join(unquote(request.cookies.get(APPROVER_COOKIE, "")).split())[:200]


def _listed(names: Sequence[str]) -> str:
    """Names as a sentence lists them: "a", "a and b", "a, b and c"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _url(view: LetterView) -> str:
    return f"/{quote(view.assessment)}/letters/{quote(view.slug)}"


def _mapping(text: str) -> dict[str, Any]:
    """A letter file's keys as YAML reads them, for filling the form; {} when it cannot be read."""
    try:
        data = parse_yaml(text, "").data if text.strip() else {}
    except LetterError:
        return {}
    return data if isinstance(data, dict) else {}


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _controls(assessment: Assessment, raw: Mapping[str, Any], posted: Mapping[str, Any] | None) -> dict[str, Any]:
    """What each control of the form shows: what was posted, or else what the file says."""

    def given(name: str, key: str) -> Any:
        return posted.get(name, "") if posted is not None else raw.get(key)

    controls: dict[str, Any] = {"fields": {}, "lists": {}, "fixed": set()}
    for spec in assessment.fields:
        if spec.type == "list":  # its items, or None when the file's cannot be shown (then only the file edits them)
            shown = forms.items(spec, posted) if posted is not None else None
            controls["lists"][spec.name] = shown if shown is not None else forms.file_items(spec, raw.get(spec.name))
            continue
        if isinstance(raw.get(spec.name), dict):  # a value by language, say: not one text box's; only the file edits it
            controls["fixed"].add(spec.name)
        value = given(forms.FIELD + spec.name, spec.name)
        controls["fields"][spec.name] = _text(value)
    controls["outcome"] = _text(given("outcome", "outcome")) or PENDING
    controls["salutation"] = _text(given("salutation", "salutation"))
    controls["signatory"] = _text(given("signatory", "signatory"))
    copied = given("copied_to", "copied_to")
    controls["copied_to"] = "\n".join(copied) if isinstance(copied, list) else _text(copied)
    rows = []
    listed = raw.get("addressees") if isinstance(raw.get("addressees"), list) else []
    for n in range(forms.ADDRESSEE_ROWS):
        if posted is not None:
            rows.append({part: posted.get(f"addressee-{n}-{part}", "") for part in forms.ADDRESSEE_PARTS})
        else:
            entry = listed[n] if n < len(listed) and isinstance(listed[n], dict) else {}
            rows.append({part: _text(entry.get(part)) for part in forms.ADDRESSEE_PARTS})
    controls["addressees"] = rows
    return controls


def _by_field(problems: Sequence[Problem]) -> dict[str, list[Problem]]:
    found: dict[str, list[Problem]] = {}
    for problem in problems:
        if problem.key:
            found.setdefault(problem.key, []).append(problem)
    return found


def _standard(assessment: Assessment, view: LetterView) -> Category | None:
    """The outcome's category when it has standard findings to compare with."""
    letter = view.item.letter
    category = assessment.category(letter.outcome) if letter else None
    return category if category and category.standard_findings else None


def _json(problem: Problem) -> dict[str, Any]:
    return {
        "field": problem.key,
        "message": plain(problem) or problem.message,
        "placed": str(problem),
        "severity": str(problem.severity),
        "detail": problem.detail or None,
    }
