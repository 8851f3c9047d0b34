/**
 * Applies the schema's defaults to a sink's options and checks them, so a
 * factory called directly (tests, embedders) behaves like one called by the
 * runner after validation. Defaults stay in the schema, not here.
 */
import { FormatRegistry, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { SinkConfigError } from './errors.js';

// TypeBox checks a `format` only when one is registered; the schema uses `uri`.
if (!FormatRegistry.Has('uri')) FormatRegistry.Set('uri', (value) => URL.canParse(value));

export function resolveOptions<S extends TSchema>(schema: S, input: unknown, sink: string): Static<S> {
  const value: unknown = Value.Default(schema, Value.Clone(input));
  const first = Value.Errors(schema, value).First();
  if (first) {
    const field = first.path.replace(/^\//, '').replaceAll('/', '.') || '(options)';
    const secret = (first.schema as { 'x-secret'?: boolean })['x-secret'] === true;
    throw new SinkConfigError(sink, field, secret ? first.message : `${first.message} (got ${JSON.stringify(first.value)})`);
  }
  return value;
}
