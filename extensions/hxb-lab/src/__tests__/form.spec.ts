import {
  executorChoices,
  clientErrors,
  formSchema,
  initialValues,
  MASK,
  serverErrorSchema,
  uiSchemaFor,
  valuesToSend,
  IRunbookSchema
} from '../form';

/** The schema the server derives from tests/server/fixtures/checks.ipynb. */
const CHECKS: IRunbookSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  title: 'Service checks',
  properties: {
    service: { type: 'string', description: 'Service to check' },
    replicas: { type: 'integer', default: 2, description: 'How many replicas' },
    mode: { enum: ['quick', 'full'], type: 'string', default: 'quick' },
    hosts: { type: 'array', items: { type: 'string' }, default: ['gpu-1'] },
    threshold_ms: { type: ['number', 'null'], default: null },
    token: {
      type: 'string',
      format: 'password',
      writeOnly: true,
      'x-hxb-secret': true,
      default: MASK
    }
  },
  required: ['service'],
  additionalProperties: false
};

describe('formSchema', () => {
  it('drops $schema, keeps types, enums and required, titles each field by its name', () => {
    const schema = formSchema(CHECKS) as any;
    expect(schema.$schema).toBeUndefined();
    expect(schema.required).toEqual(['service']);
    expect(schema.properties.mode.enum).toEqual(['quick', 'full']);
    expect(schema.properties.replicas).toMatchObject({
      type: 'integer',
      title: 'replicas'
    });
    expect(schema.additionalProperties).toBe(false);
  });

  it('never starts a secret at its masked default', () => {
    expect(
      (formSchema(CHECKS) as any).properties.token.default
    ).toBeUndefined();
    expect(initialValues(CHECKS)).toEqual({
      replicas: 2,
      mode: 'quick',
      hosts: ['gpu-1'],
      threshold_ms: null
    });
  });

  it('does not share default objects with the schema', () => {
    const values = initialValues(CHECKS);
    (values.hosts as string[]).push('gpu-2');
    expect(CHECKS.properties!.hosts.default).toEqual(['gpu-1']);
  });
});

describe('uiSchemaFor', () => {
  it('orders fields as the runbook does and makes secrets password fields', () => {
    const ui = uiSchemaFor(CHECKS);
    expect(ui['ui:order']).toEqual([
      'service',
      'replicas',
      'mode',
      'hosts',
      'threshold_ms',
      'token'
    ]);
    expect(ui.token['ui:widget']).toBe('password');
    expect(ui.token['ui:placeholder']).toMatch(/keep the runbook/);
    expect(ui.service).toBeUndefined();
  });
});

describe('clientErrors', () => {
  it('accepts the defaults plus the required value', () => {
    expect(
      clientErrors(CHECKS, { ...initialValues(CHECKS), service: 'checkout' })
    ).toEqual({});
  });

  it('names every invalid field with a friendly message', () => {
    const errors = clientErrors(CHECKS, {
      replicas: 1.5,
      mode: 'slow',
      hosts: ['a'],
      colour: 'red'
    });
    expect(errors).toEqual({
      service: ['is required'],
      replicas: ['must be a whole number'],
      mode: ['must be one of: quick, full'],
      colour: ['is not a parameter of this runbook']
    });
  });

  it('accepts null for a nullable parameter and says what else fits', () => {
    expect(clientErrors(CHECKS, { service: 's', threshold_ms: null })).toEqual(
      {}
    );
    expect(
      clientErrors(CHECKS, { service: 's', threshold_ms: 'fast' })
    ).toEqual({
      threshold_ms: ['must be a number']
    });
  });
});

describe('valuesToSend', () => {
  it('sends only what differs from the defaults, and never an empty or masked secret', () => {
    const values = { ...initialValues(CHECKS), service: 'checkout', token: '' };
    expect(valuesToSend(CHECKS, values)).toEqual({ service: 'checkout' });
    expect(valuesToSend(CHECKS, { ...values, token: MASK })).toEqual({
      service: 'checkout'
    });
    expect(
      valuesToSend(CHECKS, { ...values, replicas: 3, token: 'tok' })
    ).toEqual({
      service: 'checkout',
      replicas: 3,
      token: 'tok'
    });
  });

  it('sends a changed list whole', () => {
    expect(
      valuesToSend(CHECKS, { service: 's', hosts: ['gpu-1', 'gpu-2'] })
    ).toEqual({
      service: 's',
      hosts: ['gpu-1', 'gpu-2']
    });
  });
});

describe('serverErrorSchema', () => {
  it('puts each server message on the field it names, the rest at the top', () => {
    const errors = serverErrorSchema(CHECKS, {
      replicas: ["expected an integer, got 'three' (str)"],
      colour: ['unknown parameter']
    }) as any;
    expect(errors.replicas.__errors).toEqual([
      "expected an integer, got 'three' (str)"
    ]);
    expect(errors.__errors).toEqual(['colour: unknown parameter']);
    expect(serverErrorSchema(CHECKS, undefined)).toEqual({});
  });
});

describe('executorChoices', () => {
  it('offers Kubernetes only when the server says the profile can use it', () => {
    expect(executorChoices(['local'])).toEqual([
      ['local', 'this Jupyter server']
    ]);
    expect(executorChoices(['local', 'kubernetes']).map(([e]) => e)).toEqual([
      'local',
      'kubernetes'
    ]);
    expect(executorChoices([])).toEqual([['local', 'this Jupyter server']]);
  });
});
