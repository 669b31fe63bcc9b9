// The application `npx drover …` and `drover serve` find when run from the repository root:
// the payments example (examples/payments/src/config.ts), the same one `npm start` serves.
export { default } from "@drover/example-payments/config";
