// Values written into SQL as literals rather than bound as parameters, where that matters.
import { sql } from 'kysely';

/**
 * `is_primary = 1` as a literal: the partial indexes `… WHERE is_primary = 1` can then serve the
 * prepared statement. Bound as a parameter, SQLite cannot know at prepare time that the index
 * applies, so it re-prepares the statement on every run (measured: ≈ 30 µs against ≈ 10 µs for
 * the GET-user query). PostgreSQL plans it the same either way.
 */
export const PRIMARY = sql.lit(1);
