/**
 * Notebooks the extension creates: the "Ops notebook" (pre-filled to connect
 * to the active profile) and a copy of a run's executed notebook to open in Lab.
 */
import type { Contents } from '@jupyterlab/services';

/** The folder (below the Lab root) where run notebooks are copied to open them. */
export const RUNS_FOLDER = 'hxb-runs';

function notebook(cells: string[]): Record<string, unknown> {
  return {
    cells: cells.map(source => ({
      cell_type: 'code',
      execution_count: null,
      metadata: {},
      outputs: [],
      source
    })),
    metadata: {
      kernelspec: {
        display_name: 'Python 3 (ipykernel)',
        language: 'python',
        name: 'python3'
      },
      language_info: { name: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  };
}

/** The first cells of an Ops notebook for `profile`. */
export function opsNotebookCells(profile: string | null): string[] {
  const target = profile ? JSON.stringify(profile) : '';
  return [
    `import hxb_lab as hx\n\nwb = hx.connect(${target})\nwb`,
    'wb.cluster.nodes().head()'
  ];
}

function join(folder: string, name: string): string {
  return folder ? `${folder.replace(/\/+$/, '')}/${name}` : name;
}

/** Create an Ops notebook in `folder`; returns its path. */
export async function createOpsNotebook(
  contents: Contents.IManager,
  profile: string | null,
  folder = ''
): Promise<string> {
  const model = await contents.newUntitled({ path: folder, type: 'notebook' });
  const stem = `ops-${profile ?? 'notebook'}`.replace(/[^A-Za-z0-9_.-]/g, '-');
  let path = model.path;
  try {
    const renamed = await contents.rename(
      model.path,
      join(folder, `${stem}-${Date.now()}.ipynb`)
    );
    path = renamed.path;
  } catch {
    // keep the untitled name
  }
  await contents.save(path, {
    type: 'notebook',
    format: 'json',
    content: notebook(opsNotebookCells(profile))
  });
  return path;
}

/** Save a run's executed notebook under `hxb-runs/`; returns its path. */
export async function saveRunNotebook(
  contents: Contents.IManager,
  runbook: string,
  id: string,
  content: Record<string, unknown>
): Promise<string> {
  try {
    await contents.get(RUNS_FOLDER, { content: false });
  } catch {
    await contents.save(RUNS_FOLDER, { type: 'directory' });
  }
  const path = join(
    RUNS_FOLDER,
    `${runbook}-${id}.ipynb`.replace(/[^A-Za-z0-9_.-]/g, '-')
  );
  await contents.save(path, { type: 'notebook', format: 'json', content });
  return path;
}
