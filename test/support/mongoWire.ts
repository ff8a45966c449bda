/**
 * MongoDB wire-protocol framing for the test server: splitting a TCP byte stream into
 * messages, decoding OP_QUERY / OP_MSG requests and encoding OP_REPLY / OP_MSG replies.
 * See https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/.
 */
import { BSON, type Document } from 'bson';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;

const HEADER_SIZE = 16;
const MSG_CHECKSUM_PRESENT = 1;
export const MSG_MORE_TO_COME = 2;

export interface WireMessage {
  requestId: number;
  opCode: number;
  /** The command document (kind-0 section or OP_QUERY query), with kind-1 sequences merged in. */
  command: Document;
  /** OP_QUERY's full collection name (e.g. `admin.$cmd`); empty for OP_MSG. */
  fullCollectionName: string;
  /** OP_MSG flag bits (0 for OP_QUERY). */
  flags: number;
}

/** Accumulates TCP chunks and yields complete messages (partial frames wait for more data). */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const frames: Buffer[] = [];
    while (this.buffer.length >= 4) {
      const length = this.buffer.readInt32LE(0);
      if (length < HEADER_SIZE) throw new Error(`invalid message length ${length}`);
      if (this.buffer.length < length) break;
      frames.push(this.buffer.subarray(0, length));
      this.buffer = this.buffer.subarray(length);
    }
    return frames;
  }
}

function readCString(buf: Buffer, offset: number): [string, number] {
  const end = buf.indexOf(0, offset);
  if (end < 0) throw new Error('unterminated cstring');
  return [buf.toString('utf8', offset, end), end + 1];
}

function readDocument(buf: Buffer, offset: number): [Document, number] {
  const size = buf.readInt32LE(offset);
  return [BSON.deserialize(buf.subarray(offset, offset + size)), offset + size];
}

/** Decodes one complete frame; returns undefined for op codes this server does not speak. */
export function decodeMessage(frame: Buffer): WireMessage | undefined {
  const requestId = frame.readInt32LE(4);
  const opCode = frame.readInt32LE(12);
  if (opCode === OP_QUERY) {
    // flags, fullCollectionName, numberToSkip, numberToReturn, query[, returnFieldsSelector]
    const [fullCollectionName, afterName] = readCString(frame, HEADER_SIZE + 4);
    const [command] = readDocument(frame, afterName + 8);
    return { requestId, opCode, command, fullCollectionName, flags: 0 };
  }
  if (opCode !== OP_MSG) return undefined;
  const flags = frame.readUInt32LE(HEADER_SIZE);
  const end = flags & MSG_CHECKSUM_PRESENT ? frame.length - 4 : frame.length;
  let offset = HEADER_SIZE + 4;
  let command: Document | undefined;
  const sequences: Record<string, Document[]> = {};
  while (offset < end) {
    const kind = frame.readUInt8(offset);
    offset += 1;
    if (kind === 0) {
      [command, offset] = readDocument(frame, offset);
    } else if (kind === 1) {
      const sectionEnd = offset + frame.readInt32LE(offset);
      const [identifier, docsStart] = readCString(frame, offset + 4);
      const docs: Document[] = [];
      let at = docsStart;
      while (at < sectionEnd) {
        const [doc, next] = readDocument(frame, at);
        docs.push(doc);
        at = next;
      }
      sequences[identifier] = docs;
      offset = sectionEnd;
    } else {
      throw new Error(`unknown OP_MSG section kind ${kind}`);
    }
  }
  if (!command) throw new Error('OP_MSG without a kind-0 section');
  for (const [identifier, docs] of Object.entries(sequences)) {
    command[identifier] = [...((command[identifier] as Document[] | undefined) ?? []), ...docs];
  }
  return { requestId, opCode, command, fullCollectionName: '', flags };
}

let nextRequestId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const buf = Buffer.alloc(HEADER_SIZE);
  buf.writeInt32LE(length, 0);
  buf.writeInt32LE(nextRequestId++ & 0x7fffffff, 4);
  buf.writeInt32LE(responseTo, 8);
  buf.writeInt32LE(opCode, 12);
  return buf;
}

/** OP_MSG reply: flags 0 and one kind-0 section. */
export function encodeMsgReply(responseTo: number, doc: Document): Buffer {
  const body = BSON.serialize(doc);
  const prefix = Buffer.alloc(5); // flagBits (0) + section kind (0)
  const length = HEADER_SIZE + prefix.length + body.length;
  return Buffer.concat([header(length, responseTo, OP_MSG), prefix, body]);
}

/** OP_REPLY (legacy handshake answer): one document, no cursor. */
export function encodeOpReply(responseTo: number, doc: Document): Buffer {
  const body = BSON.serialize(doc);
  const fields = Buffer.alloc(20); // responseFlags, cursorID (int64), startingFrom, numberReturned
  fields.writeInt32LE(1, 16);
  const length = HEADER_SIZE + fields.length + body.length;
  return Buffer.concat([header(length, responseTo, OP_REPLY), fields, body]);
}
