/**
 * A wire-level fake MongoDB server for tests, on node:net.
 *
 * Why not mongodb-mock-server: version 2.0.1 only parses the legacy opcodes (OP_QUERY); the
 * Node driver 6.x talks to it only because it recognises the mock's `__nodejs_mock_server__`
 * flag and downgrades to OP_QUERY, a path no real MongoDB 4.2+ server ever takes. This fake
 * speaks what the driver speaks to a real server: the first `hello` arrives as OP_QUERY and is
 * answered with OP_REPLY, every later command is OP_MSG.
 *
 * Replies follow MongoDB's documented command shapes: cursors carry `firstBatch` / `nextBatch`
 * with an int64 cursor id (0 when exhausted); failures are `{ ok: 0, errmsg, code, codeName }`.
 * Authentication is real SCRAM-SHA-256 against the users given to `start()`.
 *
 * Collections hold documents in memory. `find` understands the small query language the
 * connector sends (equality, $gt/$gte/$lt/$lte/$in, $and/$or), sort, projection and batchSize;
 * `aggregate` understands a leading `$sample` (it returns the first N documents, deterministic for
 * tests). Anything else answers CommandNotFound, so an unexpected command fails loudly.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { BSON, Binary, Long, ObjectId, type Document } from 'mongodb';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

export interface FakeMongoUser {
  user: string;
  password: string;
  /** authentication database, default `admin` */
  db?: string;
}

export interface ReceivedCommand {
  name: string;
  db: string;
  body: Document;
}

export type CommandHandler = (body: Document, db: string) => Document | Promise<Document>;

interface FakeCursor {
  ns: string;
  docs: Document[];
  position: number;
  batchSize: number;
}

interface ScramConversation {
  user: FakeMongoUser;
  clientFirstBare: string;
  serverFirst: string;
  nonce: string;
  salt: Buffer;
}

const ITERATIONS = 4096;

export function mongoError(code: number, codeName: string, errmsg: string): Document {
  return { ok: 0, errmsg, code, codeName };
}

export class FakeMongoServer {
  /** every command received, in order (heartbeat `hello`s included; filter with `commandsNamed`) */
  readonly received: ReceivedCommand[] = [];
  private readonly collections = new Map<string, { docs: Document[]; type: 'collection' | 'view' }>();
  private readonly cursors = new Map<number, FakeCursor>();
  private readonly overrides = new Map<string, CommandHandler[]>();
  private readonly conversations = new Map<number, ScramConversation>();
  private readonly sockets = new Set<Socket>();
  private nextCursorId = 1000;
  private nextConversation = 1;
  private nextRequestId = 1;
  private constructor(
    private readonly server: Server,
    private readonly users: FakeMongoUser[],
  ) {}

