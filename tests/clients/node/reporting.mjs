// The npm braze-api client's segments.* and email.* methods against Herald, and a Braze
// feature Herald does not offer (canvas.list). Prints one JSON object of the answers.
import { Braze } from "braze-api";

const braze = new Braze(process.env.HERALD_URL, process.env.HERALD_KEY);
const segmentId = process.env.HERALD_SEGMENT_ID;
const out = {};

out.segments_list = await braze.segments.list();
out.segments_details = await braze.segments.details({ segment_id: segmentId });
out.segments_analytics = await braze.segments.analytics({
  segment_id: segmentId,
  length: 3,
  ending_at: process.env.HERALD_ENDING_AT,
});
out.blacklist = await braze.email.blacklist({ email: ["spam-trap@example.test"] });
out.bounce_remove = await braze.email.bounce.remove({ email: "spam-trap@example.test" });
out.spam_remove = await braze.email.spam.remove({ email: ["ann@example.test"] });
try {
  await braze.canvas.list();
  out.canvas_list = "accepted";
} catch (error) {
  out.canvas_list = { status: error.status, message: error.message };
}
try {
  await braze.segments.analytics({ segment_id: "no-such-segment", length: 1 });
  out.segments_analytics_unknown = "accepted";
} catch (error) {
  out.segments_analytics_unknown = { status: error.status, message: error.message };
}
console.log(JSON.stringify(out));
