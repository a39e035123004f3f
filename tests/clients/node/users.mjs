// The npm braze-api client's users.* methods against Herald. Prints one JSON object of
// what each call answered; the calling test asserts on it (and on what Herald stored).
import { Braze } from "braze-api";

const braze = new Braze(process.env.HERALD_URL, process.env.HERALD_KEY);
const segmentId = process.env.HERALD_SEGMENT_ID;
const out = {};

out.merge = await braze.users.merge({
  merge_updates: [
    {
      identifier_to_merge: { external_id: "old-ann" },
      identifier_to_keep: { external_id: "ann" },
    },
  ],
});
out.alias_update = await braze.users.alias.update({
  alias_updates: [
    { alias_label: "crm", old_alias_name: "lead-1", new_alias_name: "lead-one" },
  ],
});
out.rename = await braze.users.external_ids.rename({
  external_id_renames: [{ current_external_id: "ann", new_external_id: "ann-v2" }],
});
// The deprecated ID still names the user until it is removed.
out.export_by_old_id = await braze.users.export.ids({
  external_ids: ["ann"],
  fields_to_export: ["external_id", "user_aliases", "campaigns_received"],
});
out.remove = await braze.users.external_ids.remove({ external_ids: ["ann", "ann-v2"] });
out.export_segment = await braze.users.export.segment({
  segment_id: segmentId,
  fields_to_export: ["external_id", "email"],
  output_format: "gzip",
});
out.export_gcg = await braze.users.export.global_control_group({
  fields_to_export: ["external_id"],
});
try {
  await braze.users.merge({ merge_updates: [] });
  out.merge_invalid = "accepted";
} catch (error) {
  out.merge_invalid = { status: error.status, message: error.message, errors: error.errors };
}
console.log(JSON.stringify(out));
