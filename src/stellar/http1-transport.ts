import net from 'node:net';

/**
 * A lean HTTP/1.1 keep-alive client for JSON POSTs to `http:` URLs: the Soroban RPC transport.
 *
 * Why not node:http: every paid card makes ~4 RPC calls, and node:http's ClientRequest spends
 * 210-280 µs of CPU per call where one string write and a small response parser spend 90-120 µs
 * (bench/rpc-transport, against the local ledger).
 * It stays a general HTTP/1.1 client all the same (a real stellar-rpc is Go's net/http: bodies
 * with Content-Length or chunked), with a bounded pool per host:port, one request in flight per
 * socket (no pipelining), and strict response framing: whatever it cannot frame it refuses.
 */

export interface Http1Response {
  status: number;
  text: string;
}

/** A response the client refuses (malformed, too large, cut short) or a request that stalled. */
export class Http1Error extends Error {
  override name = 'Http1Error';
}

export interface Http1Limits {
  /** Sockets per host:port; requests beyond wait for one to be free. */
  maxSocketsPerHost: number;
  /**
   * An idle pooled socket is closed after this long: below the 5 s keep-alive of common servers,
   * so we close first instead of racing the server's own idle close.
   */
  idleTimeoutMs: number;
  /** Status line and headers, with those of any 1xx interim responses and the chunked trailers. */
  maxHeaderBytes: number;
  /** The decoded body. */
  maxBodyBytes: number;
}

const DEFAULT_HTTP1_LIMITS: Http1Limits = {
  maxSocketsPerHost: 256,
  idleTimeoutMs: 4_000,
  maxHeaderBytes: 64 * 1024,
  maxBodyBytes: 32 * 1024 * 1024,
};

