// PostGraphile 5 as the benchmark runs it: the Amber preset, the database from
// BENCH_DATABASE_URL, and one change from the defaults: every column may be used in `condition`
// and `orderBy` (Amber allows only indexed ones), so the GraphQL documents can filter out
// nullified rows as vardkedja does. No JWT, no row-level security: PostGraphile here has no
// access policy and no audit trail.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [
    makePgService({
      connectionString: process.env.BENCH_DATABASE_URL,
      schemas: ["public"],
      poolConfig: { max: Number(process.env.BENCH_POOL_SIZE ?? 10) },
    }),
  ],
  grafserv: {
    host: "127.0.0.1",
    port: Number(process.env.BENCH_PORT ?? 5678),
    graphiql: false,
  },
  grafast: { explain: false },
};

export default preset;
