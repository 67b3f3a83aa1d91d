// The GraphQL over HTTP spec's conformance audit (graphql-http's server audits) against the
// gateway at GATEWAY_URL (e.g. http://127.0.0.1:4000). Prints every audit's outcome and exits
// non-zero when any is not "ok": warnings (SHOULD) fail this run as errors (MUST) do, so the
// gateway cannot drift back from full conformance unnoticed.
import { auditServer } from 'graphql-http';

const base = process.env.GATEWAY_URL;
if (!base) {
  console.error('GATEWAY_URL is not set (e.g. http://127.0.0.1:4000)');
  process.exit(2);
}

const results = await auditServer({ url: `${base.replace(/\/$/, '')}/graphql` });
const failed = results.filter((result) => result.status !== 'ok');
for (const result of results) {
  console.log(`${result.status.padEnd(6)} ${result.id} ${result.name}`);
}
for (const result of failed) {
  const body = await result.response.text().catch(() => '(no body)');
  console.error(
    `\n${result.status.toUpperCase()} ${result.name}\n  ${result.reason}\n` +
      `  answer: ${result.response.status} ${result.response.headers.get('content-type')}\n  ${body}`,
  );
}
console.log(`\n${results.length - failed.length} of ${results.length} audits ok`);
process.exit(failed.length === 0 ? 0 : 1);
