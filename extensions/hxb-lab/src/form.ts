/**
 * The Run form, generated from a runbook's JSON Schema (as `GET runbooks`
 * returns it): the schema the form renders, its uiSchema, client-side
 * validation with friendly messages, what is sent to the server, and server
 * validation errors placed on the fields they name. Pure functions, no DOM.
 */
import type {
  ErrorSchema,
  RJSFSchema,
  RJSFValidationError,
  UiSchema
} from '@rjsf/utils';
// This module is loaded only with the Run dialog, which the plugin imports
// with `await import('./rundialog')`, so the validator loads with it.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import validator from '@rjsf/validator-ajv8';
import type { Executor } from './api';

/** The mask the server shows for a secret's default. */
export const MASK = '***';

/** A runbook parameter schema property, with HXB Lab's own `x-hxb-*` keys. */
export interface IParameterSchema {
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  items?: { type?: string };
  format?: string;
  writeOnly?: boolean;
  'x-hxb-secret'?: boolean;
  'x-hxb-default-expression'?: string;
  [key: string]: unknown;
}

/** A runbook's parameters schema, as the server derives it from the parameters cell. */
export interface IRunbookSchema {
  $schema?: string;
  type?: string;
  title?: string;
  description?: string;
  properties?: Record<string, IParameterSchema>;
  required?: string[];
  additionalProperties?: boolean;
  [key: string]: unknown;
}

/** Messages per field name; `''` holds those that name no field. */
export type FieldErrors = Record<string, string[]>;

function properties(schema: IRunbookSchema): Record<string, IParameterSchema> {
  return schema.properties ?? {};
}

function isSecret(prop: IParameterSchema): boolean {
  return prop['x-hxb-secret'] === true;
}

/**
 * The schema the form renders: the runbook's, without `$schema` (the form's
 * validator speaks draft-07; the keywords used are the same), without the
 * title and description (the dialog shows them), and with secrets starting
 * empty rather than at the masked default.
 */
export function formSchema(schema: IRunbookSchema): RJSFSchema {
  const props: Record<string, IParameterSchema> = {};
  for (const [name, prop] of Object.entries(properties(schema))) {
    const copy: IParameterSchema = { ...prop, title: name };
    if (isSecret(prop)) {
      delete copy.default;
    }
    props[name] = copy;
  }
  const result: IRunbookSchema = {
    type: 'object',
    properties: props,
    required: [...(schema.required ?? [])],
    additionalProperties: false
  };
  return result as RJSFSchema;
}

/** Widgets and order: parameters as the runbook lists them, secrets as password fields. */
export function uiSchemaFor(schema: IRunbookSchema): UiSchema {
  const ui: UiSchema = {
    'ui:order': Object.keys(properties(schema)),
    'ui:submitButtonOptions': { norender: true }
  };
  for (const [name, prop] of Object.entries(properties(schema))) {
    const field: Record<string, unknown> = {};
    if (isSecret(prop)) {
      field['ui:widget'] = 'password';
      field['ui:placeholder'] =
        prop.default === MASK
          ? 'leave empty to keep the runbook’s secret'
          : 'redacted in reports and history';
    } else if (prop['x-hxb-default-expression']) {
      field['ui:placeholder'] = `default: ${prop['x-hxb-default-expression']}`;
    }
    if (Object.keys(field).length) {
      ui[name] = field;
    }
  }
  return ui;
}

/** The values the form starts with: every default but the secrets'. */
export function initialValues(schema: IRunbookSchema): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(properties(schema))) {
    if (prop.default !== undefined && !isSecret(prop)) {
      values[name] = structuredCloneJSON(prop.default);
    }
  }
  return values;
}

function structuredCloneJSON<T>(value: T): T {
  return value === undefined ? value : JSON.parse(JSON.stringify(value));
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * What the Run button sends: the values a user set. A value equal to its
 * default is left out (the server applies defaults), and so is an empty or
 * masked secret, so a masked default never travels back as a value.
 */
export function valuesToSend(
  schema: IRunbookSchema,
  values: Record<string, unknown>
): Record<string, unknown> {
  const props = properties(schema);
  const sent: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    const prop = props[name];
    if (value === undefined || prop === undefined) {
      continue;
    }
    if (isSecret(prop)) {
      if (value !== '' && value !== MASK && value !== null) {
        sent[name] = value;
      }
      continue;
    }
    if ('default' in prop && sameValue(value, prop.default)) {
      continue;
    }
    sent[name] = value;
  }
  return sent;
}

