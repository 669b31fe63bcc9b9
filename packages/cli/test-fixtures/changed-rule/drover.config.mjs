// A deliberately changed rule, for `drover replay` tests: payments above 1,000.00 (not
// 10,000.00) need verification. Found as drover.config.mjs in this directory, or by --config.
import { accept } from "@drover/core";
import { payments } from "@drover/example-payments";

const changed = {
  ...payments,
  create(event, ctx) {
    const decision = payments.create(event, ctx);
    if (decision.kind !== "accepted" || event.amount <= 100_000 || decision.state.status !== "authorizing") {
      return decision;
    }
    const [authorize] = decision.intents;
    return accept(
      { ...decision.state, status: "awaiting_verification" },
      { ...authorize, type: "RequestVerification" },
    );
  },
};

export default { name: "payments (changed rule)", machines: [changed] };