/** A chunk-size line with its extensions; real servers send a few bytes. */
const MAX_CHUNK_LINE_BYTES = 4096;
const LF = 0x0a;
const CR = 0x0d;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-5]\d\d)(?: [\t\x20-\x7e\x80-\xff]*)?$/;
/** name ":" OWS value OWS, the value without its surrounding whitespace. */
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*((?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)[ \t]*$/;
/** The separator of a list value (`a, b`); the value itself has no surrounding whitespace. */
const LIST_SEPARATOR = /[ \t]*,[ \t]*/;
const CHUNK_SIZE_LINE = /^([0-9A-Fa-f]{1,16})[ \t]*(?:;[\t\x20-\x7e\x80-\xff]*)?$/;
const DIGITS = /^\d+$/;

type ParserState = 'status' | 'headers' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'until-close' | 'done';

interface ParsedResponse extends Http1Response {
  /** The connection may carry another request: keep-alive, and nothing after the body. */
  reusable: boolean;
}

/** Parses one response (after any 1xx interim ones) from bytes as they arrive, split at any byte. */
class ResponseParser {
  private state: ParserState = 'status';
  /** Unparsed bytes are buf[pos..]. */
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Once bytes had to be kept across packets: buf is store[0..buf.length], with room to append. */
  private store: Buffer | undefined;
  /** Bytes after pos already searched for a line feed. */
  private scanned = 0;
  private headerBytes = 0;

  private status = 0;
  private http10 = false;
  private contentLength: number | undefined;
  private codings: string[] = [];
  private connectionClose = false;
  private connectionKeepAlive = false;
  /** What an obs-fold line would continue: none before the first field; framing must not be folded. */
  private previousField: 'none' | 'framing' | 'other' = 'none';

  /** Bytes of the body (or of the current chunk) still to come. */
  private remaining = 0;
  private readonly parts: Buffer[] = [];
  private bodyBytes = 0;

  constructor(private readonly limits: Http1Limits) {}

  /** Feeds received bytes; the response once it is complete. Throws Http1Error on a bad response. */
  feed(chunk: Buffer): ParsedResponse | undefined {
    this.append(chunk);
    for (;;) {
      switch (this.state) {
        case 'status': {
          const line = this.headLine();
          if (line === undefined) return undefined;
          this.statusLine(line);
          break;
        }
        case 'headers': {
          const line = this.headLine();
          if (line === undefined) return undefined;
          if (line === '') this.endOfHead();
          else this.header(line);
          break;
        }
        case 'body':
        case 'chunk-data':
          if (!this.takeBody()) return undefined;
          this.state = this.state === 'body' ? 'done' : 'chunk-end';
          break;
        case 'chunk-size': {
          const line = this.line(MAX_CHUNK_LINE_BYTES, 'response has a chunk-size line that is too long');
          if (line === undefined) return undefined;
          this.chunkSize(line);
          break;
        }
        case 'chunk-end': {
          // The CRLF after a chunk's data: anything else means the chunk was longer than it said.
          if (this.line(2, 'response has a chunk longer than its size') === undefined) return undefined;
          this.state = 'chunk-size';
          break;
        }
        case 'trailers': {
          // Trailer fields are not used; only their framing is checked.
          const line = this.headLine();
          if (line === undefined) return undefined;
          if (line === '') this.state = 'done';
          break;
        }
        case 'until-close':
          this.takeUntilClose();
          return undefined;
        case 'done':
          return this.response(this.keepAlive() && this.pos === this.buf.length);
      }
    }
  }

  /** The peer closed its side: completes a response read until close, otherwise it was cut short. */
  end(): ParsedResponse {
    if (this.state !== 'until-close') throw new Http1Error('connection closed before the response ended');
    return this.response(false);
  }

  private append(chunk: Buffer): void {
    const kept = this.buf.length - this.pos;
    if (kept === 0) {
      this.buf = chunk;
      this.pos = 0;
      this.store = undefined;
      return;
    }
    // An incomplete line waits for the next packet. The store grows by doubling, so a response
    // dribbled in tiny packets costs linear copying, not quadratic. Bytes before buf.length are
    // never overwritten: body parts may still point into them.
    if (this.store && this.store.length - this.buf.length >= chunk.length) {
      chunk.copy(this.store, this.buf.length);
      this.buf = this.store.subarray(0, this.buf.length + chunk.length);
      return;
    }
    const store = Buffer.allocUnsafe(Math.max(256, 2 * (kept + chunk.length)));
    this.buf.copy(store, 0, this.pos);
    chunk.copy(store, kept);
    this.store = store;
    this.buf = store.subarray(0, kept + chunk.length);
    this.pos = 0;
  }

  /**
   * The next line without its CRLF (latin1), or undefined until its line feed has arrived. A line
   * whose bytes with CRLF exceed `budget` is refused with `overBudget`; a bare LF is malformed.
   */
  private line(budget: number, overBudget: string): string | undefined {
    const lf = this.buf.indexOf(LF, this.pos + this.scanned);
    if (lf === -1) {
      this.scanned = this.buf.length - this.pos;
      if (this.scanned >= budget) throw new Http1Error(overBudget);
      return undefined;
    }
    if (lf + 1 - this.pos > budget) throw new Http1Error(overBudget);
    if (lf === this.pos || this.buf[lf - 1] !== CR) throw new Http1Error('response has a line not ended by CRLF');
    const line = this.buf.toString('latin1', this.pos, lf - 1);
    this.pos = lf + 1;
    this.scanned = 0;
    return line;
  }

  /** A line of the status line, headers or trailers: together they share the header budget. */
  private headLine(): string | undefined {
    const start = this.pos;
    const line = this.line(this.limits.maxHeaderBytes - this.headerBytes, `response header section exceeds ${this.limits.maxHeaderBytes} bytes`);
    if (line !== undefined) this.headerBytes += this.pos - start;
    return line;
  }

  private statusLine(line: string): void {
    const match = STATUS_LINE.exec(line);
    if (!match) throw new Http1Error('response has a malformed status line');
    this.http10 = match[1] === '0';
    this.status = Number(match[2]);
    this.contentLength = undefined;
    this.codings = [];
    this.connectionClose = false;
    this.connectionKeepAlive = false;
    this.previousField = 'none';
    this.state = 'headers';
  }

  private header(line: string): void {
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      // obs-fold: a continuation of the previous field. Harmless for fields we do not read (RFC 9112
      // §5.2 replaces it by a space); for a framing field, or before any field, we refuse.
      if (this.previousField !== 'other') throw new Http1Error('response has a folded header line');
      return;
    }
    const match = HEADER_LINE.exec(line);
    if (!match) throw new Http1Error('response has a malformed header line');
    const name = match[1]!.toLowerCase();
    const value = match[2]!;
    this.previousField = 'framing';
    if (name === 'content-length') {
      // Repeated (as fields or as a list), every value must be the same (RFC 9110 §8.6).
      for (const digits of value.split(LIST_SEPARATOR)) {
        if (!DIGITS.test(digits)) throw new Http1Error('response has an invalid Content-Length');
        const length = Number(digits);
        if (this.contentLength !== undefined && this.contentLength !== length) throw new Http1Error('response has conflicting Content-Length values');
        this.contentLength = length;
      }
    } else if (name === 'transfer-encoding') {
      for (const item of value.split(LIST_SEPARATOR)) {
        const coding = item.toLowerCase();
        if (coding !== '') this.codings.push(coding);
      }
    } else if (name === 'connection') {
      for (const item of value.split(LIST_SEPARATOR)) {
        const option = item.toLowerCase();
        if (option === 'close') this.connectionClose = true;
        else if (option === 'keep-alive') this.connectionKeepAlive = true;
      }
    } else this.previousField = 'other';
  }

  /** The blank line after the headers: decides how the body is framed (RFC 9112 §6.3). */
  private endOfHead(): void {
    if (this.status < 200) {
      // We never ask to switch protocols; other 1xx are interim (100 Continue, 103 Early Hints).
      if (this.status === 101) throw new Http1Error('response switches protocols unasked');
      this.state = 'status';
      return;
    }
    if (this.status === 204 || this.status === 304) {
      this.state = 'done';
      return;
    }
    if (this.codings.length > 0) {
      // Both framings at once is how responses get smuggled: refused, as RFC 9112 §6.1 allows.
      if (this.contentLength !== undefined) throw new Http1Error('response has both Transfer-Encoding and Content-Length');
      if (this.http10) throw new Http1Error('HTTP/1.0 response has a Transfer-Encoding');
      // We send no TE header, so chunked is the only coding a server may use.
      if (this.codings.length !== 1 || this.codings[0] !== 'chunked') throw new Http1Error('response has an unsupported Transfer-Encoding');
      this.state = 'chunk-size';
      return;
    }
    if (this.contentLength !== undefined) {
      if (this.contentLength > this.limits.maxBodyBytes) throw this.bodyTooLarge();
      this.remaining = this.contentLength;
      this.state = this.contentLength === 0 ? 'done' : 'body';
      return;
    }
    this.state = 'until-close';
  }

  private chunkSize(line: string): void {
    const match = CHUNK_SIZE_LINE.exec(line);
    if (!match) throw new Http1Error('response has a malformed chunk size');
    const size = parseInt(match[1]!, 16);
    if (size === 0) {
      this.state = 'trailers';
      return;
    }
    if (this.bodyBytes + size > this.limits.maxBodyBytes) throw this.bodyTooLarge();
    this.remaining = size;
    this.state = 'chunk-data';
  }

  /** Takes what has arrived of the body or current chunk; true once all of it has. */
  private takeBody(): boolean {
    const take = Math.min(this.remaining, this.buf.length - this.pos);
    if (take > 0) {
      this.parts.push(this.buf.subarray(this.pos, this.pos + take));
      this.pos += take;
      this.remaining -= take;
      this.bodyBytes += take;
    }
    return this.remaining === 0;
  }

  private takeUntilClose(): void {
    const take = this.buf.length - this.pos;
    if (this.bodyBytes + take > this.limits.maxBodyBytes) throw this.bodyTooLarge();
    if (take > 0) this.parts.push(this.buf.subarray(this.pos));
    this.pos = this.buf.length;
    this.bodyBytes += take;
  }

  private keepAlive(): boolean {
    if (this.connectionClose) return false;
    // HTTP/1.0 closes unless asked not to, and then only a body of known length leaves it usable.
    return !this.http10 || (this.connectionKeepAlive && this.codings.length === 0);
  }

  private response(reusable: boolean): ParsedResponse {
    const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bodyBytes);
    return { status: this.status, text: body.toString('utf8'), reusable };
  }

  private bodyTooLarge(): Http1Error {
    return new Http1Error(`response body exceeds ${this.limits.maxBodyBytes} bytes`);
  }
}

