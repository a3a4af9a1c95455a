/**
 * Loads an OpenAPI document: from its URL (through the shared Requester: auth, network guard,
 * timeouts) or from uploaded text; external `$ref`s are fetched only from the specification's own
 * host and the configured `allowedRefHosts` (never from files, never with credentials to another
 * host) and bundled into one document; then validated against the Swagger 2.0 / OpenAPI 3.0 / 3.1
 * schema, errors naming the broken location (`paths['/accounts/{accountId}'].get`).
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { SourceError } from '../sdk/errors.ts';
import { authFromConfig } from '../sdk/http/http-config.ts';
import { Requester } from '../sdk/http/index.ts';
import type { ConnectorContext } from '../sdk/types.ts';
import type { OpenApiConfig } from './spec.ts';

export const SOURCE = 'openapi';

/** where an uploaded document "lives", so the ref parser has a base to resolve against */
const UPLOAD_ROOT = 'pip-upload://document/openapi';
const MAX_DOCUMENTS = 200;

export type OpenApiDocument = Record<string, unknown> & { swagger?: string; openapi?: string; info?: { title?: string; version?: string } };

export interface LoadedDocument {
  /** one document: external references pulled in, internal ones kept */
  document: OpenApiDocument;
  /** `2.0`, `3.0.3`, `3.1.0`… */
  specVersion: string;
  /** documents read (the root and every external file) */
  documents: number;
}

interface AjvError {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
  keyword?: string;
}

