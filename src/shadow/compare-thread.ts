/**
 * The comparison thread: builds the shadow report and its HTML page off the activity's event
 * loop, so a million-row comparison (sorts, the exact KS walk) never stops a worker from
 * heartbeating, answering its endpoints or handling SIGTERM. One message in, one out.
 */
import { parentPort } from 'node:worker_threads';
import { renderReportHtml } from '../compare/html.js';
import { buildShadowReport, type ReportInput, type ShadowReport } from '../compare/report.js';

export type CompareReply = { type: 'done'; report: ShadowReport; html: string } | { type: 'error'; name: string; message: string };

const port = parentPort;
if (!port) throw new Error('src/shadow/compare-thread.ts runs as a worker thread; use compareOffThread');
port.once('message', (input: ReportInput) => {
  try {
    const report = buildShadowReport(input);
    port.postMessage({ type: 'done', report, html: renderReportHtml(report) } satisfies CompareReply);
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    port.postMessage({ type: 'error', name: e.name, message: e.message } satisfies CompareReply);
  }
});
