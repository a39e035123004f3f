// Settings › Apps › Try the SDK: the live demo, using the SDK as a customer's page would.
const demo = document.getElementById("sdk-demo");
const status = document.getElementById("demo-status");
const list = document.getElementById("demo-cards");

if (demo && status) {
  const { default: Herald } = await import(demo.dataset.sdk);
  const herald = Herald.initialize({
    sdkKey: demo.dataset.sdkKey, baseUrl: demo.dataset.baseUrl,
    serviceWorkerUrl: demo.dataset.sw, serviceWorkerScope: demo.dataset.scope,
  });
  const say = (text) => { status.textContent = text; };
  const failed = (error) => say(`Refused: ${error.message} ${(error.errors || []).join("; ")}`);

  const show = (cards) => {
    list.replaceChildren();
    if (!cards.length) {
      const empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = "No cards for this user.";
      list.append(empty);
    }
    for (const card of cards) {
      const item = document.createElement("li");
      item.dataset.card = card.id;
      const title = document.createElement("strong");
      title.textContent = card.title || "(untitled)";
      const text = document.createElement("p");
      text.textContent = card.description;
      const open = document.createElement("button");
      open.type = "button";
      open.className = "button small";
      open.textContent = card.linkText || "Click";
      open.addEventListener("click", () => herald.logCardClick(card)
        .then(() => say(`Click on “${card.title}” logged.`), failed));
      const dismiss = document.createElement("button");
      dismiss.type = "button";
      dismiss.className = "button small";
      dismiss.textContent = "Dismiss";
      dismiss.addEventListener("click", () => herald.logCardDismissal(card)
        .then(() => say(`“${card.title}” dismissed.`), failed));
      item.append(title, text, open, " ", dismiss);
      list.append(item);
    }
    herald.logCardImpressions(cards).catch(failed);
  };
  herald.subscribeToContentCardsUpdates(show);

  document.getElementById("demo-identify").addEventListener("click", async () => {
    try {
      const user = await herald.identify(null, document.getElementById("demo-token").value.trim());
      await herald.openSession();
      say(`Identified ${user.externalId}; session opened.`);
      document.getElementById("demo-event").disabled = false;
      document.getElementById("demo-push").disabled = !herald.isPushSupported();
      await herald.requestContentCardsRefresh();
    } catch (error) { failed(error); }
  });
  document.getElementById("demo-event").addEventListener("click", () => herald
    .logCustomEvent("sdk_demo", { from: "dashboard" }).then(() => say("Event logged."), failed));
  document.getElementById("demo-push").addEventListener("click", () => herald
    .requestPushPermission().then((ok) => say(ok ? "Web push enabled for this browser."
      : "Permission not granted."), failed));
}
