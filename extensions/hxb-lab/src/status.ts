/**
 * The status-bar item `HXB: <profile> · <health>`: the active profile and the
 * health of its platform (ok, degraded, unavailable), details in the tooltip.
 * Text is set with textContent, never as HTML.
 */
import { Widget } from '@lumino/widgets';

import { isUnavailable } from './api';
import type { HxbModel } from './model';

export class ProfileStatus extends Widget {
  constructor(private readonly _model: HxbModel) {
    super();
    this.id = 'hxb-lab-status';
    this.addClass('hxb-StatusItem');
    this.node.textContent = 'HXB: …';
    _model.changed.connect(this.update, this);
  }

  protected onUpdateRequest(): void {
    const model = this._model;
    const error = model.profilesError;
    if (!model.profiles) {
      this.node.textContent = error ? 'HXB: offline' : 'HXB: …';
      this.node.title = error ?? '';
      this.toggleClass('hxb-mod-offline', !!error);
      return;
    }
    this.removeClass('hxb-mod-offline');
    const summary = model.summary;
    const health =
      summary?.health ?? (model.summaryError ? 'unavailable' : '…');
    this.node.textContent = `HXB: ${model.profiles.active} · ${health}`;
    for (const name of ['ok', 'degraded', 'unavailable']) {
      this.toggleClass(`hxb-mod-${name}`, health === name);
    }
    const lines: string[] = [];
    const profile = model.profiles.profiles.find(
      p => p.name === model.profiles?.active
    );
    if (profile) {
      lines.push(
        profile.description
          ? `${profile.description} (${profile.source})`
          : profile.source
      );
    }
    if (summary && !isUnavailable(summary.cluster)) {
      const { nodes, clusters } = summary.cluster;
      lines.push(
        `${clusters.join(', ')}: ${nodes.ready}/${nodes.total} nodes ready`
      );
    } else if (summary && isUnavailable(summary.cluster)) {
      lines.push(`cluster unavailable: ${summary.cluster.unavailable}`);
    } else if (model.summaryError) {
      lines.push(model.summaryError);
    }
    this.node.title = lines.join('\n');
  }

  dispose(): void {
    this._model.changed.disconnect(this.update, this);
    super.dispose();
  }
}
