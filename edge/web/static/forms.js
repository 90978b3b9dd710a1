// Progressive enhancement of the applicant's forms. Every form works without this file; with
// it, what only JavaScript can do is shown, a field's state follows its message, a suggestion
// fills its fields, and the SMS resend button counts its cooldown down.
(() => {
  "use strict";

  // Elements that need JavaScript are hidden in the page, shown here.
  const reveal = (root) => {
    root.querySelectorAll("[data-js-only]").forEach((element) => {
      element.hidden = false;
    });
  };

  // aria-invalid follows the field's message (a field check fills it in place).
  const syncInvalid = (root) => {
    root.querySelectorAll("[data-error-for]").forEach((box) => {
      const input = document.getElementById(box.dataset.errorFor);
      if (!input) return;
      if (box.textContent.trim() !== "" && !box.querySelector(".ok")) {
        input.setAttribute("aria-invalid", "true");
      } else {
        input.removeAttribute("aria-invalid");
      }
    });
  };

  // A suggestion (a unit, a username) fills its fields, which are then checked.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-fill]");
    if (!button) return;
    event.preventDefault();
    const fills = JSON.parse(button.dataset.fill);
    let first = null;
    for (const [id, value] of Object.entries(fills)) {
      const input = document.getElementById(id);
      if (!input) continue;
      input.value = value;
      input.dispatchEvent(new Event("change", { bubbles: true }));
      input.dispatchEvent(new Event("filled"));
      first = first || input;
    }
    if (first) first.focus();
  });

  // The resend button waits for the cooldown the server gave; the server still decides.
  const countdown = (root) => {
    root.querySelectorAll("[data-countdown]").forEach((button) => {
      let left = Number(button.dataset.countdown) || 0;
      const label = button.dataset.label || button.textContent;
      const tick = () => {
        if (left > 0) {
          button.disabled = true;
          button.textContent = `${label}(${left}秒)`;
          left -= 1;
          setTimeout(tick, 1000);
        } else {
          button.disabled = false;
          button.textContent = label;
        }
      };
      tick();
    });
  };

  const enhance = (root) => {
    reveal(root);
    syncInvalid(document);
    countdown(root);
  };

  document.addEventListener("DOMContentLoaded", () => enhance(document));
  document.addEventListener("htmx:afterSettle", (event) => {
    const target = event.detail.elt || document;
    enhance(target);
    // A refused form: the focus goes to the first field at fault, or to the summary.
    const swapped = event.detail.target;
    if (swapped && (swapped.id === "error-summary" || swapped.querySelector("[autofocus]"))) {
      const first =
        (swapped.id === "error-summary" && document.querySelector("[aria-invalid=true]")) ||
        swapped.querySelector("[autofocus]") ||
        (swapped.textContent.trim() ? swapped : null);
      if (first) first.focus();
    }
  });
})();
