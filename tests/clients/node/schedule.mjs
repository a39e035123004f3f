// The npm braze-api client's scheduled-message methods against Herald: create, list,
// update, delete, and one refused create. Prints one JSON object of what each call
// answered (a refusal as {status, message, errors}); the calling test asserts on it.
import { Braze } from "braze-api";

const braze = new Braze(process.env.HERALD_URL, process.env.HERALD_KEY);
const campaign_id = process.env.HERALD_CAMPAIGN_ID;
const variation = process.env.HERALD_VARIATION_ID;
const email = (subject) => ({
  app_id: "app", message_variation_id: variation, from: "Acme <o@acme.test>",
  subject, body: "<p>Hi {{${first_name}}}</p>",
});

async function refused(call) {
  try {
    return { answered: await call() };
  } catch (error) {
    return { status: error.status, message: error.message, errors: error.errors };
  }
}

const out = {};
out.create = await braze.messages.schedule.create({
  campaign_id, external_user_ids: ["ada"],
  schedule: { time: process.env.HERALD_TIME },
  messages: { email: email("Soon") },
});
out.local = await braze.messages.schedule.create({
  campaign_id, external_user_ids: ["ada"],
  schedule: { time: process.env.HERALD_LOCAL_TIME, in_local_time: true },
  messages: { email: email("Local") },
});
out.broadcasts = await braze.messages.scheduled_broadcasts({
  end_time: process.env.HERALD_END_TIME,
});
out.update = await braze.messages.schedule.update({
  schedule_id: out.create.schedule_id,
  schedule: { time: process.env.HERALD_NEW_TIME },
  messages: { email: email("Moved") },
});
out.delete = await braze.messages.schedule.delete({ schedule_id: out.local.schedule_id });
out.refused = await refused(() => braze.messages.schedule.create({
  campaign_id, external_user_ids: ["ada"],
  schedule: { time: "2001-01-01T09:00:00", in_local_time: true },
  messages: { email: email("Too late") },
}));
out.unknown = await refused(() => braze.messages.schedule.delete({ schedule_id: "nope" }));
console.log(JSON.stringify(out));
