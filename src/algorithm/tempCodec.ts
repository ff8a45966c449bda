// TEMPORARY until the values branch lands its codec.
import { deserializeValue, serializeValue } from '../serialize.js';
export interface ValueCodec {
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
  check(value: unknown): void;
}
export function makeValueCodec(): ValueCodec {
  return {
    encode: (value) => serializeValue(value),
    decode: (bytes) => deserializeValue(bytes),
    check: () => undefined,
  };
}