/** `/paths/~1accounts~1{id}/get` → `paths['/accounts/{id}'].get` */
export function pointerToLocation(pointer: string): string {
  const parts = pointer
    .replace(/^#/, '')
    .split('/')
    .filter((p) => p !== '')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (parts.length === 0) return 'the document root';
  return parts.map((p, i) => (/^[A-Za-z_$][\w$]*$/.test(p) ? `${i ? '.' : ''}${p}` : `['${p}']`)).join('');
}

/** The most specific schema errors (deepest locations), de-duplicated, at most three. */
function describeSchemaErrors(details: AjvError[]): string {
  const depth = (e: AjvError) => (e.instancePath ?? '').split('/').length;
  const deepest = Math.max(...details.map(depth));
  const shown = [
    ...new Set(
      details
        .filter((e) => depth(e) === deepest && e.keyword !== 'oneOf' && e.keyword !== 'anyOf')
        .map((e) => {
          const extra = e.keyword === 'additionalProperties' && e.params?.additionalProperty ? ` (${String(e.params.additionalProperty)})` : '';
          return `${pointerToLocation(e.instancePath ?? '')}: ${e.message ?? e.keyword}${extra}`;
        }),
    ),
  ];
  const list = shown.length ? shown : details.slice(0, 1).map((e) => `${pointerToLocation(e.instancePath ?? '')}: ${e.message}`);
  return list.slice(0, 3).join('; ') + (list.length > 3 ? ` (and ${list.length - 3} more)` : '');
}

function hostAllowed(patterns: string[], url: URL): boolean {
  const host = url.hostname.toLowerCase();
  return patterns.some((raw) => {
    const p = raw.toLowerCase();
    const [name, port] = p.split(':');
    if (port && port !== (url.port || (url.protocol === 'https:' ? '443' : '80'))) return false;
    return name!.startsWith('*.') ? host.endsWith(name!.slice(1)) : host === name;
  });
}

export class OpenApiLoader {
  private readonly authed: Requester;
  private readonly anonymous: Requester;
  private readonly root: string;
  private readonly rootUrl?: URL;
  private documents = 0;

  constructor(
    private readonly config: OpenApiConfig,
    ctx: Pick<ConnectorContext, 'signal' | 'networkGuard'>,
  ) {
    if (!config.specUrl === !config.specText) {
      throw new SourceError(SOURCE, config.specUrl ? 'set either specUrl or specText, not both' : 'set specUrl (a URL) or specText (the document)', { kind: 'config' });
    }
    this.root = config.specUrl ?? UPLOAD_ROOT;
    this.rootUrl = config.specUrl ? new URL(config.specUrl) : undefined;
    const common = { source: SOURCE, timeoutMs: config.timeoutMs, maxRetries: config.maxRetries, networkGuard: ctx.networkGuard, signal: ctx.signal, headers: config.extraHeaders };
    this.authed = new Requester({ ...common, baseUrl: this.rootUrl?.origin, auth: authFromConfig(SOURCE, config) });
    this.anonymous = new Requester(common);
  }

  private where(url: string): string {
    return url.startsWith(UPLOAD_ROOT) ? 'the uploaded document' : url;
  }

  /** One file the ref parser asks for. */
  private async read(address: string): Promise<string> {
    if (address === UPLOAD_ROOT) return this.config.specText!;
    if (address.startsWith('pip-upload:')) {
      throw new SourceError(SOURCE, `the uploaded document refers to ${address.slice('pip-upload://document/'.length)} by a relative $ref: give the specification URL instead, relative references resolve against it`, {
        kind: 'config',
      });
    }
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      throw new SourceError(SOURCE, `cannot resolve the $ref "${address}"`, { kind: 'config' });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new SourceError(SOURCE, `$ref to ${url.protocol} is not allowed: only http(s) references from allowed hosts`, { kind: 'config' });
    }
    const sameOrigin = this.rootUrl !== undefined && url.origin === this.rootUrl.origin;
    const sameHost = this.rootUrl !== undefined && url.host === this.rootUrl.host;
    if (!sameHost && !hostAllowed(this.config.allowedRefHosts, url)) {
      throw new SourceError(SOURCE, `the $ref to ${url.origin}${url.pathname} is not allowed: add ${url.host} to allowedRefHosts`, { kind: 'config', detail: { host: url.host } });
    }
    this.documents += 1;
    if (this.documents > MAX_DOCUMENTS) throw new SourceError(SOURCE, `the specification refers to more than ${MAX_DOCUMENTS} documents`, { kind: 'protocol' });
    const requester = sameOrigin ? this.authed : this.anonymous;
    const res = await requester.request<string>({ url: url.toString(), responseType: 'text', headers: { accept: 'application/json, application/yaml, text/yaml, */*;q=0.5' } });
    return res.body;
  }

  async load(): Promise<LoadedDocument> {
    this.documents = this.config.specText ? 1 : 0;
    let failure: unknown;
    const read = async (file: { url: string }): Promise<string> => {
      try {
        return await this.read(file.url);
      } catch (err) {
        failure ??= err;
        throw err;
      }
    };
    // JSON or YAML only: without the text fallback a YAML syntax error is reported with its line
    const options = { parse: { text: false, binary: false }, resolve: { file: false, http: false, external: true, pip: { order: 1, canRead: true, read } } };
    let document: OpenApiDocument;
    try {
      document = (await new SwaggerParser().bundle(this.root, options as SwaggerParser.Options)) as unknown as OpenApiDocument;
    } catch (err) {
      if (failure instanceof SourceError) throw failure;
      throw this.parseError(err);
    }
    if (this.config.validate) await this.validate(document);
    return { document, specVersion: document.swagger ?? document.openapi ?? 'unknown', documents: this.documents };
  }

  private parseError(err: unknown): SourceError {
    const e = err as { message?: string; source?: string; parentPath?: string | null; targetRef?: string };
    // parsers add a code snippet after the first line; the first line has the position
    const message = String(e.message ?? err).split('\n')[0]!.replaceAll(UPLOAD_ROOT, 'the uploaded document').trim();
    const from = e.parentPath ? ` (referenced at ${pointerToLocation(e.parentPath.split('#')[1] ?? '')})` : '';
    const where = e.source ? this.where(e.source) : undefined;
    const source = where && !message.includes(where) ? ` in ${where}` : '';
    return new SourceError(SOURCE, `the specification cannot be read${source}: ${message}${from}`, { kind: 'config', cause: err });
  }

  private async validate(document: OpenApiDocument): Promise<void> {
    try {
      await new SwaggerParser().validate(structuredClone(document) as never, { resolve: { external: false, file: false, http: false } } as SwaggerParser.Options);
    } catch (err) {
      const e = err as { details?: AjvError[]; message?: string };
      const detail = Array.isArray(e.details) && e.details.length ? describeSchemaErrors(e.details) : String(e.message ?? err).replace(/^Validation failed\.\s*/, '');
      throw new SourceError(SOURCE, `the document is not a valid ${document.swagger ? `Swagger ${document.swagger}` : `OpenAPI ${document.openapi}`} specification: ${detail}`, {
        kind: 'config',
        cause: err,
      });
    }
  }
}