function typeName(expected: unknown): string {
  switch (expected) {
    case 'integer':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'string':
      return 'text';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping';
    default:
      return String(expected);
  }
}

/** The field an rjsf/ajv error is about (`.replicas` → `replicas`). */
export function errorField(error: RJSFValidationError): string {
  const params = (error.params ?? {}) as Record<string, unknown>;
  if (error.name === 'required' && typeof params.missingProperty === 'string') {
    return params.missingProperty;
  }
  if (
    error.name === 'additionalProperties' &&
    typeof params.additionalProperty === 'string'
  ) {
    return params.additionalProperty;
  }
  const property = (error.property ?? '').replace(/^\./, '');
  return property.split('.')[0].replace(/\[.*$/, '');
}

/** An ajv message in the words of the rest of HXB Lab. */
export function friendlyMessage(error: RJSFValidationError): string {
  const params = (error.params ?? {}) as Record<string, unknown>;
  switch (error.name) {
    case 'required':
      return 'is required';
    case 'type': {
      const expected = Array.isArray(params.type)
        ? (params.type as unknown[])
            .filter(t => t !== 'null')
            .map(typeName)
            .join(' or ')
        : typeName(params.type);
      return `must be ${expected}`;
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[] | undefined) ?? [];
      return `must be one of: ${allowed.map(v => String(v)).join(', ')}`;
    }
    case 'additionalProperties':
      return 'is not a parameter of this runbook';
    default:
      return error.message ?? 'is not valid';
  }
}

/** rjsf's transformErrors: friendly messages, shown under each field. */
export function transformErrors(
  errors: RJSFValidationError[]
): RJSFValidationError[] {
  return errors.map(error => {
    const field = errorField(error);
    const message = friendlyMessage(error);
    return {
      ...error,
      property: field ? `.${field}` : error.property,
      message,
      stack: field ? `${field}: ${message}` : message
    };
  });
}

/** Validate values in the browser exactly as the form does; messages per field. */
export function clientErrors(
  schema: IRunbookSchema,
  values: Record<string, unknown>
): FieldErrors {
  const result = validator.validateFormData(values, formSchema(schema));
  const found: FieldErrors = {};
  for (const error of transformErrors(result.errors)) {
    const field = errorField(error);
    (found[field] ??= []).push(error.message ?? 'is not valid');
  }
  return found;
}

/**
 * Server validation problems (`fields` of a ParameterError answer) as rjsf
 * `extraErrors`, so each message shows on the field it names; messages for
 * names the form does not have go to the form's top.
 */
export function serverErrorSchema(
  schema: IRunbookSchema,
  fields: FieldErrors | undefined
): ErrorSchema {
  const props = properties(schema);
  const errors: Record<string, { __errors: string[] }> & {
    __errors?: string[];
  } = {};
  for (const [name, messages] of Object.entries(fields ?? {})) {
    if (name in props) {
      errors[name] = { __errors: [...messages] };
    } else {
      const top = (errors.__errors ??= []);
      top.push(...messages.map(m => (name ? `${name}: ${m}` : m)));
    }
  }
  return errors as unknown as ErrorSchema;
}

/**
 * The Run dialog's time limit, as typed: empty means none (the runbook's
 * `hxb_lab.timeout_s`, else the profile's `runbooks.timeout_s` applies);
 * otherwise seconds above zero, finite. `error` is the inline message.
 */
export interface ITimeLimit {
  seconds?: number;
  error?: string;
}

export function parseTimeLimit(text: string): ITimeLimit {
  const typed = text.trim();
  if (!typed) {
    return {};
  }
  const seconds = Number(typed);
  if (!Number.isFinite(seconds)) {
    return { error: 'Time limit: give a number of seconds, or leave it empty' };
  }
  if (seconds <= 0) {
    return { error: 'Time limit: give seconds above 0, or leave it empty' };
  }
  return { seconds };
}

export { validator };

const EXECUTOR_LABELS: Record<Executor, string> = {
  local: 'this Jupyter server',
  kubernetes: 'Kubernetes (a Job)'
};

/** The "Run on" choices: only the executors the server says the profile can use. */
export function executorChoices(
  executors: readonly Executor[]
): [Executor, string][] {
  const known = executors.filter(e => e in EXECUTOR_LABELS);
  return (known.length ? known : (['local'] as Executor[])).map(e => [
    e,
    EXECUTOR_LABELS[e]
  ]);
}
