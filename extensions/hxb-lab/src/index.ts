/**
 * HXB Lab in JupyterLab: the HXB sidebar, Run and Schedule dialogs, run
 * reports in sandboxed tabs, launcher cards, palette commands and the
 * status-bar item, all talking to the server extension under /hxb-lab/api.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  Notification,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';
import type { ReadonlyJSONObject } from '@lumino/coreutils';
import { DisposableSet } from '@lumino/disposable';

import { api, IRunbook } from './api';
// The model is built and started in activate(), so it is needed at once.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { HxbModel } from './model';
import { createOpsNotebook, saveRunNotebook } from './notebooks';
import { createReportWidget } from './report';
import type { FormMode } from './rundialog';
import { CommandIDs, HxbSidebar } from './sidebar';
import { ProfileStatus } from './status';

export { CommandIDs } from './sidebar';
export { ProfileStatus } from './status';

const CATEGORY = 'HXB Lab';

export const hxbIcon = new LabIcon({
  name: 'hxb-lab:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
    '<g class="jp-icon3" fill="#616161"><path d="M3 4h4v6h10V4h4v16h-4v-6H7v6H3z"/></g></svg>'
});

/**
 * A command's `describedBy`: its arguments, as a JSON Schema object with these
 * properties (of which `required` must be given).
 */
function describedBy(
  properties: ReadonlyJSONObject = {},
  required: string[] = []
): { args: ReadonlyJSONObject } {
  return { args: { type: 'object', properties, required } };
}

const PALETTE_ARG = {
  type: 'boolean',
  description: 'Whether the command is shown in the command palette'
};
const RUNBOOK_ARG = { type: 'string', description: 'The runbook name' };
const RUN_ID_ARG = { type: 'string', description: 'The run id' };
const SCHEDULE_ARG = { type: 'string', description: 'The schedule name' };

/**
 * Opens the Run or Schedule dialog; the dialog and its form (with the JSON
 * Schema validator) load when first needed, not with the application.
 */
