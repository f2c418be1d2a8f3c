/**
 * The Run and Schedule dialogs of a runbook: a form generated from its JSON
 * Schema (JupyterLab's FormComponent), validated as you type; an invalid form
 * is never sent, and a validation error from the server shows on its field.
 */
import { Dialog, ReactWidget } from '@jupyterlab/apputils';
import { FormComponent } from '@jupyterlab/ui-components';
import type { ErrorSchema } from '@rjsf/utils';
import * as React from 'react';

import { api, Executor, IRunbook } from './api';
import { describeCron } from './cron';
import {
  executorChoices,
  formSchema,
  initialValues,
  parseTimeLimit,
  serverErrorSchema,
  transformErrors,
  uiSchemaFor,
  validator,
  valuesToSend
} from './form';
import type { HxbModel } from './model';
import { HxbApiError } from './request';

export type FormMode = 'run' | 'schedule';

/** What rjsf passes to onChange and onSubmit (the part used here). */
interface IChangeEvent {
  formData?: unknown;
}

interface IFormProps {
  runbook: IRunbook;
  mode: FormMode;
  model: HxbModel;
  onDone: () => void;
}

/** The form of one runbook, in Run or Schedule mode. */
export function RunbookForm(props: IFormProps): JSX.Element {
  const { runbook, mode, model, onDone } = props;
  const source = runbook.schema ?? { type: 'object', properties: {} };
  const schema = React.useMemo(() => formSchema(source), [runbook]);
  const uiSchema = React.useMemo(() => uiSchemaFor(source), [runbook]);
  const [values, setValues] = React.useState(() => initialValues(source));
  const [touched, setTouched] = React.useState(false);
  const [extraErrors, setExtraErrors] = React.useState<
    ErrorSchema | undefined
  >();
  const [failure, setFailure] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const [executor, setExecutor] = React.useState<Executor>('local');
  const [timeLimit, setTimeLimit] = React.useState('');
  const limit = parseTimeLimit(timeLimit);
  const [cron, setCron] = React.useState(runbook.schedule ?? '0 6 * * *');
  const [scheduleName, setScheduleName] = React.useState('');
  const preview = describeCron(cron);

  const onChange = (event: IChangeEvent): void => {
    setValues((event.formData ?? {}) as Record<string, unknown>);
    setTouched(true);
    setExtraErrors(undefined);
    setFailure(null);
  };

  const onSubmit = async (event: IChangeEvent): Promise<void> => {
    const formData = (event.formData ?? {}) as Record<string, unknown>;
    if (mode === 'schedule' && !preview.ok) {
      setFailure(`cron: ${preview.text}`);
      return;
    }
    if (mode === 'run' && limit.error) {
      return; // shown under the field
    }
    setBusy(true);
    setFailure(null);
    try {
      const parameters = valuesToSend(source, formData);
      if (mode === 'run') {
        const answer = await api.startRun(
          runbook.name,
          parameters,
          executor,
          limit.seconds
        );
        model.addRun(answer.run);
      } else {
        await api.schedule(runbook.name, {
          cron,
          parameters,
          ...(scheduleName.trim() ? { name: scheduleName.trim() } : {})
        });
        void model.refreshSchedules();
      }
      onDone();
    } catch (error) {
      if (error instanceof HxbApiError && Object.keys(error.fields).length) {
        setExtraErrors(serverErrorSchema(source, error.fields));
        const others = Object.entries(error.fields).filter(
          ([name]) => !(name in (source.properties ?? {}))
        );
        setFailure(
          others.length
            ? others
                .map(([name, msgs]) => `${name}: ${msgs.join('; ')}`)
                .join('\n')
            : 'The server found a problem: see the fields above.'
        );
      } else {
        setFailure(error instanceof Error ? error.message : String(error));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <div
      className={`hxb-RunForm hxb-RunForm-${mode}`}
      data-runbook={runbook.name}
    >
      {runbook.description && (
        <p className="hxb-RunForm-description">{runbook.description}</p>
      )}
      {mode === 'schedule' && (
        <div className="hxb-RunForm-cron">
          <label>
            Cron (UTC)
            <input
              className="jp-mod-styled hxb-RunForm-cronInput"
              value={cron}
              onChange={e => setCron(e.target.value)}
              spellCheck={false}
            />
          </label>
          <div
            className={`hxb-RunForm-cronPreview ${preview.ok ? '' : 'hxb-mod-error'}`}
          >
            {preview.text}
          </div>
          <label>
            Schedule name (optional)
            <input
              className="jp-mod-styled"
              value={scheduleName}
              placeholder={`rb-${runbook.name}`}
              onChange={e => setScheduleName(e.target.value)}
            />
          </label>
        </div>
      )}
      <FormComponent
        schema={schema}
        uiSchema={
          uiSchema as any /* rjsf types of Lab's copy and ours differ only in name */
        }
        formData={values as any}
        validator={validator as any}
        liveValidate={touched}
        showErrorList={false}
        noHtml5Validate={true}
        transformErrors={transformErrors}
        extraErrors={extraErrors as any}
        onChange={onChange}
        onSubmit={e => void onSubmit(e)}
        compact={true}
      >
        <div className="hxb-RunForm-actions">
          {mode === 'run' && (
            <div className="hxb-RunForm-options">
              <label className="hxb-RunForm-executor">
                Run on
                <select
                  className="jp-mod-styled"
                  value={executor}
                  onChange={e => setExecutor(e.target.value as Executor)}
                >
                  {executorChoices(model.executors).map(([value, label]) => (
                    <option key={value} value={value}>
                      {label}
                    </option>
                  ))}
                </select>
              </label>
              <label className="hxb-RunForm-timeLimit">
                Time limit (s)
                <input
                  className="jp-mod-styled"
                  inputMode="decimal"
                  value={timeLimit}
                  placeholder="the runbook’s default"
                  aria-invalid={limit.error ? true : undefined}
                  onChange={e => {
                    setTimeLimit(e.target.value);
                    setFailure(null);
                  }}
                />
              </label>
              {limit.error && (
                <div className="hxb-RunForm-timeLimitError" role="alert">
                  {limit.error}
                </div>
              )}
            </div>
          )}
          <button
            type="submit"
            className="jp-mod-styled jp-mod-accept hxb-RunForm-submit"
            disabled={busy || (mode === 'run' && limit.error !== undefined)}
          >
            {busy ? 'Starting…' : mode === 'run' ? 'Run' : 'Schedule'}
          </button>
        </div>
      </FormComponent>
      {failure && (
        <div className="hxb-RunForm-failure" role="alert">
          {failure}
        </div>
      )}
    </div>
  );
}

/** Open the Run (or Schedule) dialog of a runbook; resolves when it closes. */
export async function openRunbookDialog(
  model: HxbModel,
  runbook: IRunbook,
  mode: FormMode
): Promise<void> {
  let dialog: Dialog<unknown> | null = null;
  const body = ReactWidget.create(
    <RunbookForm
      runbook={runbook}
      mode={mode}
      model={model}
      onDone={() => dialog?.resolve(0)}
    />
  );
  body.addClass('hxb-RunDialog-body');
  dialog = new Dialog({
    title: `${mode === 'run' ? 'Run' : 'Schedule'}: ${runbook.title}`,
    body,
    buttons: [Dialog.cancelButton({ label: 'Close' })],
    hasClose: true
  });
  dialog.addClass('hxb-RunDialog');
  await dialog.launch();
  dialog.dispose();
}
