// The npm braze-api client's campaign methods against Herald. Prints one JSON object of
// what each call answered; the calling test asserts on it.
import { Braze } from "braze-api";

const braze = new Braze(process.env.HERALD_URL, process.env.HERALD_KEY);
const out = {};
out.list = await braze.campaigns.list();
const id = process.env.HERALD_CAMPAIGN_ID;
out.details = await braze.campaigns.details({ campaign_id: id });
console.log(JSON.stringify(out));
