// Live reload for the preview pages. The server sends an event after each save naming the
// letters it changed; a page showing one of them fetches itself and its letter again and swaps
// the new content in place, without reloading, so the reader keeps their place in the letter.
(() => {
  "use strict";
  const body = document.body;
  const letter = body.dataset.letter || null; // null on the index, which shows every letter
  const status = document.getElementById("live");
  let version = body.dataset.version;
  let running = false;
  let again = false;

  const fetchText = async (url) => (await fetch(url, { cache: "no-store" })).text();
  const parse = (html) => new DOMParser().parseFromString(html, "text/html");

  function copyAttributes(from, to) {
    for (const name of to.getAttributeNames()) if (!from.hasAttribute(name)) to.removeAttribute(name);
    for (const name of from.getAttributeNames()) to.setAttribute(name, from.getAttribute(name));
  }

  // Replace a whole document's content (the letter in its frame); its scroll position stays.
  function replaceDocument(target, fresh) {
    copyAttributes(fresh.documentElement, target.documentElement);
    copyAttributes(fresh.body, target.body);
    target.head.replaceChildren(...Array.from(fresh.head.childNodes, (node) => target.importNode(node, true)));
    target.body.replaceChildren(...Array.from(fresh.body.childNodes, (node) => target.importNode(node, true)));
  }

  async function refresh() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        const frame = document.getElementById("letter");
        const [page, inner] = await Promise.all([fetchText(location.href), frame ? fetchText(frame.src) : null]);
        const fresh = parse(page);
        if (fresh.body.className !== body.className) {
          location.reload(); // a different kind of page now (say, the letter's file was removed)
          return;
        }
        document.title = fresh.title;
        for (const part of fresh.querySelectorAll("[data-live][id]")) {
          const old = document.getElementById(part.id);
          if (old) old.replaceWith(document.importNode(part, true));
        }
        const shown = frame && frame.contentDocument;
        if (shown && shown.head && shown.body) replaceDocument(shown, parse(inner)); // else it is loading the new one itself
        version = fresh.body.dataset.version;
        body.dataset.version = version;
        document.dispatchEvent(new CustomEvent("preview:refreshed", { detail: { version } }));
      } while (again);
    } catch (error) {
      again = false; // the server is gone or restarting: the next event or reconnection retries
    } finally {
      running = false;
    }
  }

  const events = new EventSource("/events");
  events.onopen = () => {
    if (status) {
      status.textContent = "Live";
      status.classList.remove("offline");
    }
  };
  events.onerror = () => {
    if (status) {
      status.textContent = "Not connected: is letters serve running?";
      status.classList.add("offline");
    }
  };
  events.onmessage = (event) => {
    const change = JSON.parse(event.data);
    if (String(change.version) === version) return;
    if (letter !== null && change.letters !== "all" && !change.letters.includes(letter)) return;
    if (body.dataset.dirty) {
      // Being edited here: leave what is typed alone. Saving will show both versions.
      if (status) status.textContent = "Changed on disk: saving will show both versions";
      return;
    }
    refresh();
  };
})();
