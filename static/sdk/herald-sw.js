/*! Herald web push service worker 1.0.0 | written for Herald, open source under the project's licence */
// Shows Herald's web pushes, reports a click as a direct open, and keeps the subscription
// fresh. A service worker must come from the page's own origin, so a site serves a
// one-line file of its own (e.g. /herald-sw.js):
//
//     importScripts("https://herald.example.com/sdk/v1/herald-sw.js");
//
// The SDK registers that file with ?baseUrl=…&sdkKey=… so this script knows where to
// report; a page on Herald's own origin may register /sdk/v1/herald-sw.js directly (it is
// served with Service-Worker-Allowed: /, so any scope works).
(function () {
  "use strict";
  var params = new URL(self.location.href).searchParams;
  var given = self.HeraldServiceWorker || {};
  var baseUrl = String(given.baseUrl || params.get("baseUrl") || "").replace(/\/+$/, "");
  var sdkKey = given.sdkKey || params.get("sdkKey") || "";

  function post(path, body) {
    body.sdk_key = sdkKey;
    return fetch(baseUrl + path, {
      method: "POST", headers: { "Content-Type": "text/plain;charset=UTF-8" },
      body: JSON.stringify(body), credentials: "omit",
    });
  }

  // Keep the worker alive for `work`. Only the browser's own events can be extended; one
  // dispatched by a script (a test) still runs the same handler to the end.
  function keep(event, work) {
    try { event.waitUntil(work); } catch (_) { /* an untrusted event */ }
    return work;
  }

  self.addEventListener("install", function () { self.skipWaiting(); });
  self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

  self.addEventListener("push", function (event) {
    var push;
    try { push = event.data ? event.data.json() : null; } catch (_) { push = null; }
    if (!push || !push.herald_message_id) return; // not Herald's: another script's to show
    var buttons = Array.isArray(push.actions) ? push.actions : [];
    keep(event, self.registration.showNotification(push.title || "", {
      body: push.body || "",
      icon: push.icon,
      image: push.image,
      requireInteraction: !!push.requireInteraction,
      // A resent push (same message ID) replaces the one shown instead of adding another.
      tag: push.herald_message_id,
      actions: buttons.slice(0, 2).map(function (button, index) {
        return { action: "herald-" + index, title: String(button.text || "") };
      }),
      data: { herald: push.herald_message_id, url: push.url || "", buttons: buttons,
              extra: push.data || {} },
    }));
  });

  self.addEventListener("notificationclick", function (event) {
    var data = event.notification.data || {};
    if (!data.herald) return;
    event.notification.close();
    var url = data.url;
    var button = /^herald-(\d+)$/.exec(event.action || "");
    if (button && data.buttons[button[1]] && data.buttons[button[1]].uri) {
      url = data.buttons[button[1]].uri;
    }
    keep(event, Promise.all([
      post("/sdk/v1/push/open", { message_id: data.herald, time: new Date().toISOString() })
        .catch(function () {}),
      url ? self.clients.openWindow(url) : Promise.resolve(),
    ]));
  });

  self.addEventListener("pushsubscriptionchange", function (event) {
    var old = event.oldSubscription;
    if (!old) return;
    keep(event, Promise.resolve(event.newSubscription || self.registration.pushManager
      .subscribe({ userVisibleOnly: true, applicationServerKey: old.options.applicationServerKey }))
      .then(function (fresh) {
        return post("/sdk/v1/push/refresh", { old_endpoint: old.endpoint,
                                              subscription: fresh.toJSON() });
      }));
  });
})();