async function openDialog(
  model: HxbModel,
  runbook: IRunbook,
  mode: FormMode
): Promise<void> {
  const { openRunbookDialog } = await import('./rundialog');
  await openRunbookDialog(model, runbook, mode);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function findRunbook(model: HxbModel, name: string): Promise<IRunbook> {
  let runbook = model.runbooks.find(r => r.name === name);
  if (!runbook) {
    await model.refreshRunbooks();
    runbook = model.runbooks.find(r => r.name === name);
  }
  if (!runbook) {
    throw new Error(
      `no runbook named ${name} in profile ${model.activeProfile ?? '?'}`
    );
  }
  return runbook;
}

function addCommands(
  app: JupyterFrontEnd,
  model: HxbModel,
  sidebar: HxbSidebar
): void {
  const { commands, serviceManager, shell } = app;
  const title = (name: unknown): string =>
    model.runbooks.find(r => r.name === name)?.title ??
    String(name ?? 'a runbook');

  commands.addCommand(CommandIDs.openSidebar, {
    label: 'Show the HXB sidebar',
    describedBy: describedBy(),
    execute: () => shell.activateById(sidebar.id)
  });
  commands.addCommand(CommandIDs.refresh, {
    label: 'Refresh the HXB sidebar',
    describedBy: describedBy(),
    execute: () => model.refreshAll()
  });
  commands.addCommand(CommandIDs.newOpsNotebook, {
    label: args => (args.isPalette ? 'New Ops notebook' : 'Ops notebook'),
    caption: 'A notebook connected to the active HXB profile',
    describedBy: describedBy({
      cwd: {
        type: 'string',
        description: 'The folder to create the notebook in (default: the root)'
      },
      isPalette: PALETTE_ARG
    }),
    icon: args => (args.isPalette ? undefined : hxbIcon),
    execute: async args => {
      const folder = typeof args.cwd === 'string' ? args.cwd : '';
      const path = await createOpsNotebook(
        serviceManager.contents,
        model.activeProfile,
        folder
      );
      return commands.execute('docmanager:open', {
        path,
        factory: 'Notebook',
        kernel: { name: 'python3' }
      });
    }
  });
  commands.addCommand(CommandIDs.runRunbook, {
    label: args => (args.name ? `Run: ${title(args.name)}` : 'Run a runbook…'),
    describedBy: describedBy({ name: RUNBOOK_ARG, isPalette: PALETTE_ARG }, [
      'name'
    ]),
    icon: args => (args.isPalette ? undefined : hxbIcon),
    execute: async args => {
      try {
        const runbook = await findRunbook(model, String(args.name));
        shell.activateById(sidebar.id);
        await openDialog(model, runbook, 'run');
      } catch (error) {
        await showErrorMessage('Cannot run the runbook', errorText(error));
      }
    }
  });
  commands.addCommand(CommandIDs.scheduleRunbook, {
    label: args =>
      args.name ? `Schedule: ${title(args.name)}` : 'Schedule a runbook…',
    describedBy: describedBy({ name: RUNBOOK_ARG }, ['name']),
    execute: async args => {
      try {
        await openDialog(
          model,
          await findRunbook(model, String(args.name)),
          'schedule'
        );
      } catch (error) {
        await showErrorMessage('Cannot schedule the runbook', errorText(error));
      }
    }
  });
  commands.addCommand(CommandIDs.openReport, {
    label: args => `Open the report of run ${args.id ?? ''}`,
    describedBy: describedBy(
      {
        id: RUN_ID_ARG,
        runbook: {
          type: 'string',
          description: "The run's runbook (default: looked up in the runs)"
        }
      },
      ['id']
    ),
    execute: args => {
      const id = String(args.id);
      const runbook = String(
        args.runbook ?? model.runs.find(r => r.id === id)?.runbook ?? ''
      );
      const existing = Array.from(shell.widgets('main')).find(
        w => w.id === `hxb-report-${id}`
      );
      if (existing) {
        shell.activateById(existing.id);
        return;
      }
      shell.add(createReportWidget(id, runbook), 'main');
    }
  });
  commands.addCommand(CommandIDs.openNotebook, {
    label: args => `Open the output notebook of run ${args.id ?? ''}`,
    describedBy: describedBy({ id: RUN_ID_ARG }, ['id']),
    execute: async args => {
      const id = String(args.id);
      try {
        const answer = await api.notebook(id);
        const runbook = model.runs.find(r => r.id === id)?.runbook ?? 'run';
        const path = await saveRunNotebook(
          serviceManager.contents,
          runbook,
          id,
          answer.content
        );
        await commands.execute('docmanager:open', {
          path,
          factory: 'Notebook'
        });
      } catch (error) {
        await showErrorMessage(
          'Cannot open the output notebook',
          errorText(error)
        );
      }
    }
  });
  commands.addCommand(CommandIDs.cancelRun, {
    label: args => `Cancel run ${args.id ?? ''}`,
    describedBy: describedBy({ id: RUN_ID_ARG }, ['id']),
    execute: async args => {
      try {
        await api.cancel(String(args.id));
      } catch (error) {
        await showErrorMessage('Cannot cancel the run', errorText(error));
      }
      await model.refreshRuns();
    }
  });
  commands.addCommand(CommandIDs.switchProfile, {
    label: args =>
      args.name
        ? `Switch to the HXB profile ${args.name}`
        : 'Switch HXB profile',
    describedBy: describedBy(
      { name: { type: 'string', description: 'The HXB profile name' } },
      ['name']
    ),
    execute: async args => {
      try {
        await model.switchProfile(String(args.name));
      } catch (error) {
        await showErrorMessage('Cannot switch the profile', errorText(error));
        await model.refreshProfiles();
      }
    }
  });
  const scheduleChange = async (
    what: () => Promise<unknown>,
    failure: string
  ) => {
    try {
      await what();
    } catch (error) {
      await showErrorMessage(failure, errorText(error));
    }
    await model.refreshSchedules();
  };
  commands.addCommand(CommandIDs.suspendSchedule, {
    label: args => `Suspend the schedule ${args.name ?? ''}`,
    describedBy: describedBy({ name: SCHEDULE_ARG }, ['name']),
    execute: args =>
      scheduleChange(
        () => api.setSuspended(String(args.name), true),
        'Cannot suspend'
      )
  });
  commands.addCommand(CommandIDs.resumeSchedule, {
    label: args => `Resume the schedule ${args.name ?? ''}`,
    describedBy: describedBy({ name: SCHEDULE_ARG }, ['name']),
    execute: args =>
      scheduleChange(
        () => api.setSuspended(String(args.name), false),
        'Cannot resume'
      )
  });
  commands.addCommand(CommandIDs.deleteSchedule, {
    label: args => `Delete the schedule ${args.name ?? ''}`,
    describedBy: describedBy({ name: SCHEDULE_ARG }, ['name']),
    execute: async args => {
      const name = String(args.name);
      const answer = await showDialog({
        title: 'Delete the schedule?',
        body: `The CronJob ${name} and what was made for it are deleted; past runs stay recorded.`,
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
      });
      if (answer.button.accept) {
        await scheduleChange(() => api.deleteSchedule(name), 'Cannot delete');
      }
    }
  });
}

/**
 * Launcher cards and palette entries that follow the runbook catalog (Run and
 * Schedule per runbook) and the profiles (Switch to each other profile).
 */
function followCatalog(
  model: HxbModel,
  launcher: ILauncher | null,
  palette: ICommandPalette | null
): void {
  let items = new DisposableSet();
  let shown = '';
  model.changed.connect(() => {
    const names = model.runbooks.filter(r => !r.problem).map(r => r.name);
    const profiles = (model.profiles?.profiles ?? []).map(p => p.name);
    const active = model.activeProfile ?? '';
    const key = JSON.stringify([names, profiles, active]);
    if (key === shown) {
      return;
    }
    shown = key;
    items.dispose();
    items = new DisposableSet();
    names.forEach((name, rank) => {
      if (launcher) {
        items.add(
          launcher.add({
            command: CommandIDs.runRunbook,
            args: { name },
            category: CATEGORY,
            rank: rank + 1
          })
        );
      }
      for (const command of [
        CommandIDs.runRunbook,
        CommandIDs.scheduleRunbook
      ]) {
        if (palette) {
          items.add(
            palette.addItem({ command, args: { name }, category: CATEGORY })
          );
        }
      }
    });
    for (const name of profiles) {
      if (palette && name !== active) {
        items.add(
          palette.addItem({
            command: CommandIDs.switchProfile,
            args: { name },
            category: CATEGORY
          })
        );
      }
    }
  });
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'hxb-lab:plugin',
  description:
    'The HXB sidebar, runbook launcher, runs, reports and the status-bar item.',
  autoStart: true,
  optional: [ILauncher, ICommandPalette, IStatusBar, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null,
    restorer: ILayoutRestorer | null
  ) => {
    const model = new HxbModel();
    const sidebar = new HxbSidebar({ model, commands: app.commands });
    sidebar.title.icon = hxbIcon;
    sidebar.title.caption = 'HXB: platform, runbooks and runs';
    app.shell.add(sidebar, 'left', { rank: 250 });
    restorer?.add(sidebar, sidebar.id);

    addCommands(app, model, sidebar);
    launcher?.add({
      command: CommandIDs.newOpsNotebook,
      category: CATEGORY,
      rank: 0
    });
    for (const command of [
      CommandIDs.openSidebar,
      CommandIDs.refresh,
      CommandIDs.newOpsNotebook
    ]) {
      palette?.addItem({ command, category: CATEGORY });
    }
    followCatalog(model, launcher, palette);

    if (statusBar) {
      statusBar.registerStatusItem('hxb-lab:status', {
        item: new ProfileStatus(model),
        align: 'left',
        rank: 100
      });
    }
    model.runStarted.connect((_, run) => {
      const where = run.executor === 'kubernetes' ? 'on Kubernetes' : 'here';
      Notification.info(
        `${run.runbook}: run ${run.id} ${run.status === 'queued' ? 'queued' : 'started'} ${where}`,
        {
          autoClose: 5000,
          actions: [
            {
              label: 'Show',
              callback: () => app.shell.activateById(sidebar.id)
            }
          ]
        }
      );
    });
    model.runFinished.connect((_, run) => {
      const text = `${run.runbook}: ${run.status.replace('_', ' ')}${run.error ? ` (${run.error})` : ''}`;
      const actions = run.has_report
        ? [
            {
              label: 'Open report',
              callback: () =>
                void app.commands.execute(CommandIDs.openReport, {
                  id: run.id,
                  runbook: run.runbook
                })
            }
          ]
        : [];
      if (run.status === 'succeeded') {
        Notification.success(text, { autoClose: 5000, actions });
      } else {
        Notification.error(text, { autoClose: false, actions });
      }
    });
    model.start();
  }
};

export default plugin;
