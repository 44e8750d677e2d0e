/* wagtail-wa-consent chat bubble: progressive enhancement of the server-rendered markup.
   Loaded with <script defer>; no inline code, no third parties, no cookies, no storage. */
(function () {
  "use strict";

  var root = document.querySelector("[data-wa-bubble]");
  if (!root || root.hasAttribute("data-wa-ready")) {
    return;
  }
  var link = root.querySelector("[data-wa-bubble-link]");
  var toggle = root.querySelector("[data-wa-bubble-toggle]");
  var panel = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
  if (!panel) {
    return;
  }
  var close = root.querySelector("[data-wa-bubble-close]");
  var offers = root.querySelector("[data-wa-bubble-offers]");
  var phone = root.querySelector("[data-wa-bubble-phone]");

  // The colour comes as data, set through the CSSOM: allowed by a strict style-src, unlike a
  // style attribute. The server already replaced colours that fail 4.5:1 with white.
  var colour = root.getAttribute("data-wa-colour") || "";
  if (/^#[0-9a-fA-F]{6}$/.test(colour)) {
    root.style.setProperty("--wa-bubble-colour", colour);
  }

  function setOpen(open, returnFocus) {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    panel.hidden = !open;
    if (open) {
      panel.focus();
    } else if (returnFocus) {
      toggle.focus();
    }
  }

  // Swap the no-JS link (which opens the panel as :target) for the real disclosure button.
  root.classList.add("wa-bubble--js");
  root.setAttribute("data-wa-ready", "");
  link.hidden = true;
  toggle.hidden = false;
  setOpen(window.location.hash === "#" + panel.id, false);

  toggle.addEventListener("click", function () {
    setOpen(toggle.getAttribute("aria-expanded") !== "true", false);
  });

  if (close) {
    close.addEventListener("click", function (event) {
      event.preventDefault();
      setOpen(false, true);
    });
  }

  root.addEventListener("keydown", function (event) {
    if ((event.key === "Escape" || event.key === "Esc") && !panel.hidden) {
      event.preventDefault();
      setOpen(false, true);
    }
  });

  // The number is needed only with the box ticked; the browser then says so before sending.
  if (offers && phone) {
    var sync = function () {
      phone.required = offers.checked;
    };
    offers.addEventListener("change", sync);
    sync();
  }
})();
