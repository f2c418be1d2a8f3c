/**
 * A run's HTML report in a Lab tab: an iframe sandboxed with `allow-scripts`
 * only (no same-origin), so the report's own scripts (plotly) run in an
 * opaque origin and can never reach the Lab page; the server adds a CSP that
 * forbids any network access.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { IFrame } from '@jupyterlab/ui-components';

import { api } from './api';
import { apiUrl } from './request';

/** The only sandbox exception a report gets. */
export const REPORT_SANDBOX: IFrame.SandboxExceptions[] = ['allow-scripts'];

/** A Lab tab showing the report of run `id`. */
export function createReportWidget(
  id: string,
  runbook: string
): MainAreaWidget<IFrame> {
  const frame = new IFrame({
    sandbox: REPORT_SANDBOX,
    referrerPolicy: 'no-referrer'
  });
  frame.url = apiUrl(api.reportPath(id));
  frame.addClass('hxb-Report-frame');
  const widget = new MainAreaWidget({ content: frame });
  widget.id = `hxb-report-${id}`;
  widget.title.label = `Report: ${runbook} ${id}`;
  widget.title.caption = `HTML report of run ${id} of ${runbook}`;
  widget.title.closable = true;
  widget.addClass('hxb-Report');
  return widget;
}
