// PostGraphile 5 as the benchmark runs it: the Amber preset plus the connection-filter plugin,
// the database from BENCH_DATABASE_URL. Two changes from the defaults, both so that the GraphQL
// documents can ask for the same rows vardkedja returns:
// - every column may be used in `condition` and `orderBy` (Amber allows only indexed ones), to
//   leave out nullified rows;
// - `filter` with relations, to list the patients with a current care relationship at a unit
//   (vardkedja's search scope for a clinician).
// No JWT, no row-level security: PostGraphile here has no access policy and no audit trail.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileConnectionFilterPreset } from "postgraphile-plugin-connection-filter";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset, PostGraphileConnectionFilterPreset],
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  schema: { connectionFilterRelations: true },
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
