// The letter page's live part. The form works without it (it posts, the server saves and sends
// the page back); this script only adds the letter, its problems and its pages following what
// is typed, a moment after each pause, without saving anything. Where the letter's PDF starts a
// new page is marked on the sheet.
(() => {
  "use strict";
  const frame = document.getElementById("letter");
  if (!document.getElementById("editor") || !frame) return;
  // reload.js may replace the form when the file changes on disk: always find it afresh.
  const form = () => document.getElementById("editor");
  const PAUSE = 300; // ms after the last keystroke
  const QUOTES = { "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"' };
  let timer = null;
  let sequence = 0;

  const fold = (text) => text.replace(/[\u2018\u2019\u201c\u201d]/g, (c) => QUOTES[c]).replace(/\s+/g, " ");

  function typed(event) {
    if (!event.target.closest || !event.target.closest("#editor")) return;
    document.body.dataset.dirty = "yes"; // reload.js leaves an edited page alone
    clearTimeout(timer);
    timer = setTimeout(look, PAUSE);
  }
  document.addEventListener("input", typed);
  document.addEventListener("change", typed);
  document.addEventListener("submit", () => {
    clearTimeout(timer);
    delete document.body.dataset.dirty;
  });

  async function ask(part) {
    const response = await fetch(`${form().dataset.liveUrl}?part=${part}`, { method: "POST", body: new FormData(form()), cache: "no-store" });
    return response.json();
  }

  // The letter and its problems at once; then its pages, which mean laying out its PDF.
  async function look() {
    const mine = ++sequence;
    try {
      const letter = await ask("letter");
      if (mine !== sequence) return; // more was typed meanwhile: a newer look is on its way
      if (letter.html) showLetter(letter.html);
      showProblems(letter.problems || []);
      const laid = await ask("pages");
      if (mine !== sequence) return;
      showProblems(laid.problems || []);
      showPages(laid.pages, laid.limit);
      markBreaks(laid.breaks || []);
      document.dispatchEvent(new CustomEvent("preview:looked", { detail: { sequence: mine, pages: laid.pages } }));
    } catch (error) {
      // the server is away: saving still works once it is back
    }
  }

  // The letter in its frame, replaced in place: the reader's scroll position stays.
  function showLetter(html) {
    const target = frame.contentDocument;
    if (!target) return;
    const fresh = new DOMParser().parseFromString(html, "text/html");
    target.head.replaceChildren(...Array.from(fresh.head.childNodes, (node) => target.importNode(node, true)));
    target.body.replaceChildren(...Array.from(fresh.body.childNodes, (node) => target.importNode(node, true)));
  }

  // Each field's problems beside it, in a region screen readers announce.
  function showProblems(problems) {
    for (const old of form().querySelectorAll(".live-error")) old.remove();
    for (const control of form().querySelectorAll("[data-live-described]")) {
      control.setAttribute("aria-describedby", control.dataset.liveDescribed);
      control.removeAttribute("data-live-described");
      control.removeAttribute("aria-invalid");
    }
    problems.forEach((problem, n) => {
      if (problem.severity !== "error" || !problem.field) return;
      const control = document.getElementById(`control-${problem.field}`);
      if (!control) return;
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
      const rest = place.node.splitText(place.offset);
      rest.before(mark);
    });
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

  if (frame.contentDocument && frame.contentDocument.readyState === "complete") look();
  else frame.addEventListener("load", () => look(), { once: true });
})();
