/*! Herald web SDK 1.0.0 | written for Herald, open source under the project's licence */
// Herald's own browser SDK: identify a user (with a token the site's backend signs), open
// sessions, log custom events and purchases, read Content Cards and log their impressions,
// clicks and dismissals, and register the browser for web push. Served by Herald at
// /sdk/v1/herald.mjs (this ES module) and /sdk/v1/herald.js (the same code, as a classic
// script defining window.Herald). Types: /sdk/v1/herald.d.ts. No dependencies.

const VERSION = "1.0.0";
const JSON_TEXT = { "Content-Type": "text/plain;charset=UTF-8" }; // no CORS preflight

class HeraldError extends Error {
  constructor(status, message, errors) {
    super(message);
    this.name = "HeraldError";
    this.status = status; // the HTTP status; 0 when the call never reached Herald
    this.errors = errors || [];
  }
}

function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64UrlBytes(text) {
  const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function toCard(raw) {
  return {
    id: raw.id,
    type: raw.type,
    title: raw.title,
    description: raw.description,
    imageUrl: raw.image_url,
    url: raw.web_uri || raw.url,
    linkText: raw.uri_text,
    pinned: raw.pinned,
    extras: raw.extra || {},
    campaignId: raw.campaign_id,
    messageVariationId: raw.message_variation_id,
    created: new Date(raw.created_at),
    expiresAt: raw.expires_at ? new Date(raw.expires_at) : null,
    viewed: raw.viewed,
    clicked: raw.clicked,
  };
}

function activated(registration) {
  if (registration.active) return Promise.resolve(registration);
  const worker = registration.installing || registration.waiting;
  return new Promise((resolve, reject) => {
    worker.addEventListener("statechange", () => {
      if (worker.state === "activated") resolve(registration);
      if (worker.state === "redundant") reject(new HeraldError(0, "service worker failed"));
    });
  });
}

class HeraldClient {
  constructor(options) {
    if (!options || !options.sdkKey || !options.baseUrl) {
      throw new TypeError("Herald.initialize({ sdkKey, baseUrl }): both are required");
    }
    this.sdkKey = options.sdkKey;
    this.baseUrl = String(options.baseUrl).replace(/\/+$/, "");
    this.serviceWorkerUrl = options.serviceWorkerUrl || "/herald-sw.js";
    this.serviceWorkerScope = options.serviceWorkerScope;
    this._token = null;
    this._user = null;
    this._vapidKey = null;
    this._cards = [];
    this._listeners = new Set();
    this._seen = new Set(); // cards whose impression this page already logged
  }

  async _post(path, body, forUser = true) {
    if (forUser && !this._token) {
      throw new HeraldError(0, "Call identify(externalId, token) first");
    }
    const payload = { sdk_key: this.sdkKey, ...body };
    if (forUser) payload.token = this._token;
    let response;
    try {
      response = await fetch(this.baseUrl + path, {
        method: "POST", headers: JSON_TEXT, body: JSON.stringify(payload),
        credentials: "omit", keepalive: true,
      });
    } catch (error) {
      throw new HeraldError(0, "Herald is unreachable: " + error.message);
    }
    let data = {};
    try { data = await response.json(); } catch (_) { /* not JSON: keep the status */ }
    if (!response.ok) {
      throw new HeraldError(response.status, data.message || response.statusText, data.errors);
    }
    return data;
  }

  /** Name the signed-in user. `token` is an HS256 JWT your backend signs (sub = externalId). */
  async identify(externalId, token) {
    if (!token) throw new HeraldError(0, "identify needs the user's signed token");
    const previous = this._token;
    this._token = token;
    let data;
    try {
      data = await this._post("/sdk/v1/identify", externalId ? { external_id: externalId } : {});
    } catch (error) {
      this._token = previous;
      throw error;
    }
    if (this._user && this._user.externalId !== data.external_id) this._setCards([]);
    this._user = { externalId: data.external_id, brazeId: data.braze_id };
    this._vapidKey = data.vapid_public_key;
    return this._user;
  }

  /** A fresh token for the same user (before the current one expires). */
  setToken(token) { this._token = token; }

  getUser() { return this._user; }

  openSession() { return this._post("/sdk/v1/session", {}).then(() => undefined); }

  logCustomEvent(name, properties) {
    const event = { name, time: new Date().toISOString() };
    if (properties) event.properties = properties;
    return this._post("/sdk/v1/track", { events: [event] }).then(() => undefined);
  }

  logPurchase(productId, price, currency = "USD", quantity = 1, properties) {
    const purchase = { product_id: productId, price, currency, quantity,
                       time: new Date().toISOString() };
    if (properties) purchase.properties = properties;
    return this._post("/sdk/v1/track", { purchases: [purchase] }).then(() => undefined);
  }

  // --- Content Cards ------------------------------------------------------------------

  async requestContentCardsRefresh() {
    const data = await this._post("/sdk/v1/content_cards", {});
    this._setCards(data.cards.map(toCard));
    return this.getCachedContentCards();
  }

  getCachedContentCards() { return this._cards.slice(); }

  subscribeToContentCardsUpdates(callback) {
    this._listeners.add(callback);
    return () => this._listeners.delete(callback);
  }

  _setCards(cards) {
    this._cards = cards;
    for (const listener of this._listeners) {
      try { listener(this.getCachedContentCards()); } catch (error) { console.error(error); }
    }
  }

  _cardEvents(type, cards) {
    const events = cards.map((card) => ({ type, card_id: card.id || card, id: randomId(),
                                          time: new Date().toISOString() }));
    if (!events.length) return Promise.resolve();
    return this._post("/sdk/v1/content_cards/events", { events }).then(() => undefined);
  }

  /** Log that these cards were seen; each card counts once per page. */
  logCardImpressions(cards) {
    const fresh = cards.filter((card) => !this._seen.has(card.id || card));
    fresh.forEach((card) => this._seen.add(card.id || card));
    return this._cardEvents("impression", fresh);
  }

  logCardClick(card) { return this._cardEvents("click", [card]); }

  /** Log a dismissal: the card leaves the feed, here at once and on every later refresh. */
  async logCardDismissal(card) {
    await this._cardEvents("dismissal", [card]);
    const id = card.id || card;
    this._setCards(this._cards.filter((c) => c.id !== id));
  }

  // --- Web push -----------------------------------------------------------------------

  isPushSupported() {
    return typeof navigator !== "undefined" && "serviceWorker" in navigator &&
      typeof PushManager !== "undefined" && typeof Notification !== "undefined";
  }

  isPushPermissionGranted() {
    return typeof Notification !== "undefined" && Notification.permission === "granted";
  }

  /** Ask for permission, register the service worker and the subscription; true when done. */
  async requestPushPermission() {
    if (!this.isPushSupported()) throw new HeraldError(0, "This browser has no web push");
    if (!this._user) throw new HeraldError(0, "Call identify(externalId, token) first");
    if (!this._vapidKey) throw new HeraldError(0, "Web push is not set up for this web app");
    if ((await Notification.requestPermission()) !== "granted") return false;
    const url = new URL(this.serviceWorkerUrl, location.href);
    url.searchParams.set("baseUrl", this.baseUrl);
    url.searchParams.set("sdkKey", this.sdkKey);
    const options = this.serviceWorkerScope ? { scope: this.serviceWorkerScope } : {};
    const registration = await activated(await navigator.serviceWorker.register(url, options));
    const key = base64UrlBytes(this._vapidKey);
    let subscription = await registration.pushManager.getSubscription();
    if (subscription && subscription.options && subscription.options.applicationServerKey) {
      const current = new Uint8Array(subscription.options.applicationServerKey);
      if (current.join() !== key.join()) { // the VAPID keys were rotated
        await subscription.unsubscribe();
        subscription = null;
      }
    }
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: key,
      });
    }
    await this._post("/sdk/v1/push/subscribe", { subscription: subscription.toJSON() });
    return true;
  }
}

function initialize(options) { return new HeraldClient(options); }

const Herald = { initialize, HeraldError, VERSION };

export { initialize, HeraldError, VERSION };
export default Herald;
