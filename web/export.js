// The session's exports. The CSV is the CLI's batch CSV: the same columns (`csvColumns`, the
// core's CSV_COLUMNS), the same cells (`csvRow`: the core's `csv_cells_of_json` over the verdict
// as stored) and the same escaping (`csvCell`: the core's `csv_cell`, so a QR code holding
// `=HYPERLINK(...)` is text in a spreadsheet): docs/verdict-json.md. The binding's functions are
// passed in (`wasm`), so this module runs under `node --test` with the built binding or without.

import { oldestFirst } from './state.js';

/** The session as CSV text (CRLF line ends, header first), in scan order. */
export function sessionCsv(session, wasm) {
  const header = wasm.csvColumns().map((c) => wasm.csvCell(c)).join(',');
  const rows = oldestFirst(session).map((s, i) => wasm.csvRow(i + 1, new Date(s.at).toISOString(),
    s.seen ?? 1, JSON.stringify(s.verdict ?? null), String(s.input ?? '')));
  return [header, ...rows].join('\r\n') + '\r\n';
}

/** The session as JSON text: every scan record in scan order, with the sync time. */
export function sessionJson(session, syncedAt, exported = new Date()) {
  return JSON.stringify({ exported: exported.toISOString(), syncedAt, scans: oldestFirst(session) }, null, 2);
}
