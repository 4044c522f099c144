import { PAGE_DEFAULTS } from '../../schemas/jobs.js'
import type { Page } from '../store/store.js'

/** The page a list call asks for; the validator fills the defaults already, this keeps the types honest. */
export function pageOf (query: { limit?: number | undefined, offset?: number | undefined }): Page {
  return { limit: query.limit ?? PAGE_DEFAULTS.limit, offset: query.offset ?? PAGE_DEFAULTS.offset }
}
