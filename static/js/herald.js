// Small progressive enhancements; every page works without them.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const text = button.dataset.copy;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API needs a secure context; fall back to a hidden textarea.
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = label; }, 1500);
});

// Forms marked data-submit-once disable their buttons once sent, so a double click cannot
// create a campaign twice. Deferred so the clicked button's name/value is still submitted.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("[data-submit-once]") || event.defaultPrevented) return;
  setTimeout(() => form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; }));
});
// Coming back with the browser's back button shows the page as it was left: re-enable.
window.addEventListener("pageshow", () => {
  document.querySelectorAll("form[data-submit-once] button[type=submit]").forEach((b) => { b.disabled = false; });
});

// Forms marked data-confirm ask first (archive); without JavaScript they submit at once.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.matches("[data-confirm]") && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// An htmx request that fails (a 4xx/5xx answer, or no answer at all) says so next to
// what the user used, instead of leaving the page silently as it was.
function htmxAnchor(event) {
  const source = event.detail.elt;
  return (source && (source.closest("form") || source)) || document.getElementById("main");
}
function showHtmxError(event, text) {
  const anchor = htmxAnchor(event);
  let note = anchor.nextElementSibling;
  if (!note || !note.classList.contains("htmx-error")) {
    note = document.createElement("p");
    note.className = "notice notice-error htmx-error";
    note.setAttribute("role", "alert");
    anchor.insertAdjacentElement("afterend", note);
  }
  note.textContent = text;
}
document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr ? event.detail.xhr.status : 0;
  showHtmxError(event, status === 403 || status === 401
    ? "You are not allowed to do that, or your session ended: reload the page and log in again."
    : `That did not work (the server answered ${status}). Reload the page and try again.`);
});
document.addEventListener("htmx:sendError", (event) => {
  showHtmxError(event, "Herald could not be reached. Check your connection and try again.");
});
// The next request from the same place that works takes the message away.
document.addEventListener("htmx:afterRequest", (event) => {
  if (!event.detail.successful) return;
  const note = htmxAnchor(event).nextElementSibling;
  if (note && note.classList.contains("htmx-error")) note.remove();
});
