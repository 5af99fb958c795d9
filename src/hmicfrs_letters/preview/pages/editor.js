// The letter page's live part. The form works without it (it posts, the server saves and sends
// the page back); this script only adds what a script can, saving nothing:
// - the letter, its problems and its pages following what is typed: the letter is asked for as
//   soon as a key is pressed (one ask at a time: what was typed meanwhile goes in the next, and an
//   answer older than the last key is dropped), its pages once it is shown;
// - the sheet kept on the block being edited, and scaled down whole on a narrow screen;
// - where the letter's PDF starts a new page, marked on the sheet;
// - a warning before leaving the page with unsaved changes, the focus on an error summary or a
//   question when the page comes back with one, and text boxes that grow with their text.
(() => {
  "use strict";
  const frame = document.getElementById("letter");
  const asked = document.querySelector("[data-focus]");
  if (asked) asked.focus(); // GOV.UK: the error summary (or the question) receives the focus
  document.addEventListener("input", (event) => {
    if (event.target.id === "letter-search") filterIndex(event.target.value);
  });
  // The index's rows filtered as one types in its search box (without a script, the box is a GET).
  function filterIndex(query) {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of document.querySelectorAll("tr[data-name]")) {
      const match = words.every((word) => row.dataset.name.includes(word));
      row.hidden = !match;
      if (match) shown += 1;
    }
    const count = document.getElementById("shown-count");
    if (count) count.textContent = String(shown);
    const status = document.getElementById("search-status");
    if (status) status.textContent = `${shown} ${shown === 1 ? "letter" : "letters"} found`;
  }
  if (!document.getElementById("editor") || !frame) return;
  // reload.js may replace the form when the file changes on disk: always find it afresh.
  const form = () => document.getElementById("editor");
  const QUOTES = { "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"' };
  let sequence = 0; // one more for each change typed
  let letterBusy = false;
  let pagesBusy = false;
  let editing = null; // the text box typed in last

  const fold = (text) => text.replace(/[\u2018\u2019\u201c\u201d]/g, (c) => QUOTES[c]).replace(/\s+/g, " ");

  // What was posted and shown back (a refused save, a question) is unsaved too.
  if (form().querySelector("#ask") || document.querySelector("#error-summary") || "unsaved" in document.body.dataset) document.body.dataset.dirty = "yes";

  function typed(event) {
    if (!event.target.closest || !event.target.closest("#editor")) return;
    document.body.dataset.dirty = "yes"; // reload.js leaves an edited page alone
    if (event.target.tagName === "TEXTAREA") {
      editing = event.target;
      grow(event.target);
    }
    sequence += 1;
    if (!letterBusy) look();
  }
  document.addEventListener("input", typed);
  document.addEventListener("change", typed);
  document.addEventListener("submit", (event) => {
    sequence += 1; // answers still on their way are for a page being left
    // Only the form's own post takes what was typed; approving or setting back to draft leaves it unsaved (and warned of).
    if (event.target.id === "editor") delete document.body.dataset.dirty;
  });
  window.addEventListener("beforeunload", (event) => {
    if (document.body.dataset.dirty !== "yes") return;
    event.preventDefault();
    event.returnValue = ""; // the browser asks: "Leave site? Changes you made may not be saved."
  });

  // A text box as tall as its text, so that nothing typed hides behind a scroll bar.
  function grow(box) {
    box.style.height = "auto";
    box.style.height = `${box.scrollHeight + 4}px`;
  }
  for (const box of document.querySelectorAll("#editor textarea")) grow(box);

  async function ask(part) {
    const response = await fetch(`${form().dataset.liveUrl}?part=${part}`, { method: "POST", body: new FormData(form()), cache: "no-store" });
    return response.json();
  }

  // The letter and its problems, at once; asked again straight away if more was typed meanwhile.
  async function look() {
    letterBusy = true;
    const mine = sequence;
    let letter = null;
    try {
      letter = await ask("letter");
    } catch (error) {
      // the server is away: saving still works once it is back
    }
    letterBusy = false;
    if (mine !== sequence) {
      look(); // more was typed meanwhile: this answer is already old
      return;
    }
    if (!letter) return;
    if (letter.html) showLetter(letter.html);
    showProblems(letter.problems || []);
    follow();
    document.dispatchEvent(new CustomEvent("preview:shown", { detail: { sequence: mine } }));
    lookPages();
  }

  // Its pages, which mean laying out its PDF: one ask at a time, for the latest letter shown.
  async function lookPages() {
    if (pagesBusy) return; // the one on its way asks again when it comes back
    pagesBusy = true;
    const mine = sequence;
    let laid = null;
    try {
      laid = await ask("pages");
    } catch (error) {
      // as above
    }
    pagesBusy = false;
    if (mine !== sequence) {
      if (!letterBusy) lookPages();
      return;
    }
    if (!laid) return;
    showProblems(laid.problems || []);
    showPages(laid.pages, laid.limit);
    markBreaks(laid.breaks || []);
    document.dispatchEvent(new CustomEvent("preview:looked", { detail: { sequence: mine, pages: laid.pages } }));
  }

  // The sheet scrolled to the block being edited: the paragraph, list item or heading at the caret.
  function follow() {
    const doc = frame.contentDocument;
    const letter = doc && doc.querySelector(".letter");
    if (!editing || !letter || !document.body.contains(editing)) return;
    const before = editing.value.slice(0, editing.selectionStart);
    const lineStart = before.lastIndexOf("\n") + 1;
    const lineEnd = editing.value.indexOf("\n", editing.selectionStart);
    const line = editing.value.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
    // The line's words as they print: no list marker, heading mark, emphasis or link address.
    const words = fold(line.replace(/^\s*(?:[-*+]|\d+[.)]|#{1,6}|>)\s+/, "").replace(/\]\([^)]*\)/g, "").replace(/[*_`[\]]/g, ""))
      .trim()
      .slice(0, 60);
    const place = find(doc, letter, words);
    if (!place) return;
    const block = place.node.parentElement.closest("p, li, h2, h3, h4, blockquote, td") || place.node.parentElement;
    const view = frame.contentWindow;
    const box = block.getBoundingClientRect();
    if (box.top < 0 || box.bottom > view.innerHeight) block.scrollIntoView({ block: "center" });
  }

  // On a screen narrower than the sheet, the sheet scaled down whole, as a PDF viewer shows it:
  // laid out at A4's width (and a little desk), then zoomed to fit, never reflowed.
  const SHEET = (218 * 96) / 25.4; // 218 mm in CSS pixels
  function fit() {
    const doc = frame.contentDocument;
    if (!doc || !doc.body || !doc.querySelector(".letter")) return;
    const scale = Math.max(0.3, Math.min(1, frame.clientWidth / SHEET));
    doc.body.style.width = scale < 1 ? "218mm" : "";
    doc.documentElement.style.zoom = scale < 1 ? String(scale) : "";
  }
  window.addEventListener("resize", fit);
  frame.addEventListener("load", fit);

  // The letter in its frame, replaced in place: the reader's scroll position stays.
  function showLetter(html) {
    const target = frame.contentDocument;
    if (!target || !target.head || !target.body) {
      // The frame is part way through loading a document (after a post-back, say): show it once loaded.
      frame.addEventListener("load", () => showLetter(html), { once: true });
      return;
    }
    const fresh = new DOMParser().parseFromString(html, "text/html");
    target.head.replaceChildren(...Array.from(fresh.head.childNodes, (node) => target.importNode(node, true)));
    target.body.replaceChildren(...Array.from(fresh.body.childNodes, (node) => target.importNode(node, true)));
  }

  // Each field's problems beside it, in a region screen readers announce.
  // One message a field (GOV.UK): the live look's, in place of the one the page came with.
  function showProblems(problems) {
    for (const old of form().querySelectorAll(".field-error:not(.live-error)")) {
      for (const control of form().querySelectorAll(`[aria-describedby~="${old.id}"]`)) {
        const rest = control.getAttribute("aria-describedby").split(" ").filter((id) => id !== old.id);
        if (rest.length) control.setAttribute("aria-describedby", rest.join(" "));
        else control.removeAttribute("aria-describedby");
        control.removeAttribute("aria-invalid");
      }
      old.remove();
    }
    for (const old of form().querySelectorAll(".live-error")) old.remove();
    for (const control of form().querySelectorAll("[data-live-described]")) {
      control.setAttribute("aria-describedby", control.dataset.liveDescribed);
      control.removeAttribute("data-live-described");
      control.removeAttribute("aria-invalid");
    }
    const marked = new Set();
    problems.forEach((problem, n) => {
      if (problem.severity !== "error" || !problem.field || marked.has(problem.field)) return;
      const control = document.getElementById(`control-${problem.field}`);
      if (!control) return;
      marked.add(problem.field);
      const note = document.createElement("p");
      note.className = "field-error live-error";
      note.id = `live-error-${n}`;
      note.setAttribute("role", "alert");
      note.textContent = `Not saved as it is: ${problem.message}`;
      control.before(note);
      control.dataset.liveDescribed = control.getAttribute("aria-describedby") || "";
      control.setAttribute("aria-describedby", `${control.dataset.liveDescribed} ${note.id}`.trim());
      control.setAttribute("aria-invalid", "true");
    });
  }

  function showPages(count, limit) {
    const pages = document.getElementById("pages");
    if (!pages) return;
    if (count === null || count === undefined) {
      pages.textContent = "Pages not counted: the letter cannot be laid out as it is.";
      pages.classList.remove("over");
      return;
    }
    const over = count > limit;
    pages.textContent = `${count} ${count === 1 ? "page" : "pages"} of at most ${limit}${over ? ": over the limit, shorten it" : ""}`;
    pages.classList.toggle("over", over);
  }

  // A dashed line on the sheet where each of the PDF's pages after the first begins.
  function markBreaks(starts) {
    const doc = frame.contentDocument;
    const letter = doc && doc.querySelector(".letter");
    if (!letter) return;
    for (const old of doc.querySelectorAll(".page-break")) old.remove();
    if (!doc.getElementById("page-break-style")) {
      const style = doc.createElement("style");
      style.id = "page-break-style";
      style.textContent =
        ".page-break{display:block;border-top:2px dashed #d4351c;margin:0.4em 0;font:bold 9pt Arial,sans-serif;color:#b3261e}" +
        ".page-break::before{content:attr(data-page)}@media print{.page-break{display:none}}";
      doc.head.append(style);
    }
    starts.forEach((start, n) => {
      const place = find(doc, letter, fold(start).trim());
      if (!place) return;
      const mark = doc.createElement("span");
      mark.className = "page-break";
      mark.setAttribute("aria-hidden", "true");
      mark.dataset.page = `Page ${n + 2} of the PDF starts here`;
      if (place.offset === 0) {
        // A page that starts with a block: the mark goes before the block (never after a list's bullet).
        let block = place.node;
        while (block.parentNode && block.parentNode !== letter && first(block)) block = block.parentNode;
        block.before(mark);
        return;
      }
      const rest = place.node.splitText(place.offset);
      rest.before(mark); // within a paragraph: exactly where its line breaks
    });
  }

  // Whether nothing but white space comes before this node in its parent.
  function first(node) {
    let before = node.previousSibling;
    while (before && before.nodeType === Node.TEXT_NODE && !before.data.trim()) before = before.previousSibling;
    return !before;
  }

  // The text node and offset where `words` begin in the letter's text, whitespace and quotes folded.
  function find(doc, root, words) {
    if (!words) return null;
    const walker = doc.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const nodes = [];
    let text = "";
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const folded = fold(node.data);
      nodes.push({ node, from: text.length, length: folded.length, raw: node.data });
      text += folded;
    }
    const at = text.indexOf(words);
    if (at < 0) return null;
    const entry = nodes.find((n) => at >= n.from && at < n.from + n.length);
    if (!entry) return null;
    // Back from the folded offset to the node's own: count characters, folding runs of whitespace.
    let folded = 0;
    let offset = 0;
    while (offset < entry.raw.length && folded < at - entry.from) {
      const space = /\s/.test(entry.raw[offset]);
      offset += 1;
      if (space) while (offset < entry.raw.length && /\s/.test(entry.raw[offset])) offset += 1;
      folded += 1;
    }
    return { node: entry.node, offset };
  }

  if (frame.contentDocument && frame.contentDocument.readyState === "complete") {
    fit();
    look();
  } else frame.addEventListener("load", () => look(), { once: true });
})();
