// The npm braze-api client's API-triggered campaign methods against Herald: trigger send,
// schedule create, update, delete, and a refused send. Prints one JSON object of what each
// call answered (a refusal as {status, message, errors}); the calling test asserts on it.
import { Braze } from "braze-api";

const braze = new Braze(process.env.HERALD_URL, process.env.HERALD_KEY);
const campaign_id = process.env.HERALD_CAMPAIGN_ID;

async function refused(call) {
  try {
    return { answered: await call() };
  } catch (error) {
    return { status: error.status, message: error.message, errors: error.errors };
  }
}

const out = {};
out.send = await braze.campaigns.trigger.send({
  campaign_id,
  trigger_properties: { order: "A-1" },
  recipients: [
    { external_user_id: "ada" },
    { external_user_id: "bob", trigger_properties: { order: "B-2" } },
  ],
});
out.create = await braze.campaigns.trigger.schedule.create({
  campaign_id, recipients: [{ external_user_id: "ada" }],
  schedule: { time: process.env.HERALD_TIME },
});
out.update = await braze.campaigns.trigger.schedule.update({
  campaign_id, schedule_id: out.create.schedule_id,
  schedule: { time: process.env.HERALD_NEW_TIME },
});
out.delete = await braze.campaigns.trigger.schedule.delete({
  campaign_id, schedule_id: out.create.schedule_id,
});
out.refused = await refused(() => braze.campaigns.trigger.send({
  campaign_id: process.env.HERALD_API_CAMPAIGN_ID, recipients: [{ external_user_id: "ada" }],
}));
console.log(JSON.stringify(out));
