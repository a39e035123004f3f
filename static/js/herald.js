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