/** A request waiting for, or being served on, a connection. */
interface Exchange {
  /** The whole request, written in one piece. */
  readonly payload: string;
  readonly timeoutMs: number;
  readonly resolve: (response: Http1Response) => void;
  readonly reject: (err: Error) => void;
}

/** Socket errors of a kept-alive connection the server closed while it sat idle. */
const STALE_CODES: ReadonlySet<string | undefined> = new Set(['ECONNRESET', 'EPIPE']);

/** One socket of a pool: serves one exchange at a time, then goes back to the pool or closes. */
class Connection {
  private readonly socket: net.Socket;
  private exchange: Exchange | undefined;
  private parser: ResponseParser | undefined;
  /** The current exchange is not the socket's first: a failure before any answer may be staleness. */
  private reused = false;
  private answered = false;
  /** Out of the pool: destroyed, or its slot handed to a replacement. */
  dead = false;

  constructor(
    private readonly pool: HostPool,
    host: string,
    port: number,
  ) {
    this.socket = net.connect({ host, port });
    this.socket.setNoDelay(true);
    // Every event is handled in every state: a socket error must never go unheard (it would crash
    // the process), and an idle socket that closes, errs or speaks leaves the pool.
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('end', () => this.onEnd());
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.fail(err, STALE_CODES.has(err.code)));
    this.socket.on('close', () => {
      if (this.exchange) this.fail(new Http1Error('connection closed before the response ended'), true);
      else this.pool.forget(this);
    });
    this.socket.on('timeout', () => {
      if (this.exchange) this.fail(new Http1Error(`request timed out (no progress for ${this.exchange.timeoutMs} ms)`), false);
      else this.discard(); // the idle timeout
    });
  }

  send(exchange: Exchange, reused: boolean): void {
    this.exchange = exchange;
    this.parser = new ResponseParser(this.pool.limits);
    this.reused = reused;
    this.answered = false;
    // In flight, the socket keeps the process alive and stalls after timeoutMs without progress.
    this.socket.ref();
    this.socket.setTimeout(exchange.timeoutMs);
    this.socket.write(exchange.payload);
  }

  /** Idle in the pool: never keeps the process alive, and closes itself after the idle timeout. */
  idle(): void {
    this.socket.unref();
    this.socket.setTimeout(this.pool.limits.idleTimeoutMs);
  }

  private onData(chunk: Buffer): void {
    // Bytes nobody asked for: whatever the server meant, the connection's framing is lost.
    if (!this.parser) return this.discard();
    this.answered = true;
    let response: ParsedResponse | undefined;
    try {
      response = this.parser.feed(chunk);
    } catch (err) {
      this.fail(err as Error, false);
      return;
    }
    if (response) this.complete(response);
  }

  private onEnd(): void {
    if (!this.parser) return this.discard();
    let response: ParsedResponse;
    try {
      response = this.parser.end();
    } catch (err) {
      this.fail(err as Error, true);
      return;
    }
    this.complete(response);
  }

  private complete(response: ParsedResponse): void {
    const exchange = this.exchange!;
    this.exchange = undefined;
    this.parser = undefined;
    if (response.reusable) this.pool.release(this);
    else this.discard();
    exchange.resolve({ status: response.status, text: response.text });
  }

  /** Destroyed and out of the pool. */
  private discard(): void {
    this.socket.destroy();
    this.pool.forget(this);
  }

  /**
   * The socket is done for: discarded, its exchange (if any) rejected — or, when a reused socket
   * failed as a stale one does (reset, broken pipe, closed) before any byte of an answer, the
   * exchange is sent once more on a fresh connection: every call we make is safe to repeat.
   */
  private fail(err: Error, stale: boolean): void {
    const exchange = this.exchange;
    this.exchange = undefined;
    this.parser = undefined;
    if (exchange && stale && this.reused && !this.answered) {
      this.socket.destroy();
      this.pool.replace(this, exchange);
      return;
    }
    this.discard();
    exchange?.reject(err);
  }
}

