import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';

import { requestAPI } from './request';

/** The active profile as `GET /hxb-lab/api/profiles/active` returns it. */
export interface IActiveProfile {
  name: string;
  description: string;
  source: string;
}

/** How often the status item asks the server for the active profile. */
const REFRESH_MS = 60_000;

/**
 * A status-bar item showing `HXB: <profile>`, or `HXB: offline` with the
 * error as its tooltip. Text is set with textContent, never as HTML.
 */
export class ProfileStatus extends Widget {
  constructor() {
    super();
    this.id = 'hxb-lab-status';
    this.addClass('hxb-StatusItem');
    this.node.textContent = 'HXB: …';
    this._timer = window.setInterval(() => void this.refresh(), REFRESH_MS);
  }

  /** Fetch the active profile and show it; never throws. */
  async refresh(): Promise<void> {
    try {
      const profile = await requestAPI<IActiveProfile>('profiles/active');
      this.node.textContent = `HXB: ${profile.name}`;
      this.node.title = profile.description
        ? `${profile.description} (${profile.source})`
        : profile.source;
      this.removeClass('hxb-mod-offline');
    } catch (error) {
      this.node.textContent = 'HXB: offline';
      this.node.title = error instanceof Error ? error.message : String(error);
      this.addClass('hxb-mod-offline');
    }
  }

  dispose(): void {
    window.clearInterval(this._timer);
    super.dispose();
  }

  private _timer: number;
}

const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: 'hxb-lab:status',
  description: 'Shows the active HXB Lab profile in the status bar.',
  autoStart: true,
  optional: [IStatusBar],
  activate: (_app: JupyterFrontEnd, statusBar: IStatusBar | null) => {
    if (!statusBar) {
      return;
    }
    const item = new ProfileStatus();
    statusBar.registerStatusItem('hxb-lab:status', {
      item,
      align: 'left',
      rank: 100
    });
    void item.refresh();
  }
};

export default statusPlugin;
