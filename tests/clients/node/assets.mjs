// The npm braze-api client's email template and content block methods against Herald.
// Prints one JSON object of what each call answered; the calling test asserts on it.
import { Braze } from "braze-api";

const braze = new Braze(process.env.HERALD_URL, process.env.HERALD_KEY);
const blocks = braze.templates.content_blocks;
const templates = braze.templates.email_templates;
const out = {};
out.blockCreate = await blocks.create({
  name: "footer", description: "Legal footer", content: "<p>Acme Inc.</p>", state: "draft",
});
const blockId = out.blockCreate.content_block_id;
out.blockUpdate = await blocks.update({ content_block_id: blockId, state: "active" });
out.blockInfo = await blocks.get({ content_block_id: blockId, include_inclusion_data: true });
out.templateCreate = await templates.create({
  template_name: "Receipt", subject: "Thanks {{${first_name}}}",
  body: "<p>Paid.</p>{{content_blocks.${footer}}}", plaintext_body: "Paid.",
  preheader: "Your receipt", should_inline_css: false,
});
const templateId = out.templateCreate.email_template_id;
out.templateUpdate = await templates.update({
  email_template_id: templateId, subject: "Thank you {{${first_name}}}",
});
out.templateInfo = await templates.get({ email_template_id: templateId });
out.templateList = await templates.list({ limit: 10, offset: 0 });
out.templateListAll = await templates.list();
out.blockList = await blocks.list({ limit: 10 });
try {
  await templates.get({ email_template_id: "00000000-0000-4000-8000-000000000000" });
  out.unknownTemplate = "accepted";
} catch (error) {
  out.unknownTemplate = { status: error.status, message: error.message };
}
// Subscription groups: the user's groups as the client lists them (arrays as `name[]`).
out.userStatus = await braze.subscription.user.status({ external_id: ["ada", "bob"] });
try {
  await braze.subscription.status.set({
    subscription_group_id: "not-registered", subscription_state: "subscribed",
    external_id: ["ada"],
  });
  out.unknownGroup = "accepted";
} catch (error) {
  out.unknownGroup = { status: error.status, message: error.message };
}
console.log(JSON.stringify(out));
