// An example vardkedja client in TypeScript, with nothing but `fetch` (Node 18+ or a browser):
// call a shipped (persisted) operation by name, page through a connection with cursors, and
// follow the change feed (`changes(after:)`, docs/changes.md).
//
//   npm ci && npm run build
//   node dist/client.js --url http://127.0.0.1:8000 --token "$TOKEN" 19121212-1212
//
// The token is passed in (--token or VARDKEDJA_TOKEN): in development `vardkedja token --as
// clinician`, in production whatever your identity provider issues.

import { parseArgs } from "node:util";

type Json = Record<string, unknown>;

interface GraphQLErrorItem {
  message: string;
  extensions?: { code?: string };
}

/** The API answered with errors; `codes` are their machine-readable extensions.code. */
export class GraphQLError extends Error {
  readonly codes: (string | undefined)[];
  constructor(errors: GraphQLErrorItem[]) {
    super(errors.map((e) => `${e.message} (${e.extensions?.code})`).join("; "));
    this.codes = errors.map((e) => e.extensions?.code);
  }
}

const PATIENTS = `
query Patients($first: Int!, $after: String) {
  patients(first: $first, after: $after) {
    nodes { personnummer familyName givenName }
    pageInfo { hasNextPage endCursor }
  }
}`;

const CHANGES = `
query Changes($after: String, $first: Int!) {
  changes(after: $after, first: $first) {
    endCursor
    hasNextPage
    changes { kind category patientId recordId tombstone accessChanged }
  }
}`;

interface Connection<T> {
  nodes: T[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

interface PatientRow {
  personnummer: string;
  familyName: string;
  givenName: string;
}

export interface Change {
  kind: string;
  category: string;
  patientId: string;
  recordId: string | null;
  tombstone: boolean;
  accessChanged: boolean;
}

interface ChangePage {
  endCursor: string;
  hasNextPage: boolean;
  changes: Change[];
}

export class Client {
  requests = 0;

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  /** POST one request; the `data`, or GraphQLError when the answer has errors. */
  async call<T = Json>(body: Json): Promise<T> {
    const response = await fetch(`${this.url}/graphql`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${this.token}`,
        "content-type": "application/json",
        accept: "application/json",
      },
      body: JSON.stringify(body),
    });
    this.requests += 1;
    const answer = (await response.json()) as { data?: T; errors?: GraphQLErrorItem[] };
    if (answer.errors?.length) throw new GraphQLError(answer.errors);
    if (!response.ok || answer.data === undefined) {
      throw new Error(`HTTP ${response.status} without data`);
    }
    return answer.data;
  }

  /** A shipped operation by name: no query text is sent (works in allow-list mode). */
  persisted<T = Json>(name: string, variables: Json): Promise<T> {
    return this.call<T>({ operationName: name, variables });
  }

  /** Every patient the caller may see, a page at a time. */
  async *patients(pageSize: number): AsyncGenerator<PatientRow> {
    let after: string | null = null;
    for (;;) {
      const data: { patients: Connection<PatientRow> } = await this.call({
        query: PATIENTS,
        variables: { first: pageSize, after },
      });
      yield* data.patients.nodes;
      if (!data.patients.pageInfo.hasNextPage) return;
      after = data.patients.pageInfo.endCursor;
    }
  }

  /** The change feed from `after` (null: the oldest entry kept) up to now: every page,
   * asked for again at once while `hasNextPage`. Returns the cursor to continue from. */
  async changesSince(
    after: string | null,
    pageSize: number,
    apply: (change: Change) => void,
  ): Promise<string> {
    for (;;) {
      const data: { changes: ChangePage } = await this.call({
        query: CHANGES,
        variables: { after, first: pageSize },
      });
      data.changes.changes.forEach(apply);
      after = data.changes.endCursor;
      if (!data.changes.hasNextPage) return after;
    }
  }
}

function describe(change: Change): string {
  const what = change.tombstone ? "tombstone" : change.accessChanged ? "access changed" : "";
  return `change: ${change.kind} ${change.category} ${change.recordId ?? "-"} ${what}`.trimEnd();
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: "string", default: process.env.VARDKEDJA_URL ?? "http://127.0.0.1:8000" },
      token: { type: "string", default: process.env.VARDKEDJA_TOKEN },
      "page-size": { type: "string", default: "20" },
      "follow-seconds": { type: "string", default: "0" },
      until: { type: "string", default: "1" },
    },
  });
  const personnummer = positionals[0];
  if (!personnummer || !values.token) {
    console.error("usage: client.js --token TOKEN [--url URL] [--page-size N] PERSONNUMMER");
    return 2;
  }
  const pageSize = Number(values["page-size"]);
  const client = new Client(values.url ?? "", values.token);

  // 1. A shipped operation by name.
  let overview: { patient: Json | null };
  try {
    overview = await client.persisted("EmergencyOverview", { personnummer });
  } catch (error) {
    console.error(`EmergencyOverview refused: ${(error as Error).message}`);
    return 1;
  }
  const patient = overview.patient as
    | (PatientRow & { alerts: { nodes: { alertType: string; description: string }[] } })
    | null;
  if (patient === null) {
    console.log(`${personnummer}: not visible to you (or not found)`);
  } else {
    console.log(`${patient.familyName}, ${patient.givenName} (${patient.personnummer})`);
    for (const alert of patient.alerts.nodes) {
      console.log(`  alert: ${alert.alertType} ${alert.description}`);
    }
  }

  // 2. A connection, paged through with cursors.
  let before = client.requests;
  let count = 0;
  for await (const _ of client.patients(pageSize)) count += 1;
  console.log(
    `patients visible to you: ${count}, fetched in ${client.requests - before} pages of ${pageSize}`,
  );

  // 3. The change feed: everything kept so far, then follow it (poll from the stored cursor).
  before = client.requests;
  let seen = 0;
  let cursor = await client.changesSince(null, pageSize, () => (seen += 1));
  console.log(`change feed: ${seen} changes in ${client.requests - before} pages`);
  const followSeconds = Number(values["follow-seconds"]);
  if (followSeconds > 0) {
    console.log(`following the change feed for up to ${followSeconds} s`);
    const deadline = Date.now() + followSeconds * 1000;
    let fresh = 0;
    while (fresh < Number(values.until) && Date.now() < deadline) {
      cursor = await client.changesSince(cursor, pageSize, (change) => {
        fresh += 1;
        console.log(describe(change));
      });
      if (fresh < Number(values.until)) await new Promise((r) => setTimeout(r, 300));
    }
    console.log(`followed: ${fresh} new changes`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${(error as Error).message}`);
    process.exit(1);
  },
);
