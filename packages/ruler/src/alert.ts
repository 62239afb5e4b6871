/** An alert of an alerting rule, as Prometheus keeps it: state, times in ms, labels, annotations. */
import type { Labels } from '@strata/model';

export type AlertState = 'inactive' | 'pending' | 'firing';

export interface Alert {
  state: AlertState;
  labels: Labels;
  annotations: [string, string][];
  value: number;
  activeAt: number;
  /** 0: never. */
  firedAt: number;
  resolvedAt: number;
  lastSentAt: number;
  validUntil: number;
  keepFiringSince: number;
}

/** What an alert sender is handed after each evaluation of an alerting rule. */
export type NotifyFunc = (tenant: string, expr: string, alerts: readonly Alert[]) => void;