/** The sockets to one host:port: idle ones reused most-recent first, at most maxSocketsPerHost open. */
class HostPool {
  private readonly idleConnections: Connection[] = [];
  private readonly waiting: Exchange[] = [];
  private open = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    readonly limits: Http1Limits,
  ) {}

  dispatch(exchange: Exchange): void {
    const connection = this.idleConnections.pop();
    if (connection) connection.send(exchange, true);
    else if (this.open < this.limits.maxSocketsPerHost) {
      this.open += 1;
      new Connection(this, this.host, this.port).send(exchange, false);
    } else this.waiting.push(exchange);
  }

  /** A connection finished an exchange and may carry another. */
  release(connection: Connection): void {
    const next = this.waiting.shift();
    if (next) connection.send(next, true);
    else {
      connection.idle();
      this.idleConnections.push(connection);
    }
  }

  /** A connection is gone: its slot is free for a waiting request. Safe to call more than once. */
  forget(connection: Connection): void {
    if (connection.dead) return;
    connection.dead = true;
    const at = this.idleConnections.indexOf(connection);
    if (at !== -1) this.idleConnections.splice(at, 1);
    this.open -= 1;
    const next = this.waiting.shift();
    if (next) this.dispatch(next);
  }

  /** A stale connection's exchange goes to a fresh connection that takes over its slot. */
  replace(stale: Connection, exchange: Exchange): void {
    stale.dead = true;
    new Connection(this, this.host, this.port).send(exchange, false);
  }
}

