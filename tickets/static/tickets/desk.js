// The support desk's ticket page: a canned response goes into the reply where the cursor is;
// Ctrl+Enter (Cmd+Enter) in the reply saves and stays on the page; the conversation opens at
// its newest message, the history at its latest event.
"use strict";
(function () {
  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function insertAtCursor(box, text) {
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    const before = box.value.slice(0, start);
    const gap = before && !before.endsWith("\n") ? "\n" : "";
    box.value = before + gap + text + box.value.slice(end);
    const caret = (before + gap + text).length;
    box.focus();
    box.setSelectionRange(caret, caret);
  }

  ready(function () {
    const reply = document.getElementById("id_reply");
    const select = document.getElementById("desk-canned-select");
    const texts = document.getElementById("desk-canned-texts");
    if (reply && select && texts) {
      const canned = JSON.parse(texts.textContent);
      select.addEventListener("change", function () {
        const text = canned[select.value];
        if (text) insertAtCursor(reply, text);
        select.value = "";
      });
    }
    if (reply && reply.form) {
      reply.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          const stay = reply.form.querySelector("[name=_continue]");
          if (stay) reply.form.requestSubmit(stay);
          else reply.form.requestSubmit();
        }
      });
    }
    for (const list of document.querySelectorAll(".desk-messages, .desk-events")) {
      list.scrollTop = list.scrollHeight;
    }
  });
})();
