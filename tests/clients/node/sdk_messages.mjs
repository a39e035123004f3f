// The npm braze-api client sends what Herald's web SDK then shows: a Content Card and a
// web push to one user (messages.send), and that user's event (users.track). Prints one
// JSON object of what each call answered; the calling test asserts on it.
import { Braze } from "braze-api";

const braze = new Braze(process.env.HERALD_URL, process.env.HERALD_KEY);
const user = process.env.HERALD_USER;
const out = {};
out.send = await braze.messages.send({
  campaign_id: process.env.HERALD_CAMPAIGN_ID,
  external_user_ids: [user],
  messages: {
    content_card: {
      type: "CLASSIC", title: "Sent by braze-api", description: "for the web SDK",
      time_to_live: 3600, message_variation_id: process.env.HERALD_CARD_VARIATION,
    },
    web_push: {
      title: "Sent by braze-api", alert: "to the browser",
      message_variation_id: process.env.HERALD_PUSH_VARIATION,
    },
  },
});
out.track = await braze.users.track({
  events: [{ external_id: user, name: "checkout", time: new Date().toISOString() }],
});
console.log(JSON.stringify(out));