/** One URL to POST JSON to; endpoints on the same host:port share their client's pool. */
export class Http1Endpoint {
  constructor(
    private readonly pool: HostPool,
    /** Request line and headers up to the Content-Length value. */
    private readonly head: string,
  ) {}

  /** POSTs `body`; rejects when no byte moves either way for `timeoutMs`. */
  post(body: string, timeoutMs: number): Promise<Http1Response> {
    const payload = `${this.head}${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return new Promise((resolve, reject) => this.pool.dispatch({ payload, timeoutMs, resolve, reject }));
  }
}

export class Http1Client {
  private readonly pools = new Map<string, HostPool>();
  private readonly limits: Http1Limits;

  constructor(limits: Partial<Http1Limits> = {}) {
    this.limits = { ...DEFAULT_HTTP1_LIMITS, ...limits };
  }

  endpoint(url: URL): Http1Endpoint {
    if (url.protocol !== 'http:') throw new Error(`Http1Client speaks http: only, not ${url.protocol}`);
    // URL keeps an IPv6 host in brackets; the socket wants the bare address.
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port === '' ? 80 : Number(url.port);
    const key = `${host}:${port}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new HostPool(host, port, this.limits);
      this.pools.set(key, pool);
    }
    // Credentials in the URL become Basic auth, as node:http does with them.
    const auth = url.username || url.password ? `Authorization: Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}\r\n` : '';
    const head = `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${auth}Content-Type: application/json\r\nContent-Length: `;
    return new Http1Endpoint(pool, head);
  }
}
