export type { NatsEvent, SendOutcome } from "./client.js";
export { sendEvent } from "./client.js";
export type { PublishOptions } from "./egress.js";
export { natsEffects, publishedSubjects, publishIntent } from "./egress.js";
export type { EventRunner, IngressOptions } from "./ingress.js";
export { IngressOutcome, NatsIngress } from "./ingress.js";
export type { BridgeError } from "./request-bridge.js";
export { bridgeRequests } from "./request-bridge.js";
export type { ConsumerSettings, StreamLimits } from "./streams.js";
export { ensureEventsStream, ensureIngressConsumer, ensureIntentsStream } from "./streams.js";
export {
  EVENTS_STREAM,
  EVENTS_SUBJECTS,
  eventsSubject,
  Header,
  INGRESS_CONSUMER,
  INTENTS_STREAM,
  intentSubject,
  isSubjectToken,
  parseEntitySubject,
  RUN_SUBJECTS,
  runSubject,
} from "./subjects.js";
export type { NatsTransportOptions } from "./transport.js";
export { NatsStatus, NatsTransport } from "./transport.js";