  static async start(opts: { users?: FakeMongoUser[] } = {}): Promise<FakeMongoServer> {
    const server = createServer();
    const fake = new FakeMongoServer(server, opts.users ?? []);
    server.on('connection', (socket) => fake.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get host(): string {
    return '127.0.0.1';
  }

  /** a connection string without credentials; `directConnection` as for a standalone server */
  uri(db = 'test'): string {
    return `mongodb://${this.host}:${this.port}/${db}?directConnection=true`;
  }

  addCollection(db: string, name: string, docs: Document[], type: 'collection' | 'view' = 'collection'): void {
    this.collections.set(`${db}.${name}`, { docs, type });
  }

  /** answer the next `name` command with this handler instead of the built-in behaviour (queue) */
  override(name: string, handler: CommandHandler): void {
    const queue = this.overrides.get(name) ?? [];
    queue.push(handler);
    this.overrides.set(name, queue);
  }

  commandsNamed(name: string): ReceivedCommand[] {
    return this.received.filter((c) => c.name === name);
  }

  /** open cursors the server still holds (a reader that stops early must kill its cursor) */
  get openCursors(): number {
    return this.cursors.size;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- wire protocol ----------------------------------------------------------------------

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= buffered.readInt32LE(0)) {
        const size = buffered.readInt32LE(0);
        const message = buffered.subarray(0, size);
        buffered = buffered.subarray(size);
        void this.onMessage(socket, message);
      }
    });
  }

  private async onMessage(socket: Socket, message: Buffer): Promise<void> {
    const requestId = message.readInt32LE(4);
    const opCode = message.readInt32LE(12);
    if (opCode === OP_QUERY) {
      // flags(4) fullCollectionName(cstring) skip(4) return(4) query(doc)
      const nameEnd = message.indexOf(0, 20);
      const collection = message.toString('utf8', 20, nameEnd);
      const body = BSON.deserialize(message.subarray(nameEnd + 9));
      const reply = await this.dispatch(body, collection.split('.')[0]);
      socket.write(this.opReply(requestId, reply));
      return;
    }
    if (opCode === OP_MSG) {
      const body = parseOpMsg(message);
      const reply = await this.dispatch(body, String(body.$db ?? 'admin'));
      socket.write(this.opMsg(requestId, reply));
      return;
    }
    socket.destroy();
  }

  private opReply(responseTo: number, doc: Document): Buffer {
    const bson = BSON.serialize(doc);
    const header = Buffer.alloc(36);
    header.writeInt32LE(36 + bson.length, 0);
    header.writeInt32LE(this.nextRequestId++, 4);
    header.writeInt32LE(responseTo, 8);
    header.writeInt32LE(OP_REPLY, 12);
    header.writeInt32LE(0, 16); // responseFlags
    header.writeBigInt64LE(0n, 20); // cursorID
    header.writeInt32LE(0, 28); // startingFrom
    header.writeInt32LE(1, 32); // numberReturned
    return Buffer.concat([header, bson]);
  }

  private opMsg(responseTo: number, doc: Document): Buffer {
    const bson = BSON.serialize(doc);
    const header = Buffer.alloc(21);
    header.writeInt32LE(21 + bson.length, 0);
    header.writeInt32LE(this.nextRequestId++, 4);
    header.writeInt32LE(responseTo, 8);
    header.writeInt32LE(OP_MSG, 12);
    header.writeUInt32LE(0, 16); // flagBits
    header.writeUInt8(0, 20); // section kind 0: body
    return Buffer.concat([header, bson]);
  }

  // ---- commands -----------------------------------------------------------------------------

  private async dispatch(body: Document, db: string): Promise<Document> {
    const name = Object.keys(body)[0] ?? '';
    this.received.push({ name, db, body });
    const override = this.overrides.get(name)?.shift();
    if (override) return override(body, db);
    switch (name) {
      case 'hello':
      case 'isMaster':
      case 'ismaster':
        return this.hello(body);
      case 'ping':
      case 'endSessions':
        return { ok: 1 };
      case 'buildInfo':
        return { version: '7.0.0', versionArray: [7, 0, 0, 0], ok: 1 };
      case 'saslStart':
        return this.saslStart(body, db);
      case 'saslContinue':
        return this.saslContinue(body);
      case 'listCollections':
        return this.listCollections(body, db);
      case 'count':
        return { n: this.collections.get(`${db}.${String(body.count)}`)?.docs.length ?? 0, ok: 1 };
      case 'find':
        return this.find(body, db);
      case 'aggregate':
        return this.aggregate(body, db);
      case 'getMore':
        return this.getMore(body);
      case 'killCursors':
        return this.killCursors(body);
      default:
        return mongoError(59, 'CommandNotFound', `no such command: '${name}'`);
    }
  }

  private hello(body: Document): Document {
    const reply: Document = {
      helloOk: true,
      isWritablePrimary: true,
      ismaster: true,
      maxBsonObjectSize: 16 * 1024 * 1024,
      maxMessageSizeBytes: 48_000_000,
      maxWriteBatchSize: 100_000,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId: 1,
      minWireVersion: 0,
      maxWireVersion: 21,
      readOnly: false,
      ok: 1,
    }; // no topologyVersion: the driver monitors by polling plain hellos, not streaming
    if (typeof body.saslSupportedMechs === 'string') reply.saslSupportedMechs = ['SCRAM-SHA-256'];
    return reply;
  }

  private saslStart(body: Document, db: string): Document {
    if (body.mechanism !== 'SCRAM-SHA-256') {
      return mongoError(2, 'BadValue', `Unsupported mechanism ${String(body.mechanism)}`);
    }
    const clientFirst = bytes(body.payload).toString('utf8');
    const clientFirstBare = clientFirst.replace(/^n,,/, '');
    const attrs = parseScram(clientFirstBare);
    const user = this.users.find((u) => u.user === attrs.n && (u.db ?? 'admin') === db);
    if (!user) return authFailed();
    const nonce = `${attrs.r}${randomBytes(18).toString('base64')}`;
    const salt = randomBytes(16);
    const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${ITERATIONS}`;
    const conversationId = this.nextConversation++;
    this.conversations.set(conversationId, { user, clientFirstBare, serverFirst, nonce, salt });
    return { conversationId, done: false, payload: new Binary(Buffer.from(serverFirst)), ok: 1 };
  }

  private saslContinue(body: Document): Document {
    const conv = this.conversations.get(Number(body.conversationId));
    if (!conv) return mongoError(17, 'ProtocolError', 'No SASL session state found');
    this.conversations.delete(Number(body.conversationId));
    const clientFinal = bytes(body.payload).toString('utf8');
    const attrs = parseScram(clientFinal);
    const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
    if (attrs.r !== conv.nonce) return authFailed();
    const salted = pbkdf2Sync(conv.user.password.normalize('NFKC'), conv.salt, ITERATIONS, 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const authMessage = `${conv.clientFirstBare},${conv.serverFirst},${withoutProof}`;
    const clientSignature = hmac(storedKey, authMessage);
    const proof = Buffer.from(attrs.p ?? '', 'base64');
    if (proof.length !== clientSignature.length) return authFailed();
    const recoveredKey = Buffer.from(proof.map((b, i) => b ^ clientSignature[i]));
    const recoveredStored = createHash('sha256').update(recoveredKey).digest();
    if (!timingSafeEqual(recoveredStored, storedKey)) return authFailed();
    const serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return {
      conversationId: Number(body.conversationId),
      done: true,
      payload: new Binary(Buffer.from(`v=${serverSignature.toString('base64')}`)),
      ok: 1,
    };
  }

  private listCollections(body: Document, db: string): Document {
    const prefix = `${db}.`;
    const docs = [...this.collections.entries()]
      .filter(([ns]) => ns.startsWith(prefix))
      .map(([ns, c]) => ({ name: ns.slice(prefix.length), type: c.type, options: {}, info: { readOnly: c.type === 'view' } }));
    const batchSize = (body.cursor as Document | undefined)?.batchSize as number | undefined;
    return this.openCursor(`${db}.$cmd.listCollections`, docs, batchSize);
  }

  private find(body: Document, db: string): Document {
    const ns = `${db}.${String(body.find)}`;
    const coll = this.collections.get(ns);
    let docs = (coll?.docs ?? []).filter((d) => matches(d, (body.filter as Document | undefined) ?? {}));
    if (body.sort) docs = sortDocs(docs, body.sort as Document);
    if (typeof body.limit === 'number' && body.limit > 0) docs = docs.slice(0, body.limit);
    if (body.projection) docs = docs.map((d) => project(d, body.projection as Document));
    return this.openCursor(ns, docs, body.batchSize as number | undefined, Boolean(body.singleBatch));
  }

  private aggregate(body: Document, db: string): Document {
    const ns = `${db}.${String(body.aggregate)}`;
    const pipeline = (body.pipeline as Document[] | undefined) ?? [];
    const sample = pipeline[0]?.$sample as { size?: number } | undefined;
    if (!sample || pipeline.length > 2) {
      return mongoError(40324, 'Location40324', 'the fake only supports [{$sample}] and [{$sample},{$project}]');
    }
    let docs = (this.collections.get(ns)?.docs ?? []).slice(0, sample.size ?? 0);
    const projection = pipeline[1]?.$project as Document | undefined;
    if (projection) docs = docs.map((d) => project(d, projection));
    return this.openCursor(ns, docs, (body.cursor as Document | undefined)?.batchSize as number | undefined);
  }

  private openCursor(ns: string, docs: Document[], batchSize = 101, singleBatch = false): Document {
    const size = batchSize > 0 ? batchSize : 101;
    const firstBatch = docs.slice(0, size);
    if (singleBatch || docs.length <= size) {
      return { cursor: { id: Long.ZERO, ns, firstBatch }, ok: 1 };
    }
    const id = this.nextCursorId++;
    this.cursors.set(id, { ns, docs, position: size, batchSize: size });
    return { cursor: { id: Long.fromNumber(id), ns, firstBatch }, ok: 1 };
  }

  private getMore(body: Document): Document {
    const id = Number(body.getMore);
    const cursor = this.cursors.get(id);
    if (!cursor) return mongoError(43, 'CursorNotFound', `cursor id ${id} not found`);
    const size = typeof body.batchSize === 'number' && body.batchSize > 0 ? body.batchSize : cursor.batchSize;
    const nextBatch = cursor.docs.slice(cursor.position, cursor.position + size);
    cursor.position += size;
    const exhausted = cursor.position >= cursor.docs.length;
    if (exhausted) this.cursors.delete(id);
    return { cursor: { id: exhausted ? Long.ZERO : Long.fromNumber(id), ns: cursor.ns, nextBatch }, ok: 1 };
  }

  private killCursors(body: Document): Document {
    const ids = ((body.cursors as unknown[] | undefined) ?? []).map((v) => Number(v));
    const killed = ids.filter((id) => this.cursors.delete(id));
    return { cursorsKilled: killed.map((id) => Long.fromNumber(id)), cursorsNotFound: [], cursorsAlive: [], ok: 1 };
  }
}

// ---- helpers ------------------------------------------------------------------------------

function parseOpMsg(message: Buffer): Document {
  const flags = message.readUInt32LE(16);
  const end = flags & 1 ? message.length - 4 : message.length; // checksumPresent
  let offset = 20;
  let body: Document = {};
  while (offset < end) {
    const kind = message.readUInt8(offset);
    offset += 1;
    if (kind === 0) {
      const size = message.readInt32LE(offset);
      body = BSON.deserialize(message.subarray(offset, offset + size));
      offset += size;
    } else {
      // kind 1: document sequence; folded into the body under its identifier
      const size = message.readInt32LE(offset);
      const idEnd = message.indexOf(0, offset + 4);
      const identifier = message.toString('utf8', offset + 4, idEnd);
      const docs: Document[] = [];
      let pos = idEnd + 1;
      while (pos < offset + size) {
        const docSize = message.readInt32LE(pos);
        docs.push(BSON.deserialize(message.subarray(pos, pos + docSize)));
        pos += docSize;
      }
      body[identifier] = docs;
      offset += size;
    }
  }
  return body;
}

function bytes(payload: unknown): Buffer {
  if (payload instanceof Binary) return Buffer.from(payload.buffer);
  if (Buffer.isBuffer(payload)) return payload;
  return Buffer.alloc(0);
}

function parseScram(message: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

function authFailed(): Document {
  return mongoError(18, 'AuthenticationFailed', 'Authentication failed.');
}

function getPath(doc: Document, path: string): unknown {
  let value: unknown = doc;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Document)[part];
  }
  return value;
}

/** BSON-ish ordering for the value kinds the tests use: numbers, strings, dates, ObjectIds */
function compare(a: unknown, b: unknown): number {
  if (a === undefined || a === null) return b === undefined || b === null ? 0 : -1;
  if (b === undefined || b === null) return 1;
  if (a instanceof ObjectId && b instanceof ObjectId) return a.toHexString().localeCompare(b.toHexString());
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

function sameType(a: unknown, b: unknown): boolean {
  if (a instanceof ObjectId || b instanceof ObjectId) return a instanceof ObjectId && b instanceof ObjectId;
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date;
  return typeof a === typeof b;
}

function matches(doc: Document, filter: Document): boolean {
  return Object.entries(filter).every(([key, cond]) => {
    if (key === '$and') return (cond as Document[]).every((f) => matches(doc, f));
    if (key === '$or') return (cond as Document[]).some((f) => matches(doc, f));
    const value = getPath(doc, key);
    const isOperator = cond !== null && typeof cond === 'object' && !(cond instanceof ObjectId) && !(cond instanceof Date)
      && Object.keys(cond).every((k) => k.startsWith('$'));
    if (!isOperator) return sameType(value, cond) && compare(value, cond) === 0;
    return Object.entries(cond as Document).every(([op, arg]) => {
      switch (op) {
        case '$gt': return value !== undefined && sameType(value, arg) && compare(value, arg) > 0;
        case '$gte': return value !== undefined && sameType(value, arg) && compare(value, arg) >= 0;
        case '$lt': return value !== undefined && sameType(value, arg) && compare(value, arg) < 0;
        case '$lte': return value !== undefined && sameType(value, arg) && compare(value, arg) <= 0;
        case '$in': return (arg as unknown[]).some((v) => sameType(value, v) && compare(value, v) === 0);
        default: throw new Error(`fake MongoDB does not support ${op}`);
      }
    });
  });
}

function sortDocs(docs: Document[], sort: Document): Document[] {
  const keys = Object.entries(sort) as Array<[string, number]>;
  return [...docs].sort((a, b) => {
    for (const [key, dir] of keys) {
      const c = compare(getPath(a, key), getPath(b, key));
      if (c !== 0) return dir < 0 ? -c : c;
    }
    return 0;
  });
}

function project(doc: Document, projection: Document): Document {
  const out: Document = {};
  const include = Object.entries(projection).filter(([, v]) => v === 1 || v === true).map(([k]) => k);
  if (projection._id !== 0 && projection._id !== false && !include.includes('_id')) include.unshift('_id');
  for (const path of include) {
    const value = getPath(doc, path);
    if (value === undefined) continue;
    const parts = path.split('.');
    let target = out;
    for (const part of parts.slice(0, -1)) {
      target[part] = (target[part] as Document | undefined) ?? {};
      target = target[part] as Document;
    }
    target[parts[parts.length - 1]] = value;
  }
  return out;
}
