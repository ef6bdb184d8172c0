/*
 * Live countdowns to SLA due instants.
 *
 * The server renders every countdown (`<span class="countdown" data-due="ISO instant">in 20m</span>`)
 * with the wall-clock time left when the page was made, so the page reads correctly without
 * JavaScript. This script only keeps the text current between page loads: it counts wall-clock
 * seconds down to the due instant and says "overdue" once it has passed. Business time left,
 * which depends on the contract's hours, stays as the server computed it.
 */
(function () {
  "use strict";

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function format(seconds) {
    var days = Math.floor(seconds / 86400);
    var hours = Math.floor((seconds % 86400) / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var secs = seconds % 60;
    if (days > 0) {
      return days + "d " + hours + "h " + pad(minutes) + "m";
    }
    if (hours > 0) {
      return hours + "h " + pad(minutes) + "m " + pad(secs) + "s";
    }
    return minutes + "m " + pad(secs) + "s";
  }

  function update(elements) {
    var now = Date.now();
    for (var i = 0; i < elements.length; i++) {
      var element = elements[i];
      var due = Date.parse(element.getAttribute("data-due"));
      if (isNaN(due)) {
        continue;
      }
      var left = Math.floor((due - now) / 1000);
      var text = left > 0 ? "in " + format(left) : "overdue";
      if (element.textContent !== text) {
        element.textContent = text;
      }
      element.classList.toggle("is-overdue", left <= 0);
    }
  }

  function start() {
    var elements = document.querySelectorAll(".countdown[data-due]");
    if (!elements.length) {
      return;
    }
    update(elements);
    window.setInterval(function () {
      update(elements);
    }, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
