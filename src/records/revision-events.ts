/**
 * Announces each new revision (after its transaction committed) to whoever serves or publishes
 * data: the data plane drops cached documents and the OPAL publisher tells OPAL what changed.
 * In-process only; other instances notice a new revision from `tenant_revisions` (cheap read).
 */
import { EventEmitter } from 'node:events';

export interface RevisionEvent {
  tenantId: string;
  connectionId: string;
  /** connection revision after the change */
  revision: number;
  /** tenant revision after the change */
  tenantRevision: number;
  /** target stream names whose records changed */
  changedStreams: string[];
  /** why: sync, webhook, delete… */
  reason: string;
}

export class RevisionEvents {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(50);
  }
  on(listener: (e: RevisionEvent) => void | Promise<void>): () => void {
    const wrapped = (e: RevisionEvent) => {
      void Promise.resolve()
        .then(() => listener(e))
        .catch(() => {
          /* listeners own their error handling and logging */
        });
    };
    this.emitter.on('revision', wrapped);
    return () => this.emitter.off('revision', wrapped);
  }
  emit(e: RevisionEvent): void {
    this.emitter.emit('revision', e);
  }
}
